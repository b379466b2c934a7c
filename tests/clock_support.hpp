// tests/clock_support.hpp - driving a manual_clock (coproc/clock.hpp) from a test.
//
// Timer tests that check logic (which timer fires when, in what order, never early)
// run on a manual_clock and assert exact times: "not at 10 ms - 1 ns, at 10 ms". Time
// moves only when the test moves it, so nothing depends on how fast the machine is.
//
// Inside a process (the test's driver, usually its main process), on one core:
//   co_await coproc_test::advance_clock(clk, d)   sleeps d on clk while moving clk by d
//   coproc_test::now(clk)                         clk's time, as a duration
// From the test's own thread, next to a scoped_process (any number of cores):
//   coproc_test::settle(me, cores)                waits until every core has caught up
//   coproc_test::advance_clock(clk, me, cores, d) clk.advance(d), then settle
//
// Why advance_clock() is exact. The driver's sleep is armed last, with the deadline
// now + d; once the clock reads now + d, no due timer has a later deadline. The timer
// wheel (lib/time/timer_wheel.hpp) gives out earlier ticks first and, within a tick, a
// sorted slot in deadline order, equal deadlines in the order of arming: in the loop's
// timer pass the driver's timer fires after every other due timer of its core. A
// process woken by a timeout is queued at the back, before the driver; one woken by a
// message (a send_after's receiver, or a process that a woken one sent to on this core)
// at the front. The driver then yields once more, behind anything that the same pass
// queued after it (only a timer that fired early could be). So when advance_clock()
// returns, every timer of the driver's core due by then has fired, and what they woke on
// this core has run to its next suspension; a process that reads the clock there reads
// now + d. Processes spawned before must have run (co_await yield()) before the first
// advance, or they would arm their timers after the clock has moved.
// Keep deadlines on whole milliseconds, or at least one per 1 ms tick of the wheel: a
// tick whose slot was armed out of deadline order is given out only once the clock has
// passed the tick (timer_wheel.hpp), and a clock standing on it never does (the test
// would hang rather than pass). Other cores are not covered: use settle() for them.
//
// Why settle() is exact. It starts a probe process on each core in turn, three times
// over, and waits for each probe's answer. A loop's turn takes its inbound traffic
// (messages, spawns), then fires its due timers, then runs processes; a probe runs in
// the first batch after it arrives, ahead of the processes woken by timeouts, and it
// answers along the same queue as every message sent earlier from its core. After
// round 1 every core has fired the timers due at the clock's time; after round 2 the
// batches that ran the processes those timers woke are over; round 3 has delivered what
// those processes sent across cores and run the receivers. Every message they sent to
// `me` has arrived. (With fewer than 256 runnable processes on a core, one batch of its
// loop, and the same caveat on whole milliseconds.)
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <coroutine>
#include <stdexcept>
#include <utility>

#include <coproc/coproc.hpp>

namespace coproc_test {

// clk's time as a duration (it starts at zero).
inline std::chrono::nanoseconds now(const coproc::manual_clock& clk) noexcept {
  return std::chrono::nanoseconds(clk.now_ns());
}

// The awaiter of advance_clock(): a sleep_for(d) that moves the clock by d once its own
// timer is armed.
template <class Sleep>
struct [[nodiscard]] advancing_sleep {
  Sleep sleep;
  coproc::manual_clock* clk;
  std::chrono::nanoseconds by;

  bool await_ready() { return sleep.await_ready(); }
  void await_suspend(std::coroutine_handle<> h) {
    sleep.await_suspend(h);
    clk->advance(by);
  }
  void await_resume() { sleep.await_resume(); }
};

// co_await advance_clock(clk, d), inside a process of a runtime running on clk: d > 0.
// The sleep, then a yield: a process that a timer woke in the same pass but queued
// behind the driver (only a timer that fired before its deadline could be) runs too
// before the driver looks. If timers fired late, the driver's own sleep would too, and
// the test would hang (until ctest's timeout) instead of failing an expectation.
template <class Rep, class Period>
coproc::subroutine<void> advance_clock(coproc::manual_clock& clk,
                                       std::chrono::duration<Rep, Period> d) {
  const auto by = std::chrono::duration_cast<std::chrono::nanoseconds>(d);
  if (by.count() <= 0)
    throw std::invalid_argument("coproc_test::advance_clock: d must be positive");
  // Named first: see the README's g++ 12 pitfall.
  advancing_sleep<decltype(coproc::sleep_for(by))> sleep{coproc::sleep_for(by), &clk, by};
  co_await sleep;
  co_await coproc::yield();
}

// From a thread outside the runtime: see the top of this file. False (and a test
// failure) if some core did not answer within 30 s of real time.
inline bool settle(coproc::scoped_process& me, unsigned cores) {
  using namespace std::chrono_literals;
  const coproc::pid to = me.self();
  for (int round = 0; round < 3; ++round) {
    for (unsigned c = 0; c < cores; ++c) {
      coproc::spawn_on(c, [to] { coproc::send(to, coproc::atom<"settled">{}); });
      const bool answered = me.receive([](coproc::atom<"settled">) { return true; },
                                       coproc::after(30s, [] { return false; }));
      if (!answered) {
        ADD_FAILURE() << "core " << c << " did not answer a settle probe";
        return false;
      }
    }
  }
  return true;
}

// From a thread outside the runtime: clk.advance(d), then settle(me, cores).
template <class Rep, class Period>
bool advance_clock(coproc::manual_clock& clk, coproc::scoped_process& me, unsigned cores,
                   std::chrono::duration<Rep, Period> d) {
  clk.advance(std::chrono::duration_cast<std::chrono::nanoseconds>(d));
  return settle(me, cores);
}

}  // namespace coproc_test
