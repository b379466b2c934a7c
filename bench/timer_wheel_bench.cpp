// timer_wheel_bench: 1,000,000 concurrent timers in one core's wheel: ns per insert and
// per cancel, and the bytes each costs; what a million processes in `receive ... after`
// ask of it.
//
// The nodes sit in one array, as they would sit in a million coroutine frames. Their
// deadlines rise (processes arm one timeout in turn, 10 us apart over 10 s). Cancels go
// in arming order (BM_TimerCancel1M/0: receives matched in the order they began) or in
// a shuffled order (/1: matched in any order, so a cancel touches neighbours that are
// not in cache). bytes_per_timer = sizeof(timer_node) plus
// what the wheel allocates per timer.
//
// BM_TimerSteadyRearm is one core's share of timers_steady without the processes:
// 50,000 nodes, each armed again 10 ms after the time it fired, the clock moving 50 us
// a loop turn for 2 s of its time. ns_per_expiry is the wheel's cost per expiry and
// re-arm; max_turn_us the longest turn (the least of the iterations' longest, as the
// machine's own pauses are rare), where a slot re-filed at once would show as a pause
// (every 64 ms a whole level-1 slot of 10 ms worth of nodes comes due). The nodes sit
// in one array here, so a re-file costs less than in coroutine frames.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "lib/time/timer_wheel.hpp"

namespace {

using coproc::detail::timer_node;
using wheel_type = coproc::detail::timer_wheel;

constexpr std::size_t kTimers = 1'000'000;
constexpr std::int64_t kNow = 1'000'000'000'000;  // 1000 s: an arbitrary clock reading

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct million {
  std::vector<timer_node> nodes{kTimers};
  std::vector<std::size_t> cancel_order;
  million() {
    for (std::size_t i = 0; i < kTimers; ++i) {
      nodes[i].deadline = kNow + 10'000'000 + static_cast<std::int64_t>(i) * 10'000;
    }
    cancel_order.resize(kTimers);
    std::iota(cancel_order.begin(), cancel_order.end(), 0);
    std::shuffle(cancel_order.begin(), cancel_order.end(), std::mt19937_64(14));
  }
};

template <class W>
void catch_up(W& w) {  // only the wheel has it (the same source times the old heap)
  if constexpr (requires { w.catch_up(kNow); }) w.catch_up(kNow);
}

void BM_TimerInsert1M(benchmark::State& state) {
  million m;
  double total = 0;
  double bytes = 0;
  for (auto _ : state) {
    wheel_type wheel;
    catch_up(wheel);
    const std::size_t before = mallinfo2().uordblks;
    const auto t0 = std::chrono::steady_clock::now();
    for (timer_node& t : m.nodes) wheel.push(&t);
    const double s = seconds_since(t0);
    bytes = static_cast<double>(mallinfo2().uordblks - before) / kTimers;
    state.SetIterationTime(s);
    total += s;
    benchmark::DoNotOptimize(wheel.size());
    for (std::size_t i : m.cancel_order) wheel.remove(&m.nodes[i]);
  }
  state.counters["ns_per_insert"] = total * 1e9 / static_cast<double>(state.iterations() * kTimers);
  state.counters["bytes_per_timer"] = static_cast<double>(sizeof(timer_node)) + bytes;
}
BENCHMARK(BM_TimerInsert1M)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_TimerCancel1M(benchmark::State& state) {
  million m;
  double total = 0;
  for (auto _ : state) {
    wheel_type wheel;
    catch_up(wheel);
    for (timer_node& t : m.nodes) wheel.push(&t);
    const auto t0 = std::chrono::steady_clock::now();
    if (state.range(0) == 0) {
      for (timer_node& t : m.nodes) wheel.remove(&t);
    } else {
      for (std::size_t i : m.cancel_order) wheel.remove(&m.nodes[i]);
    }
    const double s = seconds_since(t0);
    state.SetIterationTime(s);
    total += s;
    benchmark::DoNotOptimize(wheel.size());
  }
  state.counters["ns_per_cancel"] = total * 1e9 / static_cast<double>(state.iterations() * kTimers);
}
BENCHMARK(BM_TimerCancel1M)->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_TimerSteadyRearm(benchmark::State& state) {
  constexpr std::size_t kNodes = 50'000;
  constexpr std::int64_t kTimeout = 10'000'000;
  constexpr std::int64_t kTurn = 50'000;
  constexpr std::int64_t kSpan = 2'000'000'000;
  std::vector<timer_node> nodes(kNodes);
  double total = 0;
  double least_longest = 1e9;  // of the iterations' longest turns: the machine's noise is rare
  std::size_t expiries = 0;
  for (auto _ : state) {
    double longest = 0;
    wheel_type wheel;
    std::int64_t now = kNow;
    catch_up(wheel);
    for (std::size_t i = 0; i < kNodes; ++i) {  // spread over one timeout, as spawned
      nodes[i].deadline = now + kTimeout * static_cast<std::int64_t>(i) / kNodes;
      wheel.push(&nodes[i]);
    }
    const auto t0 = std::chrono::steady_clock::now();
    for (const std::int64_t end = now + kSpan; now < end; now += kTurn) {
      const auto turn0 = std::chrono::steady_clock::now();
      while (timer_node* t = wheel.pop_due(now)) {
        t->deadline = now + kTimeout;
        wheel.push(t);
        ++expiries;
      }
      longest = std::max(longest, seconds_since(turn0));
    }
    const double s = seconds_since(t0);
    state.SetIterationTime(s);
    total += s;
    least_longest = std::min(least_longest, longest);
    for (timer_node& t : nodes) wheel.remove(&t);
  }
  state.counters["ns_per_expiry"] = total * 1e9 / static_cast<double>(expiries);
  state.counters["max_turn_us"] = least_longest * 1e6;
}
BENCHMARK(BM_TimerSteadyRearm)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
