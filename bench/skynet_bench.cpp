// skynet_bench: a tree of 1,111,111 processes (10 children each, 1,000,000 leaves)
// sums the leaf numbers; spawn cost, placement across cores and message fan-in.
#include <benchmark/benchmark.h>

#include <coproc/coproc.hpp>
#include <cstdint>

namespace {

using namespace coproc;

process skynet(pid parent, std::int64_t num, std::int64_t size) {
  if (size == 1) {
    send(parent, num);
    co_return;
  }
  const std::int64_t child = size / 10;
  for (std::int64_t i = 0; i < 10; ++i) spawn(skynet, self(), num + i * child, child);
  std::int64_t sum = 0;
  for (int i = 0; i < 10; ++i) sum += co_await receive<std::int64_t>();
  send(parent, sum);
}

void BM_Skynet(benchmark::State& state) {
  runtime rt{options{.cores = static_cast<unsigned>(state.range(0))}};
  bool ok = true;
  rt.run([&]() -> process {
    for (auto _ : state) {
      spawn(skynet, self(), std::int64_t{0}, std::int64_t{1'000'000});
      std::int64_t sum = co_await receive<std::int64_t>();
      ok = ok && sum == 499'999'500'000;
    }
  });
  if (!ok) state.SkipWithError("wrong skynet sum");
  state.SetLabel(std::to_string(state.range(0)) + " cores");
}
BENCHMARK(BM_Skynet)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
