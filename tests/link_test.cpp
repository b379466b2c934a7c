// Links and exit signals, with Erlang's semantics, on one core and across cores:
// a linked crash takes its partner down (or becomes an EXIT message when it traps
// exits), `normal` never kills, `kill` cannot be trapped, spawn_link is atomic, a link
// to a dead process gives noproc, unlink stops propagation, and a long chain of links
// dies without recursion.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
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
using otp_test::exit_from;
using otp_test::opt_reason;

namespace {

// What a trapping observer saw: the EXIT's sender and reason.
struct trapped {
  pid from;
  exit_reason reason;
};

// Waits for atom<"start">, links to `other` and sends it atom<"go">; if `trap`, it
// traps exits first and forwards the first EXIT it gets to `report` as a `trapped`.
// Then it answers pings ((atom<"ping">, pid) -> atom<"pong">) until told to stop.
process linker(pid other, bool trap, pid report) {
  if (trap) trap_exit(true);
  const bool started = co_await receive([](atom<"start">) { return true; },
                                        after(10s, [] { return false; }));
  if (!started) co_return;
  link(other);
  send(other, atom<"go">{});
  for (;;) {
    bool stop = co_await receive(
        [report](atom<"EXIT">, pid from, exit_reason why) {
          send(report, trapped{from, std::move(why)});
          return false;
        },
        [](atom<"ping">, pid from) {
          send(from, atom<"pong">{});
          return false;
        },
        [](atom<"stop">) { return true; }, after(10s, [] { return true; }));
    if (stop) co_return;
  }
}

// co_await pong_from(p, d): pings p and waits for its pong.
auto ping(const pid& p, std::chrono::milliseconds d) {
  send(p, atom<"ping">{}, self());
  return receive([](atom<"pong">) { return true; }, after(d, [] { return false; }));
}

auto trapped_report(std::chrono::milliseconds d) {
  return receive([](trapped t) { return std::optional<trapped>(std::move(t)); },
                 after(d, [] { return std::optional<trapped>(); }));
}

// A node of a chain: links to the next one (spawn_link, or spawn_on the other core and
// link), and crashes when told. The last node tells `main` the chain is complete.
process chain_node(int i, int n, bool cross, std::atomic<int>* live, std::vector<pid>* pids,
                   pid main_pid) {
  otp_test::live_guard guard(live);
  (*pids)[static_cast<std::size_t>(i)] = self();
  if (i + 1 < n) {
    if (cross) {
      const pid next = spawn_on(static_cast<unsigned>((i + 1) % 2), chain_node, i + 1, n, cross,
                                live, pids, main_pid);
      link(next);
    } else {
      spawn_link(chain_node, i + 1, n, cross, live, pids, main_pid);
    }
  } else {
    send(main_pid, atom<"chain_ready">{});
  }
  co_await receive([](atom<"crash">) { throw std::runtime_error("chain link broke"); },
                   after(60s, [] {}));
}

void chain_dies_when_one_crashes(bool cross) {
  constexpr int kChain = 10'000;
  std::atomic<int> live{0};
  std::vector<pid> pids(kChain);
  bool ready = false;
  bool all_dead = false;
  opt_reason head_reason;
  opt_reason tail_reason;
  testing::internal::CaptureStderr();  // 10,000 crash reports
  int rc = coproc::run(
      [&]() -> process {
        spawn_on(0, chain_node, 0, kChain, cross, &live, &pids, self());
        ready = co_await receive([](atom<"chain_ready">) { return true; },
                                 after(30s, [] { return false; }));
        if (!ready) co_return;
        const monitor_ref head = monitor(pids.front());
        const monitor_ref tail = monitor(pids.back());
        EXPECT_EQ(live.load(), kChain);
        send(pids[kChain / 2], atom<"crash">{});
        head_reason = co_await down_of(head, 30s);
        tail_reason = co_await down_of(tail, 30s);
        co_await coproc_test::wait_until(all_dead, [&] { return live.load() == 0; }, 30s);
        for (const pid& p : pids) EXPECT_FALSE(alive(p));
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(ready);
  EXPECT_TRUE(all_dead) << live.load() << " of " << kChain << " still alive";
  EXPECT_EQ(head_reason, opt_reason(exit_reason::exception("chain link broke")));
  EXPECT_EQ(tail_reason, opt_reason(exit_reason::exception("chain link broke")));
}

}  // namespace

TEST(Link, ACrashOnCore1KillsALinkedProcessOnCore0WithTheSameReason) {
  opt_reason a_reason;
  opt_reason b_reason;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        const pid b = spawn_on(1, otp_test::crash_on_go, std::string("b crashed 41c"));
        const pid a = spawn_on(0, linker, b, false, self());
        const monitor_ref ra = monitor(a);
        const monitor_ref rb = monitor(b);
        send(a, atom<"start">{});
        b_reason = co_await down_of(rb, 5s);
        a_reason = co_await down_of(ra, 5s);
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(b_reason, opt_reason(exit_reason::exception("b crashed 41c")));
  EXPECT_EQ(a_reason, opt_reason(exit_reason::exception("b crashed 41c")));
}

TEST(Link, ACrashOnCore0KillsALinkedProcessOnCore1) {
  opt_reason a_reason;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        const pid b = spawn_on(0, otp_test::crash_on_go, std::string("b on core 0"));
        const pid a = spawn_on(1, linker, b, false, self());
        const monitor_ref ra = monitor(a);
        send(a, atom<"start">{});
        a_reason = co_await down_of(ra, 5s);
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(a_reason, opt_reason(exit_reason::exception("b on core 0")));
}

TEST(Link, ATrappingProcessGetsAnExitMessageWhenItsLinkOnAnotherCoreCrashes) {
  testing::internal::CaptureStderr();
  for (unsigned trap_core : {0U, 1U}) {
    std::optional<trapped> got;
    bool still_alive = false;
    pid b_pid;
    int rc = coproc::run(
        [&]() -> process {
          const pid b = spawn_on(1 - trap_core, otp_test::crash_on_go, std::string("crash for trap"));
          b_pid = b;
          const pid a = spawn_on(trap_core, linker, b, true, self());
          send(a, atom<"start">{});
          got = co_await trapped_report(5s);
          still_alive = co_await ping(a, 2s);
          EXPECT_TRUE(alive(a));
          send(a, atom<"stop">{});
        },
        options{.cores = 2});
    EXPECT_EQ(rc, 0);
    if (!got) {
      ADD_FAILURE() << "trapping process on core " << trap_core << " got no EXIT";
      continue;
    }
    EXPECT_EQ(got->from, b_pid);
    EXPECT_EQ(got->reason, exit_reason::exception("crash for trap"));
    EXPECT_TRUE(still_alive);
  }
  (void)testing::internal::GetCapturedStderr();
}

TEST(Link, ANormalExitDoesNotKillALinkedProcessButATrappingOneSeesIt) {
  bool a_answers = false;
  bool a_alive = false;
  std::optional<trapped> c_saw;
  opt_reason b_reason;
  pid b_pid;
  int rc = coproc::run(
      [&]() -> process {
        // b ends normally once both a and c have linked to it (each sends a go).
        const pid b = spawn_on(1, []() -> process {
          for (int i = 0; i < 2; ++i) {
            if (!co_await receive([](atom<"go">) { return true; }, after(10s, [] { return false; }))) {
              co_return;
            }
          }
        });
        b_pid = b;
        const monitor_ref rb = monitor(b);
        const pid a = spawn_on(0, linker, b, false, self());
        const pid c = spawn_on(0, linker, b, true, self());
        send(a, atom<"start">{});
        send(c, atom<"start">{});
        b_reason = co_await down_of(rb, 5s);
        c_saw = co_await trapped_report(5s);
        co_await sleep_for(100ms);  // room for a wrong exit signal to land
        a_answers = co_await ping(a, 2s);
        a_alive = alive(a);
        send(a, atom<"stop">{});
        send(c, atom<"stop">{});
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(b_reason, opt_reason(exit_reason::normal()));
  EXPECT_TRUE(a_answers);
  EXPECT_TRUE(a_alive);
  ASSERT_TRUE(c_saw.has_value());
  EXPECT_EQ(c_saw->from, b_pid);
  EXPECT_EQ(c_saw->reason, exit_reason::normal());
}

TEST(Link, KillCannotBeTrappedAndTheVictimsLinksSeeKilled) {
  bool v_survived_trappable = false;
  opt_reason v_reason;
  opt_reason x_reason;
  std::optional<trapped> w_saw;
  pid v_pid;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        // v traps exits on core 1 and answers pings.
        const pid v = spawn_on(1, []() -> process {
          trap_exit(true);
          for (;;) {
            bool stop = co_await receive(
                [](atom<"ping">, pid from) {
                  send(from, atom<"pong">{});
                  return false;
                },
                [](atom<"EXIT">, pid, exit_reason) { return false; },
                after(10s, [] { return true; }));
            if (stop) co_return;
          }
        });
        v_pid = v;
        // w (trapping) and x (not trapping) link to v on core 0; each pings v after
        // linking, so v has the link before it is killed, and then reports ready.
        auto observer = [me, v](bool trap) -> process {
          if (trap) trap_exit(true);
          link(v);
          send(v, atom<"ping">{}, self());
          co_await receive([](atom<"pong">) {}, after(5s, [] {}));
          send(me, atom<"ready">{});
          co_await receive(
              [me](atom<"EXIT">, pid from, exit_reason why) { send(me, trapped{from, std::move(why)}); },
              after(10s, [] {}));
          co_await receive([](atom<"stop">) {}, after(10s, [] {}));
        };
        const pid w = spawn_on(0, observer, true);
        const pid x = spawn_on(0, observer, false);
        const monitor_ref rv = monitor(v);
        const monitor_ref rx = monitor(x);
        for (int i = 0; i < 2; ++i) co_await receive([](atom<"ready">) {}, after(5s, [] {}));

        // A trappable reason is only a message to v...
        coproc::exit(v, exit_reason::user("please die"));
        v_survived_trappable = co_await ping(v, 2s);
        // ...kill is not.
        coproc::exit(v, exit_reason::kill());
        v_reason = co_await down_of(rv, 5s);
        x_reason = co_await down_of(rx, 5s);
        w_saw = co_await trapped_report(5s);
        send(w, atom<"stop">{});
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(v_survived_trappable);
  EXPECT_EQ(v_reason, opt_reason(exit_reason::killed()));
  EXPECT_EQ(x_reason, opt_reason(exit_reason::killed()));
  ASSERT_TRUE(w_saw.has_value());
  EXPECT_EQ(w_saw->from, v_pid);
  EXPECT_EQ(w_saw->reason, exit_reason::killed());
}

TEST(Link, TrapExitTurnsExitSignalsIntoExitMessagesWithTheSenderAndReason) {
  std::vector<trapped> seen;
  bool first_previous = true;
  bool second_previous = false;
  bool alive_after = false;
  opt_reason untrapped_reason;
  pid main_pid;
  int rc = coproc::run(
      [&]() -> process {
        main_pid = self();
        const pid me = self();
        const pid t = spawn_on(1, [me]() -> process {
          const bool p1 = trap_exit(true);
          const bool p2 = trap_exit(true);
          send(me, atom<"previous">{}, p1, p2);
          for (;;) {
            int what = co_await receive(
                [me](atom<"EXIT">, pid from, exit_reason why) {
                  send(me, trapped{from, std::move(why)});
                  return 0;
                },
                [me](atom<"untrap">) {
                  trap_exit(false);
                  send(me, atom<"untrapped">{});
                  return 1;
                },
                [](atom<"ping">, pid from) {
                  send(from, atom<"pong">{});
                  return 2;
                },
                after(10s, [] { return 3; }));
            if (what == 3) co_return;
          }
        });
        const monitor_ref rt = monitor(t);
        co_await receive(
            [&](atom<"previous">, bool p1, bool p2) {
              first_previous = p1;
              second_previous = p2;
            },
            after(5s, [] {}));
        coproc::exit(t, atom<"custom_reason">{});
        coproc::exit(t, exit_reason::user("a user text"));
        coproc::exit(t, exit_reason::shutdown());
        coproc::exit(t, exit_reason::exception("an exception text"));
        coproc::exit(t, exit_reason::normal());
        for (int i = 0; i < 5; ++i) {
          auto r = co_await trapped_report(5s);
          if (!r) break;
          seen.push_back(std::move(*r));
        }
        alive_after = co_await ping(t, 2s);
        // With trapping off again, a signal kills it.
        send(t, atom<"untrap">{});
        co_await receive([](atom<"untrapped">) {}, after(5s, [] {}));
        coproc::exit(t, atom<"bye">{});
        untrapped_reason = co_await down_of(rt, 5s);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_FALSE(first_previous);
  EXPECT_TRUE(second_previous);
  ASSERT_EQ(seen.size(), 5U);
  for (const auto& s : seen) EXPECT_EQ(s.from, main_pid);
  EXPECT_EQ(seen[0].reason, exit_reason::user("custom_reason"));
  EXPECT_EQ(seen[0].reason.what(), exit_reason::kind::user);
  EXPECT_EQ(seen[1].reason, exit_reason::user("a user text"));
  EXPECT_EQ(seen[2].reason, exit_reason::shutdown());
  EXPECT_EQ(seen[3].reason, exit_reason::exception("an exception text"));
  EXPECT_EQ(seen[4].reason, exit_reason::normal());
  EXPECT_TRUE(alive_after);
  EXPECT_EQ(untrapped_reason, opt_reason(exit_reason::user("bye")));
}

TEST(Link, ANonTrappingProcessIgnoresNormalAndDiesOfAnyOtherExitSignal) {
  bool alive_after_normal = false;
  opt_reason reason;
  int rc = coproc::run(
      [&]() -> process {
        const pid n = spawn_on(1, []() -> process {
          for (;;) {
            bool stop = co_await receive(
                [](atom<"ping">, pid from) {
                  send(from, atom<"pong">{});
                  return false;
                },
                after(10s, [] { return true; }));
            if (stop) co_return;
          }
        });
        const monitor_ref rn = monitor(n);
        coproc::exit(n, exit_reason::normal());
        alive_after_normal = co_await ping(n, 2s);
        coproc::exit(n, exit_reason::shutdown());
        reason = co_await down_of(rn, 5s);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(alive_after_normal);
  EXPECT_EQ(reason, opt_reason(exit_reason::shutdown()));
}

TEST(Link, ASpawnLinkedChildThatCrashesAtOnceAlwaysNotifiesItsTrappingParent) {
  constexpr int kRounds = 1000;
  int notified[2] = {-1, -1};
  testing::internal::CaptureStderr();  // 2,000 crash reports
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        for (unsigned core : {0U, 1U}) {
          spawn_on(core, [me, core]() -> process {
            trap_exit(true);
            int ok = 0;
            for (int i = 0; i < kRounds; ++i) {
              const pid child = spawn_link([] { throw std::runtime_error("instant crash"); });
              opt_reason r = co_await exit_from(child, 2s);
              if (r == opt_reason(exit_reason::exception("instant crash"))) ++ok;
            }
            send(me, atom<"done">{}, core, ok);
          });
        }
        for (int i = 0; i < 2; ++i) {
          co_await receive([&](atom<"done">, unsigned core, int ok) { notified[core] = ok; },
                           after(60s, [] {}));
        }
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(notified[0], kRounds);
  EXPECT_EQ(notified[1], kRounds);
}

TEST(Link, ASpawnLinkedChildThatCrashesAtOnceAlwaysTakesDownItsParent) {
  constexpr int kRounds = 1000;
  int died_with_reason[2] = {0, 0};
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        for (unsigned core : {0U, 1U}) {
          for (int i = 0; i < kRounds; ++i) {
            const pid parent = spawn_on(core, []() -> process {
              const bool go = co_await receive([](atom<"go">) { return true; },
                                               after(10s, [] { return false; }));
              if (!go) co_return;
              spawn_link([] { throw std::runtime_error("instant crash"); });
              co_await receive([](atom<"never">) {}, after(10s, [] {}));
            });
            const monitor_ref r = monitor(parent);
            send(parent, atom<"go">{});
            opt_reason why = co_await down_of(r, 5s);
            if (why == opt_reason(exit_reason::exception("instant crash"))) {
              ++died_with_reason[core];
            } else {
              ADD_FAILURE() << "round " << i << " on core " << core << ": parent ended with "
                            << (why ? why->to_string() : std::string("no DOWN within 5s"));
              break;
            }
          }
        }
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(died_with_reason[0], kRounds);
  EXPECT_EQ(died_with_reason[1], kRounds);
}

TEST(Link, LinkingToADeadProcessDeliversNoproc) {
  opt_reason trapped_reason[2];
  opt_reason untrapped_reason[2];
  int rc = coproc::run(
      [&]() -> process {
        for (unsigned core : {0U, 1U}) {
          const pid dead = spawn_on(core, [] {});
          bool gone = false;
          co_await coproc_test::wait_until(gone, [dead] { return !alive(dead); }, 2s);
          EXPECT_TRUE(gone);
          co_await sleep_for(5ms);  // let its teardown finish on its core

          // A trapping process gets an EXIT message with noproc.
          trap_exit(true);
          link(dead);
          trapped_reason[core] = co_await exit_from(dead, 2s);
          trap_exit(false);

          // A process that does not trap exits dies of it.
          const pid q = spawn_on(0, [dead]() -> process {
            co_await receive([](atom<"start">) {}, after(10s, [] {}));
            link(dead);
            co_await receive([](atom<"never">) {}, after(5s, [] {}));
          });
          const monitor_ref rq = monitor(q);
          send(q, atom<"start">{});
          untrapped_reason[core] = co_await down_of(rq, 5s);
        }
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  for (int c = 0; c < 2; ++c) {
    EXPECT_EQ(trapped_reason[c], opt_reason(exit_reason::noproc())) << "dead pid on core " << c;
    EXPECT_EQ(untrapped_reason[c], opt_reason(exit_reason::noproc())) << "dead pid on core " << c;
  }
}

TEST(Link, UnlinkStopsPropagation) {
  bool a_answers = false;
  opt_reason b_reason;
  opt_reason trap_saw;
  bool trapper_alive = false;
  bool c_answers = false;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        // a links to b across cores, unlinks, then lets b crash: a lives on.
        const pid b = spawn_on(1, otp_test::crash_on_go, std::string("crash after unlink"));
        const monitor_ref rb = monitor(b);
        const pid a = spawn_on(0, [b]() -> process {
          link(b);
          unlink(b);
          send(b, atom<"go">{});
          for (;;) {
            bool stop = co_await receive(
                [](atom<"ping">, pid from) {
                  send(from, atom<"pong">{});
                  return false;
                },
                after(10s, [] { return true; }));
            if (stop) co_return;
          }
        });
        b_reason = co_await down_of(rb, 5s);
        co_await sleep_for(100ms);
        a_answers = co_await ping(a, 2s);

        // A trapping process that unlinked gets no EXIT.
        const pid b2 = spawn_on(0, otp_test::crash_on_go, std::string("crash after unlink 2"));
        const pid t = spawn_on(1, [b2, me]() -> process {
          trap_exit(true);
          link(b2);
          unlink(b2);
          send(b2, atom<"go">{});
          opt_reason r = co_await exit_from(b2, 300ms);
          send(me, atom<"trap_result">{}, r);
          co_await receive([](atom<"stop">) {}, after(10s, [] {}));
        });
        co_await receive([&](atom<"trap_result">, opt_reason r) { trap_saw = r; },
                         after(5s, [&] { trap_saw = exit_reason::user("no report"); }));
        trapper_alive = alive(t);
        send(t, atom<"stop">{});

        // The other side unlinks: c links to d, d unlinks c and crashes, c lives on.
        const pid d = spawn_on(1, []() -> process {
          co_await receive(
              [](atom<"unlink_and_crash">, pid from) {
                unlink(from);
                throw std::runtime_error("crash after the other side unlinked");
              },
              after(10s, [] {}));
        });
        const pid c = spawn_on(0, [d]() -> process {
          link(d);
          send(d, atom<"unlink_and_crash">{}, self());
          for (;;) {
            bool stop = co_await receive(
                [](atom<"ping">, pid from) {
                  send(from, atom<"pong">{});
                  return false;
                },
                after(10s, [] { return true; }));
            if (stop) co_return;
          }
        });
        const monitor_ref rd = monitor(d);
        co_await down_of(rd, 5s);
        co_await sleep_for(100ms);
        c_answers = co_await ping(c, 2s);
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(b_reason, opt_reason(exit_reason::exception("crash after unlink")));
  EXPECT_TRUE(a_answers);
  EXPECT_EQ(trap_saw, opt_reason()) << "an unlinked process still got an EXIT: " << *trap_saw;
  EXPECT_TRUE(trapper_alive);
  EXPECT_TRUE(c_answers);
}

TEST(Link, AChainOfTenThousandLinkedProcessesAllDieWhenOneCrashes) {
  chain_dies_when_one_crashes(/*cross=*/false);
}

TEST(Link, AChainOfTenThousandLinksAlternatingCoresAllDieWhenOneCrashes) {
  chain_dies_when_one_crashes(/*cross=*/true);
}

TEST(Link, ExitWithAReasonEndsTheCallingProcessWithThatReason) {
  opt_reason by_exit[2];
  opt_reason by_self_signal[2];
  opt_reason by_self_kill[2];
  opt_reason by_exit_normal[2];
  std::atomic<int> survived{0};
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        for (unsigned core : {0U, 1U}) {
          auto start = [](const pid& p) { send(p, atom<"go">{}); };
          const pid p1 = spawn_on(core, []() -> process {
            co_await receive([](atom<"go">) {}, after(10s, [] {}));
            coproc::exit(atom<"my_reason">{});
          });
          const pid p2 = spawn_on(core, [&survived]() -> process {
            co_await receive([](atom<"go">) {}, after(10s, [] {}));
            coproc::exit(self(), exit_reason::user("via a signal to self"));
            co_await receive([](atom<"never">) {}, after(2s, [&survived] { survived.fetch_add(1); }));
          });
          const pid p3 = spawn_on(core, [&survived]() -> process {
            co_await receive([](atom<"go">) {}, after(10s, [] {}));
            coproc::exit(self(), exit_reason::kill());
            co_await receive([](atom<"never">) {}, after(2s, [&survived] { survived.fetch_add(1); }));
          });
          const pid p4 = spawn_on(core, [&survived]() -> process {
            co_await receive([](atom<"go">) {}, after(10s, [] {}));
            coproc::exit(exit_reason::normal());
            survived.fetch_add(1);  // never reached: exit(reason) does not return
          });
          const monitor_ref r1 = monitor(p1);
          const monitor_ref r2 = monitor(p2);
          const monitor_ref r3 = monitor(p3);
          const monitor_ref r4 = monitor(p4);
          for (const pid& p : {p1, p2, p3, p4}) start(p);
          by_exit[core] = co_await down_of(r1, 5s);
          by_self_signal[core] = co_await down_of(r2, 5s);
          by_self_kill[core] = co_await down_of(r3, 5s);
          by_exit_normal[core] = co_await down_of(r4, 5s);
        }
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  for (int c = 0; c < 2; ++c) {
    EXPECT_EQ(by_exit[c], opt_reason(exit_reason::user("my_reason"))) << "core " << c;
    EXPECT_EQ(by_self_signal[c], opt_reason(exit_reason::user("via a signal to self"))) << "core " << c;
    EXPECT_EQ(by_self_kill[c], opt_reason(exit_reason::killed())) << "core " << c;
    EXPECT_EQ(by_exit_normal[c], opt_reason(exit_reason::normal())) << "core " << c;
  }
  EXPECT_EQ(survived.load(), 0);
}

// Erlang's exit/2: a `normal` signal never kills another process, but a process that
// sends it to itself (and does not trap exits) exits with reason normal.
TEST(Link, AnExitSignalNormalToSelfEndsTheProcessWithNormal) {
  opt_reason reason[2];
  std::atomic<int> survived{0};
  int rc = coproc::run(
      [&]() -> process {
        for (unsigned core : {0U, 1U}) {
          const pid p = spawn_on(core, [&survived]() -> process {
            co_await receive([](atom<"go">) {}, after(10s, [] {}));
            coproc::exit(self(), exit_reason::normal());
            co_await receive([](atom<"never">) {}, after(1s, [&survived] { survived.fetch_add(1); }));
          });
          const monitor_ref r = monitor(p);
          send(p, atom<"go">{});
          reason[core] = co_await down_of(r, 5s);
        }
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(reason[0], opt_reason(exit_reason::normal()));
  EXPECT_EQ(reason[1], opt_reason(exit_reason::normal()));
  EXPECT_EQ(survived.load(), 0) << "the process went on after exit(self(), normal)";
}
