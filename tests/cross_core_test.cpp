// The same guarantees when sender, receiver, timer and canceller sit on different
// cores: selective receive, move-only payloads, timers, crashes, alive.
#include <gtest/gtest.h>

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
        timer_ref t = send_after(60ms, me, 1);  // armed on core 0
        spawn_on(1, [me, t] { send(me, atom<"cancelled">{}, cancel_timer(t)); });
        cancelled = co_await receive([](atom<"cancelled">, bool b) { return std::optional<bool>(b); },
                                     after(2s, [] { return std::optional<bool>(); }));
        got = co_await receive_for<int>(150ms);
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
  EXPECT_EQ(answers, (std::vector<int>{1, 2, 4, 5, 7, 8}));
  EXPECT_NE(err.find("worker 0"), std::string::npos) << err;
}
