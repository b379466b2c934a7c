// Monitors: one (atom<"DOWN">, monitor_ref, pid, exit_reason) message when the watched
// process ends, on any core; noproc at once for a dead process; demonitor stops it and
// can flush a DOWN already queued; spawn_monitor; and every kind of exit reason.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <coproc/coproc.hpp>

#include "otp_test_support.hpp"
#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using otp_test::any_down;
using otp_test::down_msg;
using otp_test::down_of;
using otp_test::opt_reason;

TEST(Monitor, DownCarriesTheRefThePidAndTheReasonAcrossCores) {
  std::optional<down_msg> from_core1;
  std::optional<down_msg> from_core0;
  pid target1;
  pid target0;
  monitor_ref ref1;
  monitor_ref ref0;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        // main on core 0 watches a process on core 1...
        target1 = spawn_on(1, otp_test::crash_on_go, std::string("down across cores"));
        ref1 = monitor(target1);
        EXPECT_TRUE(static_cast<bool>(ref1));
        send(target1, atom<"go">{});
        from_core1 = co_await any_down(5s);

        // ...and a process on core 1 watches one on core 0.
        const pid me = self();
        target0 = spawn_on(0, otp_test::crash_on_go, std::string("down the other way"));
        spawn_on(1, [me, t = target0]() -> process {
          const monitor_ref r = monitor(t);
          send(me, atom<"ref">{}, r);
          send(t, atom<"go">{});
          auto d = co_await any_down(5s);
          if (d) send(me, *d);
        });
        ref0 = co_await receive([](atom<"ref">, monitor_ref r) { return r; },
                                after(5s, [] { return monitor_ref{}; }));
        from_core0 = co_await receive([](down_msg d) { return std::optional<down_msg>(d); },
                                      after(5s, [] { return std::optional<down_msg>(); }));
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(from_core1.has_value());
  EXPECT_EQ(from_core1->ref, ref1);
  EXPECT_EQ(from_core1->who, target1);
  EXPECT_EQ(from_core1->reason, exit_reason::exception("down across cores"));
  ASSERT_TRUE(from_core0.has_value());
  EXPECT_EQ(from_core0->ref, ref0);
  EXPECT_EQ(from_core0->who, target0);
  EXPECT_EQ(from_core0->reason, exit_reason::exception("down the other way"));
}

