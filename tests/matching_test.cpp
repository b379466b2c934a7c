// How a clause matches a message: exact types, guards, the catch-all clause, strings,
// tuples, atoms, and the type a receive yields.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include <coproc/coproc.hpp>

#include "clock_support.hpp"
#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;

namespace {
constexpr int kTimedOut = -1000;
}

TEST(Guards, AGuardSelectsOnlyMessagesForWhichItIsTrue) {
  std::vector<int> got;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), 1);
        send(self(), 20);
        send(self(), 3);
        send(self(), 40);
        auto big = [](int v) { return v > 10; };
        got.push_back(co_await receive(when(big, [](int v) { return v; }),
                                       after(1s, [] { return kTimedOut; })));
        got.push_back(co_await receive(when(big, [](int v) { return v; }),
                                       after(1s, [] { return kTimedOut; })));
        // No big one is left: the guard keeps the small ones out.
        got.push_back(co_await receive(when(big, [](int v) { return v; }),
                                       after(10ms, [] { return kTimedOut; })));
        got.push_back(
            co_await receive([](int v) { return v; }, after(1s, [] { return kTimedOut; })));
        got.push_back(
            co_await receive([](int v) { return v; }, after(1s, [] { return kTimedOut; })));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<int>{20, 40, kTimedOut, 1, 3}));
}

TEST(Guards, AFailingGuardFallsThroughToTheNextClause) {
  std::vector<std::string> got;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), 5);
        send(self(), -5);
        for (int i = 0; i < 2; ++i) {
          got.push_back(co_await receive(
              when([](int v) { return v > 0; }, [](int) { return std::string("positive"); }),
              [](int) { return std::string("other"); },
              after(1s, [] { return std::string("timeout"); })));
        }
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<std::string>{"positive", "other"}));
}

TEST(Guards, AGuardSeesEveryValueOfAMultiValueMessage) {
  std::vector<int> got;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), ok, 1);
        send(self(), ok, 2);
        send(self(), error, 4);
        auto even_ok =
            when([](atom<"ok">, int v) { return v % 2 == 0; }, [](atom<"ok">, int v) { return v; });
        got.push_back(co_await receive(even_ok, after(1s, [] { return kTimedOut; })));
        got.push_back(co_await receive(
            when([](atom<"ok">, int v) { return v % 2 == 0; }, [](atom<"ok">, int v) { return v; }),
            after(10ms, [] { return kTimedOut; })));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<int>{2, kTimedOut}));
}

TEST(Guards, AGuardThatThrowsCountsAsFalse) {
  std::vector<int> got;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), 7);
        got.push_back(co_await receive(
            when([](int) -> bool { throw std::runtime_error("guard"); }, [](int v) { return v; }),
            [](int v) { return v * 10; }, after(1s, [] { return kTimedOut; })));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<int>{70}));
}

TEST(CatchAll, AMessageClauseMatchesAnythingAndExposesItsType) {
  bool int_ok = false;
  bool tuple_ok = false;
  bool string_ok = false;
  std::string int_name;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), 42);
        send(self(), 7, std::string("seven"));
        send(self(), "text");
        co_await receive(
            [&](const message& m) {
              EXPECT_FALSE(m.empty());
              int_ok = m.is<int>() && !m.is<long>() && !m.is<unsigned>() && m.get<int>() == 42;
              int_name = std::string(m.type_name());
            },
            after(1s, [] { ADD_FAILURE() << "timed out"; }));
        co_await receive(
            [&](const message& m) {
              tuple_ok = m.is<int, std::string>() && !m.is<int>() &&
                         std::get<0>(m.get<int, std::string>()) == 7 &&
                         std::get<1>(m.get<int, std::string>()) == "seven";
            },
            after(1s, [] { ADD_FAILURE() << "timed out"; }));
        co_await receive(
            [&](const message& m) {
              string_ok = m.is<std::string>() && m.get<std::string>() == "text";
            },
            after(1s, [] { ADD_FAILURE() << "timed out"; }));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(int_ok);
  EXPECT_TRUE(tuple_ok);
  EXPECT_TRUE(string_ok);
  EXPECT_NE(int_name.find("int"), std::string::npos) << int_name;
}

TEST(CatchAll, ACatchAllAfterSpecificClausesStillTakesMessagesInArrivalOrder) {
  std::vector<std::string> got;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), 2.5);
        send(self(), 1);
        for (int i = 0; i < 2; ++i) {
          got.push_back(co_await receive(
              [](int) { return std::string("int"); },
              [](const message& m) { return std::string(m.is<double>() ? "any double" : "any"); },
              after(1s, [] { return std::string("timeout"); })));
        }
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<std::string>{"any double", "int"}));
}

TEST(CatchAll, AGuardedCatchAllSeesTheMessage) {
  std::vector<std::string> got;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), 1);
        send(self(), 2.0);
        got.push_back(co_await receive(
            when([](const message& m) { return m.is<double>(); },
                 [](const message& m) { return "double " + std::to_string(m.get<double>()); }),
            after(1s, [] { return std::string("timeout"); })));
        got.push_back(co_await receive([](int v) { return "int " + std::to_string(v); },
                                       after(1s, [] { return std::string("timeout"); })));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<std::string>{"double " + std::to_string(2.0), "int 1"}));
}

