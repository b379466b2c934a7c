// timers_bench: 100,000 processes each in `receive ... after 10 ms`; total time and
// how late the timeouts fire (p50, p99): the timer heap and sleeping in the ring.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <coproc/coproc.hpp>
#include <cstdint>
#include <vector>

namespace {

using namespace coproc;
using namespace std::chrono_literals;

constexpr int kTimers = 100'000;

process sleeper(pid parent) {
  const auto deadline = std::chrono::steady_clock::now() + 10ms;
  co_await receive([](int) {}, after(10ms, [] {}));
  const auto late = std::chrono::steady_clock::now() - deadline;
  send(parent, static_cast<std::int64_t>(
                   std::chrono::duration_cast<std::chrono::nanoseconds>(late).count()));
}

void BM_Timers(benchmark::State& state) {
  runtime rt{options{.cores = static_cast<unsigned>(state.range(0))}};
  std::vector<std::int64_t> late;
  late.reserve(kTimers);
  rt.run([&]() -> process {
    for (auto _ : state) {
      late.clear();
      for (int i = 0; i < kTimers; ++i) spawn(sleeper, self());
      for (int i = 0; i < kTimers; ++i) late.push_back(co_await receive<std::int64_t>());
    }
  });
  std::sort(late.begin(), late.end());
  state.counters["late_p50_us"] = static_cast<double>(late[late.size() / 2]) / 1e3;
  state.counters["late_p99_us"] = static_cast<double>(late[late.size() * 99 / 100]) / 1e3;
  state.counters["early"] = static_cast<double>(late.front() < 0);
  state.SetLabel(std::to_string(state.range(0)) + " cores");
}
BENCHMARK(BM_Timers)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