TEST(Monitor, MonitoringADeadProcessGivesDownNoprocAtOnce) {
  std::optional<down_msg> got[2];
  pid dead[2];
  monitor_ref refs[2];
  double waited_ms[2] = {-1, -1};
  int rc = coproc::run(
      [&]() -> process {
        for (unsigned core : {0U, 1U}) {
          dead[core] = spawn_on(core, [] {});
          bool gone = false;
          co_await coproc_test::wait_until(gone, [p = dead[core]] { return !alive(p); }, 2s);
          EXPECT_TRUE(gone);
          const auto t0 = std::chrono::steady_clock::now();
          refs[core] = monitor(dead[core]);
          got[core] = co_await any_down(5s);
          waited_ms[core] = coproc_test::ms_since(t0);
        }
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  for (int c = 0; c < 2; ++c) {
    ASSERT_TRUE(got[c].has_value()) << "no DOWN for a dead pid on core " << c;
    EXPECT_EQ(got[c]->ref, refs[c]);
    EXPECT_EQ(got[c]->who, dead[c]);
    EXPECT_EQ(got[c]->reason, exit_reason::noproc());
    EXPECT_LT(waited_ms[c], 500.0) << "the noproc DOWN should come at once";
  }
}

TEST(Monitor, DemonitorStopsTheDown) {
  bool was_active = false;
  bool second_demonitor = true;
  opt_reason kept_reason;
  std::optional<std::string> stray;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        const pid t = spawn_on(1, otp_test::crash_on_go, std::string("after demonitor"));
        const monitor_ref dropped = monitor(t);
        const monitor_ref kept = monitor(t);
        was_active = demonitor(dropped);
        second_demonitor = demonitor(dropped);
        send(t, atom<"go">{});
        // The kept monitor's DOWN proves t is gone; the dropped one must never come.
        kept_reason = co_await down_of(kept, 5s);
        stray = co_await otp_test::next_message_type(200ms);
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(was_active);
  EXPECT_FALSE(second_demonitor);
  EXPECT_EQ(kept_reason, opt_reason(exit_reason::exception("after demonitor")));
  EXPECT_EQ(stray, std::nullopt) << "a message arrived after demonitor: " << *stray;
}

TEST(Monitor, DemonitorWithFlushDropsADownAlreadyQueued) {
  opt_reason second_reason;
  std::optional<std::string> left_after_flush;
  opt_reason control_kept;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        for (bool flush : {true, false}) {
          const pid t = spawn_on(1, otp_test::crash_on_go, std::string("queued down"));
          const monitor_ref first = monitor(t);
          const monitor_ref second = monitor(t);
          send(t, atom<"go">{});
          // Both DOWNs are sent in monitor order; taking the second leaves the first queued.
          opt_reason r = co_await down_of(second, 5s);
          demonitor(first, flush);
          if (flush) {
            second_reason = r;
            left_after_flush = co_await otp_test::next_message_type(0ms);
          } else {
            control_kept = co_await down_of(first, 0ms);
          }
        }
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(second_reason, opt_reason(exit_reason::exception("queued down")));
  EXPECT_EQ(left_after_flush, std::nullopt) << "still queued: " << *left_after_flush;
  // Without flush the DOWN stays in the mailbox.
  EXPECT_EQ(control_kept, opt_reason(exit_reason::exception("queued down")));
}

TEST(Monitor, SpawnMonitorDeliversTheChildsDown) {
  std::optional<down_msg> got;
  pid child;
  monitor_ref ref;
  int instant_ok = 0;
  constexpr int kInstant = 1000;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        auto [p, r] = spawn_monitor([]() -> process {
          co_await sleep_for(1ms);
          throw std::runtime_error("spawn_monitor child");
        });
        child = p;
        ref = r;
        got = co_await any_down(5s);
        // Atomic: a child that crashes at once is still seen with its own reason,
        // never as noproc.
        for (int i = 0; i < kInstant; ++i) {
          auto [q, rq] = spawn_monitor([] { throw std::runtime_error("instant"); });
          opt_reason why = co_await down_of(rq, 5s);
          if (why == opt_reason(exit_reason::exception("instant"))) {
            ++instant_ok;
          } else {
            ADD_FAILURE() << "round " << i << ": " << (why ? why->to_string() : "no DOWN");
            break;
          }
          (void)q;
        }
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(static_cast<bool>(ref));
  EXPECT_EQ(got->ref, ref);
  EXPECT_EQ(got->who, child);
  EXPECT_EQ(got->reason, exit_reason::exception("spawn_monitor child"));
  EXPECT_EQ(instant_ok, kInstant);
}

TEST(Monitor, TwoMonitorsGiveTwoDowns) {
  std::vector<down_msg> downs;
  monitor_ref r1;
  monitor_ref r2;
  pid t;
  std::optional<std::string> third;
  int rc = coproc::run(
      [&]() -> process {
        t = spawn_on(1, otp_test::idle);
        r1 = monitor(t);
        r2 = monitor(t);
        send(t, atom<"stop">{});
        for (int i = 0; i < 2; ++i) {
          auto d = co_await any_down(5s);
          if (!d) break;
          downs.push_back(*d);
        }
        third = co_await otp_test::next_message_type(100ms);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_NE(r1, r2);
  ASSERT_EQ(downs.size(), 2U);
  EXPECT_TRUE((downs[0].ref == r1 && downs[1].ref == r2) || (downs[0].ref == r2 && downs[1].ref == r1));
  for (const auto& d : downs) {
    EXPECT_EQ(d.who, t);
    EXPECT_EQ(d.reason, exit_reason::normal());
  }
  EXPECT_EQ(third, std::nullopt) << "unexpected: " << *third;
}

TEST(Monitor, DownReportsEveryKindOfReason) {
  opt_reason normal_r;
  opt_reason exception_r;
  opt_reason user_r;
  opt_reason user_string_r;
  opt_reason shutdown_r;
  opt_reason shutdown_self_r;
  opt_reason killed_r;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        auto wait_go = []() { return receive([](atom<"go">) {}, after(10s, [] {})); };
        const pid p_normal = spawn_on(1, [wait_go]() -> process { co_await wait_go(); });
        const pid p_exception = spawn_on(1, [wait_go]() -> process {
          co_await wait_go();
          throw std::invalid_argument("the what() text");
        });
        const pid p_user = spawn_on(1, [wait_go]() -> process {
          co_await wait_go();
          coproc::exit(atom<"bad_input">{});
        });
        const pid p_user_string = spawn_on(1, [wait_go]() -> process {
          co_await wait_go();
          coproc::exit(exit_reason::user("a string reason"));
        });
        const pid p_shutdown = spawn_on(1, otp_test::idle);
        const pid p_shutdown_self = spawn_on(1, [wait_go]() -> process {
          co_await wait_go();
          coproc::exit(atom<"shutdown">{});
        });
        const pid p_killed = spawn_on(1, []() -> process {
          trap_exit(true);  // kill pierces it anyway
          co_await receive([](atom<"never">) {}, after(10s, [] {}));
        });
        const monitor_ref r_normal = monitor(p_normal);
        const monitor_ref r_exception = monitor(p_exception);
        const monitor_ref r_user = monitor(p_user);
        const monitor_ref r_user_string = monitor(p_user_string);
        const monitor_ref r_shutdown = monitor(p_shutdown);
        const monitor_ref r_shutdown_self = monitor(p_shutdown_self);
        const monitor_ref r_killed = monitor(p_killed);
        for (const pid& p : {p_normal, p_exception, p_user, p_user_string, p_shutdown_self}) {
          send(p, atom<"go">{});
        }
        coproc::exit(p_shutdown, exit_reason::shutdown());
        coproc::exit(p_killed, exit_reason::kill());
        normal_r = co_await down_of(r_normal, 5s);
        exception_r = co_await down_of(r_exception, 5s);
        user_r = co_await down_of(r_user, 5s);
        user_string_r = co_await down_of(r_user_string, 5s);
        shutdown_r = co_await down_of(r_shutdown, 5s);
        shutdown_self_r = co_await down_of(r_shutdown_self, 5s);
        killed_r = co_await down_of(r_killed, 5s);
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(normal_r && exception_r && user_r && user_string_r && shutdown_r && shutdown_self_r &&
              killed_r);
  EXPECT_EQ(normal_r->what(), exit_reason::kind::normal);
  EXPECT_TRUE(normal_r->is_normal());
  EXPECT_EQ(exception_r->what(), exit_reason::kind::exception);
  EXPECT_EQ(exception_r->text(), "the what() text");
  EXPECT_EQ(user_r->what(), exit_reason::kind::user);
  EXPECT_EQ(user_r->text(), "bad_input");
  EXPECT_EQ(*user_r, exit_reason(atom<"bad_input">{}));
  EXPECT_EQ(user_string_r->what(), exit_reason::kind::user);
  EXPECT_EQ(user_string_r->text(), "a string reason");
  EXPECT_EQ(shutdown_r->what(), exit_reason::kind::shutdown);
  EXPECT_EQ(shutdown_self_r->what(), exit_reason::kind::shutdown);
  EXPECT_EQ(killed_r->what(), exit_reason::kind::killed);
}
