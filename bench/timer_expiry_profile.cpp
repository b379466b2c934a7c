// timer_expiry_profile: the instructions one `after` expiry costs, counted by callgrind
// (bench/callgrind-timers runs it). Not a timing benchmark: under valgrind only the
// instruction and cache-miss counts mean anything.
//
// One core on a manual_clock, N processes each in `receive ... after 10 ms`. Each phase
// zeroes callgrind's counters, advances the clock by 10 ms, waits until all N timers
// have fired and been handled, and dumps the counters under its name:
//   burst  - each process ends after its timeout: fire, resume, the process's end and
//            its teardown;
//   steady - each process loops: fire, resume and arming the next `after` (the phase
//            is measured on the third round, with every process already waiting).
// bench/callgrind-timers divides each dump's counts by N.
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

process steady_proc(int rounds) {
  for (int i = 0; i < rounds; ++i) {
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

process phase(const char* name, manual_clock& clk, long fired_target) {
  CALLGRIND_ZERO_STATS;
  clk.advance(10ms);
  co_await wait_for(g_fired, fired_target);
  co_await yield();  // the last process's teardown runs right after its resume
  CALLGRIND_DUMP_STATS_AT(name);
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 100'000;
  manual_clock clk;
  runtime rt{options{.cores = 2, .spin = std::chrono::hours(1), .clock = &clk}};
  const int rc = rt.run([n, &clk]() -> process {
    for (long i = 0; i < n; ++i) spawn_on(0, burst_proc);
    co_await wait_for(g_waiting, n);
    co_await phase("burst", clk, n);

    g_waiting = 0;
    g_fired = 0;
    for (long i = 0; i < n; ++i) spawn_on(0, steady_proc, 4);
    for (long round = 1; round <= 4; ++round) {
      co_await wait_for(g_waiting, n * round);
      if (round == 3) {
        co_await phase("steady", clk, n * round);
      } else {
        clk.advance(10ms);
        co_await wait_for(g_fired, n * round);
      }
    }
  });
  std::printf("timers=%ld\n", n);
  return rc;
}
