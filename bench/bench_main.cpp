// bench/bench_main.cpp - Google Benchmark's main, plus one line of context: the I/O
// backend the runtimes of this run get ("coproc_backend: io_uring" or "epoll"), chosen as
// every benchmark's runtime chooses it (options.backend automatic, so COPROC_BACKEND
// decides when set). It appears in the console header and in the JSON's "context", where
// bench/table.py reads it.
#include <benchmark/benchmark.h>

#include <coproc/coproc.hpp>
#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  const char* backend = "unknown";
  try {
    coproc::runtime rt{coproc::options{.cores = 1}};
    backend = coproc::backend_name(rt.backend());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "coproc_bench: no runtime: %s\n", e.what());
    return 1;
  }
  benchmark::AddCustomContext("coproc_backend", backend);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
