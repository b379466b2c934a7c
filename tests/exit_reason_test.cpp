// Exit reasons as Erlang's: any term (or value that converts to one) can be a reason;
// reasons compare as terms and print as Erlang prints them; an atom means its
// well-known kind; {shutdown, _} is OTP's orderly stop everywhere (no transient restart,
// no gen_server crash report) while still killing a non-trapping linked process; and a
// structured reason reaches EXIT and DOWN messages across cores as the same term.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <coproc/coproc.hpp>

#include "otp_test_support.hpp"
#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using otp_test::down_of;
using otp_test::exit_from;
using otp_test::opt_reason;

TEST(ExitReason, AStructuredReasonComparesAsATermAndPrintsAsErlangDoes) {
  const exit_reason a = exit_reason::of(std::tuple{atom<"bad_request">{}, 17});
  const exit_reason b{term::tuple({term::atom("bad_request"), 17})};
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.what(), exit_reason::kind::structured);
  EXPECT_EQ(a.to_string(), "{bad_request,17}");
  ASSERT_NE(a.structured(), nullptr);
  EXPECT_EQ(*a.structured(), term::tuple({term::atom("bad_request"), 17}));
  EXPECT_NE(a, exit_reason::of(std::tuple{atom<"bad_request">{}, 18}));
  EXPECT_NE(a, exit_reason::user("{bad_request,17}"));  // a text is not the term
  const exit_reason custom =
      exit_reason::of(std::tuple{atom<"custom">{}, std::string("reason"), 42});
  EXPECT_EQ(custom.to_string(), "{custom,<<\"reason\">>,42}");
  EXPECT_TRUE(a.is_crash());
  // An atom term is its kind, as today's atoms are.
  EXPECT_EQ(exit_reason(term::atom("normal")), exit_reason::normal());
  EXPECT_EQ(exit_reason(term::atom("shutdown")), exit_reason::shutdown());
  EXPECT_EQ(exit_reason(term::atom("kill")), exit_reason::kill());
  EXPECT_EQ(exit_reason::of(atom<"bad_input">{}), exit_reason(atom<"bad_input">{}));
}

TEST(ExitReason, ShutdownWithADetailIsAnOrderlyStop) {
  const exit_reason r = exit_reason::of(std::tuple{atom<"shutdown">{}, std::string("maintenance")});
  EXPECT_TRUE(r.is_shutdown());
  EXPECT_FALSE(r.is_crash());
  EXPECT_FALSE(r.is_normal());
  EXPECT_TRUE(exit_reason::shutdown().is_shutdown());
  EXPECT_FALSE(exit_reason::of(std::tuple{atom<"shutdown">{}, 1, 2}).is_shutdown());  // 3-tuple
  EXPECT_FALSE(exit_reason::of(std::tuple{atom<"other">{}, 1}).is_shutdown());
}

TEST(ExitReason, AStructuredReasonReachesExitAndDownMessagesAcrossCoresInFreshRuntimes) {
  for (int round = 0; round < 5; ++round) {
    opt_reason trapped;
    opt_reason down;
    opt_reason victim_reason;
    const exit_reason why = exit_reason::of(std::tuple{atom<"bad_request">{}, round});
    int rc = coproc::run(
        [&]() -> process {
          trap_exit(true);
          const pid a = spawn_on(1, [why]() -> process {
            co_await receive([](atom<"go">) {});
            coproc::exit(why);
          });
          link(a);
          // A non-trapping process linked to a dies of the structured reason too.
          const pid main = self();
          const pid victim = spawn_on(1, [a, main]() -> process {
            link(a);
            send(main, atom<"linked">{});
            co_await receive([](atom<"never">) {}, after(30s, [] {}));
          });
          const monitor_ref vref = monitor(victim);
          const monitor_ref ref = monitor(a);
          // The victim links first (a 5 ms sleep here lost the race under ctest -j2).
          co_await receive([](atom<"linked">) {});
          send(a, atom<"go">{});
          trapped = co_await exit_from(a, 5s);
          down = co_await down_of(ref, 5s);
          victim_reason = co_await down_of(vref, 5s);
        },
        options{.cores = 2});
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(trapped, opt_reason(why));
    EXPECT_EQ(down, opt_reason(why));
    EXPECT_EQ(victim_reason, opt_reason(why));
  }
}

