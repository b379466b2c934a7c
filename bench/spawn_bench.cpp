// spawn_bench: the cost of a process's life: spawn, run, exit.
#include <benchmark/benchmark.h>

#include <coproc/coproc.hpp>


namespace {

using namespace coproc;

process short_lived(pid parent) {
  send(parent, 1);
  co_return;
}

void BM_SpawnExit(benchmark::State& state) {
  constexpr int kBatch = 100'000;
  runtime rt{options{.cores = static_cast<unsigned>(state.range(0))}};
  rt.run([&]() -> process {
    for (auto _ : state) {
      for (int i = 0; i < kBatch; ++i) spawn(short_lived, self());
      for (int i = 0; i < kBatch; ++i) co_await receive<int>();
    }
  });
  state.counters["spawns_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kBatch, benchmark::Counter::kIsRate);
  state.SetLabel(std::to_string(state.range(0)) + " cores");
}
BENCHMARK(BM_SpawnExit)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
