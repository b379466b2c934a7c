// sleep_for, send_after and cancel_timer.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <coproc/coproc.hpp>

#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using coproc_test::ms_since;
using coproc_test::tracked;

namespace {
using clock_type = std::chrono::steady_clock;
}

TEST(SleepFor, WaitsAtLeastTheDurationAndLeavesTheMailboxAlone) {
  double elapsed = -1;
  std::optional<int> kept;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), 11);
        const auto t0 = clock_type::now();
        co_await sleep_for(25ms);
        elapsed = ms_since(t0);
        kept = co_await receive_for<int>(0ms);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_GE(elapsed, 25.0);
  EXPECT_EQ(kept, std::optional<int>(11));
}

TEST(SleepFor, ASleepingProcessDoesNotBlockOthersOnItsCore) {
  std::vector<std::string> order;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        spawn_on(0, [me, &order]() -> process {
          co_await sleep_for(30ms);
          order.push_back("sleeper");
          send(me, 1);
        });
        spawn_on(0, [me, &order] {
          order.push_back("quick");
          send(me, 2);
        });
        for (int i = 0; i < 2; ++i) co_await receive_for<int>(2s);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(order, (std::vector<std::string>{"quick", "sleeper"}));
}

TEST(SendAfter, DeliversTheMessageAfterTheDelay) {
  std::optional<int> early;
  std::optional<int> late;
  double elapsed = -1;
  int rc = coproc::run(
      [&]() -> process {
        const auto t0 = clock_type::now();
        auto t = send_after(40ms, self(), 5);
        EXPECT_TRUE(static_cast<bool>(t));
        early = co_await receive_for<int>(10ms);
        late = co_await receive_for<int>(2s);
        elapsed = ms_since(t0);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(early, std::nullopt);
  EXPECT_EQ(late, std::optional<int>(5));
  EXPECT_GE(elapsed, 40.0);
}

TEST(SendAfter, SeveralValuesArriveAsOneTuple) {
  std::string got;
  int rc = coproc::run(
      [&]() -> process {
        send_after(1ms, self(), ok, "later");
        got = co_await receive([](atom<"ok">, const std::string& s) { return s; },
                               after(2s, [] { return std::string("timeout"); }));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, "later");
}

TEST(SendAfter, TimersWithDifferentDelaysFireInDeadlineOrder) {
  std::vector<int> got;
  int rc = coproc::run(
      [&]() -> process {
        send_after(45ms, self(), 3);
        send_after(5ms, self(), 1);
        send_after(25ms, self(), 2);
        for (int i = 0; i < 3; ++i) {
          got.push_back(co_await receive([](int v) { return v; }, after(2s, [] { return -1; })));
        }
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<int>{1, 2, 3}));
}

TEST(SendAfter, TheLargestDelayMeansNotNow) {
  // send_after(nanoseconds::max()) is "practically never"; it must not overflow into
  // a deadline in the past and send at once.
  std::optional<int> got;
  bool cancelled = false;
  int rc = coproc::run(
      [&]() -> process {
        auto t = send_after(std::chrono::nanoseconds::max(), self(), 1);
        got = co_await receive_for<int>(50ms);
        cancelled = cancel_timer(t);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, std::nullopt);
  EXPECT_TRUE(cancelled);
}

TEST(SendAfter, ToADeadPidIsSilent) {
  using T = tracked<20>;
  T::counts.reset();
  bool dead = false;
  bool freed = false;
  int rc = coproc::run(
      [&]() -> process {
        const pid p = spawn_on(0, [] {});
        co_await coproc_test::wait_until(dead, [p] { return !alive(p); }, 2s);
        send_after(1ms, p, T{1});
        co_await coproc_test::wait_until(freed, [] { return T::counts.live() == 0; }, 2s);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(dead);
  EXPECT_TRUE(freed);
}

TEST(CancelTimer, CancellingBeforeItFiresReturnsTrueAndTheMessageNeverArrives) {
  bool cancelled = false;
  std::optional<int> got;
  int rc = coproc::run(
      [&]() -> process {
        auto t = send_after(30ms, self(), 1);
        cancelled = cancel_timer(t);
        got = co_await receive_for<int>(90ms);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(got, std::nullopt);
}

TEST(CancelTimer, CancellingAfterItFiredReturnsFalse) {
  std::optional<int> got;
  bool cancelled = true;
  int rc = coproc::run(
      [&]() -> process {
        auto t = send_after(5ms, self(), 1);
        got = co_await receive_for<int>(2s);
        cancelled = cancel_timer(t);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, std::optional<int>(1));
  EXPECT_FALSE(cancelled);
}

TEST(CancelTimer, CancellingTwiceReturnsFalseTheSecondTime) {
  bool first = false;
  bool second = true;
  bool via_copy = true;
  int rc = coproc::run(
      [&]() -> process {
        auto t = send_after(1h, self(), 1);
        timer_ref copy = t;
        first = cancel_timer(t);
        second = cancel_timer(t);
        via_copy = cancel_timer(copy);
        co_return;
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
  EXPECT_FALSE(via_copy);
}

TEST(CancelTimer, ACopiedRefCancelsTheSameTimer) {
  bool cancelled = false;
  std::optional<int> got;
  int rc = coproc::run(
      [&]() -> process {
        timer_ref copy;
        {
          auto t = send_after(30ms, self(), 1);
          copy = t;
        }
        cancelled = cancel_timer(copy);
        got = co_await receive_for<int>(80ms);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(got, std::nullopt);
}

TEST(CancelTimer, AnEmptyRefCancelsNothing) {
  timer_ref none;
  EXPECT_FALSE(static_cast<bool>(none));
  EXPECT_FALSE(cancel_timer(none));
}

TEST(CancelTimer, ACancelledTimersMessageIsDestroyed) {
  using T = tracked<21>;
  T::counts.reset();
  bool freed = false;
  int rc = coproc::run(
      [&]() -> process {
        auto t = send_after(20ms, self(), T{1});
        EXPECT_TRUE(cancel_timer(t));
        co_await coproc_test::wait_until(freed, [] { return T::counts.live() == 0; }, 2s);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(freed);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(SendAfter, WorksFromAScopedProcessOutsideAnyProcess) {
  std::optional<int> early;
  std::optional<int> got;
  double elapsed = -1;
  {
    runtime rt{options{.cores = 2}};
    scoped_process me;
    const auto t0 = clock_type::now();
    auto t = send_after(30ms, me.self(), 7);
    early = me.receive_for<int>(5ms);
    got = me.receive_for<int>(2s);
    elapsed = ms_since(t0);
    EXPECT_FALSE(cancel_timer(t));
  }
  EXPECT_EQ(early, std::nullopt);
  EXPECT_EQ(got, std::optional<int>(7));
  EXPECT_GE(elapsed, 30.0);
}

TEST(SendAfter, FromOutsideAnyProcessReachesAProcess) {
  std::optional<int> got;
  {
    runtime rt{options{.cores = 2}};
    scoped_process me;
    const pid report = me.self();
    const pid p = spawn_on(1, [report]() -> process {
      auto v = co_await receive_for<int>(2s);
      send(report, v.value_or(-1));
    });
    send_after(10ms, p, 3);
    got = me.receive_for<int>(3s);
  }
  EXPECT_EQ(got, std::optional<int>(3));
}

TEST(CancelTimer, CancellingFromOutsideAnyProcessStopsTheMessage) {
  std::optional<int> got;
  bool cancelled = false;
  {
    runtime rt{options{.cores = 1}};
    scoped_process me;
    auto t = send_after(30ms, me.self(), 1);
    cancelled = cancel_timer(t);
    got = me.receive_for<int>(80ms);
  }
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(got, std::nullopt);
}

TEST(SendAfter, APendingTimerIsFreedWhenTheRuntimeIsDestroyed) {
  using T = tracked<22>;
  T::counts.reset();
  long live_after_run = -1;
  timer_ref outliving;  // a ref that outlives the runtime must stay safe to drop
  {
    runtime rt{options{.cores = 2}};
    int rc = rt.run([&]() -> process {
      outliving = send_after(1h, self(), T{1});
      send_after(1h, self(), std::make_unique<T>(2));
      const pid other = spawn_on(1, []() -> process {
        send_after(1h, self(), T{3});
        co_await receive([](atom<"never">) {});
      });
      (void)other;
      co_await sleep_for(10ms);
    });
    EXPECT_EQ(rc, 0);
    live_after_run = T::counts.live();
  }
  EXPECT_EQ(live_after_run, 3);
  EXPECT_EQ(T::counts.live(), 0);
  outliving = timer_ref{};
  EXPECT_EQ(T::counts.live(), 0);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}
