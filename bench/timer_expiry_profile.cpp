// timer_expiry_profile: the instructions one `after` expiry costs, counted by callgrind
// (bench/callgrind-timers runs it). Not a timing benchmark: under valgrind only the
// instruction and cache-miss counts mean anything.
//
// One core on a manual_clock, N processes each in `receive ... after 10 ms`, armed in
// 100 groups 100 us apart, so the deadlines spread over 10 ms as in a real burst (equal
// deadlines would flatter a heap: its sift stops at once on equal keys). A phase zeroes
// callgrind's counters, advances the clock in 100 us steps (one loop turn each) until
// N timeouts have been handled, and dumps the counters as "<phase> <expiries>":
//   burst  - each process ends after its timeout: fire, resume, the process's end and
//            its teardown;
//   steady - each process loops: fire, resume and arming its next `after` (measured
//            on the third round, with every process already waiting).
// bench/callgrind-timers divides each dump's counts by its expiries.
//
// Valgrind 3.19 holds its global lock across a blocking io_uring_enter, so a loop asleep
// in its ring would stall every other thread. So the runtime has two cores that spin
// (for up to an hour) instead of sleeping, everything measured runs on core 0, and the
// script counts only core 0's thread. The driver is the main process, which yields
// while it waits; its yields add one resume per loop turn (a turn resumes up to 256
// processes) to the counts.
#include <valgrind/callgrind.h>

#include <atomic>
#include <chrono>
#include <coproc/coproc.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using namespace coproc;
using namespace std::chrono_literals;

std::atomic<long> g_waiting{0};  // processes that have reached their receive
std::atomic<long> g_fired{0};    // timeouts handled

void note_fired() {
  g_fired.fetch_add(1, std::memory_order_relaxed);
}

process burst_proc() {
  g_waiting.fetch_add(1, std::memory_order_relaxed);
  co_await receive(after(10ms, [] {}));
  note_fired();
}

process steady_proc() {
  for (;;) {
    g_waiting.fetch_add(1, std::memory_order_relaxed);
    co_await receive(after(10ms, [] {}));
    note_fired();
  }
}

// Yields until `counter` reaches `target`. A process counts itself just before its
// receive suspends (and arms its timer) in the same resume, so once the count is
// reached every one of them is waiting.
process wait_for(std::atomic<long>& counter, long target) {
  while (counter.load(std::memory_order_relaxed) < target) co_await yield();
}

// Moves the clock on by 100 us, then lets the loop turn until a turn handles no more
// timeouts (a loop may spread what is due over several turns).
process step(manual_clock& clk) {
  clk.advance(100us);
  long seen = -1;
  while (g_fired.load(std::memory_order_relaxed) != seen) {
    seen = g_fired.load(std::memory_order_relaxed);
    co_await yield();
  }
}

// Spawns n processes in 100 groups, each group armed 100 us after the one before.
template <class F>
process spawn_spread(manual_clock& clk, long n, F body) {
  const long base = g_waiting.load();
  for (long group = 1; group <= 100; ++group) {
    for (long i = (group - 1) * n / 100; i < group * n / 100; ++i) spawn_on(0, body);
    co_await wait_for(g_waiting, base + group * n / 100);
    co_await step(clk);
  }
}

// Steps the clock until n more timeouts have been handled (and, for looping processes,
// n more receives have been re-armed).
process run_until_fired(manual_clock& clk, long n, bool rearm) {
  const long fired = g_fired.load();
  const long waiting = g_waiting.load();
  while (g_fired.load() < fired + n) co_await step(clk);
  if (rearm) co_await wait_for(g_waiting, waiting + n);
  co_await yield();  // the last process's teardown runs right after its resume
}

process phase(const char* name, manual_clock& clk, long n, bool rearm) {
  CALLGRIND_ZERO_STATS;
  const long fired = g_fired.load();
  co_await run_until_fired(clk, n, rearm);
  const std::string label = std::string(name) + " " + std::to_string(g_fired.load() - fired);
  CALLGRIND_DUMP_STATS_AT(label.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 100'000;
  manual_clock clk;
  runtime rt{options{.cores = 2, .spin = std::chrono::hours(1), .clock = &clk}};
  const int rc = rt.run([n, &clk]() -> process {
    co_await spawn_spread(clk, n, burst_proc);
    co_await phase("burst", clk, n, false);
    co_await spawn_spread(clk, n, steady_proc);
    co_await run_until_fired(clk, 2 * n, true);
    co_await phase("steady", clk, n, true);
  });
  std::printf("timers=%ld\n", n);
  return rc;
}
