// fanin_bench: 1,000 senders x 10,000 messages into one receiver; mailbox append,
// cross-core queues and the receiver's consume rate.
#include <benchmark/benchmark.h>

#include <coproc/coproc.hpp>

namespace {

using namespace coproc;

constexpr int kSenders = 1'000;
constexpr int kPerSender = 10'000;

process sender(pid to) {
  for (int i = 0; i < kPerSender; ++i) send(to, i);
  co_return;
}

void BM_FanIn(benchmark::State& state) {
  runtime rt{options{.cores = static_cast<unsigned>(state.range(0))}};
  rt.run([&]() -> process {
    for (auto _ : state) {
      for (int s = 0; s < kSenders; ++s) spawn(sender, self());
      for (int i = 0; i < kSenders * kPerSender; ++i) co_await receive<int>();
    }
  });
  state.counters["msgs_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kSenders * kPerSender, benchmark::Counter::kIsRate);
  state.SetLabel(std::to_string(state.range(0)) + " cores");
}
BENCHMARK(BM_FanIn)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
