// A manual_clock in options: timers follow it, not real time.
//
// "Not yet" is checked exactly: coproc_test::settle (tests/clock_support.hpp) waits until
// every core has fired what is due, then the mailbox is polled. "Now" is checked with a
// plain clk.advance() and a bounded wait, without settle, whose probes would wake the
// loops themselves: it is advance() that must wake them.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>

#include <coproc/coproc.hpp>

#include "clock_support.hpp"
#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using coproc_test::advance_clock;
using coproc_test::ms_since;
using coproc_test::settle;

namespace {

using clock_type = std::chrono::steady_clock;

// Spawned on the waiter's own core just before the waiter suspends, so it runs only
// after the waiter's receive (and its timer) is in place: it tells `to` so.
void announce_armed(pid to) {
  send(to, atom<"armed">{});
}

}  // namespace

TEST(ManualClock, AnAfterOfOneHourFiresOnlyWhenTheClockIsAdvancedOneHour) {
  manual_clock clk;
  std::optional<atom<"fired">> before;
  std::optional<atom<"fired">> at_59min;
  std::optional<atom<"fired">> just_before;
  std::optional<atom<"fired">> at_1h;
  std::optional<atom<"armed">> armed;
  const auto t0 = clock_type::now();
  {
    runtime rt{options{.cores = 2, .clock = &clk}};
    scoped_process me;
    const pid report = me.self();
    spawn_on(1, [report]() -> process {
      spawn_on(self().core, announce_armed, report);
      co_await receive([](atom<"never">) {},
                       after(1h, [report] { send(report, atom<"fired">{}); }));
    });
    armed = me.receive_for<atom<"armed">>(5s);
    EXPECT_TRUE(settle(me, 2));
    before = me.receive_for<atom<"fired">>(0ms);
    EXPECT_TRUE(advance_clock(clk, me, 2, 59min));
    at_59min = me.receive_for<atom<"fired">>(0ms);
    EXPECT_TRUE(advance_clock(clk, me, 2, 1min - 1ns));
    just_before = me.receive_for<atom<"fired">>(0ms);
    clk.advance(1ns);
    at_1h = me.receive_for<atom<"fired">>(5s);
  }
  EXPECT_TRUE(armed.has_value());
  EXPECT_FALSE(before.has_value());
  EXPECT_FALSE(at_59min.has_value());
  EXPECT_FALSE(just_before.has_value());
  EXPECT_TRUE(at_1h.has_value());
  EXPECT_LT(ms_since(t0), 10'000.0);  // an hour of timeout, in well under real seconds
}

TEST(ManualClock, SleepForEndsWhenTheClockPassesItsDuration) {
  manual_clock clk;
  std::optional<atom<"armed">> armed;
  std::optional<atom<"woke">> early;
  std::optional<atom<"woke">> just_before;
  std::optional<atom<"woke">> woke;
  {
    runtime rt{options{.cores = 1, .clock = &clk}};
    scoped_process me;
    const pid report = me.self();
    spawn_on(0, [report]() -> process {
      spawn_on(self().core, announce_armed, report);
      co_await sleep_for(10s);
      send(report, atom<"woke">{});
    });
    armed = me.receive_for<atom<"armed">>(5s);
    EXPECT_TRUE(advance_clock(clk, me, 1, 9s));
    early = me.receive_for<atom<"woke">>(0ms);
    EXPECT_TRUE(advance_clock(clk, me, 1, 1s - 1ns));
    just_before = me.receive_for<atom<"woke">>(0ms);
    clk.advance(1ns);
    woke = me.receive_for<atom<"woke">>(5s);
  }
  EXPECT_TRUE(armed.has_value());
  EXPECT_FALSE(early.has_value());
  EXPECT_FALSE(just_before.has_value());
  EXPECT_TRUE(woke.has_value());
}

TEST(ManualClock, SendAfterFiresWhenTheClockIsAdvanced) {
  manual_clock clk;
  std::optional<int> early;
  std::optional<int> just_before;
  std::optional<int> got;
  {
    runtime rt{options{.cores = 2, .clock = &clk}};
    scoped_process me;
    const pid report = me.self();
    const pid p = spawn_on(1, [report]() -> process {
      send_after(30min, report, 42);
      send(report, -1);  // the timer is armed
      co_return;
    });
    (void)p;
    auto armed = me.receive_for<int>(5s);
    EXPECT_EQ(armed, std::optional<int>(-1));
    EXPECT_TRUE(settle(me, 2));
    early = me.receive_for<int>(0ms);
    EXPECT_TRUE(advance_clock(clk, me, 2, 30min - 1ns));
    just_before = me.receive_for<int>(0ms);
    clk.advance(1ns);
    got = me.receive_for<int>(5s);
  }
  EXPECT_EQ(early, std::nullopt);
  EXPECT_EQ(just_before, std::nullopt);
  EXPECT_EQ(got, std::optional<int>(42));
}

TEST(ManualClock, AMessageStillEndsAReceiveWhoseClockStandsStill) {
  manual_clock clk;
  std::optional<int> got;
  {
    runtime rt{options{.cores = 2, .clock = &clk}};
    scoped_process me;
    const pid report = me.self();
    const pid p = spawn_on(1, [report]() -> process {
      int v = co_await receive([](int x) { return x; }, after(1ms, [] { return -1; }));
      send(report, v);
    });
    send(p, 8);
    got = me.receive_for<int>(5s);
  }
  EXPECT_EQ(got, std::optional<int>(8));
}
