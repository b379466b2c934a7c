// Supervisors: the three strategies restart the right children (which_children shows
// the new pids), restart types decide whether a child comes back, too many restarts
// stop the supervisor, a tree shuts down children first in reverse start order, and a
// child that ignores shutdown is killed after its shutdown time.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
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
using coproc_test::ms_since;
using otp_test::down_of;
using otp_test::opt_reason;

namespace {

using children_t = std::vector<std::pair<std::string, pid>>;

// What the workers of one test did: how often each id was started, the order in which
// their processes ended, and how many are alive.
struct recorder {
  std::mutex mu;
  std::map<std::string, int> starts;
  std::vector<std::string> ended;
  std::atomic<int> live{0};

  void started(const std::string& id) {
    std::lock_guard lock(mu);
    ++starts[id];
  }
  void end(const std::string& id) {
    std::lock_guard lock(mu);
    ended.push_back(id);
  }
  int starts_of(const std::string& id) {
    std::lock_guard lock(mu);
    return starts[id];
  }
  std::vector<std::string> ended_order() {
    std::lock_guard lock(mu);
    return ended;
  }
  void clear_ended() {
    std::lock_guard lock(mu);
    ended.clear();
  }
};

// Lives in a worker's frame: counts it alive, and logs its end when the frame goes.
struct end_guard {
  recorder* rec;
  std::string id;
  end_guard(recorder* r, std::string i) : rec(r), id(std::move(i)) { rec->live.fetch_add(1); }
  end_guard(const end_guard&) = delete;
  end_guard& operator=(const end_guard&) = delete;
  ~end_guard() {
    rec->end(id);
    rec->live.fetch_sub(1);
  }
};

// A worker: crash -> throws; stop -> ends normally; shutdown_self -> exit(shutdown).
process worker(recorder* rec, std::string id) {
  end_guard guard(rec, id);
  for (;;) {
    const int cmd = co_await receive(
        [](atom<"crash">) -> int { throw std::runtime_error("worker crashed"); },
        [](atom<"stop">) { return 1; }, [](atom<"shutdown_self">) { return 2; },
        [](atom<"ping">, pid from) {
          send(from, atom<"pong">{});
          return 0;
        },
        after(60s, [] { return 1; }));
    if (cmd == 1) co_return;
    if (cmd == 2) coproc::exit(exit_reason::shutdown());
  }
}

// Traps exits and ignores everything, shutdown included.
process stubborn(recorder* rec, std::string id) {
  end_guard guard(rec, id);
  trap_exit(true);
  for (;;) co_await receive([](const message&) {}, after(60s, [] {}));
}

// A child spec for a worker; core >= 0 places it there (spawn_on + link).
child_spec worker_spec(recorder* rec, const std::string& id,
                       restart_type rt = restart_type::permanent, int core = -1) {
  return {.id = id,
          .start = [rec, id, core] {
            rec->started(id);
            if (core < 0) return spawn_link(worker, rec, id);
            const pid p = spawn_on(static_cast<unsigned>(core), worker, rec, id);
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

bool has_entry(const children_t& c, const std::string& id) {
  return std::any_of(c.begin(), c.end(), [&](const auto& e) { return e.first == id; });
}

bool all_alive(const children_t& c) {
  return std::all_of(c.begin(), c.end(), [](const auto& e) { return alive(e.second); });
}

// Polls which_children(sup) until pred(children) holds (ok = true) or `limit` passes.
template <class Pred>
process wait_children(pid sup, Pred pred, std::chrono::milliseconds limit, children_t& out,
                      bool& ok) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    std::optional<children_t> c;
    try {
      c = co_await which_children(sup, 1s);
    } catch (const std::exception&) {
    }
    if (c && pred(*c)) {
      out = std::move(*c);
      ok = true;
      co_return;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      if (c) out = std::move(*c);
      ok = false;
      co_return;
    }
    co_await sleep_for(2ms);
  }
}

constexpr supervisor_options generous(strategy s) {
  return {.strategy = s, .max_restarts = 100, .max_period = 5000ms};
}

}  // namespace

TEST(Supervisor, OneForOneRestartsOnlyTheCrashedChild) {
  recorder rec;
  children_t before;
  children_t after_crash;
  bool whole = false;
  bool restarted = false;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        const pid sup = start_supervisor(
            {worker_spec(&rec, "a"), worker_spec(&rec, "b", restart_type::permanent, 1),
             worker_spec(&rec, "c")},
            generous(strategy::one_for_one));
        co_await wait_children(sup, all_alive, 5s, before, whole);
        if (!whole) co_return;
        const pid old_b = pid_of(before, "b");
        send(old_b, atom<"crash">{});
        co_await wait_children(
            sup,
            [old_b](const children_t& c) { return pid_of(c, "b") != old_b && all_alive(c); }, 5s,
            after_crash, restarted);
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(whole);
  ASSERT_TRUE(restarted);
  ASSERT_EQ(before.size(), 3U);
  ASSERT_EQ(after_crash.size(), 3U);
  EXPECT_EQ(after_crash[0].first, "a");
  EXPECT_EQ(after_crash[1].first, "b");
  EXPECT_EQ(after_crash[2].first, "c");
  EXPECT_EQ(pid_of(after_crash, "a"), pid_of(before, "a"));
  EXPECT_NE(pid_of(after_crash, "b"), pid_of(before, "b"));
  EXPECT_EQ(pid_of(after_crash, "c"), pid_of(before, "c"));
  EXPECT_EQ(rec.starts_of("a"), 1);
  EXPECT_EQ(rec.starts_of("b"), 2);
  EXPECT_EQ(rec.starts_of("c"), 1);
}

TEST(Supervisor, OneForAllRestartsEveryChildStoppingTheOthersInReverseOrder) {
  recorder rec;
  children_t before;
  children_t after_crash;
  bool whole = false;
  bool restarted = false;
  std::vector<std::string> ended;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        const pid sup = start_supervisor(
            {worker_spec(&rec, "a"), worker_spec(&rec, "b", restart_type::permanent, 1),
             worker_spec(&rec, "c"), worker_spec(&rec, "d", restart_type::permanent, 1)},
            generous(strategy::one_for_all));
        co_await wait_children(sup, all_alive, 5s, before, whole);
        if (!whole) co_return;
        co_await coproc_test::wait_until(whole, [&rec] { return rec.live.load() == 4; }, 5s);
        if (!whole) co_return;
        auto changed = [&before](const children_t& c) {
          if (c.size() != before.size() || !all_alive(c)) return false;
          for (std::size_t i = 0; i < c.size(); ++i) {
            if (c[i].second == before[i].second) return false;
          }
          return true;
        };
        send(pid_of(before, "b"), atom<"crash">{});
        co_await wait_children(sup, changed, 5s, after_crash, restarted);
        ended = rec.ended_order();
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(whole);
  EXPECT_TRUE(restarted) << "not every child got a new pid";
  EXPECT_EQ(ended, (std::vector<std::string>{"b", "d", "c", "a"}));
  for (const char* id : {"a", "b", "c", "d"}) EXPECT_EQ(rec.starts_of(id), 2) << id;
}

TEST(Supervisor, RestForOneRestartsTheCrashedChildAndThoseStartedAfterIt) {
  recorder rec;
  children_t before;
  children_t after_crash;
  bool whole = false;
  bool restarted = false;
  std::vector<std::string> ended;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        const pid sup = start_supervisor(
            {worker_spec(&rec, "a"), worker_spec(&rec, "b", restart_type::permanent, 1),
             worker_spec(&rec, "c"), worker_spec(&rec, "d", restart_type::permanent, 1)},
            generous(strategy::rest_for_one));
        co_await wait_children(sup, all_alive, 5s, before, whole);
        if (!whole) co_return;
        co_await coproc_test::wait_until(whole, [&rec] { return rec.live.load() == 4; }, 5s);
        if (!whole) co_return;
        auto changed = [&before](const children_t& c) {
          if (c.size() != 4 || !all_alive(c)) return false;
          return pid_of(c, "b") != pid_of(before, "b") && pid_of(c, "c") != pid_of(before, "c") &&
                 pid_of(c, "d") != pid_of(before, "d");
        };
        send(pid_of(before, "b"), atom<"crash">{});
        co_await wait_children(sup, changed, 5s, after_crash, restarted);
        ended = rec.ended_order();
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(whole);
  EXPECT_TRUE(restarted);
  EXPECT_EQ(pid_of(after_crash, "a"), pid_of(before, "a"));
  EXPECT_EQ(ended, (std::vector<std::string>{"b", "d", "c"}));
  EXPECT_EQ(rec.starts_of("a"), 1);
  for (const char* id : {"b", "c", "d"}) EXPECT_EQ(rec.starts_of(id), 2) << id;
}

TEST(Supervisor, ATransientChildIsRestartedAfterACrashButNotAfterANormalExit) {
  recorder rec;
  bool whole = false;
  bool restarted = false;
  bool stopped = false;
  children_t c0;
  children_t c1;
  children_t c2;
  children_t settled;
  bool p_alive = false;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        const pid sup = start_supervisor({worker_spec(&rec, "t", restart_type::transient, 1),
                                          worker_spec(&rec, "s", restart_type::transient),
                                          worker_spec(&rec, "p")},
                                         generous(strategy::one_for_one));
        co_await wait_children(sup, all_alive, 5s, c0, whole);
        if (!whole) co_return;
        // A crash: restarted.
        const pid t0 = pid_of(c0, "t");
        send(t0, atom<"crash">{});
        co_await wait_children(
            sup, [t0](const children_t& c) { return pid_of(c, "t") != t0 && alive(pid_of(c, "t")); },
            5s, c1, restarted);
        // A normal exit, and an exit with shutdown: not restarted.
        send(pid_of(c1, "t"), atom<"stop">{});
        send(pid_of(c1, "s"), atom<"shutdown_self">{});
        co_await wait_children(
            sup, [](const children_t& c) { return !pid_of(c, "t") && !pid_of(c, "s"); }, 5s, c2,
            stopped);
        co_await sleep_for(100ms);
        bool unused = false;
        co_await wait_children(sup, [](const children_t&) { return true; }, 1s, settled, unused);
        p_alive = alive(pid_of(settled, "p"));
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(whole);
  EXPECT_TRUE(restarted) << "a crashed transient child was not restarted";
  EXPECT_TRUE(stopped) << "a transient child that ended normally (or with shutdown) came back";
  EXPECT_EQ(pid_of(settled, "t"), pid{});
  EXPECT_EQ(pid_of(settled, "s"), pid{});
  EXPECT_TRUE(has_entry(settled, "t"));
  EXPECT_TRUE(p_alive);
  EXPECT_EQ(rec.starts_of("t"), 2);
  EXPECT_EQ(rec.starts_of("s"), 1);
  EXPECT_EQ(rec.starts_of("p"), 1);
}

TEST(Supervisor, ATemporaryChildIsNeverRestarted) {
  recorder rec;
  bool whole = false;
  bool gone = false;
  bool p_alive = false;
  children_t c0;
  children_t settled;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        const pid sup = start_supervisor(
            {worker_spec(&rec, "tmp_crash", restart_type::temporary, 1),
             worker_spec(&rec, "tmp_normal", restart_type::temporary), worker_spec(&rec, "p")},
            generous(strategy::one_for_one));
        co_await wait_children(sup, all_alive, 5s, c0, whole);
        if (!whole) co_return;
        send(pid_of(c0, "tmp_crash"), atom<"crash">{});
        send(pid_of(c0, "tmp_normal"), atom<"stop">{});
        // Not running: either dropped from the list or listed with pid{}.
        auto not_running = [](const children_t& c) {
          return !pid_of(c, "tmp_crash") && !pid_of(c, "tmp_normal");
        };
        co_await wait_children(sup, not_running, 5s, settled, gone);
        co_await sleep_for(100ms);
        bool unused = false;
        co_await wait_children(sup, [](const children_t&) { return true; }, 1s, settled, unused);
        p_alive = alive(pid_of(settled, "p"));
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(whole);
  EXPECT_TRUE(gone);
  EXPECT_EQ(pid_of(settled, "tmp_crash"), pid{});
  EXPECT_EQ(pid_of(settled, "tmp_normal"), pid{});
  EXPECT_TRUE(p_alive);
  EXPECT_EQ(rec.starts_of("tmp_crash"), 1);
  EXPECT_EQ(rec.starts_of("tmp_normal"), 1);
}

TEST(Supervisor, ExceedingTheRestartIntensityStopsTheSupervisorAndItsChildren) {
  recorder rec;
  bool whole = false;
  int restarts_seen = 0;
  bool alive_after_three = false;
  opt_reason sup_reason;
  opt_reason exit_msg_reason;
  int live_at_down = -1;
  pid a_pid;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        trap_exit(true);  // the supervisor is linked to us and will exit with shutdown
        const pid sup = start_supervisor(
            {worker_spec(&rec, "a"), worker_spec(&rec, "b", restart_type::permanent, 1)},
            {.strategy = strategy::one_for_one, .max_restarts = 3, .max_period = 10s});
        const monitor_ref ref = monitor(sup);
        children_t c;
        co_await wait_children(sup, all_alive, 5s, c, whole);
        if (!whole) co_return;
        a_pid = pid_of(c, "a");
        for (int i = 0; i < 3; ++i) {
          const pid old_b = pid_of(c, "b");
          send(old_b, atom<"crash">{});
          bool ok = false;
          co_await wait_children(
              sup, [old_b](const children_t& x) { return pid_of(x, "b") != old_b && all_alive(x); },
              5s, c, ok);
          if (!ok) break;
          ++restarts_seen;
        }
        alive_after_three = alive(sup);
        send(pid_of(c, "b"), atom<"crash">{});  // the fourth restart within the period
        sup_reason = co_await down_of(ref, 10s);
        live_at_down = rec.live.load();
        exit_msg_reason = co_await otp_test::exit_from(sup, 2s);
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(whole);
  EXPECT_EQ(restarts_seen, 3);
  EXPECT_TRUE(alive_after_three);
  EXPECT_EQ(sup_reason, opt_reason(exit_reason::shutdown()));
  EXPECT_EQ(exit_msg_reason, opt_reason(exit_reason::shutdown()));
  EXPECT_EQ(live_at_down, 0) << "children outlived their supervisor";
  EXPECT_EQ(rec.starts_of("a"), 1);
  EXPECT_EQ(rec.starts_of("b"), 4);
}

namespace {

// top: w1, inner (i1, i2 on core 1, i3), w2.
pid start_nested_tree(recorder* rec) {
  child_spec inner{.id = "inner",
                   .start =
                       [rec] {
                         return start_supervisor(
                             {worker_spec(rec, "i1"),
                              worker_spec(rec, "i2", restart_type::permanent, 1),
                              worker_spec(rec, "i3")},
                             generous(strategy::one_for_one));
                       },
                   .restart = restart_type::permanent,
                   .shutdown = 5s};
  return start_supervisor({worker_spec(rec, "w1", restart_type::permanent, 1), std::move(inner),
                           worker_spec(rec, "w2")},
                          generous(strategy::one_for_one));
}

// Waits until top and its inner supervisor have all their children alive, and all five
// workers have begun to run (alive() is already true for one still queued to start).
process wait_tree_whole(pid top, recorder* rec, bool& ok) {
  children_t c;
  co_await wait_children(top, all_alive, 5s, c, ok);
  if (!ok) co_return;
  children_t inner;
  co_await wait_children(pid_of(c, "inner"), all_alive, 5s, inner, ok);
  if (!ok) co_return;
  co_await coproc_test::wait_until(ok, [rec] { return rec->live.load() == 5; }, 5s);
}

}  // namespace

TEST(Supervisor, ShuttingDownANestedTreeStopsChildrenInReverseStartOrder) {
  recorder rec;
  bool whole = false;
  opt_reason top_reason;
  int live_at_down = -1;
  int rc = coproc::run(
      [&]() -> process {
        trap_exit(true);
        const pid top = start_nested_tree(&rec);
        co_await wait_tree_whole(top, &rec, whole);
        if (!whole) co_return;
        const monitor_ref ref = monitor(top);
        coproc::exit(top, exit_reason::shutdown());
        top_reason = co_await down_of(ref, 10s);
        live_at_down = rec.live.load();
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(whole);
  EXPECT_EQ(top_reason, opt_reason(exit_reason::shutdown()));
  EXPECT_EQ(live_at_down, 0);
  EXPECT_EQ(rec.ended_order(), (std::vector<std::string>{"w2", "i3", "i2", "i1", "w1"}));
}

TEST(Supervisor, WhenItsParentExitsATreeStopsChildrenInReverseStartOrder) {
  recorder rec;
  bool whole = false;
  opt_reason top_reason;
  opt_reason parent_reason;
  int live_at_down = -1;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        // The parent runs on core 1, starts the tree (linked to it), and later exits.
        spawn_on(1, [me, r = &rec]() -> process {
          const pid top = start_nested_tree(r);
          send(me, atom<"top">{}, top, self());
          co_await receive([](atom<"go">) {}, after(10s, [] {}));
          coproc::exit(atom<"parent_gone">{});
        });
        const auto [top, parent] = co_await receive(
            [](atom<"top">, pid t, pid p) { return std::pair{t, p}; },
            after(5s, [] { return std::pair{pid{}, pid{}}; }));
        if (!top) co_return;
        co_await wait_tree_whole(top, &rec, whole);
        if (!whole) co_return;
        const monitor_ref ref = monitor(top);
        const monitor_ref pref = monitor(parent);
        send(parent, atom<"go">{});
        parent_reason = co_await down_of(pref, 5s);
        top_reason = co_await down_of(ref, 10s);
        live_at_down = rec.live.load();
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(whole);
  EXPECT_EQ(parent_reason, opt_reason(exit_reason::user("parent_gone")));
  // The supervisor ends with its parent's reason, as an OTP supervisor does.
  EXPECT_EQ(top_reason, opt_reason(exit_reason::user("parent_gone")));
  EXPECT_EQ(live_at_down, 0);
  EXPECT_EQ(rec.ended_order(), (std::vector<std::string>{"w2", "i3", "i2", "i1", "w1"}));
}

TEST(Supervisor, AChildThatIgnoresShutdownIsKilledAfterItsShutdownTime) {
  recorder rec;
  bool whole = false;
  opt_reason sup_reason;
  opt_reason stubborn_reason;
  double took_ms = -1;
  int live_at_down = -1;
  int rc = coproc::run(
      [&]() -> process {
        trap_exit(true);
        child_spec stub{.id = "stubborn",
                        .start =
                            [r = &rec] {
                              r->started("stubborn");
                              return spawn_link(stubborn, r, std::string("stubborn"));
                            },
                        .restart = restart_type::permanent,
                        .shutdown = 300ms};
        const pid sup = start_supervisor({worker_spec(&rec, "good"), std::move(stub)},
                                         generous(strategy::one_for_one));
        children_t c;
        co_await wait_children(sup, all_alive, 5s, c, whole);
        if (!whole) co_return;
        // Both have run (so stubborn traps exits already).
        co_await coproc_test::wait_until(whole, [&rec] { return rec.live.load() == 2; }, 5s);
        if (!whole) co_return;
        const monitor_ref rs = monitor(pid_of(c, "stubborn"));
        const monitor_ref ref = monitor(sup);
        const auto t0 = std::chrono::steady_clock::now();
        coproc::exit(sup, exit_reason::shutdown());
        stubborn_reason = co_await down_of(rs, 10s);
        sup_reason = co_await down_of(ref, 10s);
        took_ms = ms_since(t0);
        live_at_down = rec.live.load();
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(whole);
  EXPECT_EQ(stubborn_reason, opt_reason(exit_reason::killed()));
  EXPECT_EQ(sup_reason, opt_reason(exit_reason::shutdown()));
  EXPECT_GE(took_ms, 300.0) << "killed before its shutdown time";
  EXPECT_LT(took_ms, 5000.0);
  EXPECT_EQ(live_at_down, 0);
  EXPECT_EQ(rec.ended_order(), (std::vector<std::string>{"stubborn", "good"}));
}

// Two children die at once. The supervisor handles the first EXIT by stopping and
// restarting the others; the second child's EXIT, already queued, is from a pid that is
// no longer a child and must not be taken for an exit signal from the parent (OTP
// flushes it when it unlinks). The tree must end up whole, each child started twice.
namespace {

void two_children_crash_at_once(strategy how, const std::vector<std::string>& crash,
                                const std::vector<std::string>& restarted_ids) {
  recorder rec;
  bool whole = false;
  bool settled = false;
  bool sup_alive_after = false;
  children_t before;
  children_t after_crash;
  children_t later;
  opt_reason sup_down;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        trap_exit(true);  // if the supervisor does go down, we want to see it, not die
        const pid sup = start_supervisor(
            {worker_spec(&rec, "a"), worker_spec(&rec, "b"), worker_spec(&rec, "c")},
            generous(how));
        const monitor_ref ref = monitor(sup);
        co_await wait_children(sup, all_alive, 5s, before, whole);
        if (!whole) co_return;
        co_await coproc_test::wait_until(whole, [&rec] { return rec.live.load() == 3; }, 5s);
        if (!whole) co_return;
        for (const auto& id : crash) send(pid_of(before, id), atom<"crash">{});
        auto restarted = [&](const children_t& c) {
          if (c.size() != 3 || !all_alive(c)) return false;
          for (const auto& id : restarted_ids) {
            if (pid_of(c, id) == pid_of(before, id)) return false;
          }
          return true;
        };
        co_await wait_children(sup, restarted, 5s, after_crash, settled);
        co_await sleep_for(100ms);
        sup_alive_after = alive(sup);
        bool unused = false;
        co_await wait_children(sup, [](const children_t&) { return true; }, 1s, later, unused);
        sup_down = co_await down_of(ref, 0ms);
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(whole);
  EXPECT_TRUE(settled) << "the tree did not come back with new pids";
  EXPECT_TRUE(sup_alive_after) << "the supervisor went down";
  EXPECT_EQ(sup_down, std::nullopt) << "the supervisor exited: " << *sup_down;
  EXPECT_EQ(later, after_crash) << "the children changed again after the restart";
  for (const auto& id : restarted_ids) EXPECT_EQ(rec.starts_of(id), 2) << id;
}

}  // namespace

TEST(Supervisor, OneForAllSurvivesTwoChildrenCrashingAtOnce) {
  two_children_crash_at_once(strategy::one_for_all, {"a", "b"}, {"a", "b", "c"});
}

TEST(Supervisor, RestForOneSurvivesTwoChildrenCrashingAtOnce) {
  two_children_crash_at_once(strategy::rest_for_one, {"b", "c"}, {"b", "c"});
}
