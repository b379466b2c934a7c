// Selective receive, as in Erlang: messages are taken in arrival order, each tried
// against the clauses in order; what matches nothing stays, in order.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <coproc/coproc.hpp>

#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;

TEST(SelectiveReceive, ATypedClauseTakesATermMessagesBinaryWithoutCopyingIt) {
  // What a message from another node is: a term. A typed clause that takes it gets its
  // binary moved (one conversion, at consumption), and a clause that does not match
  // leaves the message whole for the next.
  bool same_bytes = false;
  bool whole = false;
  int rc = coproc::run(
      [&]() -> process {
        const std::string big(1 << 20, 'z');
        term t = term::tuple({term::atom("echo"), term::binary(big)});
        const char* bytes = t[1].as_binary().data();
        send(self(), std::move(t));
        co_await receive([&](atom<"echo">, std::string& b) {
          same_bytes = b.data() == bytes;
          whole = b == big;
        });
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(whole);
  EXPECT_TRUE(same_bytes);
}

TEST(SelectiveReceive, MessageOrderWinsOverClauseOrder) {
  std::vector<std::string> taken;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), std::string("first"));
        send(self(), 2);
        for (int i = 0; i < 2; ++i) {
          // The int clause comes first, but the string arrived first.
          co_await receive([&](int v) { taken.push_back("int " + std::to_string(v)); },
                           [&](const std::string& s) { taken.push_back("string " + s); },
                           after(1s, [&] { taken.push_back("timeout"); }));
        }
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(taken, (std::vector<std::string>{"string first", "int 2"}));
}

TEST(SelectiveReceive, FirstMatchingClauseRunsWhenSeveralMatch) {
  std::vector<int> taken;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), 5);
        co_await receive([&](int) { taken.push_back(1); }, [&](int) { taken.push_back(2); },
                         [&](const message&) { taken.push_back(3); },
                         after(1s, [&] { taken.push_back(-1); }));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(taken, (std::vector<int>{1}));
}

TEST(SelectiveReceive, NonMatchingMessagesStayInOrderForLaterReceives) {
  std::vector<std::string> log;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        send(me, 1);
        send(me, std::string("a"));
        send(me, 2);
        send(me, std::string("b"));
        send(me, 3.5);
        send(me, 3);
        send(me, std::string("c"));
        for (int i = 0; i < 3; ++i) {
          int v = co_await receive([](int x) { return x; }, after(1s, [] { return -1; }));
          log.push_back("int " + std::to_string(v));
        }
        for (int i = 0; i < 3; ++i) {
          std::string s = co_await receive([](std::string x) { return x; },
                                           after(1s, [] { return std::string("timeout"); }));
          log.push_back("string " + s);
        }
        double d = co_await receive([](double x) { return x; }, after(1s, [] { return -1.0; }));
        log.push_back("double " + std::to_string(d));
        // The mailbox is now empty.
        bool empty = co_await receive([](const message&) { return false; },
                                      after(0ms, [] { return true; }));
        EXPECT_TRUE(empty);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(log, (std::vector<std::string>{"int 1", "int 2", "int 3", "string a", "string b",
                                           "string c", "double " + std::to_string(3.5)}));
}

TEST(SelectiveReceive, SkippedMessagesKeepTheirOrderAroundATakenOne) {
  std::vector<int> got;
  int rc = coproc::run(
      [&]() -> process {
        for (int i = 1; i <= 5; ++i) send(self(), i);
        got.push_back(co_await receive(when([](int v) { return v == 3; }, [](int v) { return v; }),
                                       after(1s, [] { return -1; })));
        for (int i = 0; i < 4; ++i) {
          got.push_back(co_await receive([](int v) { return v; }, after(1s, [] { return -1; })));
        }
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<int>{3, 1, 2, 4, 5}));
}

TEST(SelectiveReceive, AWaitingProcessTakesTheFirstMatchThatArrivesAndKeepsTheRest) {
  // The receiver is suspended when the messages arrive: delivery must test each one
  // against the waiting receive, take the first match, and keep the rest in order.
  std::vector<std::string> log;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        spawn_on(0, [me]() -> process {
          co_await sleep_for(5ms);
          send(me, std::string("junk1"));
          send(me, 10);
          send(me, std::string("junk2"));
          send(me, atom<"wanted">{}, 1);
          send(me, atom<"wanted">{}, 2);
          send(me, 11);
        });
        int w = co_await receive([](atom<"wanted">, int v) { return v; },
                                 after(2s, [] { return -1; }));
        log.push_back("wanted " + std::to_string(w));
        for (int i = 0; i < 5; ++i) {
          log.push_back(co_await receive(
              [](const std::string& s) { return "string " + s; },
              [](int v) { return "int " + std::to_string(v); },
              [](atom<"wanted">, int v) { return "wanted " + std::to_string(v); },
              after(1s, [] { return std::string("timeout"); })));
        }
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(log, (std::vector<std::string>{"wanted 1", "string junk1", "int 10", "string junk2",
                                           "wanted 2", "int 11"}));
}

TEST(SelectiveReceive, AWaitingProcessIsNotWokenByAMessageItDoesNotTake) {
  // A long stream of junk arrives while the process waits for one int; the int that
  // arrives last is the one taken, and all the junk is still there afterwards.
  constexpr int kJunk = 1000;
  int taken = 0;
  int junk_left = 0;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        spawn_on(0, [me]() -> process {
          for (int i = 0; i < kJunk; ++i) {
            send(me, static_cast<double>(i));
            if (i % 100 == 0) co_await yield();
          }
          send(me, 7);
        });
        taken = co_await receive([](int v) { return v; }, after(5s, [] { return -1; }));
        for (;;) {
          bool more = co_await receive(
              [&junk_left](double d) {
                EXPECT_EQ(d, static_cast<double>(junk_left));
                ++junk_left;
                return true;
              },
              after(0ms, [] { return false; }));
          if (!more) break;
        }
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(taken, 7);
  EXPECT_EQ(junk_left, kJunk);
}
