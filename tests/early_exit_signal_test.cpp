// An exit signal that reaches a process's core before the process itself does (its
// start envelope still in a spilled cross-core queue) is as absolute as Erlang's: a
// killed process never runs, whether it was killed by exit(pid, kill), by
// exit(pid, Reason) without trapping exits, or by a linked process's abnormal exit, and
// a monitor's DOWN for it comes only after it has ended (its frame is gone).
//
// The setup is the one that showed the bug: three cores; a driver on core 1 floods two
// sinks on core 0 (so the 1 -> 0 queue spills), spawns the victim on core 0 and hands
// its pid to a killer on core 2, whose signal then overtakes the start envelope.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include <coproc/coproc.hpp>

#include "otp_test_support.hpp"
#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;

namespace {

enum class how { kill, exit_reason, link_death };

// Sets *flag when the frame holding it is destroyed (however the process ends, or if
// it never ran). Moved-from copies are disarmed.
struct frame_gone {
  std::atomic<bool>* flag = nullptr;
  explicit frame_gone(std::atomic<bool>* f) : flag(f) {}
  frame_gone(frame_gone&& o) noexcept : flag(std::exchange(o.flag, nullptr)) {}
  frame_gone(const frame_gone&) = delete;
  frame_gone& operator=(const frame_gone&) = delete;
  frame_gone& operator=(frame_gone&&) = delete;
  ~frame_gone() {
    if (flag != nullptr) flag->store(true);
  }
};

struct results {
  std::atomic<long> ran_after_kill{0};        // victims whose body ran past the wait
  std::atomic<long> down_before_end{0};       // DOWNs that came while the frame was alive
  std::atomic<long> downs{0};                 // DOWNs seen by the killer
  std::atomic<long> wrong_reason{0};          // DOWNs with an unexpected reason
  std::unique_ptr<std::atomic<bool>[]> gone;  // per victim: frame destroyed
  std::unique_ptr<pid[]> victims;             // written by the spawner, read at the end
};

// Waits to be released at the end of the run. (It used to sleep 1 s, which assumed the
// killer kept within 1 s of the spawner; a linked crash takes four cross-core hops per
// victim, and on a slow machine later victims ended normally before their link came,
// which then rightly found no process: the test failed without any bug.)
process victim(frame_gone /*guard: lives in the frame*/, results* r) {
  co_await receive([](atom<"release">) {}, after(120s, [] {}));
  r->ran_after_kill.fetch_add(1);
}

process sink() {
  for (;;) {
    const bool stop =
        co_await receive([](int) { return false; }, [](atom<"stop">) { return true; });
    if (stop) co_return;
  }
}

// Kills each victim as soon as it is told of it, the way `h` says, then checks every
// DOWN. (Waiting for each DOWN before the next kill let the killer fall so far behind
// that the start envelopes had long arrived: the signal never overtook one.)
process killer(how h, long n, results* r, pid done_to) {
  std::map<std::uint64_t, long> index_of;  // victim serial -> its index
  for (long i = 0; i < n; ++i) {
    auto [v, index] = co_await receive<std::pair<pid, long>>();
    index_of[v.serial] = index;
    monitor(v);
    switch (h) {
      case how::kill:
        coproc::exit(v, exit_reason::kill());
        break;
      case how::exit_reason:
        coproc::exit(v, atom<"custom_reason">{});
        break;
      case how::link_death:
        // A process on this core links to the victim and crashes.
        spawn_on(2, [v]() -> process {
          link(v);
          coproc::exit(atom<"linked_crash">{});
          co_return;
        });
        break;
    }
  }
  const exit_reason expected = h == how::kill          ? exit_reason::killed()
                               : h == how::exit_reason ? exit_reason(atom<"custom_reason">{})
                                                       : exit_reason(atom<"linked_crash">{});
  for (long i = 0; i < n; ++i) {
    const std::optional<otp_test::down_msg> down = co_await otp_test::any_down(30s);
    if (!down) break;
    r->downs.fetch_add(1);
    const auto it = index_of.find(down->who.serial);
    if (it == index_of.end() || !r->gone[static_cast<std::size_t>(it->second)].load()) {
      r->down_before_end.fetch_add(1);
    }
    if (down->reason != expected) r->wrong_reason.fetch_add(1);
  }
  send(done_to, atom<"killer_done">{});
}

void run_one(how h, long victims, results& r) {
  r.gone = std::make_unique<std::atomic<bool>[]>(static_cast<std::size_t>(victims));
  r.victims = std::make_unique<pid[]>(static_cast<std::size_t>(victims));
  runtime rt{options{.cores = 3}};
  const int rc = rt.run([&]() -> process {
    // Two sinks, sent to in turn: consecutive messages to one process travel as one
    // envelope (a chain), so a flood to a single sink no longer fills the queue.
    const pid s = spawn_on(0, sink);
    const pid s2 = spawn_on(0, sink);
    const pid k = spawn_on(2, killer, h, victims, &r, self());
    spawn_on(1, [s, s2, k, victims, &r]() -> process {
      for (long i = 0; i < victims; ++i) {
        for (int m = 0; m < 16; ++m) send(m % 2 == 0 ? s : s2, m);
        const pid v = spawn_on(0, victim, frame_gone{&r.gone[static_cast<std::size_t>(i)]}, &r);
        r.victims[static_cast<std::size_t>(i)] = v;  // the killer's killer_done orders this
        send(k, std::pair<pid, long>{v, i});
        if (i % 64 == 63) co_await yield();  // let the spill drain now and then
      }
    });
    co_await receive([](atom<"killer_done">) {}, after(120s, [] {}));
    // Every victim was killed and is gone: one that is still there (wrongly started)
    // runs on now and is counted. Messages to the dead are dropped.
    for (long i = 0; i < victims; ++i)
      send(r.victims[static_cast<std::size_t>(i)], atom<"release">{});
    co_await sleep_for(300ms);
    send(s, atom<"stop">{});
    send(s2, atom<"stop">{});
  });
  EXPECT_EQ(rc, 0);
}

void expect_absolute(how h) {
  const long victims = coproc_test::scaled(4000, 500);
  for (int round = 0; round < 2; ++round) {  // each round a freshly started runtime
    results r;
    run_one(h, victims, r);
    EXPECT_EQ(r.downs.load(), victims);
    EXPECT_EQ(r.ran_after_kill.load(), 0) << "victims ran after their exit signal";
    EXPECT_EQ(r.down_before_end.load(), 0) << "a DOWN came before the process ended";
    EXPECT_EQ(r.wrong_reason.load(), 0);
  }
}

}  // namespace

TEST(EarlyExitSignal, AKillThatOvertakesTheStartEnvelopeStopsTheProcessBeforeItRuns) {
  expect_absolute(how::kill);
}

TEST(EarlyExitSignal, AnExitReasonThatOvertakesTheStartEnvelopeStopsANonTrappingProcess) {
  expect_absolute(how::exit_reason);
}

TEST(EarlyExitSignal, ALinkedCrashThatOvertakesTheStartEnvelopeStopsTheProcess) {
  expect_absolute(how::link_death);
}
