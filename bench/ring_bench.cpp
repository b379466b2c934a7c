// ring_bench: 10,000 processes in a ring pass one token 1,000,000 hops (message
// latency under placement), and the time to spawn and wire up the ring.
#include <benchmark/benchmark.h>

#include <coproc/coproc.hpp>
#include <vector>

namespace {

using namespace coproc;

constexpr int kNodes = 10'000;
constexpr int kHops = 1'000'000;

// Receives its successor, then forwards the token, counting down; 0 goes to `done`.
process ring_node(pid done) {
  pid next = co_await receive<pid>();
  for (;;) {
    int token = co_await receive<int>();
    if (token < 0) co_return;
    if (token == 0) {
      send(done, 0);
    } else {
      send(next, token - 1);
    }
  }
}

std::vector<pid> build_ring(pid done) {
  std::vector<pid> nodes;
  nodes.reserve(kNodes);
  for (int i = 0; i < kNodes; ++i) nodes.push_back(spawn(ring_node, done));
  for (int i = 0; i < kNodes; ++i) send(nodes[i], nodes[(i + 1) % kNodes]);
  return nodes;
}

void BM_RingHops(benchmark::State& state) {
  runtime rt{options{.cores = static_cast<unsigned>(state.range(0))}};
  rt.run([&]() -> process {
    std::vector<pid> nodes = build_ring(self());
    for (auto _ : state) {
      send(nodes[0], kHops);
      co_await receive<int>();
    }
    for (pid p : nodes) send(p, -1);
  });
  state.counters["hops_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()) * kHops,
                                                    benchmark::Counter::kIsRate);
  state.SetLabel(std::to_string(state.range(0)) + " cores");
}
BENCHMARK(BM_RingHops)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_RingSpawn(benchmark::State& state) {
  runtime rt{options{.cores = static_cast<unsigned>(state.range(0))}};
  rt.run([&]() -> process {
    for (auto _ : state) {
      std::vector<pid> nodes = build_ring(self());
      state.PauseTiming();
      for (pid p : nodes) send(p, -1);
      co_await sleep_for(std::chrono::milliseconds(5));
      state.ResumeTiming();
    }
  });
  state.SetLabel(std::to_string(state.range(0)) + " cores");
}
BENCHMARK(BM_RingSpawn)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
