// receive ... after: after(0) only polls, after(d) never fires before d, a matched
// receive's timer never reaches a later receive, and receive(after(d, fn)) alone waits
// and leaves the mailbox alone.
//
// Most tests run on a manual_clock (tests/clock_support.hpp) and check exact times. On
// the real clock on purpose: After.ATimeoutNeverFiresBeforeItsDuration, the check that
// a timeout waits in the backend on the kernel's clock and is never early in real time
// (its manual-clock twin, After.ATimeoutFiresAtItsDeadlineAndNotANanosecondBefore,
// checks the deadline to the nanosecond). After.TheAfterFunctionRunsInTheReceivingProcess
// also stays there: it asserts no time.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
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

namespace {

using clock_type = std::chrono::steady_clock;

// What a receiving process saw, sent to the test's thread in one message.
struct outcome {
  std::vector<int> got;
  std::chrono::nanoseconds elapsed{-1};
  bool flag = false;
  int count = -1;
};

}  // namespace

TEST(After, ZeroOnlyPollsAnEmptyMailbox) {
  // A message arrives 10 ms later: a receive that waited at all for it would take it.
  // It does not even let the sender's process start: polling does not suspend.
  manual_clock clk;
  int r = 0;
  bool sender_started = false;
  bool started_during_poll = true;
  std::optional<int> just_before;
  std::optional<int> late;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        spawn_on(0, [me, &sender_started]() -> process {
          sender_started = true;
          co_await sleep_for(10ms);
          send(me, 1);
        });
        r = co_await receive([](int v) { return v; }, after(0ms, [] { return -1; }));
        started_during_poll = sender_started;
        co_await yield();  // now the sender starts its sleep, at 0
        co_await advance_clock(clk, 10ms - 1ns);
        just_before = co_await receive_for<int>(0ms);
        co_await advance_clock(clk, 1ns);
        late = co_await receive_for<int>(0ms);
      },
      options{.cores = 1, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(r, -1);
  EXPECT_FALSE(started_during_poll);
  EXPECT_EQ(just_before, std::nullopt);
  EXPECT_EQ(late, std::optional<int>(1));
}

TEST(After, ZeroTakesAMatchingMessageThatIsAlreadyThere) {
  std::vector<int> got;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), std::string("junk"));
        send(self(), 4);
        int a = co_await receive([](int v) { return v; }, after(0ms, [] { return -1; }));
        got.push_back(a);
        int b = co_await receive([](int v) { return v; }, after(0ms, [] { return -1; }));
        got.push_back(b);
        // The junk is still there for a later receive.
        int c =
            co_await receive([](const std::string&) { return 100; }, after(0ms, [] { return -1; }));
        got.push_back(c);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<int>{4, -1, 100}));
}

