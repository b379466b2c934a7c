// process_info: one process's mailbox length, core, registered name, links, monitors
// and whether it waits in a receive, asked from the same core and from another core;
// a dead, never-alive or pid{} process gives std::nullopt.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <coproc/coproc.hpp>

#include "otp_test_support.hpp"
#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;

namespace {

bool contains(const std::vector<pid>& v, const pid& p) {
  return std::find(v.begin(), v.end(), p) != v.end();
}

// Waits in a receive for atom<"stop"> only, so everything else piles up in its mailbox.
process sink() {
  trap_exit(true);
  co_await receive([](atom<"stop">) {});
}

}  // namespace

TEST(ProcessInfo, DescribesAProcessOnTheSameCoreAndOnAnotherCore) {
  std::optional<process_details> here;
  std::optional<process_details> there;
  pid local;
  pid remote;
  pid me;
  monitor_ref watching_remote;
  int rc = coproc::run(
      [&]() -> process {
        me = self();
        local = spawn_on(0, sink);
        remote = spawn_on(1, sink);
        register_name("info_sink", remote);
        link(local);
        watching_remote = monitor(remote);
        for (int i = 0; i < 5; ++i) send(local, i);
        for (int i = 0; i < 3; ++i) send(remote, std::string("queued"));
        co_await sleep_for(50ms);  // both have run into their receive
        here = co_await process_info(local, 2s);
        there = co_await process_info(remote, 2s);
        send(local, atom<"stop">{});
        send(remote, atom<"stop">{});
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(here.has_value());
  EXPECT_EQ(here->who, local);
  EXPECT_EQ(here->core, 0U);
  EXPECT_EQ(here->message_queue_len, 5U);
  EXPECT_TRUE(here->waiting_in_receive);
  EXPECT_TRUE(here->trap_exit);
  EXPECT_EQ(here->registered_name, "");
  EXPECT_EQ(here->links, std::vector<pid>{me});
  EXPECT_TRUE(here->monitored_by.empty());
  ASSERT_TRUE(there.has_value());
  EXPECT_EQ(there->who, remote);
  EXPECT_EQ(there->core, 1U);
  EXPECT_EQ(there->message_queue_len, 3U);
  EXPECT_TRUE(there->waiting_in_receive);
  EXPECT_EQ(there->registered_name, "info_sink");
  EXPECT_TRUE(there->links.empty());
  EXPECT_EQ(there->monitored_by, std::vector<pid>{me});
}

TEST(ProcessInfo, ShowsWhatTheAskerItselfMonitorsAndThatItIsRunning) {
  std::optional<process_details> mine;
  pid a;
  pid b;
  int rc = coproc::run(
      [&]() -> process {
        a = spawn_on(1, sink);
        b = spawn_on(0, sink);
        (void)monitor(a);
        (void)monitor(b);
        send(self(), atom<"note">{});
        mine = co_await process_info(self(), 2s);
        send(a, atom<"stop">{});
        send(b, atom<"stop">{});
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(mine.has_value());
  EXPECT_EQ(mine->message_queue_len, 1U);  // the note; the answer itself is not counted
  EXPECT_FALSE(mine->waiting_in_receive);  // it was running when it asked
  EXPECT_EQ(mine->monitors.size(), 2U);
  EXPECT_TRUE(contains(mine->monitors, a));
  EXPECT_TRUE(contains(mine->monitors, b));
}

TEST(ProcessInfo, ADeadOrNeverAliveProcessGivesNullopt) {
  std::vector<std::optional<process_details>> answers;
  std::optional<std::string> leftover;
  int rc = coproc::run(
      [&]() -> process {
        for (unsigned core : {0U, 1U}) {
          const pid dead = spawn_on(core, [] {});
          bool gone = false;
          co_await coproc_test::wait_until(
              gone, [dead] { return !alive(dead); }, 2s);
          EXPECT_TRUE(gone);
          answers.push_back(co_await process_info(dead, 2s));
        }
        answers.push_back(co_await process_info(pid{}, 2s));
        answers.push_back(co_await process_info(pid{5, 1, 0, 123'456'789}, 2s));
        answers.push_back(co_await process_info(pid{5, 7, 0, 1}, 2s));  // no core 7
        leftover = co_await otp_test::next_message_type(0ms);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  ASSERT_EQ(answers.size(), 5U);
  for (const auto& a : answers) EXPECT_FALSE(a.has_value());
  EXPECT_EQ(leftover, std::nullopt);
}
