// Arguments and lambda captures live as long as the process; nothing dangles into the
// spawner's stack, and each copy is destroyed exactly once.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include <coproc/coproc.hpp>

#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using coproc_test::tracked;

namespace {

using T = tracked<40>;

const std::string kText = "a string long enough to live on the heap: " + std::string(64, 'x');

// Overwrites the stack below the caller, where a returned frame's locals were.
[[gnu::noinline]] void scribble_stack() {
  volatile char junk[16384];
  for (std::size_t i = 0; i < sizeof(junk); ++i) junk[i] = static_cast<char>(0xA5);
  (void)junk[0];
}

// Each waits for "go", then reports what it holds.
process by_value(std::string s, T t, pid report) {
  co_await receive([](atom<"go">) {});
  send(report, s, t.value);
}

process by_const_ref(const std::string& s, const T& t, pid report) {
  co_await receive([](atom<"go">) {});
  send(report, s, t.value);
}

// Spawns from a frame that is gone by the time the process reads its inputs.
[[gnu::noinline]] pid spawn_capturing_lambda(pid report) {
  std::string text = kText;
  T t{1};
  return spawn([text, t, report]() -> process {
    co_await receive([](atom<"go">) {});
    send(report, text, t.value);
  });
}

[[gnu::noinline]] pid spawn_function_by_value(pid report) {
  std::string text = kText;
  T t{2};
  return spawn(by_value, text, t, report);
}

[[gnu::noinline]] pid spawn_function_by_const_ref(pid report) {
  std::string text = kText;
  T t{3};
  return spawn(by_const_ref, text, t, report);
}

[[gnu::noinline]] pid spawn_plain_callable(pid report) {
  std::string text = kText;
  T t{4};
  return spawn([text, t, report](const std::string& arg, const T& targ) {
    send(report, text + "|" + arg, t.value * 10 + targ.value);
  }, std::string("arg"), T{5});
}

[[gnu::noinline]] pid spawn_lambda_with_reference_parameters(pid report) {
  std::string text = kText;
  T t{6};
  return spawn([report](const std::string& s, const T& tt) -> process {
    co_await receive([](atom<"go">) {});
    send(report, s, tt.value);
  }, text, t);
}

struct report_t {
  std::string text;
  int value = -1;
};

process collect(std::optional<report_t>& out, pid p) {
  send(p, atom<"go">{});
  out = co_await receive([](std::string s, int v) { return std::optional<report_t>({std::move(s), v}); },
                         after(2s, [] { return std::optional<report_t>(); }));
}

}  // namespace

TEST(SpawnArguments, ALambdasCapturesOutliveTheSpawningFrame) {
  T::counts.reset();
  std::optional<report_t> got;
  int rc = coproc::run(
      [&]() -> process {
        const pid p = spawn_capturing_lambda(self());
        scribble_stack();
        co_await sleep_for(2ms);
        co_await collect(got, p);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->text, kText);
  EXPECT_EQ(got->value, 1);
  EXPECT_EQ(T::counts.live(), 0);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(SpawnArguments, ArgumentsOfAByValueFunctionOutliveTheSpawningFrame) {
  T::counts.reset();
  std::optional<report_t> got;
  int rc = coproc::run(
      [&]() -> process {
        const pid p = spawn_function_by_value(self());
        scribble_stack();
        co_await sleep_for(2ms);
        co_await collect(got, p);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->text, kText);
  EXPECT_EQ(got->value, 2);
  EXPECT_EQ(T::counts.live(), 0);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(SpawnArguments, AConstReferenceParameterGetsItsOwnCopy) {
  T::counts.reset();
  std::optional<report_t> got;
  int rc = coproc::run(
      [&]() -> process {
        const pid p = spawn_function_by_const_ref(self());
        scribble_stack();
        co_await sleep_for(2ms);
        co_await collect(got, p);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->text, kText);
  EXPECT_EQ(got->value, 3);
  EXPECT_EQ(T::counts.live(), 0);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(SpawnArguments, ALambdaWithReferenceParametersGetsItsOwnCopies) {
  T::counts.reset();
  std::optional<report_t> got;
  int rc = coproc::run(
      [&]() -> process {
        const pid p = spawn_lambda_with_reference_parameters(self());
        scribble_stack();
        co_await sleep_for(2ms);
        co_await collect(got, p);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->text, kText);
  EXPECT_EQ(got->value, 6);
  EXPECT_EQ(T::counts.live(), 0);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(SpawnArguments, APlainCallableKeepsItsCapturesAndArguments) {
  T::counts.reset();
  std::optional<report_t> got;
  int rc = coproc::run(
      [&]() -> process {
        spawn_plain_callable(self());
        scribble_stack();
        got = co_await receive([](std::string s, int v) { return std::optional<report_t>({std::move(s), v}); },
                               after(2s, [] { return std::optional<report_t>(); }));
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->text, kText + "|arg");
  EXPECT_EQ(got->value, 45);
  EXPECT_EQ(T::counts.live(), 0);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(SpawnArguments, CopiesHeldByProcessesStillBlockedAreDestroyedWithTheRuntime) {
  T::counts.reset();
  long live_after_run = -1;
  {
    runtime rt{options{.cores = 2}};
    int rc = rt.run([&]() -> process {
      // None of them ever gets "go".
      spawn_capturing_lambda(self());
      spawn_function_by_value(self());
      spawn_function_by_const_ref(self());
      spawn_lambda_with_reference_parameters(self());
      scribble_stack();
      co_await sleep_for(5ms);
    });
    EXPECT_EQ(rc, 0);
    live_after_run = T::counts.live();
  }
  EXPECT_EQ(live_after_run, 4);  // one copy held by each blocked process
  EXPECT_EQ(T::counts.live(), 0);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(SpawnArguments, AMoveOnlyArgumentIsMovedIntoTheProcess) {
  using U = tracked<41>;
  U::counts.reset();
  int got = 0;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        auto up = std::make_unique<U>(8);
        spawn([](std::unique_ptr<U> p, pid to) -> process {
          co_await sleep_for(1ms);
          send(to, p->value);
        }, std::move(up), me);
        EXPECT_EQ(up, nullptr);
        got = co_await receive([](int v) { return v; }, after(2s, [] { return -1; }));
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, 8);
  EXPECT_EQ(U::counts.constructed.load(), 1);
  EXPECT_EQ(U::counts.live(), 0);
}

TEST(SpawnArguments, AStringLiteralArgumentIsUsableAfterTheSpawnerReturns) {
  std::string got;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        spawn([](std::string s, pid to) -> process {
          co_await sleep_for(1ms);
          send(to, s);
        }, "literal argument", me);
        got = co_await receive([](std::string s) { return s; },
                               after(2s, [] { return std::string("timeout"); }));
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, "literal argument");
}
