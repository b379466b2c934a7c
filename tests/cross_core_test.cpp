// The same guarantees when sender, receiver, timer and canceller sit on different
// cores: selective receive, move-only payloads, timers, crashes, alive.
#include <gtest/gtest.h>

#include <algorithm>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <coproc/coproc.hpp>

#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using coproc_test::tracked;

TEST(CrossCore, SelectiveReceiveKeepsTheOrderOfMessagesFromAnotherCore) {
  constexpr int kEach = 2000;
  std::vector<int> ints;
  std::vector<std::string> strings;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        spawn_on(1, [me]() -> process {
          for (int i = 0; i < kEach; ++i) {
            send(me, std::to_string(i));
            send(me, i);
            if (i % 50 == 0) co_await yield();
          }
        });
        // All strings first (each skips an int), then all ints.
        for (int i = 0; i < kEach; ++i) {
          strings.push_back(co_await receive([](std::string s) { return s; },
                                             after(5s, [] { return std::string("timeout"); })));
        }
        for (int i = 0; i < kEach; ++i) {
          ints.push_back(co_await receive([](int v) { return v; }, after(5s, [] { return -1; })));
        }
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  ASSERT_EQ(ints.size(), static_cast<std::size_t>(kEach));
  ASSERT_EQ(strings.size(), static_cast<std::size_t>(kEach));
  for (int i = 0; i < kEach; ++i) {
    EXPECT_EQ(ints[static_cast<std::size_t>(i)], i);
    EXPECT_EQ(strings[static_cast<std::size_t>(i)], std::to_string(i));
  }
}

TEST(CrossCore, MoveOnlyMessagesCrossCoresAndAreDestroyedOnce) {
  using T = tracked<90>;
  T::counts.reset();
  constexpr int kCount = 5000;
  long sum = 0;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        spawn_on(1, [me] {
          for (int i = 0; i < kCount; ++i) send(me, std::make_unique<T>(i));
        });
        for (int i = 0; i < kCount; ++i) {
          auto p = co_await receive([](std::unique_ptr<T> u) { return u; },
                                    after(5s, [] { return std::unique_ptr<T>(); }));
          if (!p) break;
          sum += p->value;
        }
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(sum, static_cast<long>(kCount) * (kCount - 1) / 2);
  EXPECT_EQ(T::counts.constructed.load(), kCount);
  EXPECT_EQ(T::counts.live(), 0);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(CrossCore, PingPongAcrossCoresLosesNothing) {
  const int kRounds = static_cast<int>(coproc_test::scaled(20'000, 2'000));
  int last = -1;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        const pid ponger = spawn_on(1, []() -> process {
          for (;;) {
            bool more = co_await receive([](pid from, int n) { send(from, n + 1); return true; },
                                         [](atom<"stop">) { return false; },
                                         after(10s, [] { return false; }));
            if (!more) co_return;
          }
        });
        int n = 0;
        for (int i = 0; i < kRounds; ++i) {
          send(ponger, me, n);
          n = co_await receive([](int v) { return v; }, after(5s, [] { return -1; }));
          if (n < 0) break;
        }
        last = n;
        send(ponger, atom<"stop">{});
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(last, kRounds);
}

TEST(CrossCore, SendAfterReachesAProcessOnAnotherCore) {
  std::optional<int> got;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        const pid p = spawn_on(1, [me]() -> process {
          auto v = co_await receive_for<int>(2s);
          send(me, v.value_or(-1));
        });
        send_after(10ms, p, 6);
        got = co_await receive_for<int>(3s);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, std::optional<int>(6));
}

TEST(CrossCore, CancellingATimerFromAnotherCoreStopsTheMessage) {
  std::optional<bool> cancelled;
  std::optional<int> got;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        timer_ref t = send_after(200ms, me, 1);  // armed on core 0
        spawn_on(1, [me, t] { send(me, atom<"cancelled">{}, cancel_timer(t)); });
        cancelled = co_await receive([](atom<"cancelled">, bool b) { return std::optional<bool>(b); },
                                     after(2s, [] { return std::optional<bool>(); }));
        got = co_await receive_for<int>(300ms);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(cancelled, std::optional<bool>(true));
  EXPECT_EQ(got, std::nullopt);
}

TEST(CrossCore, CancellingAFiredTimerFromAnotherCoreReturnsFalse) {
  std::optional<bool> cancelled;
  std::optional<int> got;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        timer_ref t = send_after(1ms, me, 1);
        got = co_await receive_for<int>(2s);
        spawn_on(1, [me, t] { send(me, atom<"cancelled">{}, cancel_timer(t)); });
        cancelled = co_await receive([](atom<"cancelled">, bool b) { return std::optional<bool>(b); },
                                     after(2s, [] { return std::optional<bool>(); }));
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, std::optional<int>(1));
  EXPECT_EQ(cancelled, std::optional<bool>(false));
}

