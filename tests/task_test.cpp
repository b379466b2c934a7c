// Task.async / Task.await: the task's value comes back; a void task can be awaited; its
// exception is rethrown by await (same type, same what()) instead of killing the caller;
// no answer in time is call_timeout; a killed task is call_error with its reason. A body
// returning subroutine<T> runs as a coroutine in the task (it may call a gen_server,
// sleep, receive); tasks spread over cores as spawns do; a result that comes after await
// timed out never reaches the mailbox.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <coproc/coproc.hpp>

#include "clock_support.hpp"
#include "otp_test_support.hpp"
#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using otp_test::down_of;
using otp_test::opt_reason;

namespace {

struct custom_error : std::runtime_error {
  int code;
  custom_error(const std::string& what, int c) : std::runtime_error(what), code(c) {}
};

}  // namespace

TEST(Task, AwaitReturnsTheTasksValue) {
  int answer = 0;
  std::string joined;
  int boxed = 0;
  int on_core1 = 0;
  int rc = coproc::run(
      [&]() -> process {
        auto t = async([] { return 6 * 7; });
        answer = co_await await(t, 2s);
        auto t2 = async([](int n, const std::string& s) { return s + std::to_string(n); }, 5,
                        std::string("x"));
        joined = co_await await(t2, 2s);
        auto t3 = async([] { return std::make_unique<int>(17); });  // a move-only result
        std::unique_ptr<int> p = co_await await(t3, 2s);
        boxed = p ? *p : -1;
        // The same from a process on core 1.
        const pid me = self();
        spawn_on(1, [me]() -> process {
          auto t4 = async([](int a, int b) { return a * b; }, 3, 4);
          int v = -1;
          try {
            v = co_await await(t4, 2s);
          } catch (const std::exception&) {
          }
          send(me, atom<"core1">{}, v);
        });
        on_core1 =
            co_await receive([](atom<"core1">, int v) { return v; }, after(5s, [] { return -2; }));
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(answer, 42);
  EXPECT_EQ(joined, "x5");
  EXPECT_EQ(boxed, 17);
  EXPECT_EQ(on_core1, 12);
}

TEST(Task, AVoidTaskCanBeAwaited) {
  std::atomic<int> ran{0};
  bool returned = false;
  int rc = coproc::run(
      [&]() -> process {
        auto t = async([&ran] { ran.fetch_add(1); });
        co_await await(t, 2s);
        returned = true;
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(returned);
  EXPECT_EQ(ran.load(), 1);
}

TEST(Task, AnExceptionInTheTaskIsRethrownByAwaitWithTheSameWhat) {
  std::string what;
  std::string custom_what;
  int custom_code = 0;
  bool caller_went_on = false;
  opt_reason caller_exit;
  int rc = coproc::run(
      [&]() -> process {
        auto t = async([]() -> int { throw std::invalid_argument("bad arg 17"); });
        try {
          (void)co_await await(t, 2s);
          ADD_FAILURE() << "await returned although the task threw";
        } catch (const std::invalid_argument& e) {
          what = e.what();
        } catch (const std::exception& e) {
          ADD_FAILURE() << "wrong exception type: " << e.what();
        }
        auto t2 = async([] { throw custom_error("custom failure", 7); });
        try {
          co_await await(t2, 2s);
        } catch (const custom_error& e) {
          custom_what = e.what();
          custom_code = e.code;
        }
        // The caller is linked to the tasks, yet is not disturbed: it goes on.
        co_await sleep_for(50ms);
        caller_went_on = true;
        // Nor is a caller on core 1, which then ends normally.
        const pid p = spawn_on(1, []() -> process {
          co_await receive([](atom<"go">) {}, after(10s, [] {}));  // once we monitor it
          auto t3 = async([]() -> int { throw std::runtime_error("on core 1"); });
          try {
            (void)co_await await(t3, 2s);
          } catch (const std::runtime_error&) {
          }
          co_await sleep_for(20ms);
        });
        const monitor_ref r = monitor(p);
        send(p, atom<"go">{});
        caller_exit = co_await down_of(r, 5s);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(what, "bad arg 17");
  EXPECT_EQ(custom_what, "custom failure");
  EXPECT_EQ(custom_code, 7);
  EXPECT_TRUE(caller_went_on);
  EXPECT_EQ(caller_exit, opt_reason(exit_reason::normal()));
}

TEST(Task, AwaitTimesOutWithCallTimeout) {
  // On a manual clock (tests/clock_support.hpp): the 50 ms the second task is given
  // pass at once, and exactly.
  manual_clock clk;
  bool timed_out = false;
  bool returned = false;
  std::optional<int> late_poll;
  int rc = coproc::run(
      [&]() -> process {
        // A task spawned from this process runs on this core, so it cannot run while we
        // wait for it: with a zero timeout, await gives up before the task answers.
        auto t = async([] { return 1; });
        try {
          (void)co_await await(t, 0ms);
          returned = true;
        } catch (const call_timeout&) {
          timed_out = true;
        }
        // A task that has already answered is found by a zero-timeout await.
        auto t2 = async([] { return 2; });
        co_await coproc_test::advance_clock(clk, 50ms);
        try {
          late_poll = co_await await(t2, 0ms);
        } catch (const call_timeout&) {
          ADD_FAILURE() << "a task that had answered was not found";
        }
      },
      options{.cores = 2, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(timed_out);
  EXPECT_FALSE(returned);
  EXPECT_EQ(late_poll, std::optional<int>(2));
}

TEST(Task, AKilledTaskGivesCallErrorWithItsReason) {
  opt_reason reason;
  std::optional<otp_test::exit_msg> exit_seen;
  pid worker;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        trap_exit(true);  // the task is linked to us: trap its exit to see call_error
        auto t = async([] { return 5; });
        worker = t.worker;
        coproc::exit(t.worker, exit_reason::kill());
        try {
          (void)co_await await(t, 2s);
          ADD_FAILURE() << "a killed task answered";
        } catch (const call_error& e) {
          reason = e.reason();
        } catch (const call_timeout&) {
          ADD_FAILURE() << "await timed out on a killed task";
        }
        exit_seen = co_await otp_test::any_exit(2s);
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(reason, opt_reason(exit_reason::killed()));
  ASSERT_TRUE(exit_seen.has_value());
  EXPECT_EQ(exit_seen->from, worker);
  EXPECT_EQ(exit_seen->reason, exit_reason::killed());
}

TEST(Task, KillingATaskTakesDownACallerThatDoesNotTrapExits) {
  opt_reason caller_reason;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        const pid caller = spawn_on(1, []() -> process {
          co_await receive([](atom<"go">) {}, after(10s, [] {}));  // once we monitor it
          auto t = async([] { return 5; });
          coproc::exit(t.worker, exit_reason::kill());
          try {
            (void)co_await await(t, 2s);
          } catch (const call_error&) {
          }
          co_await receive([](atom<"never">) {}, after(5s, [] {}));
        });
        const monitor_ref r = monitor(caller);
        send(caller, atom<"go">{});
        caller_reason = co_await down_of(r, 10s);
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(caller_reason, opt_reason(exit_reason::killed()));
}

namespace {
struct kv {
  int value = 0;
  explicit kv(int v) : value(v) {}
  int handle_call(atom<"get">) { return value; }
};
}  // namespace

TEST(Task, ACoroutineTaskCanCallAGenServerSleepAndReceive) {
  int got = -1;
  int slept_then = -1;
  std::string received;
  bool void_ran = false;
  int rc = coproc::run(
      [&]() -> process {
        auto srv = start_server<kv>(41);
        auto t = async([srv]() -> subroutine<int> {
          co_await sleep_for(5ms);
          const int v = co_await call(srv, 2s, atom<"get">{});
          co_return v + 1;
        });
        got = co_await await(t, 5s);
        // Arguments are copied into the task.
        auto t2 = async(
            [](int base) -> subroutine<int> {
              co_await sleep_for(1ms);
              co_return base * 2;
            },
            21);
        slept_then = co_await await(t2, 5s);
        // The body may receive: it gets the messages sent to the task's pid.
        auto t3 = async([]() -> subroutine<std::string> {
          std::string s = co_await receive([](atom<"word">, std::string w) { return w; },
                                           after(5s, [] { return std::string("none"); }));
          co_return s;
        });
        send(t3.worker, atom<"word">{}, std::string("hello"));
        received = co_await await(t3, 5s);
        auto t4 = async([&void_ran]() -> subroutine<void> {
          co_await yield();
          void_ran = true;
        });
        co_await await(t4, 5s);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, 42);
  EXPECT_EQ(slept_then, 42);
  EXPECT_EQ(received, "hello");
  EXPECT_TRUE(void_ran);
}

TEST(Task, AnExceptionInACoroutineTaskIsRethrownByAwait) {
  std::string what;
  opt_reason call_failure;
  int rc = coproc::run(
      [&]() -> process {
        auto t = async([]() -> subroutine<int> {
          co_await sleep_for(1ms);
          throw std::out_of_range("late failure");
        });
        try {
          (void)co_await await(t, 5s);
          ADD_FAILURE() << "await returned although the task threw";
        } catch (const std::out_of_range& e) {
          what = e.what();
        }
        // A call that fails inside the task comes back as that call_error.
        auto t2 = async(
            []() -> subroutine<int> { co_return co_await call<int>(pid{}, 5s, atom<"get">{}); });
        try {
          (void)co_await await(t2, 5s);
        } catch (const call_error& e) {
          call_failure = e.reason();
        }
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(what, "late failure");
  EXPECT_EQ(call_failure, opt_reason(exit_reason::noproc()));
}

TEST(Task, TasksAreSpreadOverCoresAsSpawnIs) {
  // spawn's placement moves a busy core's spawns to idle cores; a burst of tasks from one
  // process that each keep their core busy must not all land on the caller's core.
  std::set<unsigned> cores_used;
  int rc = coproc::run(
      [&]() -> process {
        // Placement spills only to a core it sees idle; a loop that has not yet reached
        // its first idle wait counts as busy, so let core 1 get there first.
        const pid me = self();
        spawn_on(1, [me] { send(me, atom<"up">{}); });
        co_await receive([](atom<"up">) {}, after(5s, [] {}));
        co_await sleep_for(20ms);
        std::vector<task<unsigned>> tasks;
        for (int i = 0; i < 2000; ++i) {
          tasks.push_back(async([]() -> subroutine<unsigned> {
            co_await sleep_for(20ms);
            co_return static_cast<unsigned>(self().core);
          }));
        }
        for (auto& t : tasks) cores_used.insert(co_await await(t, 10s));
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(cores_used.size(), 2U);
}

TEST(Task, AResultThatArrivesAfterAwaitTimedOutIsDropped) {
  // On a manual clock (tests/clock_support.hpp): await gives up at 1 ms exactly, the
  // task answers at 50 ms exactly, and then the caller's mailbox is looked at.
  manual_clock clk;
  std::optional<std::string> leftover;
  bool timed_out = false;
  bool timed_out_just_before = true;
  bool task_ended_just_before = true;
  bool task_ended = false;
  int rc = coproc::run(
      [&]() -> process {
        pid worker;
        const pid caller = spawn_on(0, [&]() -> process {
          // It answers 50 ms in, long after await gave up.
          auto t = async([]() -> subroutine<int> {
            co_await sleep_for(50ms);
            co_return 7;
          });
          worker = t.worker;
          try {
            (void)co_await await(t, 1ms);
          } catch (const call_timeout&) {
            timed_out = true;
          }
          co_await receive([](atom<"look">) {});  // the result has been sent by then
          leftover = co_await otp_test::next_message_type(0ms);
        });
        co_await yield();  // the caller waits in await, the task in its sleep
        co_await coproc_test::advance_clock(clk, 1ms - 1ns);
        timed_out_just_before = timed_out;
        co_await coproc_test::advance_clock(clk, 1ns);
        co_await coproc_test::advance_clock(clk, 49ms - 1ns);
        task_ended_just_before = !alive(worker);
        co_await coproc_test::advance_clock(clk, 1ns);
        task_ended = !alive(worker);
        send(caller, atom<"look">{});
        co_await yield();
      },
      options{.cores = 2, .clock = &clk});
  EXPECT_EQ(rc, 0);
  EXPECT_FALSE(timed_out_just_before);
  EXPECT_TRUE(timed_out);
  EXPECT_FALSE(task_ended_just_before);
  EXPECT_TRUE(task_ended);
  EXPECT_EQ(leftover, std::nullopt) << "a late task result stayed in the mailbox";
}