TEST(CatchAll, AnEmptyMessageReportsItsEmptiness) {
  message m;
  EXPECT_TRUE(m.empty());
  EXPECT_FALSE(m.is<int>());
  EXPECT_EQ(m.type_name(), "<empty>");
}

TEST(ReceiveOfType, TakesTheFirstValueOfThatTypeAndLeavesOtherTypesInPlace) {
  std::vector<std::string> got;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), std::string("s1"));
        send(self(), 2.0);
        send(self(), 7);
        send(self(), 8L);
        send(self(), 9);
        int a = co_await receive<int>();
        int b = co_await receive<int>();
        long c = co_await receive<long>();
        got.push_back(std::to_string(a) + "," + std::to_string(b) + "," + std::to_string(c));
        // What is left, in order: "s1", 2.0.
        for (int i = 0; i < 2; ++i) {
          got.push_back(
              co_await receive([](const message& m) { return std::string(m.type_name()); },
                               after(1s, [] { return std::string("timeout"); })));
        }
        got.push_back(co_await receive([](const message&) { return std::string("more"); },
                                       after(0ms, [] { return std::string("empty"); })));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  ASSERT_EQ(got.size(), 4U);
  EXPECT_EQ(got[0], "7,9,8");
  EXPECT_NE(got[1].find("string"), std::string::npos) << got[1];
  EXPECT_NE(got[2].find("double"), std::string::npos) << got[2];
  EXPECT_EQ(got[3], "empty");
}

TEST(ReceiveOfType, ReceiveForGivesTheValueOrNothingAfterTheTimeout) {
  // On a manual clock (tests/clock_support.hpp): the empty receive_for(10ms) is still
  // waiting 1 ns before its timeout and gives nothing at it.
  manual_clock clk;
  std::optional<int> first;
  std::optional<int> second;
  bool done_just_before = true;
  bool done = false;
  int rc = coproc::run(
      [&]() -> process {
        spawn_on(0, [&]() -> process {
          send(self(), 3);
          first = co_await receive_for<int>(1s);
          second = co_await receive_for<int>(10ms);
          done = true;
        });
        co_await yield();  // it took 3 and waits in the second receive_for
        co_await coproc_test::advance_clock(clk, 10ms - 1ns);
        done_just_before = done;
        co_await coproc_test::advance_clock(clk, 1ns);
      },
      options{.cores = 1, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(first, std::optional<int>(3));
  EXPECT_FALSE(done_just_before);
  EXPECT_TRUE(done);
  EXPECT_EQ(second, std::nullopt);
}

TEST(ExactMatching, AnIntNeverMatchesALongClause) {
  std::vector<std::string> got;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), 5);
        got.push_back(co_await receive([](long) { return std::string("long"); },
                                       [](unsigned) { return std::string("unsigned"); },
                                       [](short) { return std::string("short"); },
                                       [](double) { return std::string("double"); },
                                       after(10ms, [] { return std::string("timeout"); })));
        got.push_back(co_await receive([](long) { return std::string("long"); },
                                       [](int) { return std::string("int"); },
                                       after(1s, [] { return std::string("timeout"); })));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<std::string>{"timeout", "int"}));
}

TEST(ExactMatching, AFloatNeverMatchesADoubleClauseNorACharAnInt) {
  std::vector<std::string> got;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), 1.5F);
        send(self(), 'x');
        got.push_back(co_await receive([](double) { return std::string("double"); },
                                       [](int) { return std::string("int"); },
                                       after(10ms, [] { return std::string("timeout"); })));
        got.push_back(co_await receive([](float) { return std::string("float"); },
                                       after(1s, [] { return std::string("timeout"); })));
        got.push_back(co_await receive([](char) { return std::string("char"); },
                                       after(1s, [] { return std::string("timeout"); })));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<std::string>{"timeout", "float", "char"}));
}

TEST(ExactMatching, ClauseParametersMayBeValuesConstReferencesOrRvalueReferences) {
  std::vector<std::string> got;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), std::string("by value"));
        send(self(), std::string("by const ref"));
        send(self(), std::string("by rvalue ref"));
        got.push_back(co_await receive([](std::string s) { return s; },
                                       after(1s, [] { return std::string("timeout"); })));
        got.push_back(co_await receive([](const std::string& s) { return s; },
                                       after(1s, [] { return std::string("timeout"); })));
        got.push_back(co_await receive([](std::string&& s) { return std::move(s); },
                                       after(1s, [] { return std::string("timeout"); })));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<std::string>{"by value", "by const ref", "by rvalue ref"}));
}

