// receive ... after: after(0) only polls, after(d) never fires before d, a matched
// receive's timer never reaches a later receive, and receive(after(d, fn)) alone waits
// and leaves the mailbox alone.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <coproc/coproc.hpp>

#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using coproc_test::ms_since;

namespace {
using clock_type = std::chrono::steady_clock;
}

TEST(After, ZeroOnlyPollsAnEmptyMailbox) {
  // A message arrives 10ms later: a receive that waited at all for it would take it.
  int r = 0;
  std::optional<int> late;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        spawn_on(0, [me]() -> process {
          co_await sleep_for(10ms);
          send(me, 1);
        });
        r = co_await receive([](int v) { return v; }, after(0ms, [] { return -1; }));
        late = co_await receive_for<int>(2s);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(r, -1);
  EXPECT_EQ(late, std::optional<int>(1));
}

TEST(After, ZeroTakesAMatchingMessageThatIsAlreadyThere) {
  std::vector<int> got;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), std::string("junk"));
        send(self(), 4);
        got.push_back(co_await receive([](int v) { return v; }, after(0ms, [] { return -1; })));
        got.push_back(co_await receive([](int v) { return v; }, after(0ms, [] { return -1; })));
        // The junk is still there for a later receive.
        got.push_back(co_await receive([](const std::string&) { return 100; },
                                       after(0ms, [] { return -1; })));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<int>{4, -1, 100}));
}

TEST(After, ATimeoutNeverFiresBeforeItsDuration) {
  constexpr auto kDelay = 20ms;
  std::vector<double> elapsed;
  int rc = coproc::run(
      [&]() -> process {
        for (int i = 0; i < 5; ++i) {
          const auto t0 = clock_type::now();
          bool timed_out = co_await receive([](int) { return false; },
                                            after(kDelay, [] { return true; }));
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

TEST(After, NonMatchingMessagesDoNotMakeATimeoutFireEarly) {
  double elapsed = -1;
  bool timed_out = false;
  bool sender_done = false;
  int junk_left = 0;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        spawn_on(1, [me]() -> process {
          for (int i = 0; i < 20; ++i) {
            send(me, std::string("junk"));
            co_await sleep_for(1ms);
          }
          send(me, atom<"done">{});
        });
        const auto t0 = clock_type::now();
        timed_out = co_await receive([](int) { return false; }, after(40ms, [] { return true; }));
        elapsed = ms_since(t0);
        sender_done = co_await receive([](atom<"done">) { return true; },
                                       after(5s, [] { return false; }));
        while (co_await receive([](const std::string&) { return true; },
                                after(0ms, [] { return false; }))) {
          ++junk_left;
        }
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(timed_out);
  EXPECT_GE(elapsed, 40.0);
  EXPECT_TRUE(sender_done);
  EXPECT_EQ(junk_left, 20);
}

TEST(After, AMatchedReceivesTimerNeverFiresIntoALaterReceive) {
  // First receive: after(50ms), matched at ~5ms. Second receive: after(300ms), its
  // message arrives at ~105ms, past the first receive's deadline. A stale timer from
  // the first receive would end the second one early with a timeout.
  std::vector<int> got;
  double second_elapsed = -1;
  int extra = 0;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        spawn_on(0, [me]() -> process {
          co_await sleep_for(5ms);
          send(me, 1);
          co_await sleep_for(100ms);
          send(me, 2);
        });
        got.push_back(co_await receive([](int v) { return v; }, after(50ms, [] { return -1; })));
        const auto t0 = clock_type::now();
        got.push_back(co_await receive([](int v) { return v; }, after(300ms, [] { return -1; })));
        second_elapsed = ms_since(t0);
        // Nothing else: no timeout message, no duplicate.
        while (co_await receive([](const message&) { return true; },
                                after(40ms, [] { return false; }))) {
          ++extra;
        }
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<int>{1, 2}));
  EXPECT_GE(second_elapsed, 50.0);  // it really waited for message 2
  EXPECT_EQ(extra, 0);
}

TEST(After, ATimerMatchedByAMessageFromAnotherCoreNeverFiresLater) {
  // Ten receives with after(50ms), each matched by a message from core 1 sent 2ms
  // apart; then one receive with after(300ms) whose message comes ~100ms later, well
  // inside the window where the ten matched timers would have fired.
  std::vector<int> got;
  double last_elapsed = -1;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        spawn_on(1, [me]() -> process {
          for (int i = 0; i < 10; ++i) {
            co_await sleep_for(2ms);
            send(me, i);
          }
          co_await sleep_for(100ms);
          send(me, 10);
        });
        for (int i = 0; i < 10; ++i) {
          got.push_back(co_await receive([](int v) { return v; }, after(50ms, [] { return -1; })));
        }
        const auto t0 = clock_type::now();
        got.push_back(co_await receive([](int v) { return v; }, after(300ms, [] { return -2; })));
        last_elapsed = ms_since(t0);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_GE(last_elapsed, 50.0);
}

TEST(After, AloneItWaitsAndLeavesTheMailboxAlone) {
  double elapsed = -1;
  int result = 0;
  std::vector<std::string> left;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), 1);
        send(self(), std::string("two"));
        const auto t0 = clock_type::now();
        result = co_await receive(after(20ms, [] { return 7; }));
        elapsed = ms_since(t0);
        for (;;) {
          auto s = co_await receive([](int v) { return std::to_string(v); },
                                    [](std::string v) { return v; },
                                    after(0ms, [] { return std::string(); }));
          if (s.empty()) break;
          left.push_back(s);
        }
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(result, 7);
  EXPECT_GE(elapsed, 20.0);
  EXPECT_EQ(left, (std::vector<std::string>{"1", "two"}));
}

TEST(After, AloneItIsNotEndedByAnArrivingMessage) {
  double elapsed = -1;
  int got = 0;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        spawn_on(0, [me]() -> process {
          co_await sleep_for(2ms);
          send(me, 5);
        });
        const auto t0 = clock_type::now();
        co_await receive(after(30ms, [] {}));
        elapsed = ms_since(t0);
        got = co_await receive([](int v) { return v; }, after(0ms, [] { return -1; }));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_GE(elapsed, 30.0);
  EXPECT_EQ(got, 5);
}

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
  // deadline in the past and fire at once.
  std::string got;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        spawn_on(0, [me]() -> process {
          co_await sleep_for(20ms);
          send(me, 1);
        });
        got = co_await receive([](int) { return std::string("message"); },
                               after(std::chrono::nanoseconds::max(),
                                     [] { return std::string("timeout"); }));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, "message");
}
