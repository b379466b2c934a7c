// sleep_for, send_after and cancel_timer.
//
// Most tests run on a manual_clock (tests/clock_support.hpp) and check exact times:
// a timer has not fired 1 ns before its deadline and has fired at it. The one test on
// the real clock is SleepFor.WaitsAtLeastTheDurationAndLeavesTheMailboxAlone: it is
// the check that a sleep really waits in the backend and wakes on the kernel's clock.
// SendAfter.SeveralValuesArriveAsOneTuple and SendAfter.APendingTimerIsFreedWhen...
// also run on the real clock; they assert no time at all.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <coproc/coproc.hpp>

#include "clock_support.hpp"
#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using coproc_test::advance_clock;
using coproc_test::ms_since;
using coproc_test::now;
using coproc_test::settle;
using coproc_test::tracked;

namespace {

using clock_type = std::chrono::steady_clock;

// Every int already in the mailbox, in order (after(0ms) only polls).
subroutine<std::vector<int>> take_ints() {
  std::vector<int> out;
  for (;;) {
    std::optional<int> v = co_await receive_for<int>(0ms);
    if (!v) break;
    out.push_back(*v);
  }
  co_return out;
}

}  // namespace

// On the real clock on purpose: the sleep must really wait, in the backend, on the
// kernel's clock.
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
  manual_clock clk;
  std::vector<std::string> order;
  std::vector<std::string> at_start;
  std::vector<std::string> just_before;
  std::vector<int> got;
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
        co_await yield();  // both have run, the sleeper up to its sleep
        at_start = order;
        co_await advance_clock(clk, 30ms - 1ns);
        just_before = order;
        co_await advance_clock(clk, 1ns);
        got = co_await take_ints();
      },
      options{.cores = 1, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(at_start, (std::vector<std::string>{"quick"}));
  EXPECT_EQ(just_before, (std::vector<std::string>{"quick"}));
  EXPECT_EQ(order, (std::vector<std::string>{"quick", "sleeper"}));
  EXPECT_EQ(got, (std::vector<int>{2, 1}));
}

