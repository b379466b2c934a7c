// Crash reports, by Erlang's rule: a plain process is reported only when its body throws;
// a gen_server reports its own abnormal end once with its last message; a supervisor
// reports its failed children and a reached restart intensity. set_crash_reporter gets
// each report with the pid, the registered name and the reason; an empty function
// restores the default reporter (stderr).
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <coproc/coproc.hpp>

#include "otp_test_support.hpp"
#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using otp_test::down_of;
using otp_test::opt_reason;

namespace {

// Reports, collected from whichever core they are made on.
struct report_log {
  std::mutex mu;
  std::vector<crash_report> reports;

  void add(const crash_report& r) {
    std::lock_guard lock(mu);
    reports.push_back(r);
  }
  std::size_t size() {
    std::lock_guard lock(mu);
    return reports.size();
  }
  std::vector<crash_report> snapshot() {
    std::lock_guard lock(mu);
    return reports;
  }
};

class CrashReport : public testing::Test {
 protected:
  void TearDown() override { set_crash_reporter({}); }
};

std::vector<crash_report> reports_for(const std::vector<crash_report>& all, const pid& p) {
  std::vector<crash_report> out;
  std::copy_if(all.begin(), all.end(), std::back_inserter(out),
               [&](const crash_report& r) { return r.who == p; });
  return out;
}

}  // namespace

// Erlang's rule: a plain process is logged only when its body fails (an uncaught
// exception); exit(reason) and deaths by exit signals (kill, a linked crash) are seen
// through links and monitors, not in the log.
TEST_F(CrashReport, OnlyAnUncaughtExceptionIsReportedNotExitReasonsOrExitSignals) {
  report_log log;
  set_crash_reporter([&log](const crash_report& r) { log.add(r); });
  pid thrower;
  pid user_exit;
  pid killed;
  pid linked_victim;
  std::vector<pid> quiet;
  bool all_in = false;
  int rc = coproc::run(
      [&]() -> process {
        auto wait_go = [] { return receive([](atom<"go">) {}, after(10s, [] {})); };
        // Abnormal: an exception (registered, on core 1), a user reason, kill, and a
        // process taken down by a link.
        thrower = spawn_on(1, otp_test::crash_on_go, std::string("boom for the reporter"));
        register_name("reported_worker", thrower);
        user_exit = spawn_on(0, [wait_go]() -> process {
          co_await wait_go();
          coproc::exit(atom<"bad_input">{});
        });
        killed = spawn_on(1, otp_test::idle);
        // linked_victim links to thrower and then starts it (one sender: link first).
        linked_victim = spawn_on(0, [t = thrower, wait_go]() -> process {
          co_await wait_go();
          link(t);
          send(t, atom<"go">{});
          co_await receive([](atom<"never">) {}, after(10s, [] {}));
        });
        // Not reported: normal return, exit(normal), shutdown by signal and by exit().
        const pid normal_return = spawn_on(1, [wait_go]() -> process { co_await wait_go(); });
        const pid normal_exit = spawn_on(0, [wait_go]() -> process {
          co_await wait_go();
          coproc::exit(exit_reason::normal());
        });
        const pid shutdown_signal = spawn_on(1, otp_test::idle);
        const pid shutdown_exit = spawn_on(0, [wait_go]() -> process {
          co_await wait_go();
          coproc::exit(exit_reason::shutdown());
        });
        quiet = {normal_return, normal_exit, shutdown_signal, shutdown_exit};

        std::vector<monitor_ref> refs;
        for (const pid& p : {thrower, user_exit, killed, linked_victim, normal_return, normal_exit,
                             shutdown_signal, shutdown_exit}) {
          refs.push_back(monitor(p));
        }
        for (const pid& p : {linked_victim, user_exit, normal_return, normal_exit, shutdown_exit}) {
          send(p, atom<"go">{});
        }
        coproc::exit(killed, exit_reason::kill());
        coproc::exit(shutdown_signal, exit_reason::shutdown());
        for (const auto& r : refs) {
          if (!co_await down_of(r, 5s)) ADD_FAILURE() << "a process did not end";
        }
        // A report is made on the dying process's core: wait for the one, then make
        // sure no more come.
        co_await coproc_test::wait_until(
            all_in, [&log] { return log.size() >= 1; }, 5s);
        co_await sleep_for(100ms);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(all_in);
  const auto all = log.snapshot();
  EXPECT_EQ(all.size(), 1U);

  auto t = reports_for(all, thrower);
  ASSERT_EQ(t.size(), 1U);
  EXPECT_EQ(t[0].name, "reported_worker");
  EXPECT_EQ(t[0].kind, report_kind::crash);
  EXPECT_EQ(t[0].reason, exit_reason::exception("boom for the reporter"));

  // exit(reason), a kill and a linked process's crash: not logged.
  EXPECT_TRUE(reports_for(all, user_exit).empty());
  EXPECT_TRUE(reports_for(all, killed).empty());
  EXPECT_TRUE(reports_for(all, linked_victim).empty());
  for (const pid& p : quiet) EXPECT_TRUE(reports_for(all, p).empty()) << p;
}

TEST_F(CrashReport, AnEmptyReporterRestoresTheDefaultOnStderr) {
  report_log log;
  set_crash_reporter([&log](const crash_report& r) { log.add(r); });
  set_crash_reporter({});
  pid victim;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        // On main's core, so its report is written before main resumes.
        victim = spawn_on(0, otp_test::crash_on_go, std::string("default-reporter-5d2b"));
        register_name("default_reported", victim);
        const monitor_ref r = monitor(victim);
        send(victim, atom<"go">{});
        co_await down_of(r, 5s);
        co_await sleep_for(20ms);
      },
      options{.cores = 2});
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(log.size(), 0U);
  const std::string expected = format_crash_report(
      crash_report{victim, "default_reported", exit_reason::exception("default-reporter-5d2b")});
  EXPECT_NE(err.find(expected), std::string::npos) << "stderr was: " << err;
  EXPECT_NE(err.find("=CRASH REPORT===="), std::string::npos);
  EXPECT_NE(err.find(to_string(victim)), std::string::npos);
  EXPECT_NE(err.find("default_reported"), std::string::npos);
}

