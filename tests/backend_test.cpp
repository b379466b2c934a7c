// Choosing the I/O backend at startup, and failing clearly.
// - With the default options, a kernel that refuses io_uring (seccomp, as Docker's default
//   profile does; only io_uring_enter denied; ...) gives an epoll runtime that works, and
//   one warning line per program that says why and how to enable io_uring.
// - options.backend and COPROC_BACKEND force a backend; a forced io_uring that the kernel
//   refuses, or an unknown COPROC_BACKEND, makes coproc::run log and return 1, no abort.
// - A ring whose submissions fail for good after start (io_uring_enter denied once the
//   rings exist) ends the runtime with a clear error: run() returns non-zero at once, and
//   no loop spins.
// Each case runs in a forked child, since a seccomp filter cannot be undone. The suite
// may itself run under a filter that blocks io_uring (scripts/test.sh epoll): the cases
// that need a working io_uring then check what that environment must do instead.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <coproc/coproc.hpp>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

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

constexpr std::initializer_list<long> kAllOfIoUring = {__NR_io_uring_setup, __NR_io_uring_enter,
                                                       __NR_io_uring_register};

// Runs body() in a child under a filter that denies `denied` (none: no filter); the
// child's exit status is body()'s result. Kills it after `limit`.
template <class F>
child_result run_denied(F body, std::chrono::seconds limit,
                        std::initializer_list<long> denied = {__NR_io_uring_enter}) {
  const auto start = std::chrono::steady_clock::now();
  const pid_t child = fork();
  if (child == 0) {
    // These cases are about the choice itself: a COPROC_BACKEND the suite was started
    // with must not make it for them.
    ::unsetenv("COPROC_BACKEND");
    if (denied.size() > 0 && !coproc_test::deny_syscalls(denied)) _exit(97);
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

// Every line the runtime logs, in order.
std::vector<std::string>& captured_log() {
  static std::vector<std::string> lines;
  return lines;
}
void capture_log() {
  set_log_handler([](log_level, std::string_view text) { captured_log().emplace_back(text); });
}
bool logged(const std::string& a, const std::string& b = "", const std::string& c = "") {
  for (const std::string& l : captured_log()) {
    if (l.find(a) != std::string::npos && l.find(b) != std::string::npos &&
        l.find(c) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// A loopback round trip (accept, connect, write, read, end of stream) and which backend
// served it: 1 = io_uring, 2 = epoll, 0 = the round trip failed.
int round_trip(options opts) {
  int served = 0;
  const int rc = coproc::run(
      [&served]() -> process {
        auto l = tcp_listener::bind(socket_address::loopback_v4(0));
        const socket_address at = l.local();
        spawn(
            [](tcp_listener l) -> process {
              tcp_stream s = co_await l.accept(5s);
              char buf[16];
              const std::size_t n = co_await s.read_some(buf, 5s);
              co_await s.write_all({buf, n}, 5s);
              s.shutdown_write();
            },
            std::move(l));
        tcp_stream c = co_await tcp_stream::connect(at, 5s);
        co_await c.write_all("ping", 5s);
        char buf[16];
        std::size_t got = co_await c.read_exact({buf, 4}, 5s);
        const std::size_t eof = co_await c.read_some(buf, 5s);
        if (got == 4 && std::string(buf, 4) == "ping" && eof == 0) {
          served = runtime_stats()[0].backend == io_backend_kind::epoll ? 2 : 1;
        }
      },
      opts);
  return rc == 0 ? served : 0;
}

// Whether io_uring works in this environment (the suite may run under a filter).
bool io_uring_works_here() {
  static const bool works = [] {
    const child_result r = run_denied(
        [] {
          return round_trip(options{.cores = 1, .backend = io_backend_kind::io_uring}) == 1 ? 0 : 1;
        },
        20s, {});
    return r.exited && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0;
  }();
  return works;
}

int exit_code(const child_result& r) {
  return r.exited && WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1;
}

}  // namespace

TEST(Backend, DefaultOptionsFallBackToEpollWhenIoUringIsDeniedAndSayWhyOnce) {
  // Docker's default profile (Engine 25+): io_uring_setup itself is denied.
  const child_result r = run_denied(
      [] {
        capture_log();
        if (round_trip(options{.cores = 2}) != 2) return 1;
        if (round_trip(options{.cores = 2}) != 2) return 2;  // a second runtime: no new line
        if (captured_log().size() != 1) return 3;
        if (!logged("io_uring is unavailable", "io_uring_setup: Operation not permitted",
                    "epoll")) {
          return 4;
        }
        return logged("seccomp", "kernel.io_uring_disabled") ? 0 : 5;
      },
      30s, kAllOfIoUring);
  EXPECT_EQ(exit_code(r), 0) << "1/2: no epoll round trip, 3: not exactly one log line, 4/5: "
                                "the line does not say why or how to enable io_uring";
}

TEST(Backend, OnlyIoUringEnterDeniedFallsBackToEpollToo) {
  // Rings can be made but never entered: the startup probe enters one, so the runtime
  // never ends up with rings it cannot use.
  const child_result r = run_denied(
      [] {
        capture_log();
        if (round_trip(options{.cores = 2}) != 2) return 1;
        return logged("io_uring is unavailable", "io_uring_enter") ? 0 : 2;
      },
      30s, {__NR_io_uring_enter});
  EXPECT_EQ(exit_code(r), 0);
  EXPECT_LT(r.cpu_seconds, 2.0);
}

TEST(Backend, AForcedIoUringThatIsDeniedMakesRunReturnOneWithAClearErrorNotAnAbort) {
  const child_result r = run_denied(
      [] {
        capture_log();
        const int rc = coproc::run([]() -> process { co_return; },
                                   options{.cores = 2, .backend = io_backend_kind::io_uring});
        if (rc != 1) return 1;
        return logged("cannot start the runtime", "io_uring_setup", "seccomp") ? 0 : 2;
      },
      20s, kAllOfIoUring);
  ASSERT_TRUE(r.exited);
  ASSERT_TRUE(WIFEXITED(r.status)) << "killed by a signal (abort?) instead of returning";
  EXPECT_EQ(WEXITSTATUS(r.status), 0);
}

TEST(Backend, AForcedIoUringWhoseEnterIsDeniedFailsAtStartWithoutSpinning) {
  const child_result r = run_denied(
      [] {
        capture_log();
        const int rc = coproc::run([]() -> process { co_await sleep_for(2s); },
                                   options{.cores = 2, .backend = io_backend_kind::io_uring});
        return rc == 1 && logged("cannot start the runtime", "io_uring_enter") ? 0 : 1;
      },
      20s, {__NR_io_uring_enter});
  EXPECT_EQ(exit_code(r), 0);
  EXPECT_LT(r.cpu_seconds, 1.0);
  EXPECT_LT(r.wall_seconds, 1.5);  // it did not even sleep its 2 s: the start failed
}

TEST(Backend, CoprocBackendInTheEnvironmentChoosesTheBackend) {
  const child_result r = run_denied(
      [] {
        capture_log();
        ::setenv("COPROC_BACKEND", "epoll", 1);
        if (round_trip(options{.cores = 2}) != 2) return 1;
        if (!captured_log().empty()) return 2;  // asked for, not a fallback: nothing to say
        // options.backend, when set, wins over the environment.
        ::setenv("COPROC_BACKEND", "io_uring", 1);
        if (round_trip(options{.cores = 1, .backend = io_backend_kind::epoll}) != 2) return 3;
        ::setenv("COPROC_BACKEND", "auto", 1);
        return round_trip(options{.cores = 1}) != 0 ? 0 : 4;
      },
      30s, {});
  EXPECT_EQ(exit_code(r), 0);
}

TEST(Backend, AnUnknownCoprocBackendMakesRunReturnOneWithAClearError) {
  const child_result r = run_denied(
      [] {
        capture_log();
        ::setenv("COPROC_BACKEND", "kqueue", 1);
        const int rc = coproc::run([]() -> process { co_return; }, options{.cores = 1});
        return rc == 1 && logged("COPROC_BACKEND=kqueue", "io_uring, epoll or auto") ? 0 : 1;
      },
      20s, {});
  EXPECT_EQ(exit_code(r), 0);
}

TEST(Backend, TheRuntimeAndItsStatsNameTheBackend) {
  runtime rt(options{.cores = 2, .backend = io_backend_kind::epoll});
  EXPECT_EQ(rt.backend(), io_backend_kind::epoll);
  EXPECT_EQ(rt.stats(0).backend, io_backend_kind::epoll);
  EXPECT_EQ(rt.stats(1).backend, io_backend_kind::epoll);
  EXPECT_STREQ(backend_name(rt.backend()), "epoll");
  EXPECT_STREQ(backend_name(io_backend_kind::io_uring), "io_uring");
  EXPECT_STREQ(backend_name(io_backend_kind::automatic), "auto");
}

TEST(Backend, ARingDeniedAfterStartEndsRunWithAnErrorInsteadOfSpinning) {
  // The rings exist (and were entered once); then io_uring_enter is denied. Where
  // io_uring is blocked from the start, the runtime is on epoll, and the same denial
  // must change nothing.
  const bool uring = io_uring_works_here();
  const child_result r = run_denied(
      [uring] {
        capture_log();
        runtime rt(options{.cores = 2});
        if ((rt.backend() == io_backend_kind::io_uring) != uring) return 3;
        if (!coproc_test::deny_syscalls({__NR_io_uring_enter})) return 97;
        bool accepted = false;
        const int rc = rt.run([&accepted]() -> process {
          // A socket operation needs the backend; a second core would spin if it could.
          auto l = tcp_listener::bind(socket_address::loopback_v4(0));
          const socket_address at = l.local();
          spawn(
              [](socket_address at) -> process {
                tcp_stream c = co_await tcp_stream::connect(at, 5s);
                co_await c.write_all("x", 5s);
              },
              at);
          tcp_stream s = co_await l.accept(5s);
          accepted = true;
        });
        if (uring) {
          return rc != 0 && !accepted && logged("io_uring", "Operation not permitted") ? 0 : 1;
        }
        return rc == 0 && accepted ? 0 : 2;
      },
      20s, {});
  ASSERT_TRUE(r.exited) << "the runtime never returned (spinning or stuck)";
  EXPECT_EQ(exit_code(r), 0) << (uring ? "run() did not fail with a logged io_uring error"
                                       : "the epoll runtime was disturbed by the denial");
  // Spinning two loops for the accept's 5 s would cost seconds of CPU.
  EXPECT_LT(r.cpu_seconds, 1.0);
  EXPECT_LT(r.wall_seconds, 4.0);
}

TEST(Backend, AnIdleRuntimeWithADeniedRingDoesNotSpinEither) {
  // Nothing but timers: the loops still sleep in the backend, which may now fail.
  const bool uring = io_uring_works_here();
  const child_result r = run_denied(
      [uring] {
        runtime rt(options{.cores = 2});
        if (!coproc_test::deny_syscalls({__NR_io_uring_enter})) return 97;
        const int rc = rt.run([]() -> process {
          for (int i = 0; i < 50; ++i) co_await sleep_for(20ms);
        });
        return (rc != 0) == uring ? 0 : 1;
      },
      20s, {});
  EXPECT_EQ(exit_code(r), 0);
  EXPECT_LT(r.cpu_seconds, 1.0);
}