TEST(SendAfter, DeliversTheMessageAfterTheDelay) {
  manual_clock clk;
  std::vector<int> at_10ms;
  std::vector<int> just_before;
  std::vector<int> at_40ms;
  std::vector<int> an_hour_later;
  int rc = coproc::run(
      [&]() -> process {
        auto t = send_after(40ms, self(), 5);
        EXPECT_TRUE(static_cast<bool>(t));
        co_await advance_clock(clk, 10ms);
        at_10ms = co_await take_ints();
        co_await advance_clock(clk, 30ms - 1ns);
        just_before = co_await take_ints();
        co_await advance_clock(clk, 1ns);
        at_40ms = co_await take_ints();
        co_await advance_clock(clk, 1h);
        an_hour_later = co_await take_ints();  // once only
      },
      options{.cores = 1, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(at_10ms, std::vector<int>{});
  EXPECT_EQ(just_before, std::vector<int>{});
  EXPECT_EQ(at_40ms, std::vector<int>{5});
  EXPECT_EQ(an_hour_later, std::vector<int>{});
}

// On the real clock: it checks the shape of the message, not time.
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
  manual_clock clk;
  std::vector<int> at_5ms;
  std::vector<int> at_25ms;
  std::vector<int> just_before_45ms;
  std::vector<int> at_45ms;
  int rc = coproc::run(
      [&]() -> process {
        send_after(45ms, self(), 3);
        send_after(5ms, self(), 1);
        send_after(25ms, self(), 2);
        co_await advance_clock(clk, 5ms);
        at_5ms = co_await take_ints();
        co_await advance_clock(clk, 20ms);
        at_25ms = co_await take_ints();
        co_await advance_clock(clk, 20ms - 1ns);
        just_before_45ms = co_await take_ints();
        co_await advance_clock(clk, 1ns);
        at_45ms = co_await take_ints();
      },
      options{.cores = 1, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(at_5ms, std::vector<int>{1});
  EXPECT_EQ(at_25ms, std::vector<int>{2});
  EXPECT_EQ(just_before_45ms, std::vector<int>{});
  EXPECT_EQ(at_45ms, std::vector<int>{3});
}

TEST(SendAfter, ManyTimersEachFireInTheirOwnMillisecond) {
  // A thousand timers, armed in shuffled order, due 1..1000 ms: stepping the clock one
  // millisecond at a time, each step brings exactly the one that is due.
  manual_clock clk;
  constexpr int kTimers = 1000;
  std::vector<int> delays(kTimers);
  std::iota(delays.begin(), delays.end(), 1);
  std::shuffle(delays.begin(), delays.end(), std::mt19937(14));
  int wrong_steps = 0;
  std::string first_wrong;
  std::vector<int> afterwards;
  int rc = coproc::run(
      [&]() -> process {
        for (int d : delays) send_after(std::chrono::milliseconds(d), self(), d);
        for (int ms = 1; ms <= kTimers; ++ms) {
          co_await advance_clock(clk, 1ms);
          std::vector<int> got = co_await take_ints();
          if (got != std::vector<int>{ms}) {
            if (wrong_steps++ == 0) {
              first_wrong = "at " + std::to_string(ms) + " ms got " + std::to_string(got.size()) +
                            " messages, the first " + (got.empty() ? "-" : std::to_string(got[0]));
            }
          }
        }
        co_await advance_clock(clk, 1h);
        afterwards = co_await take_ints();
      },
      options{.cores = 1, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(wrong_steps, 0) << first_wrong;
  EXPECT_EQ(afterwards, std::vector<int>{});
}

TEST(SendAfter, FarDeadlinesFireExactlyWhenTheirTimeComes) {
  // An hour, forty days (upper levels of the wheel) and three years (past the wheel's
  // 2.2 years, in its overflow list): not 1 ns early, not missed.
  manual_clock clk;
  using days = std::chrono::days;
  using years = std::chrono::years;
  constexpr auto kYears3 = std::chrono::duration_cast<std::chrono::nanoseconds>(years(3));
  std::vector<std::vector<int>> seen;  // after each step
  int rc = coproc::run(
      [&]() -> process {
        send_after(kYears3, self(), 3);
        send_after(1h, self(), 1);
        send_after(days(40), self(), 2);
        std::vector<int> got;
        co_await advance_clock(clk, 1h - 1ns);
        got = co_await take_ints();
        seen.push_back(got);
        co_await advance_clock(clk, 1ns);
        got = co_await take_ints();
        seen.push_back(got);
        co_await advance_clock(clk, days(40) - 1h - 1ns);
        got = co_await take_ints();
        seen.push_back(got);
        co_await advance_clock(clk, 1ns);
        got = co_await take_ints();
        seen.push_back(got);
        co_await advance_clock(clk, kYears3 - days(40) - 1ns);
        got = co_await take_ints();
        seen.push_back(got);
        co_await advance_clock(clk, 1ns);
        got = co_await take_ints();
        seen.push_back(got);
      },
      options{.cores = 1, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(now(clk), kYears3);
  EXPECT_EQ(seen, (std::vector<std::vector<int>>{{}, {1}, {}, {2}, {}, {3}}));
}

TEST(SendAfter, TheLargestDelayMeansNotNow) {
  // send_after(nanoseconds::max()) is "practically never"; it must not overflow into
  // a deadline in the past and send at once, nor within a century.
  manual_clock clk;
  std::vector<int> at_once;
  std::vector<int> after_a_century;
  bool cancelled = false;
  int rc = coproc::run(
      [&]() -> process {
        auto t = send_after(std::chrono::nanoseconds::max(), self(), 1);
        co_await advance_clock(clk, 1ms);
        at_once = co_await take_ints();
        co_await advance_clock(clk, std::chrono::years(100));
        after_a_century = co_await take_ints();
        cancelled = cancel_timer(t);
      },
      options{.cores = 1, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(at_once, std::vector<int>{});
  EXPECT_EQ(after_a_century, std::vector<int>{});
  EXPECT_TRUE(cancelled);
}

TEST(SendAfter, ToADeadPidIsSilent) {
  using T = tracked<20>;
  T::counts.reset();
  manual_clock clk;
  bool dead = false;
  long live_before = -1;
  long live_after = -1;
  int rc = coproc::run(
      [&]() -> process {
        const pid p = spawn_on(0, [] {});
        co_await yield();  // p has run and ended
        dead = !alive(p);
        send_after(1ms, p, T{1});
        co_await advance_clock(clk, 1ms - 1ns);
        live_before = T::counts.live();  // the pending message
        co_await advance_clock(clk, 1ns);
        live_after = T::counts.live();  // sent to nobody and freed
      },
      options{.cores = 1, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(dead);
  EXPECT_EQ(live_before, 1);
  EXPECT_EQ(live_after, 0);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(CancelTimer, CancellingBeforeItFiresReturnsTrueAndTheMessageNeverArrives) {
  manual_clock clk;
  bool cancelled = false;
  std::vector<int> at_deadline;
  std::vector<int> an_hour_later;
  int rc = coproc::run(
      [&]() -> process {
        auto t = send_after(30ms, self(), 1);
        cancelled = cancel_timer(t);
        co_await advance_clock(clk, 30ms);
        at_deadline = co_await take_ints();
        co_await advance_clock(clk, 1h);
        an_hour_later = co_await take_ints();
      },
      options{.cores = 1, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(at_deadline, std::vector<int>{});
  EXPECT_EQ(an_hour_later, std::vector<int>{});
}

TEST(CancelTimer, CancellingAfterItFiredReturnsFalse) {
  manual_clock clk;
  std::vector<int> got;
  bool cancelled = true;
  int rc = coproc::run(
      [&]() -> process {
        auto t = send_after(5ms, self(), 1);
        co_await advance_clock(clk, 5ms);
        got = co_await take_ints();
        cancelled = cancel_timer(t);
      },
      options{.cores = 1, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, std::vector<int>{1});
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
  manual_clock clk;
  bool cancelled = false;
  std::vector<int> at_deadline;
  std::vector<int> an_hour_later;
  int rc = coproc::run(
      [&]() -> process {
        timer_ref copy;
        {
          auto t = send_after(30ms, self(), 1);
          copy = t;
        }
        cancelled = cancel_timer(copy);
        co_await advance_clock(clk, 30ms);
        at_deadline = co_await take_ints();
        co_await advance_clock(clk, 1h);
        an_hour_later = co_await take_ints();
      },
      options{.cores = 1, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(at_deadline, std::vector<int>{});
  EXPECT_EQ(an_hour_later, std::vector<int>{});
}

TEST(CancelTimer, AnEmptyRefCancelsNothing) {
  timer_ref none;
  EXPECT_FALSE(static_cast<bool>(none));
  EXPECT_FALSE(cancel_timer(none));
}

TEST(CancelTimer, ACancelledTimersMessageIsDestroyed) {
  using T = tracked<21>;
  T::counts.reset();
  manual_clock clk;
  long live_at_deadline = -1;
  int rc = coproc::run(
      [&]() -> process {
        auto t = send_after(20ms, self(), T{1});
        EXPECT_TRUE(cancel_timer(t));
        co_await advance_clock(clk, 20ms);
        live_at_deadline = T::counts.live();
      },
      options{.cores = 1, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(live_at_deadline, 0);
  EXPECT_EQ(T::counts.live(), 0);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(SendAfter, WorksFromAScopedProcessOutsideAnyProcess) {
  manual_clock clk;
  std::optional<int> at_start;
  std::optional<int> just_before;
  std::optional<int> got;
  {
    runtime rt{options{.cores = 2, .clock = &clk}};
    scoped_process me;
    auto t = send_after(30ms, me.self(), 7);
    EXPECT_TRUE(settle(me, 2));  // core 0 has armed it
    at_start = me.receive_for<int>(0ms);
    EXPECT_TRUE(advance_clock(clk, me, 2, 30ms - 1ns));
    just_before = me.receive_for<int>(0ms);
    EXPECT_TRUE(advance_clock(clk, me, 2, 1ns));
    got = me.receive_for<int>(0ms);
    EXPECT_FALSE(cancel_timer(t));
  }
  EXPECT_EQ(at_start, std::nullopt);
  EXPECT_EQ(just_before, std::nullopt);
  EXPECT_EQ(got, std::optional<int>(7));
}

TEST(SendAfter, FromOutsideAnyProcessReachesAProcess) {
  // The timer lives on core 0 (armed from outside any process), its receiver on core 1.
  manual_clock clk;
  std::optional<int> just_before;
  std::optional<int> got;
  {
    runtime rt{options{.cores = 2, .clock = &clk}};
    scoped_process me;
    const pid report = me.self();
    const pid p = spawn_on(1, [report]() -> process {
      auto v = co_await receive_for<int>(2s);
      send(report, v.value_or(-1));
    });
    send_after(10ms, p, 3);
    EXPECT_TRUE(advance_clock(clk, me, 2, 10ms - 1ns));
    just_before = me.receive_for<int>(0ms);
    EXPECT_TRUE(advance_clock(clk, me, 2, 1ns));
    got = me.receive_for<int>(0ms);
  }
  EXPECT_EQ(just_before, std::nullopt);
  EXPECT_EQ(got, std::optional<int>(3));
}

TEST(CancelTimer, CancellingFromOutsideAnyProcessStopsTheMessage) {
  manual_clock clk;
  std::optional<int> at_deadline;
  std::optional<int> an_hour_later;
  bool cancelled = false;
  {
    runtime rt{options{.cores = 1, .clock = &clk}};
    scoped_process me;
    auto t = send_after(30ms, me.self(), 1);
    cancelled = cancel_timer(t);
    EXPECT_TRUE(advance_clock(clk, me, 1, 30ms));
    at_deadline = me.receive_for<int>(0ms);
    EXPECT_TRUE(advance_clock(clk, me, 1, 1h));
    an_hour_later = me.receive_for<int>(0ms);
  }
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(at_deadline, std::nullopt);
  EXPECT_EQ(an_hour_later, std::nullopt);
}

TEST(CancelTimer, AMessageCancelledFromOutsideAnyProcessIsFreedByItsDeadline) {
  // Cancelled away from its home core, the record stays in the wheel until it is due;
  // its message must be destroyed then, once.
  using T = tracked<23>;
  T::counts.reset();
  manual_clock clk;
  bool cancelled = false;
  long live_at_deadline = -1;
  {
    runtime rt{options{.cores = 1, .clock = &clk}};
    scoped_process me;
    auto t = send_after(30ms, me.self(), T{1});
    cancelled = cancel_timer(t);
    EXPECT_TRUE(advance_clock(clk, me, 1, 30ms));
    live_at_deadline = T::counts.live();
    EXPECT_EQ(me.mailbox_size(), 0U);
  }
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(live_at_deadline, 0);
  EXPECT_EQ(T::counts.live(), 0);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

// On the real clock: nothing here is about time (the timers are an hour away). The
// other process says when its timer is armed, rather than being given 10 ms to do so.
TEST(SendAfter, APendingTimerIsFreedWhenTheRuntimeIsDestroyed) {
  using T = tracked<22>;
  T::counts.reset();
  long live_after_run = -1;
  bool other_armed = false;
  timer_ref outliving;  // a ref that outlives the runtime must stay safe to drop
  {
    runtime rt{options{.cores = 2}};
    int rc = rt.run([&]() -> process {
      outliving = send_after(1h, self(), T{1});
      send_after(1h, self(), std::make_unique<T>(2));
      const pid me = self();
      const pid other = spawn_on(1, [me]() -> process {
        send_after(1h, self(), T{3});
        send(me, atom<"armed">{});
        co_await receive([](atom<"never">) {});
      });
      (void)other;
      other_armed =
          co_await receive([](atom<"armed">) { return true; }, after(10s, [] { return false; }));
    });
    EXPECT_EQ(rc, 0);
    live_after_run = T::counts.live();
  }
  EXPECT_TRUE(other_armed);
  EXPECT_EQ(live_after_run, 3);
  EXPECT_EQ(T::counts.live(), 0);
  outliving = timer_ref{};
  EXPECT_EQ(T::counts.live(), 0);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}