TEST_F(CrashReport, AReplacedReporterKeepsStderrQuiet) {
  report_log log;
  set_crash_reporter([&log](const crash_report& r) { log.add(r); });
  bool got = false;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        const pid v = spawn_on(1, otp_test::crash_on_go, std::string("quiet-crash-91aa"));
        const monitor_ref r = monitor(v);
        send(v, atom<"go">{});
        co_await down_of(r, 5s);
        co_await coproc_test::wait_until(
            got, [&log] { return log.size() == 1; }, 5s);
      },
      options{.cores = 2});
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(got);
  EXPECT_EQ(err.find("quiet-crash-91aa"), std::string::npos) << "stderr was: " << err;
}

namespace {

// A server that fails in the ways a test asks it to.
struct fragile {
  int handle_call(atom<"get">) { return 1; }
  int handle_call(atom<"exit_with">, exit_reason why) { coproc::exit(std::move(why)); }
  void handle_cast(atom<"throw">, int /*n*/) { throw std::runtime_error("fragile cast failed"); }
};

std::size_t count_kind(const std::vector<crash_report>& all, report_kind k) {
  return static_cast<std::size_t>(
      std::count_if(all.begin(), all.end(), [k](const crash_report& r) { return r.kind == k; }));
}

}  // namespace

// OTP's gen_server logs its own abnormal termination once ("** Generic server ...
// terminating ** Last message in was ..."), with the last message it handled; a server
// that stops with shutdown, or is killed by an exit signal, is not logged.
TEST_F(CrashReport, AGenServerReportsItsOwnAbnormalEndOnceWithItsLastMessage) {
  for (int round = 0; round < 5; ++round) {  // freshly started runtimes
    report_log log;
    set_crash_reporter([&log](const crash_report& r) { log.add(r); });
    pid thrower;
    pid exiter;
    bool all_in = false;
    int rc = coproc::run(
        [&]() -> process {
          const pid me = self();
          // Started from core 1, so the servers live there and report there.
          spawn_on(1, [me]() -> process {
            auto a = start_server<fragile>();
            auto b = start_server<fragile>();
            auto c = start_server<fragile>();
            auto d = start_server<fragile>();
            register_name("fragile_b", b.id);
            send(me, std::vector<pid>{a.id, b.id, c.id, d.id});
            co_return;
          });
          const auto ps = co_await receive<std::vector<pid>>();
          thrower = ps[0];
          exiter = ps[1];
          std::vector<monitor_ref> refs;
          for (const pid& p : ps) refs.push_back(monitor(p));
          const server<fragile> a{ps[0]};
          const server<fragile> b{ps[1]};
          const server<fragile> c{ps[2]};
          const int one = co_await call(a, 1s, atom<"get">{});
          EXPECT_EQ(one, 1);
          cast(a, atom<"throw">{}, 7);
          try {
            (void)co_await call(b, 1s, atom<"exit_with">{}, exit_reason(atom<"bad_state">{}));
          } catch (const call_error&) {
          }
          try {
            (void)co_await call(c, 1s, atom<"exit_with">{}, exit_reason::shutdown());
          } catch (const call_error&) {
          }
          coproc::exit(ps[3], exit_reason::kill());
          for (const auto& r : refs) {
            if (!co_await down_of(r, 5s)) ADD_FAILURE() << "a server did not end";
          }
          co_await coproc_test::wait_until(
              all_in, [&log] { return log.size() >= 2; }, 5s);
          co_await sleep_for(50ms);
        },
        options{.cores = 2});
    EXPECT_EQ(rc, 0);
    EXPECT_TRUE(all_in);
    const auto all = log.snapshot();
    ASSERT_EQ(all.size(), 2U) << "round " << round;
    const auto t = reports_for(all, thrower);
    ASSERT_EQ(t.size(), 1U);
    EXPECT_EQ(t[0].kind, report_kind::server_terminating);
    EXPECT_EQ(t[0].reason, exit_reason::exception("fragile cast failed"));
    EXPECT_NE(t[0].detail.find("$gen_cast"), std::string::npos) << t[0].detail;
    EXPECT_NE(t[0].detail.find("throw"), std::string::npos) << t[0].detail;
    EXPECT_NE(format_crash_report(t[0]).find("Generic server"), std::string::npos);
    const auto e = reports_for(all, exiter);
    ASSERT_EQ(e.size(), 1U);
    EXPECT_EQ(e[0].kind, report_kind::server_terminating);
    EXPECT_EQ(e[0].name, "fragile_b");
    EXPECT_EQ(e[0].reason, exit_reason(atom<"bad_state">{}));
    EXPECT_NE(e[0].detail.find("exit_with"), std::string::npos) << e[0].detail;
    set_crash_reporter({});
  }
}

