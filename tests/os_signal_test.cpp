// trap_signal: OS signals arrive as (atom<"signal">, int) messages to the trapping
// process (Elixir's System.trap_signal); the default action comes back when the trap ends.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <coproc/coproc.hpp>
#include <stdexcept>

using namespace coproc;
using namespace std::chrono_literals;

namespace {
bool handler_is_default(int signo) {
  struct sigaction sa {};
  sigaction(signo, nullptr, &sa);
  return sa.sa_handler == SIG_DFL;
}
}  // namespace

TEST(OsSignal, ATrappedSignalArrivesAsAMessageToTheTrappingProcess) {
  const int rc = coproc::run(
      []() -> process {
        trap_signal(SIGUSR1);
        trap_signal(SIGHUP);
        ::kill(::getpid(), SIGUSR1);
        const int first =
            co_await receive([](atom<"signal">, int s) { return s; }, after(5s, [] { return -1; }));
        EXPECT_EQ(first, SIGUSR1);
        ::kill(::getpid(), SIGHUP);
        const int second =
            co_await receive([](atom<"signal">, int s) { return s; }, after(5s, [] { return -1; }));
        EXPECT_EQ(second, SIGHUP);
        untrap_signal(SIGUSR1);
        untrap_signal(SIGHUP);
        EXPECT_TRUE(handler_is_default(SIGUSR1));
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
}

TEST(OsSignal, AProcessOnAnotherCoreCanTrapAndTheLastTrapperWins) {
  const int rc = coproc::run(
      []() -> process {
        const pid me = self();
        pid other = spawn_on(1, [me]() -> process {
          trap_signal(SIGUSR2);
          send(me, atom<"trapped">{});
          const int s = co_await receive([](atom<"signal">, int s) { return s; },
                                         after(5s, [] { return -1; }));
          send(me, atom<"got">{}, s);
        });
        co_await receive([](atom<"trapped">) {});
        ::kill(::getpid(), SIGUSR2);
        const int s =
            co_await receive([](atom<"got">, int s) { return s; }, after(5s, [] { return -1; }));
        EXPECT_EQ(s, SIGUSR2);
        (void)other;
        untrap_signal(SIGUSR2);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
}

TEST(OsSignal, TheEndOfTheRuntimeRestoresTheDefaultAction) {
  coproc::run([]() -> process {
    trap_signal(SIGWINCH);
    EXPECT_FALSE(handler_is_default(SIGWINCH));
    co_return;
  });
  EXPECT_TRUE(handler_is_default(SIGWINCH));
}

TEST(OsSignal, ATrapWhoseProcessDiedGivesTheSignalItsDefaultAction) {
  coproc::run(
      []() -> process {
        pid trapper = spawn([] { trap_signal(SIGWINCH); });  // ends at once
        const monitor_ref m = monitor(trapper);
        co_await receive([&](atom<"DOWN">, monitor_ref r, pid, exit_reason) { return r == m; });
        ::kill(::getpid(), SIGWINCH);  // default action of SIGWINCH: ignore
        for (int i = 0; i < 500 && !handler_is_default(SIGWINCH); ++i) co_await sleep_for(1ms);
        EXPECT_TRUE(handler_is_default(SIGWINCH));
        const bool nothing = co_await receive([](atom<"signal">, int) { return false; },
                                              after(50ms, [] { return true; }));
        EXPECT_TRUE(nothing);
      },
      options{.cores = 2});
}

TEST(OsSignal, SignalsThatCannotBeTrappedAreRefused) {
  coproc::run([]() -> process {
    EXPECT_THROW(trap_signal(SIGKILL), std::invalid_argument);
    EXPECT_THROW(trap_signal(SIGSTOP), std::invalid_argument);
    EXPECT_THROW(trap_signal(SIGSEGV), std::invalid_argument);
    EXPECT_THROW(trap_signal(0), std::invalid_argument);
    co_return;
  });
  EXPECT_THROW(trap_signal(SIGUSR1), std::logic_error);  // outside a process
}