// On the real clock on purpose: a timeout must wait in the backend and never end
// before its duration in real time.
TEST(After, ATimeoutNeverFiresBeforeItsDuration) {
  constexpr auto kDelay = 20ms;
  std::vector<double> elapsed;
  int rc = coproc::run(
      [&]() -> process {
        for (int i = 0; i < 5; ++i) {
          const auto t0 = clock_type::now();
          bool timed_out =
              co_await receive([](int) { return false; }, after(kDelay, [] { return true; }));
          EXPECT_TRUE(timed_out);
          elapsed.push_back(ms_since(t0));
        }
        // Also with clause-less receives (sleep).
        const auto t0 = clock_type::now();
        co_await receive(after(kDelay, [] {}));
        elapsed.push_back(ms_since(t0));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  ASSERT_EQ(elapsed.size(), 6U);
  for (double e : elapsed) EXPECT_GE(e, 20.0);
}

// On the real clock on purpose: a receive's timeout takes its deadline from the loop's
// next clock read (lib/time/timer_wheel.hpp, pending_), never from an earlier one. 300
// processes per core, on two cores of a fresh runtime, suspend in one batch among
// processes that each keep the loop busy for 20 us, for 4 rounds: measured from a clock
// read just before each receive, none times out early. Every third one is matched by a
// message sent in the same batch, before its timeout was settled: it gets the message,
// and its next receive's timeout is its own.
TEST(After, ATimeoutArmedInABusyBatchIsNeverEarly) {
  constexpr int kPerCore = 300;
  constexpr int kRounds = 4;
  constexpr auto kDelay = 3ms;
  std::atomic<int> early{0};
  std::atomic<int> timed_out{0};
  std::atomic<int> matched{0};
  int rc = coproc::run(
      [&]() -> process {
        const pid main = self();
        std::vector<pid> waiters;
        for (int core = 0; core < 2; ++core) {
          for (int i = 0; i < kPerCore; ++i) {
            waiters.push_back(spawn_on(core, [&, main]() -> process {
              for (int r = 0; r < kRounds; ++r) {
                const auto t0 = clock_type::now();
                const bool fired =
                    co_await receive([](int) { return false; }, after(kDelay, [] { return true; }));
                if (fired) {
                  if (clock_type::now() - t0 < kDelay) early.fetch_add(1);
                  timed_out.fetch_add(1);
                } else {
                  matched.fetch_add(1);
                }
                const auto spin_until = clock_type::now() + 20us;
                while (clock_type::now() < spin_until) {
                }
              }
              send(main, atom<"done">{});
            }));
          }
        }
        // Each waiter's core runs it before the message can arrive: matched ones are
        // matched while their timeout may still be pending.
        for (std::size_t i = 0; i < waiters.size(); i += 3) send(waiters[i], 1);
        for (std::size_t i = 0; i < waiters.size(); ++i) co_await receive<atom<"done">>();
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(early.load(), 0);
  EXPECT_EQ(matched.load(), 2 * kPerCore / 3);
  EXPECT_EQ(timed_out.load(), 2 * kPerCore * kRounds - 2 * kPerCore / 3);
}

TEST(After, ATimeoutFiresAtItsDeadlineAndNotANanosecondBefore) {
  // Five receives with after(20ms) one after another, then a clause-less one: each is
  // still waiting 1 ns before its deadline and has timed out at it.
  manual_clock clk;
  std::vector<std::chrono::nanoseconds> woke_at;  // by the receiver
  std::vector<bool> results;
  std::vector<std::size_t> waiting_just_before;  // woke_at.size() 1 ns early, by the driver
  std::vector<std::size_t> done_at_deadline;
  int rc = coproc::run(
      [&]() -> process {
        spawn_on(0, [&]() -> process {
          for (int i = 0; i < 5; ++i) {
            bool timed_out =
                co_await receive([](int) { return false; }, after(20ms, [] { return true; }));
            results.push_back(timed_out);
            woke_at.push_back(now(clk));
          }
          co_await receive(after(20ms, [] {}));
          woke_at.push_back(now(clk));
        });
        co_await yield();  // the receiver waits
        for (int i = 0; i < 6; ++i) {
          co_await advance_clock(clk, 20ms - 1ns);
          waiting_just_before.push_back(woke_at.size());
          co_await advance_clock(clk, 1ns);
          done_at_deadline.push_back(woke_at.size());
        }
      },
      options{.cores = 1, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(results, (std::vector<bool>(5, true)));
  EXPECT_EQ(woke_at, (std::vector<std::chrono::nanoseconds>{20ms, 40ms, 60ms, 80ms, 100ms, 120ms}));
  EXPECT_EQ(waiting_just_before, (std::vector<std::size_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(done_at_deadline, (std::vector<std::size_t>{1, 2, 3, 4, 5, 6}));
}

TEST(After, NonMatchingMessagesDoNotMakeATimeoutFireEarly) {
  // Twenty junk messages from core 1, one per millisecond, reach a receive with
  // after(40ms) on core 0: it times out at 40 ms, not before, and keeps the junk.
  manual_clock clk;
  std::optional<outcome> just_before;
  std::optional<outcome> result;
  {
    runtime rt{options{.cores = 2, .clock = &clk}};
    scoped_process me;
    const pid report = me.self();
    spawn_on(0, [report, &clk]() -> process {
      const pid me = self();
      spawn_on(1, [me]() -> process {
        for (int i = 0; i < 20; ++i) {
          send(me, std::string("junk"));
          co_await sleep_for(1ms);
        }
        send(me, atom<"done">{});
      });
      outcome o;
      const auto t0 = now(clk);
      o.flag = co_await receive([](int) { return false; }, after(40ms, [] { return true; }));
      o.elapsed = now(clk) - t0;
      const bool sender_done =
          co_await receive([](atom<"done">) { return true; }, after(5s, [] { return false; }));
      int junk_left = 0;
      while (co_await receive([](const std::string&) { return true; },
                              after(0ms, [] { return false; }))) {
        ++junk_left;
      }
      o.count = sender_done ? junk_left : -1;
      send(report, std::move(o));
    });
    EXPECT_TRUE(settle(me, 2));
    for (int i = 0; i < 20; ++i) EXPECT_TRUE(advance_clock(clk, me, 2, 1ms));
    EXPECT_TRUE(advance_clock(clk, me, 2, 20ms - 1ns));
    just_before = me.receive_for<outcome>(0ms);
    EXPECT_TRUE(advance_clock(clk, me, 2, 1ns));
    result = me.receive_for<outcome>(0ms);
  }
  EXPECT_FALSE(just_before.has_value());
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->flag);  // timed out
  EXPECT_GE(result->elapsed, 40ms);
  EXPECT_EQ(result->elapsed, 40ms);
  EXPECT_EQ(result->count, 20);  // the sender finished, and every junk message stayed
}

TEST(After, AMatchedReceivesTimerNeverFiresIntoALaterReceive) {
  // First receive: after(50ms), matched at 5 ms. Second receive: after(300ms), its
  // message arrives at 105 ms, past the first receive's deadline. A stale timer from
  // the first receive would end the second one at 50 ms with a timeout.
  manual_clock clk;
  std::vector<int> got;
  std::vector<std::chrono::nanoseconds> got_at;
  std::size_t got_by_50ms = 99;
  std::chrono::nanoseconds second_elapsed{-1};
  int extra = -1;
  bool extra_done_early = true;
  int rc = coproc::run(
      [&]() -> process {
        const pid receiver = spawn_on(0, [&]() -> process {
          int a = co_await receive([](int v) { return v; }, after(50ms, [] { return -1; }));
          got.push_back(a);
          got_at.push_back(now(clk));
          const auto t0 = now(clk);
          int b = co_await receive([](int v) { return v; }, after(300ms, [] { return -1; }));
          got.push_back(b);
          got_at.push_back(now(clk));
          second_elapsed = now(clk) - t0;
          // Nothing else: no timeout message, no duplicate.
          int n = 0;
          while (co_await receive([](const message&) { return true; },
                                  after(40ms, [] { return false; }))) {
            ++n;
          }
          extra = n;
        });
        co_await yield();  // it waits in the first receive
        co_await advance_clock(clk, 5ms);
        send(receiver, 1);
        co_await yield();  // it took 1 and waits in the second receive
        co_await advance_clock(clk, 45ms);
        got_by_50ms = got.size();
        co_await advance_clock(clk, 55ms);
        send(receiver, 2);
        co_await yield();  // it took 2 and waits 40 ms for anything else
        co_await advance_clock(clk, 40ms - 1ns);
        extra_done_early = extra != -1;
        co_await advance_clock(clk, 1ns);
      },
      options{.cores = 1, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<int>{1, 2}));
  EXPECT_EQ(got_at, (std::vector<std::chrono::nanoseconds>{5ms, 105ms}));
  EXPECT_EQ(got_by_50ms, 1U);
  EXPECT_GE(second_elapsed, 50ms);  // it really waited for message 2
  EXPECT_EQ(second_elapsed, 100ms);
  EXPECT_FALSE(extra_done_early);
  EXPECT_EQ(extra, 0);
}

TEST(After, ATimerMatchedByAMessageFromAnotherCoreNeverFiresLater) {
  // Ten receives with after(50ms) on core 0, each matched by a message from core 1
  // sent 2 ms apart; then one receive with after(300ms) whose message comes 100 ms
  // later, well past the 52..70 ms at which the ten matched timers would have fired.
  manual_clock clk;
  std::optional<outcome> by_70ms;
  std::optional<outcome> just_before;
  std::optional<outcome> result;
  {
    runtime rt{options{.cores = 2, .clock = &clk}};
    scoped_process me;
    const pid report = me.self();
    spawn_on(0, [report, &clk]() -> process {
      const pid me = self();
      spawn_on(1, [me]() -> process {
        for (int i = 0; i < 10; ++i) {
          co_await sleep_for(2ms);
          send(me, i);
        }
        co_await sleep_for(100ms);
        send(me, 10);
      });
      outcome o;
      for (int i = 0; i < 10; ++i) {
        int v = co_await receive([](int v) { return v; }, after(50ms, [] { return -1; }));
        o.got.push_back(v);
      }
      const auto t0 = now(clk);
      int last = co_await receive([](int v) { return v; }, after(300ms, [] { return -2; }));
      o.got.push_back(last);
      o.elapsed = now(clk) - t0;
      send(report, std::move(o));
    });
    EXPECT_TRUE(settle(me, 2));
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(advance_clock(clk, me, 2, 2ms));  // to 20 ms
    EXPECT_TRUE(advance_clock(clk, me, 2, 50ms));                              // to 70 ms
    by_70ms = me.receive_for<outcome>(0ms);
    EXPECT_TRUE(advance_clock(clk, me, 2, 50ms - 1ns));
    just_before = me.receive_for<outcome>(0ms);
    EXPECT_TRUE(advance_clock(clk, me, 2, 1ns));  // 120 ms: message 10 is sent
    result = me.receive_for<outcome>(0ms);
  }
  EXPECT_FALSE(by_70ms.has_value());
  EXPECT_FALSE(just_before.has_value());
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->got, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_GE(result->elapsed, 50ms);
  EXPECT_EQ(result->elapsed, 100ms);
}

TEST(After, AMatchedReceiveCancelsItsTimerEvenIfTheDeadlinePassesBeforeItRuns) {
  // The message and the deadline reach core 1 in the same turn of its loop: the message
  // is taken in (which matches the receive) before the due timers fire, and the process
  // runs only after both. The match must have disarmed the timer: the process gets the
  // message, once, and never the timeout. Core 1 is held busy while the clock moves and
  // the message is sent, so that both land in one turn.
  manual_clock clk;
  std::atomic<bool> spinning{false};
  std::atomic<bool> release{false};
  std::optional<int> got;
  std::optional<int> more;
  {
    runtime rt{options{.cores = 2, .clock = &clk}};
    scoped_process me;
    struct releaser {
      std::atomic<bool>& r;
      ~releaser() { r.store(true); }
    } on_exit{release};
    const pid report = me.self();
    const pid receiver = spawn_on(1, [report]() -> process {
      int v = co_await receive([](int x) { return x; }, after(50ms, [] { return -1; }));
      send(report, v);
      int w = co_await receive([](int x) { return x; }, after(1h, [] { return -2; }));
      send(report, w);
    });
    EXPECT_TRUE(settle(me, 2));  // it waits, its timer armed at 0
    spawn_on(1, [&spinning, &release] {
      spinning.store(true);
      while (!release.load()) std::this_thread::yield();
    });
    while (!spinning.load()) std::this_thread::yield();
    clk.advance(50ms);  // core 1 is busy: it sees neither the time nor the message yet
    send(receiver, 1);
    release.store(true);
    got = me.receive_for<int>(5s);
    EXPECT_TRUE(settle(me, 2));
    more = me.receive_for<int>(0ms);  // nothing else came: no late timeout
  }
  EXPECT_EQ(got, std::optional<int>(1));
  EXPECT_EQ(more, std::nullopt);
}

TEST(After, ManyTimeoutsEachFireAtTheirOwnDeadlineAndMatchedOnesNever) {
  // 500 receivers on one core with after(1..500 ms) in scrambled order; every fifth is
  // matched by a message before any time passes. Stepping the clock 1 ms at a time,
  // each unmatched one times out exactly at its deadline, and no matched one ever does.
  manual_clock clk;
  constexpr int kReceivers = 500;
  std::vector<std::chrono::nanoseconds> fired_at(kReceivers, std::chrono::nanoseconds(-1));
  std::vector<int> matched(kReceivers, 0);
  int fired = 0;
  int wrong_counts = 0;
  int rc = coproc::run(
      [&]() -> process {
        std::vector<pid> receivers;
        for (int i = 0; i < kReceivers; ++i) {
          const auto d = std::chrono::milliseconds((i * 37) % kReceivers + 1);
          receivers.push_back(spawn_on(0, [&, i, d]() -> process {
            bool timed_out =
                co_await receive([](int) { return false; }, after(d, [] { return true; }));
            if (timed_out) {
              fired_at[i] = now(clk);
              ++fired;
            } else {
              ++matched[i];
            }
          }));
        }
        co_await yield();  // every receiver waits
        for (int i = 0; i < kReceivers; i += 5) send(receivers[i], 0);
        co_await yield();  // the matched ones have ended
        std::vector<int> receiver_due_at(kReceivers + 1);
        for (int i = 0; i < kReceivers; ++i) receiver_due_at[(i * 37) % kReceivers + 1] = i;
        int expected = 0;
        for (int ms = 1; ms <= kReceivers; ++ms) {
          co_await advance_clock(clk, 1ms);
          const int due = receiver_due_at[ms];  // unless it was one of the matched ones
          if (due % 5 != 0) ++expected;
          if (fired != expected) ++wrong_counts;
        }
      },
      options{.cores = 1, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(wrong_counts, 0);
  EXPECT_EQ(fired, kReceivers - kReceivers / 5);
  int wrong = 0;
  for (int i = 0; i < kReceivers; ++i) {
    const auto d = std::chrono::milliseconds((i * 37) % kReceivers + 1);
    if (i % 5 == 0) {
      if (matched[i] != 1 || fired_at[i] != std::chrono::nanoseconds(-1)) ++wrong;
    } else if (matched[i] != 0 || fired_at[i] != d) {
      ++wrong;
    }
  }
  EXPECT_EQ(wrong, 0);
}

TEST(After, AloneItWaitsAndLeavesTheMailboxAlone) {
  manual_clock clk;
  std::chrono::nanoseconds elapsed{-1};
  int result = 0;
  int result_just_before = -1;
  std::vector<std::string> left;
  int rc = coproc::run(
      [&]() -> process {
        spawn_on(0, [&]() -> process {
          send(self(), 1);
          send(self(), std::string("two"));
          const auto t0 = now(clk);
          result = co_await receive(after(20ms, [] { return 7; }));
          elapsed = now(clk) - t0;
          for (;;) {
            auto s = co_await receive([](int v) { return std::to_string(v); },
                                      [](std::string v) { return v; },
                                      after(0ms, [] { return std::string(); }));
            if (s.empty()) break;
            left.push_back(s);
          }
        });
        co_await yield();  // it waits, its two messages in its mailbox
        co_await advance_clock(clk, 20ms - 1ns);
        result_just_before = result;
        co_await advance_clock(clk, 1ns);
      },
      options{.cores = 1, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(result_just_before, 0);  // still waiting
  EXPECT_EQ(result, 7);
  EXPECT_GE(elapsed, 20ms);
  EXPECT_EQ(elapsed, 20ms);
  EXPECT_EQ(left, (std::vector<std::string>{"1", "two"}));
}

TEST(After, AloneItIsNotEndedByAnArrivingMessage) {
  manual_clock clk;
  std::chrono::nanoseconds elapsed{-1};
  bool ended_by_message = true;
  bool ended_just_before = true;
  int got = 0;
  int rc = coproc::run(
      [&]() -> process {
        const pid waiter = spawn_on(0, [&]() -> process {
          const auto t0 = now(clk);
          co_await receive(after(30ms, [] {}));
          elapsed = now(clk) - t0;
          got = co_await receive([](int v) { return v; }, after(0ms, [] { return -1; }));
        });
        co_await yield();  // it waits
        co_await advance_clock(clk, 2ms);
        send(waiter, 5);
        co_await yield();  // a receive that took it would have ended now
        ended_by_message = got != 0;
        co_await advance_clock(clk, 28ms - 1ns);
        ended_just_before = got != 0;
        co_await advance_clock(clk, 1ns);
      },
      options{.cores = 1, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_FALSE(ended_by_message);
  EXPECT_FALSE(ended_just_before);
  EXPECT_GE(elapsed, 30ms);
  EXPECT_EQ(elapsed, 30ms);
  EXPECT_EQ(got, 5);
}

// On the real clock: it asserts no time, only which process runs the function.
TEST(After, TheAfterFunctionRunsInTheReceivingProcess) {
  pid inside{};
  pid main_pid{};
  int rc = coproc::run(
      [&]() -> process {
        main_pid = self();
        co_await receive([](int) {}, after(1ms, [&] { inside = self(); }));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(static_cast<bool>(main_pid));
  EXPECT_EQ(inside, main_pid);
}

TEST(After, TheLargestDurationMeansWaitNotFireAtOnce) {
  // after(nanoseconds::max()) is "practically infinity"; it must not overflow into a
  // deadline in the past and fire at once, nor within a century.
  manual_clock clk;
  std::string got;
  std::string got_after_a_century = "?";
  int rc = coproc::run(
      [&]() -> process {
        const pid waiter = spawn_on(0, [&]() -> process {
          got = co_await receive(
              [](int) { return std::string("message"); },
              after(std::chrono::nanoseconds::max(), [] { return std::string("timeout"); }));
        });
        co_await yield();  // it waits
        co_await advance_clock(clk, 1ms);
        co_await advance_clock(clk, std::chrono::years(100));
        got_after_a_century = got;
        send(waiter, 1);
        co_await yield();
      },
      options{.cores = 1, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got_after_a_century, "");
  EXPECT_EQ(got, "message");
}
