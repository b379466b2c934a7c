// pids: sending to the dead is silent, pids are never reused, pid{} names nothing,
// and a pid prints like Elixir's #PID<0.N.C>.
#include <gtest/gtest.h>

#include <functional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include <coproc/coproc.hpp>

#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;

static_assert(sizeof(pid) <= 16);
static_assert(std::is_trivially_copyable_v<pid>);

TEST(Pid, SendingToADeadPidIsSilent) {
  bool dead = false;
  bool still_running = false;
  int rc = coproc::run(
      [&]() -> process {
        const pid p = spawn([] {});
        co_await coproc_test::wait_until(dead, [p] { return !alive(p); }, 2s);
        EXPECT_NO_THROW(send(p, 1));
        EXPECT_NO_THROW(send(p, std::string("to the dead"), 2.0));
        EXPECT_NO_THROW(send(p, std::make_unique<int>(3)));
        send(self(), atom<"still here">{});
        still_running = (co_await receive_for<atom<"still here">>(1s)).has_value();
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(dead);
  EXPECT_TRUE(still_running);
}

TEST(Pid, SendingToAPidThatWasNeverAliveIsSilent) {
  int rc = coproc::run(
      []() -> process {
        EXPECT_NO_THROW(send(pid{}, 1));
        EXPECT_NO_THROW(send(pid{12345678, 0, 0, 999 << 10}, 1));  // unused slot
        EXPECT_NO_THROW(send(pid{1, 1, 0, 7}, 1));                  // wrong serial
        EXPECT_NO_THROW(send(pid{1, 900, 0, 7}, 1));                // no such core
        EXPECT_NO_THROW(send(pid{1, 0, 3, 7}, 1));                  // another node
        EXPECT_FALSE(alive(pid{12345678, 0, 0, 999 << 10}));
        EXPECT_FALSE(alive(pid{1, 900, 0, 7}));
        // The main process itself is unharmed.
        send(self(), 5);
        auto back = co_await receive_for<int>(1s);
        EXPECT_EQ(back, std::optional<int>(5));
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  // And from outside any process, with and without a runtime.
  {
    runtime rt{options{.cores = 1}};
    EXPECT_NO_THROW(send(pid{}, 1));
    EXPECT_NO_THROW(send(pid{12345678, 0, 0, 999 << 10}, 1));
    EXPECT_NO_THROW(send(pid{1, 900, 0, 7}, 1));
  }
  EXPECT_NO_THROW(send(pid{1, 0, 0, 1 << 10}, 1));
}

TEST(Pid, APidIsNotReusedAfterItsProcessExits) {
  const int kRounds = 4;
  const int kPerRound = static_cast<int>(coproc_test::scaled(2000, 500));
  std::vector<pid> pids;
  long alive_old = 0;
  bool all_done = false;
  int rc = coproc::run(
      [&]() -> process {
        for (int r = 0; r < kRounds; ++r) {
          std::vector<pid> round;
          for (int i = 0; i < kPerRound; ++i) round.push_back(spawn([] {}));
          co_await coproc_test::wait_until(
              all_done,
              [&round] {
                for (const pid& p : round) {
                  if (alive(p)) return false;
                }
                return true;
              },
              5s);
          EXPECT_TRUE(all_done) << "round " << r;
          pids.insert(pids.end(), round.begin(), round.end());
        }
        for (const pid& p : pids) alive_old += alive(p) ? 1 : 0;
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(alive_old, 0);
  std::set<pid> distinct(pids.begin(), pids.end());
  EXPECT_EQ(distinct.size(), pids.size());
  std::unordered_set<pid> hashed(pids.begin(), pids.end());
  EXPECT_EQ(hashed.size(), pids.size());
}

TEST(Pid, AStalePidNeverReachesTheProcessThatTookItsSlot) {
  std::vector<int> leaked;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        for (int i = 0; i < 20; ++i) {
          bool dead = false;
          const pid old = spawn_on(0, [] {});
          co_await coproc_test::wait_until(dead, [old] { return !alive(old); }, 2s);
          EXPECT_TRUE(dead);
          const pid fresh = spawn_on(0, [me]() -> process {
            auto v = co_await receive_for<int>(20ms);
            send(me, v.value_or(-1));
          });
          EXPECT_NE(fresh, old);
          send(old, i);  // must be dropped, whichever slot `fresh` took
          int v = co_await receive([](int x) { return x; }, after(2s, [] { return -2; }));
          if (v != -1) leaked.push_back(v);
        }
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(leaked.empty()) << leaked.size() << " messages to stale pids reached new processes";
}

TEST(Pid, TheDefaultPidIsNotAlive) {
  EXPECT_FALSE(alive(pid{}));
  EXPECT_FALSE(static_cast<bool>(pid{}));
  bool inside = true;
  int rc = coproc::run(
      [&]() -> process {
        inside = alive(pid{});
        EXPECT_TRUE(static_cast<bool>(self()));
        EXPECT_NE(self(), pid{});
        co_return;
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_FALSE(inside);
}

TEST(Pid, SpawnReturnsThePidThatSelfSeesAndItNamesTheCore) {
  pid returned{};
  pid seen{};
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        returned = spawn_on(1, [me] { send(me, self()); });
        seen = co_await receive([](pid p) { return p; }, after(2s, [] { return pid{}; }));
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(returned, seen);
  EXPECT_EQ(returned.core, 1);
}

TEST(Pid, APidPrintsLikeAnElixirPid) {
  std::vector<std::string> printed;
  std::vector<pid> pids;
  int rc = coproc::run(
      [&]() -> process {
        pids.push_back(self());
        pids.push_back(spawn_on(1, [] {}));
        pids.push_back(spawn_on(0, [] {}));
        co_return;
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  const std::regex shape(R"(^#PID<0\.[0-9]+\.([0-9]+)>$)");
  for (const pid& p : pids) {
    std::ostringstream os;
    os << p;
    EXPECT_EQ(os.str(), to_string(p));
    std::smatch m;
    const std::string s = os.str();
    ASSERT_TRUE(std::regex_match(s, m, shape)) << s;
    EXPECT_EQ(m[1].str(), std::to_string(p.core)) << s;
  }
  ASSERT_EQ(pids.size(), 3U);
  EXPECT_NE(to_string(pids[0]), to_string(pids[2]));  // two processes on core 0
}

TEST(Pid, PidsCompareAndHash) {
  const pid a{1, 0, 0, 1 << 10};
  const pid b{1, 0, 0, 2 << 10};
  EXPECT_EQ(a, a);
  EXPECT_NE(a, b);
  EXPECT_TRUE((a < b) || (b < a));
  EXPECT_EQ(std::hash<pid>{}(a), std::hash<pid>{}(pid{a}));
}
