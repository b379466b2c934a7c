// A ring whose submissions fail for good (io_uring_enter denied, as by a seccomp filter
// where io_uring_setup is still allowed) ends the runtime with a clear error: run()
// returns non-zero at once, and no loop spins. Each case runs in a forked child, since a
// seccomp filter cannot be undone.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <coproc/coproc.hpp>
#include <string>
#include <thread>

#include "seccomp_filter.hpp"

using namespace coproc;
using namespace std::chrono_literals;

namespace {

struct child_result {
  bool exited = false;
  int status = -1;
  double cpu_seconds = 0;
  double wall_seconds = 0;
};

// Runs body() in a child under a filter that denies io_uring_enter; the child's exit
// status is body()'s result. Kills it after `limit`.
template <class F>
child_result run_denied(F body, std::chrono::seconds limit,
                        std::initializer_list<long> denied = {__NR_io_uring_enter}) {
  const auto start = std::chrono::steady_clock::now();
  const pid_t child = fork();
  if (child == 0) {
    if (!coproc_test::deny_syscalls(denied)) _exit(97);
    _exit(body());
  }
  child_result r;
  int status = 0;
  rusage use{};
  while (std::chrono::steady_clock::now() - start < limit) {
    const pid_t got = wait4(child, &status, WNOHANG, &use);
    if (got == child) {
      r.exited = true;
      r.status = status;
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  if (!r.exited) {
    kill(child, SIGKILL);
    wait4(child, &status, 0, &use);
  }
  r.cpu_seconds = static_cast<double>(use.ru_utime.tv_sec + use.ru_stime.tv_sec) +
                  static_cast<double>(use.ru_utime.tv_usec + use.ru_stime.tv_usec) / 1e6;
  r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace

TEST(RingFailure, ADeniedSubmitEndsRunWithAnErrorInsteadOfSpinning) {
  const child_result r = run_denied(
      [] {
        std::string logged;
        set_log_handler([&](log_level, std::string_view text) { logged = text; });
        const int rc = coproc::run(
            []() -> process {
              // A socket operation needs the ring; a second core would spin if it could.
              auto l = tcp_listener::bind(socket_address::loopback_v4(0));
              tcp_stream s = co_await l.accept(5s);
            },
            options{.cores = 2});
        const bool told = logged.find("io_uring") != std::string::npos &&
                          logged.find("Operation not permitted") != std::string::npos;
        return rc != 0 && told ? 0 : 1;
      },
      20s);
  ASSERT_TRUE(r.exited) << "the runtime never returned (spinning or stuck)";
  ASSERT_TRUE(WIFEXITED(r.status));
  EXPECT_EQ(WEXITSTATUS(r.status), 0) << "run() did not fail with a logged io_uring error";
  // Spinning two loops for the accept's 5 s would cost seconds of CPU.
  EXPECT_LT(r.cpu_seconds, 1.0);
  EXPECT_LT(r.wall_seconds, 4.0);
}

TEST(RingFailure, AnIdleRuntimeWithADeniedRingDoesNotSpinEither) {
  // Nothing but timers: the loops still sleep in the ring, which now fails.
  const child_result r = run_denied(
      [] {
        const int rc = coproc::run(
            []() -> process {
              for (int i = 0; i < 50; ++i) co_await sleep_for(20ms);
            },
            options{.cores = 2});
        return rc != 0 ? 0 : 1;
      },
      20s);
  ASSERT_TRUE(r.exited);
  ASSERT_TRUE(WIFEXITED(r.status));
  EXPECT_EQ(WEXITSTATUS(r.status), 0);
  EXPECT_LT(r.cpu_seconds, 1.0);
}

TEST(RingFailure, ARuntimeThatCannotGetARingMakesRunReturnOneWithAClearErrorNotAnAbort) {
  // Docker's default profile (Engine 25+): io_uring_setup itself is denied.
  const child_result r = run_denied(
      [] {
        std::string logged;
        set_log_handler([&](log_level, std::string_view text) { logged = text; });
        const int rc = coproc::run([]() -> process { co_return; }, options{.cores = 2});
        const bool told = logged.find("cannot start the runtime") != std::string::npos &&
                          logged.find("seccomp") != std::string::npos;
        return rc == 1 && told ? 0 : 1;
      },
      20s, {__NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register});
  ASSERT_TRUE(r.exited);
  ASSERT_TRUE(WIFEXITED(r.status)) << "killed by a signal (abort?) instead of returning";
  EXPECT_EQ(WEXITSTATUS(r.status), 0);
}
