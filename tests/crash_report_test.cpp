// Crash reports: set_crash_reporter gets exactly one report per abnormal exit, with the
// pid, the registered name and the reason; none for normal or shutdown; an empty
// function restores the default reporter (stderr).
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

TEST_F(CrashReport, TheReporterGetsOneReportPerAbnormalExitWithPidNameAndReason) {
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
        // A report is made on the dying process's core: wait for the four, then make
        // sure no more come.
        co_await coproc_test::wait_until(all_in, [&log] { return log.size() >= 4; }, 5s);
        co_await sleep_for(100ms);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(all_in);
  const auto all = log.snapshot();
  EXPECT_EQ(all.size(), 4U);

  auto t = reports_for(all, thrower);
  ASSERT_EQ(t.size(), 1U);
  EXPECT_EQ(t[0].name, "reported_worker");
  EXPECT_EQ(t[0].reason, exit_reason::exception("boom for the reporter"));

  auto u = reports_for(all, user_exit);
  ASSERT_EQ(u.size(), 1U);
  EXPECT_EQ(u[0].name, "");
  EXPECT_EQ(u[0].reason, exit_reason::user("bad_input"));

  auto k = reports_for(all, killed);
  ASSERT_EQ(k.size(), 1U);
  EXPECT_EQ(k[0].reason, exit_reason::killed());

  auto l = reports_for(all, linked_victim);
  ASSERT_EQ(l.size(), 1U);
  EXPECT_EQ(l[0].reason, exit_reason::exception("boom for the reporter"));

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
        co_await coproc_test::wait_until(got, [&log] { return log.size() == 1; }, 5s);
      },
      options{.cores = 2});
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(got);
  EXPECT_EQ(err.find("quiet-crash-91aa"), std::string::npos) << "stderr was: " << err;
}
