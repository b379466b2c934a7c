// An exception that escapes a process ends that process only, is reported on stderr
// with its what() text, and makes run() return non-zero when it ends main.
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>

#include <coproc/coproc.hpp>

#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using coproc_test::tracked;

namespace {

// Answers {from, n} with n + 1 until told to stop.
process echo() {
  for (;;) {
    bool stop = co_await receive([](pid from, int n) { send(from, n + 1); return false; },
                                 [](atom<"stop">) { return true; },
                                 after(5s, [] { return true; }));
    if (stop) co_return;
  }
}

}  // namespace

TEST(Crash, AnExceptionEndsOnlyThatProcess) {
  std::optional<int> before;
  std::optional<int> after_crash;
  bool crashed_dead = false;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        const pid e0 = spawn_on(0, echo);
        const pid e1 = spawn_on(1, echo);
        send(e0, me, 1);
        before = co_await receive_for<int>(2s);
        const pid c0 = spawn_on(0, []() -> process {
          co_await sleep_for(1ms);
          throw std::runtime_error("crash on core 0");
        });
        const pid c1 = spawn_on(1, []() -> process {
          co_await sleep_for(1ms);
          throw std::runtime_error("crash on core 1");
        });
        co_await coproc_test::wait_until(crashed_dead, [c0, c1] { return !alive(c0) && !alive(c1); },
                                         2s);
        // The neighbours on both cores still answer, and so does main.
        send(e0, me, 10);
        auto a = co_await receive_for<int>(2s);
        send(e1, me, 20);
        auto b = co_await receive_for<int>(2s);
        after_crash = (a && b) ? std::optional<int>(*a + *b) : std::nullopt;
        EXPECT_TRUE(alive(e0));
        EXPECT_TRUE(alive(e1));
        send(e0, atom<"stop">{});
        send(e1, atom<"stop">{});
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(before, std::optional<int>(2));
  EXPECT_TRUE(crashed_dead);
  EXPECT_EQ(after_crash, std::optional<int>(11 + 21));
}

TEST(Crash, ACrashIsReportedOnStderrWithItsWhatText) {
  bool dead = false;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        // On main's own core: its teardown (and report) completes before main resumes.
        const pid c = spawn_on(0, [] { throw std::runtime_error("kaboom-7c1e"); });
        co_await coproc_test::wait_until(dead, [c] { return !alive(c); }, 2s);
        co_await sleep_for(1ms);
      },
      options{.cores = 1});
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(dead);
  EXPECT_NE(err.find("kaboom-7c1e"), std::string::npos) << "stderr was: " << err;
}

TEST(Crash, RunReturnsNonZeroWhenMainThrows) {
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      []() -> process {
        co_await sleep_for(1ms);
        throw std::runtime_error("main-failed-3f9a");
      },
      options{.cores = 2});
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(rc, 0);
  EXPECT_NE(err.find("main-failed-3f9a"), std::string::npos) << "stderr was: " << err;
}

TEST(Crash, RunReturnsNonZeroWhenAPlainMainThrowsAnything) {
  testing::internal::CaptureStderr();
  int rc1 = coproc::run([] { throw std::logic_error("plain main"); }, options{.cores = 1});
  int rc2 = coproc::run([] { throw 42; }, options{.cores = 1});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_NE(rc1, 0);
  EXPECT_NE(rc2, 0);
}

TEST(Crash, RunReturnsZeroWhenMainEndsNormally) {
  EXPECT_EQ(coproc::run([] {}, options{.cores = 1}), 0);
  EXPECT_EQ(coproc::run([]() -> process { co_return; }, options{.cores = 2}), 0);
}

TEST(Crash, ACrashedProcessFreesItsLocalsAndItsMailbox) {
  using T = tracked<30>;
  T::counts.reset();
  bool freed = false;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        const pid c = spawn_on(1, []() -> process {
          T local{1};
          co_await receive([](atom<"die">) {});
          throw std::runtime_error("dying with things");
        });
        send(c, T{2});
        send(c, std::make_unique<T>(3));
        send(c, atom<"die">{});
        co_await coproc_test::wait_until(freed, [] { return T::counts.live() == 0; }, 2s);
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(freed) << T::counts.live() << " still alive";
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(Crash, MessagesToACrashedProcessAreDropped) {
  bool dead = false;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        const pid c = spawn_on(1, [] { throw std::runtime_error("gone"); });
        co_await coproc_test::wait_until(dead, [c] { return !alive(c); }, 2s);
        EXPECT_NO_THROW(send(c, 1));
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(dead);
}

TEST(Crash, AnExceptionFromAClauseBodyPropagatesAndTheMessageIsConsumed) {
  using T = tracked<31>;
  T::counts.reset();
  std::string caught;
  bool empty_after = false;
  long live_after = -1;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), T{1});
        try {
          co_await receive([](const T&) { throw std::runtime_error("from clause"); },
                           after(1s, [] {}));
        } catch (const std::runtime_error& e) {
          caught = e.what();
        }
        live_after = T::counts.live();
        empty_after = co_await receive([](const message&) { return false; },
                                       after(0ms, [] { return true; }));
        try {
          co_await receive([](int) {}, after(1ms, [] { throw std::runtime_error("from after"); }));
        } catch (const std::runtime_error& e) {
          caught += std::string(", ") + e.what();
        }
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(caught, "from clause, from after");
  EXPECT_EQ(live_after, 0);
  EXPECT_TRUE(empty_after);
}
