// Randomized fault injection into a supervision tree, with a fixed seed: a top
// one_for_one supervisor over two nested ones, each with five workers spread over both
// cores. Each step crashes one random worker (by a throw, by exit(pid, reason) or by
// exit(pid, kill)) and waits, bounded, until the tree is whole again. At the end every
// fault has caused exactly one restart, the nested supervisors never restarted, and an
// orderly shutdown leaves no worker behind.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <optional>
#include <random>
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

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kSteps = 60;
#else
constexpr int kSteps = 300;
#endif
constexpr int kWorkersPerSup = 5;
constexpr int kSups = 2;

struct tree_stats {
  std::atomic<int> worker_starts{0};
  std::atomic<int> sup_starts{0};
  std::atomic<int> live_workers{0};
};

process fi_worker(tree_stats* st) {
  otp_test::live_guard guard(&st->live_workers);
  for (;;) {
    co_await receive([](atom<"crash">) { throw std::runtime_error("injected throw"); },
                     after(60s, [] {}));
  }
}

child_spec fi_worker_spec(tree_stats* st, int sup, int i) {
  return {.id = "w" + std::to_string(sup) + "." + std::to_string(i),
          .start = [st, i] {
            st->worker_starts.fetch_add(1);
            const pid p = spawn_on(static_cast<unsigned>(i % 2), fi_worker, st);
            link(p);
            return p;
          }};
}

child_spec fi_sup_spec(tree_stats* st, int sup) {
  return {.id = "sup" + std::to_string(sup), .start = [st, sup] {
            st->sup_starts.fetch_add(1);
            std::vector<child_spec> workers;
            for (int i = 0; i < kWorkersPerSup; ++i) workers.push_back(fi_worker_spec(st, sup, i));
            return start_supervisor(std::move(workers),
                                    {.strategy = strategy::one_for_one,
                                     .max_restarts = 1'000'000,
                                     .max_period = 1000ms});
          }};
}

bool all_alive(const children_t& c) {
  for (const auto& e : c) {
    if (!alive(e.second)) return false;
  }
  return true;
}

// One look at the whole tree: the top's children and each nested supervisor's.
struct tree_view {
  children_t top;
  std::array<children_t, kSups> nested;
  bool whole = false;
};

process look(pid top, tree_view& v) {
  v.whole = false;
  try {
    v.top = co_await which_children(top, 1s);
    if (v.top.size() != kSups || !all_alive(v.top)) co_return;
    for (int s = 0; s < kSups; ++s) {
      v.nested[static_cast<std::size_t>(s)] =
          co_await which_children(v.top[static_cast<std::size_t>(s)].second, 1s);
      const auto& n = v.nested[static_cast<std::size_t>(s)];
      if (n.size() != kWorkersPerSup || !all_alive(n)) co_return;
    }
    v.whole = true;
  } catch (const std::exception&) {
    v.whole = false;
  }
}

// Looks until the tree is whole and `slot` of nested supervisor `sup` no longer holds
// `old` (or until `limit` passes).
process wait_whole(pid top, int sup, int slot, pid old, std::chrono::milliseconds limit,
                   tree_view& v, bool& ok) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    co_await look(top, v);
    if (v.whole && v.nested[static_cast<std::size_t>(sup)][static_cast<std::size_t>(slot)].second != old) {
      ok = true;
      co_return;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ok = false;
      co_return;
    }
    co_await sleep_for(1ms);
  }
}

}  // namespace

TEST(OtpFaultInjection, EveryInjectedFaultIsRestartedOnceAndTheTreeStaysWhole) {
  tree_stats st;
  int faults = 0;
  int by_method[3] = {0, 0, 0};
  bool initially_whole = false;
  bool finally_whole = false;
  std::array<pid, kSups> first_sups{};
  std::array<pid, kSups> last_sups{};
  opt_reason top_reason;
  int live_at_down = -1;
  testing::internal::CaptureStderr();  // one crash report per fault
  int rc = coproc::run(
      [&]() -> process {
        trap_exit(true);  // the top supervisor is linked to us; we stop it at the end
        const pid top = start_supervisor({fi_sup_spec(&st, 0), fi_sup_spec(&st, 1)},
                                         {.strategy = strategy::one_for_one,
                                          .max_restarts = 1'000'000,
                                          .max_period = 1000ms});
        tree_view v;
        co_await wait_whole(top, 0, 0, pid{}, 5s, v, initially_whole);
        if (!initially_whole) co_return;
        for (int s = 0; s < kSups; ++s) first_sups[static_cast<std::size_t>(s)] = v.top[static_cast<std::size_t>(s)].second;

        std::mt19937 rng(0xC0FFEE);
        std::uniform_int_distribution<int> pick_sup(0, kSups - 1);
        std::uniform_int_distribution<int> pick_worker(0, kWorkersPerSup - 1);
        std::uniform_int_distribution<int> pick_method(0, 2);
        for (int step = 0; step < kSteps; ++step) {
          const int s = pick_sup(rng);
          const int w = pick_worker(rng);
          const int m = pick_method(rng);
          const pid victim = v.nested[static_cast<std::size_t>(s)][static_cast<std::size_t>(w)].second;
          switch (m) {
            case 0:
              send(victim, atom<"crash">{});
              break;
            case 1:
              coproc::exit(victim, exit_reason::user("injected exit"));
              break;
            default:
              coproc::exit(victim, exit_reason::kill());
              break;
          }
          ++faults;
          ++by_method[m];
          bool ok = false;
          co_await wait_whole(top, s, w, victim, 5s, v, ok);
          if (!ok) {
            ADD_FAILURE() << "step " << step << ": the tree was not whole again within 5s after "
                          << (m == 0 ? "a throw" : m == 1 ? "exit(pid, reason)" : "exit(pid, kill)")
                          << " in worker " << w << " of supervisor " << s;
            co_return;
          }
        }
        bool unused = false;
        co_await wait_whole(top, 0, 0, pid{}, 5s, v, unused);
        finally_whole = v.whole;
        for (int s = 0; s < kSups; ++s) last_sups[static_cast<std::size_t>(s)] = v.top[static_cast<std::size_t>(s)].second;

        const monitor_ref ref = monitor(top);
        coproc::exit(top, exit_reason::shutdown());
        top_reason = co_await down_of(ref, 10s);
        live_at_down = st.live_workers.load();
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(initially_whole);
  EXPECT_EQ(faults, kSteps);
  EXPECT_GT(by_method[0], 0);
  EXPECT_GT(by_method[1], 0);
  EXPECT_GT(by_method[2], 0);
  EXPECT_EQ(st.worker_starts.load() - kSups * kWorkersPerSup, faults) << "restarts != faults";
  EXPECT_EQ(st.sup_starts.load(), kSups) << "a nested supervisor was restarted";
  EXPECT_TRUE(finally_whole);
  EXPECT_EQ(first_sups, last_sups);
  EXPECT_EQ(top_reason, opt_reason(exit_reason::shutdown()));
  EXPECT_EQ(live_at_down, 0) << "workers outlived the tree";
}