// OTP's supervisor logs each child that terminated ("Context: child_terminated") and,
// when it gives up, "Context: shutdown. Reason: reached_max_restart_intensity"; the
// supervisor's own exit with shutdown, and the children it stops, are not logged.
TEST_F(CrashReport, ASupervisorReportsItsFailedChildrenAndGivingUp) {
  for (int round = 0; round < 5; ++round) {
    report_log log;
    set_crash_reporter([&log](const crash_report& r) { log.add(r); });
    pid sup;
    opt_reason sup_reason;
    int rc = coproc::run(
        [&]() -> process {
          trap_exit(true);
          sup = start_supervisor(
              {{.id = "steady", .start = [] { return spawn_link(otp_test::idle); }},
               {.id = "quiet_transient",
                .start = [] { return spawn_link([] {}); },  // ends normally at once
                .restart = restart_type::transient},
               {.id = "failing",
                .start =
                    [] {
                      return spawn_link([]() -> process {
                        coproc::exit(atom<"boom">{});  // not logged by itself
                        co_return;
                      });
                    }}},
              {.strategy = strategy::one_for_one, .max_restarts = 2, .max_period = 5000ms});
          const monitor_ref ref = monitor(sup);
          sup_reason = co_await down_of(ref, 10s);
        },
        options{.cores = 2});
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(sup_reason, opt_reason(exit_reason::shutdown()));
    const auto all = log.snapshot();
    EXPECT_EQ(all.size(), 4U) << "round " << round;
    EXPECT_EQ(count_kind(all, report_kind::child_terminated), 3U);
    EXPECT_EQ(count_kind(all, report_kind::max_intensity), 1U);
    for (const auto& r : all) {
      EXPECT_EQ(r.who, sup);
      EXPECT_EQ(r.detail, "failing");
      if (r.kind == report_kind::child_terminated) {
        EXPECT_EQ(r.reason, exit_reason(atom<"boom">{}));
        EXPECT_NE(format_crash_report(r).find("Context: child_terminated"), std::string::npos);
      }
    }
    set_crash_reporter({});
  }
}
