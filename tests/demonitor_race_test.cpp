// Erlang's demonitor guarantee: once demonitor(Ref, [flush]) has returned, no
// {'DOWN', Ref, ...} is or will ever be in the caller's mailbox, even when the
// monitored process, on another core, dies at the same moment. The same holds for the
// monitor a call() uses: after a call has returned its reply, no DOWN for it is left,
// even if the server crashed right after replying.
//
// The race showed mostly in freshly started runtimes, so every test here starts many
// short runtimes, and checks each one deterministically: a second monitor on the same
// process fires after the first would have (both DOWNs leave the dying core in monitor
// order, in one queue), so once the second DOWN is in, any DOWN for the first is too.
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>

#include <coproc/coproc.hpp>

#include "otp_test_support.hpp"
#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using otp_test::down_of;
using otp_test::opt_reason;

namespace {

constexpr int kRuntimes = 80;

struct outcome {
  int late_downs = 0;  // runtimes where a DOWN for a dropped monitor arrived
  int no_second = 0;   // runtimes where the control DOWN never came (a broken run)
};

// Dies of an exception as soon as it is told to.
process die_on_go() {
  co_await receive([](atom<"go">) {});
  throw std::runtime_error("dies while being demonitored");
}

// Replies to one call, then crashes.
process reply_then_crash() {
  co_await receive([](atom<"$gen_call">, call_from from, atom<"get">) { reply(from, 42); });
  throw std::runtime_error("crashed after replying");
}

}  // namespace

TEST(DemonitorRace, NoDownArrivesAfterDemonitorWithFlushInEightyFreshRuntimes) {
  testing::internal::CaptureStderr();
  outcome o;
  for (int i = 0; i < kRuntimes; ++i) {
    bool late = false;
    bool second_seen = false;
    const int rc = coproc::run(
        [&]() -> process {
          const pid t = spawn_on(1, die_on_go);
          const monitor_ref dropped = monitor(t);
          const monitor_ref control = monitor(t);
          send(t, atom<"go">{});  // t now dies while we demonitor
          demonitor(dropped, true);
          const opt_reason second = co_await down_of(control, 10s);
          second_seen = second.has_value();
          const opt_reason stray = co_await down_of(dropped, 0ms);
          late = stray.has_value();
        },
        options{.cores = 2});
    EXPECT_EQ(rc, 0);
    if (late) ++o.late_downs;
    if (!second_seen) ++o.no_second;
  }
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(o.late_downs, 0) << "runtimes (of " << kRuntimes << ") with a DOWN after demonitor";
  EXPECT_EQ(o.no_second, 0);
}

TEST(DemonitorRace, ACallWhoseServerRepliesThenCrashesLeavesNoDownInEightyFreshRuntimes) {
  testing::internal::CaptureStderr();
  int left_over = 0;
  int wrong_reply = 0;
  int no_control = 0;
  for (int i = 0; i < kRuntimes; ++i) {
    std::optional<std::string> stray;
    int got = 0;
    bool control_seen = false;
    const int rc = coproc::run(
        [&]() -> process {
          const pid srv = spawn_on(1, reply_then_crash);
          got = co_await call<int>(srv, 10s, atom<"get">{});
          // Ordered after any DOWN for the call's monitor (same core, same queue).
          const monitor_ref control = monitor(srv);
          control_seen = (co_await down_of(control, 10s)).has_value();
          stray = co_await otp_test::next_message_type(0ms);
        },
        options{.cores = 2});
    EXPECT_EQ(rc, 0);
    if (stray) ++left_over;
    if (got != 42) ++wrong_reply;
    if (!control_seen) ++no_control;
  }
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(left_over, 0) << "runtimes (of " << kRuntimes << ") with a message left after call";
  EXPECT_EQ(wrong_reply, 0);
  EXPECT_EQ(no_control, 0);
}

TEST(DemonitorRace, ALongRunningRuntimeKeepsTheGuaranteeToo) {
  testing::internal::CaptureStderr();
  int late = 0;
  const int rounds = static_cast<int>(coproc_test::scaled(2000, 300));
  const int rc = coproc::run(
      [&]() -> process {
        for (int i = 0; i < rounds; ++i) {
          const pid t = spawn_on(1, die_on_go);
          const monitor_ref dropped = monitor(t);
          const monitor_ref control = monitor(t);
          send(t, atom<"go">{});
          demonitor(dropped, true);
          const opt_reason second = co_await down_of(control, 10s);
          const opt_reason stray = co_await down_of(dropped, 0ms);
          if (!second || stray) ++late;
        }
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(late, 0);
}
