// call_bench: a gen_server-style call round trip (monitor, request, reply, demonitor)
// with 0 and 10,000 unrelated messages queued in the caller; the mailbox mark keeps
// the second as cheap as the first.
#include <benchmark/benchmark.h>

#include <coproc/coproc.hpp>

namespace {

using namespace coproc;
using namespace std::chrono_literals;

process echo_server() {
  for (;;) {
    co_await receive([](atom<"$gen_call">, call_from from, int n) { reply(from, n); });
  }
}

void BM_Call(benchmark::State& state) {
  const int junk = static_cast<int>(state.range(0));
  runtime rt{options{.cores = 1}};
  rt.run([&]() -> process {
    pid srv = spawn(echo_server);
    for (int i = 0; i < junk; ++i) send(self(), atom<"junk">{}, i);
    int i = 0;
    for (auto _ : state) benchmark::DoNotOptimize(co_await call<int>(srv, 5s, ++i));
    exit(srv, exit_reason::kill());
  });
  state.SetLabel(std::to_string(junk) + " unrelated messages queued");
}
BENCHMARK(BM_Call)->Arg(0)->Arg(10000)->UseRealTime()->Unit(benchmark::kNanosecond);

struct counter {
  long n = 0;
  long handle_call(atom<"add">, long by) { return n += by; }
};

void BM_GenServerCall(benchmark::State& state) {
  runtime rt{options{.cores = 1}};
  rt.run([&]() -> process {
    server<counter> c = start_server<counter>();
    for (auto _ : state) benchmark::DoNotOptimize(co_await call(c, 5s, atom<"add">{}, 1L));
    exit(c.id, exit_reason::kill());
  });
}
BENCHMARK(BM_GenServerCall)->UseRealTime()->Unit(benchmark::kNanosecond);

}  // namespace
