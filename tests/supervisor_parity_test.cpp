// Supervisors and servers that start and stop as OTP's do:
//  - start_supervisor returns after every child's start function has returned, depth
//    first through nested supervisors (OTP's supervisor:start_link), and a start that
//    fails (throws, or returns no pid) makes it stop the children already started and
//    throw; start_server returns with its state built, and a constructor that throws
//    makes it throw;
//  - a temporary child is never restarted, also when a sibling's death stops it under
//    one_for_all or rest_for_one (it is removed);
//  - a supervisor whose parent ends exits with the parent's reason, normal included;
//  - a start function that fails during a restart is retried within the restart
//    intensity, and the supervisor then exits with shutdown like any overrun.
// Each runs on two cores and on several freshly started runtimes.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <coproc/coproc.hpp>

#include "otp_test_support.hpp"
#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using otp_test::down_of;
using otp_test::opt_reason;

namespace {

using children_t = std::vector<std::pair<std::string, pid>>;
constexpr int kRuntimes = 5;

// The order in which start functions ran, and how often each did.
struct start_log {
  std::mutex mu;
  std::vector<std::string> order;
  void add(const std::string& id) {
    std::lock_guard lock(mu);
    order.push_back(id);
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(mu);
    return order;
  }
  int count(const std::string& id) {
    std::lock_guard lock(mu);
    return static_cast<int>(std::count(order.begin(), order.end(), id));
  }
};

process worker() {
  co_await receive([](atom<"crash">) { coproc::exit(atom<"worker_crashed">{}); },
                   after(60s, [] {}));
}

// A worker spec that logs its start; core 1 for odd positions, to cross cores.
child_spec logged(start_log* log, const std::string& id, restart_type rt = restart_type::permanent,
                  unsigned core = 0) {
  return {.id = id,
          .start =
              [log, id, core] {
                log->add(id);
                const pid p = spawn_on(core, worker);
                link(p);
                return p;
              },
          .restart = rt};
}

pid pid_of(const children_t& c, const std::string& id) {
  for (const auto& [name, p] : c) {
    if (name == id) return p;
  }
  return pid{};
}

bool listed(const children_t& c, const std::string& id) {
  return std::any_of(c.begin(), c.end(), [&](const auto& e) { return e.first == id; });
}

}  // namespace

TEST(SupervisorParity, StartSupervisorReturnsAfterEveryChildStartedDepthFirst) {
  for (int round = 0; round < kRuntimes; ++round) {
    start_log log;
    std::vector<std::string> at_return;
    bool all_alive = false;
    int rc = coproc::run(
        [&]() -> process {
          const pid me = self();
          spawn_on(1, [&log, &at_return, &all_alive, me]() -> process {
            const pid top = start_supervisor(
                {logged(&log, "a", restart_type::permanent, 0),
                 {.id = "sub",
                  .start =
                      [&log] {
                        log.add("sub");
                        return start_supervisor({logged(&log, "x", restart_type::permanent, 1),
                                                 logged(&log, "y", restart_type::permanent, 0)});
                      },
                  .restart = restart_type::permanent},
                 logged(&log, "b", restart_type::permanent, 1)});
            at_return = log.snapshot();
            const children_t c = co_await which_children(top, 1s);
            const children_t sub = co_await which_children(pid_of(c, "sub"), 1s);
            all_alive =
                c.size() == 3 && sub.size() == 2 &&
                std::all_of(c.begin(), c.end(), [](const auto& e) { return alive(e.second); }) &&
                std::all_of(sub.begin(), sub.end(), [](const auto& e) { return alive(e.second); });
            send(me, atom<"done">{});
          });
          co_await receive([](atom<"done">) {}, after(10s, [] {}));
        },
        options{.cores = 2});
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(at_return, (std::vector<std::string>{"a", "sub", "x", "y", "b"}))
        << "round " << round;
    EXPECT_TRUE(all_alive);
  }
}