TEST(Strings, AStringLiteralOrCharPointerArrivesAsStdString) {
  std::vector<std::string> got;
  int rc = coproc::run(
      [&]() -> process {
        const char* cptr = "from const char*";
        char buf[] = "from char*";
        char* ptr = buf;
        send(self(), "literal");
        send(self(), cptr);
        send(self(), ptr);
        buf[0] = 'X';  // the message holds its own copy
        for (int i = 0; i < 3; ++i) {
          got.push_back(
              co_await receive([](const char*) { return std::string("const char* clause"); },
                               [](std::string_view) { return std::string("string_view clause"); },
                               [](const std::string& s) { return s; },
                               after(1s, [] { return std::string("timeout"); })));
        }
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<std::string>{"literal", "from const char*", "from char*"}));
}

TEST(Strings, AStringLiteralInsideAMultiValueMessageIsAStdString) {
  std::string got;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), "name", 3);
        got = co_await receive([](std::string s, int n) { return s + ":" + std::to_string(n); },
                               after(1s, [] { return std::string("timeout"); }));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, "name:3");
}

TEST(Tuples, SeveralValuesArriveAsOneTupleMatchingAMultiParameterClause) {
  std::vector<std::string> got;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), 1, std::string("x"), 2.5);
        // Neither a one-value clause nor a clause with the wrong arity or order matches.
        got.push_back(
            co_await receive([](int) { return std::string("int"); },
                             [](int, std::string) { return std::string("pair"); },
                             [](std::string, int, double) { return std::string("wrong order"); },
                             after(10ms, [] { return std::string("timeout"); })));
        got.push_back(
            co_await receive([](int a, const std::string& b,
                                double c) { return std::to_string(a) + b + std::to_string(c); },
                             after(1s, [] { return std::string("timeout"); })));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<std::string>{"timeout", "1x" + std::to_string(2.5)}));
}

TEST(Tuples, SendingATupleIsTheSameAsSendingItsElements) {
  std::string got;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), std::make_tuple(2, std::string("two")));
        got = co_await receive([](int n, const std::string& s) { return std::to_string(n) + s; },
                               after(1s, [] { return std::string("timeout"); }));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, "2two");
}

TEST(Tuples, ATupleMessageCanBeReceivedWholeAsATuple) {
  std::tuple<int, std::string> got{};
  int rc = coproc::run(
      [&]() -> process {
        send(self(), 4, "four");
        got = co_await receive<std::tuple<int, std::string>>();
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::tuple<int, std::string>{4, "four"}));
}

TEST(Atoms, AnOkTupleIsMatchedByAnAtomClause) {
  std::vector<std::string> got;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), error, 1);
        send(self(), ok, 42);
        got.push_back(co_await receive([](atom<"ok">, int v) { return "ok " + std::to_string(v); },
                                       after(1s, [] { return std::string("timeout"); })));
        got.push_back(
            co_await receive([](atom<"ok">, int v) { return "ok " + std::to_string(v); },
                             [](atom<"error">, int v) { return "error " + std::to_string(v); },
                             after(1s, [] { return std::string("timeout"); })));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<std::string>{"ok 42", "error 1"}));
}

TEST(Atoms, AtomsWithDifferentNamesAreDifferentTypes) {
  static_assert(!std::is_same_v<atom<"ok">, atom<"error">>);
  static_assert(std::is_same_v<decltype(ok), const atom<"ok">>);
  static_assert(std::is_empty_v<atom<"ping">>);
  EXPECT_EQ(atom<"ping">::name(), "ping");
  std::ostringstream os;
  os << ok << ' ' << error;
  EXPECT_EQ(os.str(), ":ok :error");

  std::vector<std::string> got;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), atom<"pong">{});
        send(self(), atom<"ping">{});
        got.push_back(co_await receive([](atom<"ping">) { return std::string("ping"); },
                                       after(1s, [] { return std::string("timeout"); })));
        got.push_back(co_await receive([](atom<"ping">) { return std::string("ping"); },
                                       after(10ms, [] { return std::string("timeout"); })));
        auto pong = co_await receive<atom<"pong">>();
        got.push_back(std::string(pong.name()));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<std::string>{"ping", "timeout", "pong"}));
}

TEST(ReceiveResult, TheResultIsTheCommonTypeOfEveryClauseAndTheAfterFunction) {
  double d = 0;
  long l = 0;
  std::string s;
  bool void_done = false;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), 3);
        auto r1 = co_await receive([](int v) { return v; }, [](double v) { return v; });
        static_assert(std::is_same_v<decltype(r1), double>);
        d = r1;

        auto r2 = co_await receive([](int v) { return v; }, after(1ms, [] { return 9L; }));
        static_assert(std::is_same_v<decltype(r2), long>);
        l = r2;

        send(self(), "abc");
        auto r3 =
            co_await receive([](std::string v) { return v; }, after(1s, [] { return "timeout"; }));
        static_assert(std::is_same_v<decltype(r3), std::string>);
        s = r3;

        using void_result = decltype(receive([](int) {}, after(1ms, [] {})).await_resume());
        static_assert(std::is_void_v<void_result>);
        using after_only = decltype(receive(after(1ms, [] { return 1.5F; })).await_resume());
        static_assert(std::is_same_v<after_only, float>);
        co_await receive(after(1ms, [&] { void_done = true; }));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(d, 3.0);
  EXPECT_EQ(l, 9L);
  EXPECT_EQ(s, "abc");
  EXPECT_TRUE(void_done);
}
