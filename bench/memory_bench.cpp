// memory_bench: the resident memory of an idle process blocked in receive, and the time
// to spawn 1,000,000 of them (a program of its own, so that no earlier benchmark's pooled
// memory hides the cost).
#include <benchmark/benchmark.h>

#include <coproc/coproc.hpp>

#include "bench_util.hpp"

namespace {

using namespace coproc;

process idle(pid parent) {
  send(parent, 1);
  co_await receive<int>();  // blocks until the runtime is destroyed
}

// One shot: spawn 1M idle processes, wait until each has blocked, measure RSS.
void BM_SpawnIdle(benchmark::State& state) {
  constexpr int kProcesses = 1'000'000;
  for (auto _ : state) {
    runtime rt{options{.cores = 2}};
    double spawn_ms = 0;
    double bytes = 0;
    rt.run([&]() -> process {
      const auto before = bench::rss_bytes();
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < kProcesses; ++i) spawn(idle, self());
      for (int i = 0; i < kProcesses; ++i) co_await receive<int>();
      spawn_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      bytes = static_cast<double>(bench::rss_bytes() - before) / kProcesses;
    });
    state.counters["spawn_ms"] = spawn_ms;
    state.counters["rss_bytes_per_process"] = bytes;
  }
}
// One repetition: a second one in this process would reuse the first one's pooled memory.
BENCHMARK(BM_SpawnIdle)->Iterations(1)->Repetitions(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
