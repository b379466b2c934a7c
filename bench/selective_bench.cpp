// selective_bench: a selective receive that must skip 1,000 queued non-matching
// messages; shows the receive marker (junk is scanned once, not per receive).
#include <benchmark/benchmark.h>

#include <coproc/coproc.hpp>

namespace {

using namespace coproc;

void BM_SelectivePastJunk(benchmark::State& state) {
  const int junk = static_cast<int>(state.range(0));
  runtime rt{options{.cores = 1}};
  rt.run([&]() -> process {
    for (int i = 0; i < junk; ++i) send(self(), atom<"junk">{}, i);
    int i = 0;
    for (auto _ : state) {
      send(self(), ++i);
      benchmark::DoNotOptimize(co_await receive<int>());
    }
  });
  state.SetLabel(std::to_string(junk) + " junk queued");
}
BENCHMARK(BM_SelectivePastJunk)->Arg(0)->Arg(1000)->UseRealTime()->Unit(benchmark::kNanosecond);

// The worst case for the marker: a guard (which may change its mind) forces a rescan.
void BM_SelectiveGuardPastJunk(benchmark::State& state) {
  const int junk = static_cast<int>(state.range(0));
  runtime rt{options{.cores = 1}};
  rt.run([&]() -> process {
    for (int i = 0; i < junk; ++i) send(self(), atom<"junk">{}, i);
    int i = 0;
    for (auto _ : state) {
      send(self(), ++i);
      benchmark::DoNotOptimize(
          co_await receive(when([](int v) { return v > 0; }, [](int v) { return v; })));
    }
  });
  state.SetLabel(std::to_string(junk) + " junk queued, guarded");
}
BENCHMARK(BM_SelectiveGuardPastJunk)->Arg(1000)->UseRealTime()->Unit(benchmark::kNanosecond);

}  // namespace