TEST(SupervisorParity, StartSupervisorFromOutsideAProcessAlsoReturnsWithItsChildrenStarted) {
  for (int round = 0; round < kRuntimes; ++round) {
    start_log log;
    runtime rt{options{.cores = 2}};
    const pid top =
        start_supervisor({logged(&log, "a"), logged(&log, "b", restart_type::permanent, 1)});
    EXPECT_EQ(log.snapshot(), (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(alive(top));
  }
}

TEST(SupervisorParity, AFailingStartMakesStartSupervisorStopTheStartedChildrenAndThrow) {
  for (int round = 0; round < kRuntimes; ++round) {
    for (bool returns_no_pid : {false, true}) {
      start_log log;
      bool threw = false;
      opt_reason a_reason;
      std::optional<std::string> stray;
      int rc = coproc::run(
          [&]() -> process {
            // Not trapping exits: an exit signal from the failed supervisor would kill us.
            pid a;
            try {
              start_supervisor({{.id = "a",
                                 .start =
                                     [&a] {
                                       a = spawn_link(worker);
                                       return a;
                                     }},
                                {.id = "bad",
                                 .start = [returns_no_pid]() -> pid {
                                   if (returns_no_pid) return pid{};
                                   throw std::runtime_error("cannot start bad");
                                 }},
                                logged(&log, "never")});
            } catch (const std::exception&) {
              threw = true;
            }
            if (a) a_reason = co_await down_of(monitor(a), 5s);
            stray = co_await otp_test::next_message_type(50ms);
          },
          options{.cores = 2});
      EXPECT_EQ(rc, 0) << "the caller was killed";
      EXPECT_TRUE(threw);
      EXPECT_EQ(a_reason, opt_reason(exit_reason::shutdown()))
          << "the started child was not stopped";
      EXPECT_EQ(log.count("never"), 0);
      EXPECT_EQ(stray, std::nullopt) << "left in the caller's mailbox: " << *stray;
    }
  }
}

namespace {

struct built_state {
  pid self_in_constructor;
  explicit built_state(std::atomic<int>* built) : self_in_constructor(self()) {
    built->fetch_add(1);
  }
  pid handle_call(atom<"who">) { return self_in_constructor; }
};

struct failing_state {
  explicit failing_state(int) { throw std::runtime_error("init failed"); }
  int handle_call(atom<"get">) { return 0; }
};

}  // namespace

TEST(SupervisorParity, StartServerBuildsTheStateBeforeReturningAndThrowsIfItCannot) {
  for (int round = 0; round < kRuntimes; ++round) {
    std::atomic<int> built{0};
    int built_at_return = -1;
    bool self_is_server = false;
    bool threw = false;
    bool link_threw = false;
    std::optional<std::string> stray;
    int rc = coproc::run(
        [&]() -> process {
          auto s = start_server<built_state>(&built);
          built_at_return = built.load();
          const pid who = co_await call(s, 1s, atom<"who">{});
          self_is_server = who == s.id;
          try {
            (void)start_server<failing_state>(1);
          } catch (const std::runtime_error&) {
            threw = true;
          }
          try {  // linked, and we do not trap exits: we must get the exception only
            (void)start_link_server<failing_state>(2);
          } catch (const std::runtime_error&) {
            link_threw = true;
          }
          stray = co_await otp_test::next_message_type(50ms);
        },
        options{.cores = 2});
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(built_at_return, 1);
    EXPECT_TRUE(self_is_server) << "the constructor did not run as the server";
    EXPECT_TRUE(threw);
    EXPECT_TRUE(link_threw);
    EXPECT_EQ(stray, std::nullopt);
  }
}

TEST(SupervisorParity, ATemporarySiblingIsNotRestartedUnderOneForAllOrRestForOne) {
  for (int round = 0; round < kRuntimes; ++round) {
    for (strategy s : {strategy::one_for_all, strategy::rest_for_one}) {
      start_log log;
      children_t after;
      bool settled = false;
      int rc = coproc::run(
          [&]() -> process {
            const pid sup = start_supervisor(
                {logged(&log, "first"), logged(&log, "temp", restart_type::temporary, 1),
                 logged(&log, "last", restart_type::permanent, 1)},
                {.strategy = s, .max_restarts = 10, .max_period = 5000ms});
            // Crash the first child: both strategies stop and restart those after it.
            const children_t before = co_await which_children(sup, 1s);
            send(pid_of(before, "first"), atom<"crash">{});
            for (int i = 0; i < 500 && !settled; ++i) {
              after = co_await which_children(sup, 1s);
              settled = !listed(after, "temp") && alive(pid_of(after, "first")) &&
                        alive(pid_of(after, "last")) &&
                        pid_of(after, "first") != pid_of(before, "first");
              if (!settled) co_await sleep_for(2ms);
            }
            co_await sleep_for(20ms);  // a wrong restart of temp would show by now
          },
          options{.cores = 2});
      EXPECT_EQ(rc, 0);
      EXPECT_TRUE(settled) << "round " << round;
      EXPECT_FALSE(listed(after, "temp"));
      EXPECT_EQ(log.count("temp"), 1) << "a temporary child was restarted";
      EXPECT_EQ(log.count("first"), 2);
      EXPECT_EQ(log.count("last"), 2);
    }
  }
}

TEST(SupervisorParity, ASupervisorExitsWithItsParentsReasonNormalIncluded) {
  for (int round = 0; round < kRuntimes; ++round) {
    for (bool normal : {true, false}) {
      start_log log;
      opt_reason sup_reason;
      opt_reason child_reason;
      int rc = coproc::run(
          [&]() -> process {
            const pid me = self();
            const pid parent = spawn_on(1, [&log, me, normal]() -> process {
              const pid sup = start_supervisor({logged(&log, "w", restart_type::permanent, 0)});
              const children_t c = co_await which_children(sup, 1s);
              send(me, sup, pid_of(c, "w"));
              co_await receive([](atom<"go">) {}, after(10s, [] {}));
              if (!normal) coproc::exit(atom<"parent_failed">{});
            });
            const auto [sup, w] = co_await receive<std::tuple<pid, pid>>();
            const monitor_ref sref = monitor(sup);
            const monitor_ref wref = monitor(w);
            send(parent, atom<"go">{});
            sup_reason = co_await down_of(sref, 10s);
            child_reason = co_await down_of(wref, 10s);
          },
          options{.cores = 2});
      EXPECT_EQ(rc, 0);
      EXPECT_EQ(sup_reason,
                opt_reason(normal ? exit_reason::normal() : exit_reason(atom<"parent_failed">{})));
      EXPECT_EQ(child_reason, opt_reason(exit_reason::shutdown()));
    }
  }
}

TEST(SupervisorParity, AFailedRestartIsRetriedWithinTheIntensity) {
  for (int round = 0; round < kRuntimes; ++round) {
    std::atomic<int> attempts{0};
    bool recovered = false;
    int rc = coproc::run(
        [&]() -> process {
          // Starts, then fails its next two starts, then starts again.
          const pid sup = start_supervisor(
              {{.id = "flaky",
                .start =
                    [&attempts] {
                      const int n = attempts.fetch_add(1);
                      if (n == 1 || n == 2) throw std::runtime_error("not yet");
                      return spawn_link(worker);
                    }}},
              {.strategy = strategy::one_for_one, .max_restarts = 5, .max_period = 5000ms});
          const children_t c = co_await which_children(sup, 1s);
          const pid first = pid_of(c, "flaky");
          send(first, atom<"crash">{});
          for (int i = 0; i < 500 && !recovered; ++i) {
            const children_t now = co_await which_children(sup, 1s);
            const pid p = pid_of(now, "flaky");
            recovered = p && p != first && alive(p);
            if (!recovered) co_await sleep_for(2ms);
          }
          recovered = recovered && alive(sup);
        },
        options{.cores = 2});
    EXPECT_EQ(rc, 0);
    EXPECT_TRUE(recovered) << "round " << round;
    EXPECT_EQ(attempts.load(), 4);
  }
}

TEST(SupervisorParity, ARestartThatKeepsFailingEndsTheSupervisorWithShutdown) {
  for (int round = 0; round < kRuntimes; ++round) {
    std::atomic<int> attempts{0};
    opt_reason sup_reason;
    int rc = coproc::run(
        [&]() -> process {
          trap_exit(true);
          const pid sup = start_supervisor(
              {{.id = "broken",
                .start =
                    [&attempts] {
                      if (attempts.fetch_add(1) > 0) throw std::runtime_error("never again");
                      return spawn_link(worker);
                    }}},
              {.strategy = strategy::one_for_one, .max_restarts = 3, .max_period = 5000ms});
          const monitor_ref ref = monitor(sup);
          const children_t c = co_await which_children(sup, 1s);
          send(pid_of(c, "broken"), atom<"crash">{});
          sup_reason = co_await down_of(ref, 10s);
        },
        options{.cores = 2});
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(sup_reason, opt_reason(exit_reason::shutdown()));
    // The first start, then one try per restart allowed, and the one that overran.
    EXPECT_EQ(attempts.load(), 1 + 3);
  }
}
