// A process may co_await another `process` value: the callee runs as a subroutine of
// the same Erlang process (same pid, same mailbox), and its exceptions propagate.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include <coproc/coproc.hpp>

#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using coproc_test::tracked;

namespace {

process add_next(int& out, int a, pid& who) {
  who = self();
  int b = co_await receive([](int v) { return v; }, after(2s, [] { return -1000; }));
  out = a + b;
}

process fails_after_receive(const std::string& what) {
  co_await receive([](atom<"go">) {}, after(2s, [] {}));
  throw std::runtime_error(what);
}

process depth(std::vector<int>& trail, int n) {
  trail.push_back(n);
  if (n > 0) {
    co_await sleep_for(1ms);
    co_await depth(trail, n - 1);
  } else {
    co_await receive([](int) {}, after(5ms, [] {}));
  }
  trail.push_back(-n);
}

}  // namespace

TEST(Subroutine, AProcessCanAwaitAnotherProcessAsASubroutine) {
  int out = 0;
  pid caller{};
  pid callee{};
  int rc = coproc::run(
      [&]() -> process {
        caller = self();
        send(self(), 5);  // in the caller's mailbox; the subroutine shares it
        co_await add_next(out, 2, callee);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, 7);
  EXPECT_EQ(callee, caller);
}

TEST(Subroutine, AnExceptionInASubroutinePropagatesToTheCaller) {
  std::string caught;
  bool continued = false;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), atom<"go">{});
        try {
          co_await fails_after_receive("sub-failed");
        } catch (const std::runtime_error& e) {
          caught = e.what();
        }
        // The process goes on after handling it.
        send(self(), 1);
        continued = (co_await receive_for<int>(1s)).has_value();
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(caught, "sub-failed");
  EXPECT_TRUE(continued);
}

TEST(Subroutine, AnUncaughtSubroutineExceptionEndsTheCallingProcess) {
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      []() -> process {
        send(self(), atom<"go">{});
        co_await fails_after_receive("uncaught-sub-5d2");
      },
      options{.cores = 1});
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(rc, 0);
  EXPECT_NE(err.find("uncaught-sub-5d2"), std::string::npos) << err;
}

TEST(Subroutine, SubroutinesNestAndSuspend) {
  std::vector<int> trail;
  int rc = coproc::run([&]() -> process { co_await depth(trail, 3); }, options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(trail, (std::vector<int>{3, 2, 1, 0, 0, -1, -2, -3}));
}

TEST(Subroutine, ASubroutinesLocalsAreDestroyedWhenItReturns) {
  using T = tracked<80>;
  T::counts.reset();
  long live_inside = -1;
  long live_after = -1;
  int rc = coproc::run(
      [&]() -> process {
        co_await [&]() -> process {
          T local{1};
          co_await sleep_for(1ms);
          live_inside = T::counts.live();
        }();
        live_after = T::counts.live();
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(live_inside, 1);
  EXPECT_EQ(live_after, 0);
}

TEST(Subroutine, ASubroutineBlockedAtShutdownIsDestroyedWithItsProcess) {
  using T = tracked<81>;
  T::counts.reset();
  long live_after_run = -1;
  {
    runtime rt{options{.cores = 2}};
    int rc = rt.run([&]() -> process {
      spawn_on(1, []() -> process {
        T outer{1};
        co_await []() -> process {
          T inner{2};
          co_await receive([](atom<"never">) {});
        }();
      });
      co_await sleep_for(10ms);
    });
    EXPECT_EQ(rc, 0);
    live_after_run = T::counts.live();
  }
  EXPECT_EQ(live_after_run, 2);
  EXPECT_EQ(T::counts.live(), 0);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(Yield, LetsTheOtherRunnableProcessesOnTheCoreRunFirst) {
  std::vector<std::string> order;
  int rc = coproc::run(
      [&]() -> process {
        spawn_on(0, [&order] { order.push_back("a"); });
        spawn_on(0, [&order] { order.push_back("b"); });
        order.push_back("main before yield");
        co_await yield();
        order.push_back("main after yield");
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  // Which of a and b runs first is the scheduler's choice; both run before main resumes.
  ASSERT_EQ(order.size(), 4U);
  EXPECT_EQ(order.front(), "main before yield");
  EXPECT_EQ(order.back(), "main after yield");
  EXPECT_TRUE((order[1] == "a" && order[2] == "b") || (order[1] == "b" && order[2] == "a"))
      << order[1] << ", " << order[2];
}
