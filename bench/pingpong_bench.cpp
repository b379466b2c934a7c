// pingpong_bench: one message round trip between two processes, on one core and across
// two cores; the cross-core row shows that a busy peer is not woken through the kernel.
#include <benchmark/benchmark.h>

#include <coproc/coproc.hpp>

namespace {

using namespace coproc;

process ponger() {
  pid peer = co_await receive<pid>();
  for (;;) {
    int n = co_await receive<int>();
    if (n < 0) co_return;
    send(peer, n);
  }
}

void BM_PingPong(benchmark::State& state) {
  const bool cross_core = state.range(0) != 0;
  runtime rt{options{.cores = 2}};
  rt.run([&]() -> process {
    pid pong = spawn_on(cross_core ? 1 : 0, ponger);
    send(pong, self());
    for (auto _ : state) {
      send(pong, 1);
      benchmark::DoNotOptimize(co_await receive<int>());
    }
    send(pong, -1);
  });
  state.SetLabel(cross_core ? "cross-core" : "same-core");
  state.counters["wakeups"] = static_cast<double>(rt.stats(1).wakeups);
}
BENCHMARK(BM_PingPong)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kNanosecond);

}  // namespace