namespace {

process transient_worker(std::atomic<int>* starts) {
  starts->fetch_add(1);
  const exit_reason why = co_await receive([](atom<"stop_with">, exit_reason r) { return r; },
                                           after(30s, [] { return exit_reason::normal(); }));
  coproc::exit(why);
}

struct stopper {
  int handle_call(atom<"stop_with">, exit_reason why) { coproc::exit(std::move(why)); }
};

struct report_log {
  std::mutex mu;
  std::vector<crash_report> reports;
  void add(const crash_report& r) {
    std::lock_guard lock(mu);
    reports.push_back(r);
  }
  std::vector<crash_report> snapshot() {
    std::lock_guard lock(mu);
    return reports;
  }
};

}  // namespace

TEST(ExitReason, ATransientChildThatExitsWithShutdownAndADetailIsNotRestarted) {
  for (int round = 0; round < 5; ++round) {
    for (bool orderly : {true, false}) {
      std::atomic<int> starts{0};
      std::vector<std::pair<std::string, pid>> after_exit;
      int rc = coproc::run(
          [&]() -> process {
            const pid sup = start_supervisor(
                {{.id = "t",
                  .start =
                      [&starts] {
                        const pid p = spawn_on(1, transient_worker, &starts);
                        link(p);
                        return p;
                      },
                  .restart = restart_type::transient}},
                {.strategy = strategy::one_for_one, .max_restarts = 10, .max_period = 5000ms});
            const auto before = co_await which_children(sup, 1s);
            const exit_reason why =
                orderly ? exit_reason::of(std::tuple{atom<"shutdown">{}, std::string("done")})
                        : exit_reason::of(std::tuple{atom<"failed">{}, 1});
            const monitor_ref ref = monitor(before[0].second);
            send(before[0].second, atom<"stop_with">{}, why);
            co_await down_of(ref, 5s);
            for (int i = 0; i < 200; ++i) {
              after_exit = co_await which_children(sup, 1s);
              if (orderly || (after_exit[0].second && after_exit[0].second != before[0].second)) {
                break;
              }
              co_await sleep_for(2ms);
            }
            co_await sleep_for(20ms);
            after_exit = co_await which_children(sup, 1s);
          },
          options{.cores = 2});
      EXPECT_EQ(rc, 0);
      EXPECT_EQ(starts.load(), orderly ? 1 : 2) << (orderly ? "{shutdown, _}" : "{failed, 1}");
      ASSERT_EQ(after_exit.size(), 1U);
      EXPECT_EQ(static_cast<bool>(after_exit[0].second), !orderly);
    }
  }
}

TEST(ExitReason, AGenServerStoppingWithShutdownAndADetailIsNotReported) {
  report_log log;
  set_crash_reporter([&log](const crash_report& r) { log.add(r); });
  pid orderly;
  pid failed;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        spawn_on(1, [me]() -> process {
          send(me, start_server<stopper>().id, start_server<stopper>().id);
          co_return;
        });
        std::tie(orderly, failed) = co_await receive<std::tuple<pid, pid>>();
        const monitor_ref r1 = monitor(orderly);
        const monitor_ref r2 = monitor(failed);
        try {
          (void)co_await call(server<stopper>{orderly}, 1s, atom<"stop_with">{},
                              exit_reason::of(std::tuple{atom<"shutdown">{}, 7}));
        } catch (const call_error&) {
        }
        try {
          (void)co_await call(server<stopper>{failed}, 1s, atom<"stop_with">{},
                              exit_reason::of(std::tuple{atom<"bad_state">{}, 7}));
        } catch (const call_error&) {
        }
        co_await down_of(r1, 5s);
        co_await down_of(r2, 5s);
        co_await sleep_for(20ms);
      },
      options{.cores = 2});
  set_crash_reporter({});
  EXPECT_EQ(rc, 0);
  const auto all = log.snapshot();
  ASSERT_EQ(all.size(), 1U);
  EXPECT_EQ(all[0].who, failed);
  EXPECT_EQ(all[0].reason, exit_reason::of(std::tuple{atom<"bad_state">{}, 7}));
}
