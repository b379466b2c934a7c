// floor-peers timers_steady: the lateness an ideal timer would see on this machine.
//
// A virtual CPU is sometimes not running at all: the hypervisor, an interrupt or another
// process takes it, for up to several milliseconds, and the guest cannot see it (steal
// time reads 0 on some VMs). No timer implementation can fire during such a stall, so
// the stalls set a floor under every peer's lateness tail. This program measures that
// floor in the same run as the peers: one thread per CPU spins on CLOCK_MONOTONIC for
// as long as timers_steady lasts (3 s), records every gap between two consecutive reads
// longer than 5 us, and reports the lateness percentiles of a zero-cost timer whose
// deadlines are spread uniformly over time: a deadline that falls inside a stall of
// length g is late by the rest of the stall, so the fraction of deadlines later than x
// is sum(max(0, g - x)) / T over the CPU's stalls (averaged over the CPUs).
//
// Prints `RESULT system=floor workload=timers_steady metric=late_p50_us|late_p99_us|
// late_p999_us ...` lines, as the other peers do. Exits 2 on a usage error.
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

namespace {

constexpr std::int64_t kDurationNs = 3'000'000'000;  // timers_steady's 3 s
constexpr std::int64_t kStallNs = 5'000;             // a gap longer than this is a stall

std::int64_t now_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

std::vector<std::int64_t> spin_and_record(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  std::vector<std::int64_t> stalls;
  stalls.reserve(1 << 16);
  const std::int64_t end = now_ns() + kDurationNs;
  std::int64_t last = now_ns();
  for (;;) {
    const std::int64_t t = now_ns();
    if (t - last > kStallNs) stalls.push_back(t - last);
    last = t;
    if (t >= end) break;
  }
  return stalls;
}

// The fraction of uniformly spread deadlines later than x, averaged over the CPUs.
double fraction_later(const std::vector<std::vector<std::int64_t>>& per_cpu, std::int64_t x) {
  double sum = 0;
  for (const auto& stalls : per_cpu) {
    for (std::int64_t g : stalls) sum += static_cast<double>(std::max<std::int64_t>(0, g - x));
  }
  return sum / static_cast<double>(kDurationNs) / static_cast<double>(per_cpu.size());
}

// The smallest lateness (to 1 us) that at most `fraction` of the deadlines exceed.
std::int64_t percentile_us(const std::vector<std::vector<std::int64_t>>& per_cpu,
                           double fraction) {
  std::int64_t lo = 0;
  std::int64_t hi = kDurationNs;
  while (hi - lo > 1000) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    (fraction_later(per_cpu, mid) > fraction ? lo : hi) = mid;
  }
  return hi / 1000;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || std::strcmp(argv[1], "timers_steady") != 0) {
    std::fprintf(stderr, "usage: %s timers_steady\n", argv[0]);
    return 2;
  }
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  sched_getaffinity(0, sizeof allowed, &allowed);
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
  }
  std::vector<std::vector<std::int64_t>> per_cpu(cpus.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < cpus.size(); ++i) {
    threads.emplace_back([&per_cpu, &cpus, i] { per_cpu[i] = spin_and_record(cpus[i]); });
  }
  for (auto& t : threads) t.join();
  const struct {
    const char* metric;
    double fraction;
  } rows[] = {{"late_p50_us", 0.5}, {"late_p99_us", 0.01}, {"late_p999_us", 0.001}};
  for (const auto& r : rows) {
    std::printf("RESULT system=floor workload=timers_steady metric=%s value=%lld unit=us\n",
                r.metric, static_cast<long long>(percentile_us(per_cpu, r.fraction)));
  }
  return 0;
}
