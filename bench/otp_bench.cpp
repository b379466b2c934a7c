// otp_bench: the fault-tolerance paths: how long an exit signal takes to reach a linked
// process, and how long a supervisor takes to replace a killed worker.
#include <benchmark/benchmark.h>

#include <coproc/coproc.hpp>
#include <vector>

namespace {

using namespace coproc;
using namespace std::chrono_literals;

process wait_forever() { co_await receive([](atom<"never">) {}); }

// exit(child, kill) -> (EXIT, child, killed) in the trapping parent; 1,000 per batch.
void BM_LinkExitPropagation(benchmark::State& state) {
  constexpr int kBatch = 1000;
  const bool cross_core = state.range(0) != 0;
  runtime rt{options{.cores = 2}};
  rt.run([&]() -> process {
    trap_exit(true);
    std::vector<pid> children;
    while (state.KeepRunningBatch(kBatch)) {
      state.PauseTiming();
      children.clear();
      for (int i = 0; i < kBatch; ++i) {
        children.push_back(cross_core ? spawn_on(1, [] { return wait_forever(); })
                                      : spawn_link(wait_forever));
        if (cross_core) link(children.back());
      }
      co_await sleep_for(1ms);  // links established on the other core
      state.ResumeTiming();
      for (const pid& c : children) exit(c, exit_reason::kill());
      for (int i = 0; i < kBatch; ++i) co_await receive([](atom<"EXIT">, pid, exit_reason) {});
    }
  });
  state.SetLabel(cross_core ? "cross-core" : "same core");
}
BENCHMARK(BM_LinkExitPropagation)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kNanosecond);

process worker(pid observer) {
  send(observer, atom<"started">{}, self());
  co_await wait_forever();
}

// Kill the worker, wait until the supervisor's replacement says it started. The
// supervisor reports every killed child (child_terminated, as OTP's does): a reporter
// that drops them keeps stderr writes out of what is measured.
void BM_SupervisorRestart(benchmark::State& state) {
  set_crash_reporter([](const crash_report&) {});
  runtime rt{options{.cores = 1}};
  rt.run([&]() -> process {
    const pid me = self();
    start_supervisor({{.id = "w", .start = [me] { return spawn_link(worker, me); }}},
                     {.strategy = strategy::one_for_one, .max_restarts = 1 << 30});
    pid current = co_await receive([](atom<"started">, pid p) { return p; });
    for (auto _ : state) {
      exit(current, exit_reason::kill());
      current = co_await receive([](atom<"started">, pid p) { return p; });
    }
  });
  set_crash_reporter({});
}
BENCHMARK(BM_SupervisorRestart)->UseRealTime()->Unit(benchmark::kNanosecond);

}  // namespace