TEST(CrossCore, AliveSeesAProcessOnAnotherCoreExit) {
  bool alive_while_blocked = false;
  bool dead = false;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        const pid p = spawn_on(1, [me]() -> process {
          send(me, atom<"ready">{});
          co_await receive([](atom<"stop">) {}, after(5s, [] {}));
        });
        co_await receive([](atom<"ready">) {}, after(2s, [] {}));
        alive_while_blocked = alive(p);
        send(p, atom<"stop">{});
        co_await coproc_test::wait_until(dead, [p] { return !alive(p); }, 2s);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(alive_while_blocked);
  EXPECT_TRUE(dead);
}

TEST(CrossCore, AMessageToAnExitedProcessOnAnotherCoreIsDropped) {
  using T = tracked<91>;
  T::counts.reset();
  bool dead = false;
  bool freed = false;
  int rc = coproc::run(
      [&]() -> process {
        const pid p = spawn_on(1, [] {});
        co_await coproc_test::wait_until(dead, [p] { return !alive(p); }, 2s);
        for (int i = 0; i < 100; ++i) send(p, T{i});
        co_await coproc_test::wait_until(freed, [] { return T::counts.live() == 0; }, 2s);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(dead);
  EXPECT_TRUE(freed);
}

TEST(CrossCore, ACrashOnAnotherCoreLeavesItsNeighboursRunning) {
  std::vector<int> answers;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        std::vector<pid> workers;
        for (int i = 0; i < 10; ++i) {
          workers.push_back(spawn_on(1, [me, i]() -> process {
            co_await receive([](atom<"go">) {}, after(5s, [] {}));
            if (i % 3 == 0) throw std::runtime_error("worker " + std::to_string(i));
            send(me, i);
          }));
        }
        for (const pid& w : workers) send(w, atom<"go">{});
        for (int i = 0; i < 6; ++i) {
          answers.push_back(co_await receive([](int v) { return v; }, after(2s, [] { return -1; })));
        }
      },
      options{.cores = 2});
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  // Ten senders: nothing orders their answers among themselves (Erlang promises order
  // only per sender), and the loop may run the woken workers in any order.
  std::sort(answers.begin(), answers.end());
  EXPECT_EQ(answers, (std::vector<int>{1, 2, 4, 5, 7, 8}));
  EXPECT_NE(err.find("worker 0"), std::string::npos) << err;
}

TEST(CrossCore, AMessageFromAThirdCoreToAJustSpawnedProcessIsNotLost) {
  // The spawn request travels core 0 -> core 1, the message core 2 -> core 1: the
  // message may well arrive first, and must still be delivered.
  constexpr int kRounds = 200;
  int delivered = 0;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        const pid relay = spawn_on(2, []() -> process {
          for (;;) {
            bool more = co_await receive([](pid target, int n) { send(target, n); return true; },
                                         [](atom<"stop">) { return false; },
                                         after(10s, [] { return false; }));
            if (!more) co_return;
          }
        });
        for (int i = 0; i < kRounds; ++i) {
          const pid p = spawn_on(1, [me]() -> process {
            auto v = co_await receive_for<int>(2s);
            send(me, atom<"got">{}, v.value_or(-1));
          });
          send(relay, p, i);
          int v = co_await receive([](atom<"got">, int x) { return x; },
                                   after(3s, [] { return -2; }));
          if (v == i) ++delivered;
        }
        send(relay, atom<"stop">{});
      },
      options{.cores = 3});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(delivered, kRounds);
}

TEST(CrossCore, SpawnReturnsThePidOfAProcessThatEndsAtOnceOnAnotherCore) {
  // The new process may run, and end, on its core before spawn_on has returned on
  // this one; spawn_on must still return that process's pid.
  const int kCount = static_cast<int>(coproc_test::scaled(5000, 1000));
  int mismatched = 0;
  int missing = 0;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        for (int i = 0; i < kCount; ++i) {
          const pid returned = spawn_on(1, [me] { send(me, self()); });
          const pid reported = co_await receive([](pid p) { return p; },
                                                after(2s, [] { return pid{}; }));
          if (!reported) {
            ++missing;
          } else if (reported != returned) {
            ++mismatched;
          }
        }
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(mismatched, 0);
}

TEST(CrossCore, SpawnFromAForeignThreadReturnsThePidOfAProcessThatEndsAtOnce) {
  const int kCount = static_cast<int>(coproc_test::scaled(2000, 500));
  int mismatched = 0;
  int missing = 0;
  {
    runtime rt{options{.cores = 2}};
    scoped_process me;
    const pid report = me.self();
    for (int i = 0; i < kCount; ++i) {
      const pid returned = spawn_on(static_cast<unsigned>(i % 2), [report] { send(report, self()); });
      auto reported = me.receive([](pid p) { return p; }, after(2s, [] { return pid{}; }));
      if (!reported) {
        ++missing;
      } else if (reported != returned) {
        ++mismatched;
      }
    }
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(mismatched, 0);
}

TEST(CrossCore, RunCanBeCalledAgainAndAgainOnOneRuntime) {
  // run() spawns main from this thread; main may end before the spawn call returns.
  const int kRuns = static_cast<int>(coproc_test::scaled(2000, 300));
  int nonzero = 0;
  {
    runtime rt{options{.cores = 2}};
    for (int i = 0; i < kRuns; ++i) nonzero += rt.run([] {}) != 0 ? 1 : 0;
  }
  EXPECT_EQ(nonzero, 0);
}
