// Peer benchmarks, coproc side. See bench/WORKLOADS.md for the workload definitions;
// this is the same program as bench/peers/{erlang,go,caf}, written with coproc.
//
//   coproc-peers <workload> [--cores N]
//
// workload: ring pingpong pingpong_cross skynet spawn_idle fanin timers timers_steady selective
// --cores N: the runtime's event loops (default 0 = every hardware core).
// Prints `RESULT system=coproc workload=... metric=... value=... unit=...` lines;
// exits 1 when a validity check fails, 2 on a usage error.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <coproc/coproc.hpp>

namespace {

using namespace coproc;
using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

void result(const char* w, const char* metric, double value, const char* unit) {
  std::printf("RESULT system=coproc workload=%s metric=%s value=%.3f unit=%s\n", w, metric,
              value, unit);
  std::fflush(stdout);
}

double ms_since(clk::time_point t0, clk::time_point t1) {
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}
double s_since(clk::time_point t0, clk::time_point t1) {
  return std::chrono::duration<double>(t1 - t0).count();
}

// VmRSS from /proc/self/status, in bytes (as every peer reads it).
std::int64_t vm_rss() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

// Set by a workload's main process when a validity check fails.
bool g_failed = false;
void fail(const char* what, long long a = 0, long long b = 0) {
  std::fprintf(stderr, "check failed: %s (%lld, %lld)\n", what, a, b);
  g_failed = true;
}

// ---------------------------------------------------------------- ring
constexpr int kRingN = 10'000;
constexpr int kRingM = 1'000'000;

process ring_node(int index, pid next, pid main) {
  for (;;) {
    int k = co_await receive<int>();
    if (k == 0) {
      send(main, atom<"done">{}, index);
    } else {
      send(next, k - 1);
    }
  }
}

// Node 0 is spawned first, so it learns its successor by message.
process ring_first(pid main) {
  pid next = co_await receive<pid>();
  co_await ring_node(0, next, main);
}

process ring() {
  const pid main = self();
  const auto t0 = clk::now();
  const pid first = spawn(ring_first, main);
  pid next = first;
  for (int i = kRingN - 1; i >= 1; --i) next = spawn(ring_node, i, next, main);
  send(first, next);
  const auto t1 = clk::now();
  send(first, kRingM);
  const int last = co_await receive([](atom<"done">, int i) { return i; });
  const auto t2 = clk::now();
  // Node i gets the token after i hops, so hop M ends on node M mod N.
  if (last != kRingM % kRingN) fail("ring: token ended on the wrong node", last);
  result("ring", "spawn_ms", ms_since(t0, t1), "ms");
  result("ring", "hops_per_s", kRingM / s_since(t1, t2), "hops/s");
}

// ------------------------------------------------------------ pingpong
constexpr int kRoundTrips = 1'000'000;

process pong() {
  for (;;) {
    pid from = co_await receive([](atom<"ping">, pid p) { return p; });
    send(from, atom<"pong">{});
  }
}

process ping(pid pong_pid, pid main) {
  co_await receive<atom<"go">>();
  const pid me = self();
  for (int i = 0; i < kRoundTrips; ++i) {
    send(pong_pid, atom<"ping">{}, me);
    co_await receive<atom<"pong">>();
  }
  send(main, atom<"done">{});
}

// cross = false: both where the runtime places them (the spawning core, core 0);
// cross = true: ping on core 0, pong on core 1.
process pingpong(bool cross, const char* name) {
  const pid pong_pid = cross ? spawn_on(1, pong) : spawn(pong);
  const pid ping_pid = cross ? spawn_on(0, ping, pong_pid, self()) : spawn(ping, pong_pid, self());
  const auto t0 = clk::now();
  send(ping_pid, atom<"go">{});
  co_await receive<atom<"done">>();
  const auto t1 = clk::now();
  // pong is left blocked in receive; the runtime stops it when it is destroyed.
  result(name, "ns_per_roundtrip",
         std::chrono::duration<double, std::nano>(t1 - t0).count() / kRoundTrips, "ns");
}

// -------------------------------------------------------------- skynet
process skynet_node(pid parent, std::int64_t num, std::int64_t size) {
  if (size == 1) {
    send(parent, num);
    co_return;
  }
  const std::int64_t sub = size / 10;
  const pid me = self();
  for (std::int64_t i = 0; i < 10; ++i) spawn(skynet_node, me, num + i * sub, sub);
  std::int64_t sum = 0;
  for (int i = 0; i < 10; ++i) sum += co_await receive<std::int64_t>();
  send(parent, sum);
}

process skynet() {
  const auto t0 = clk::now();
  spawn(skynet_node, self(), std::int64_t{0}, std::int64_t{1'000'000});
  const std::int64_t sum = co_await receive<std::int64_t>();
  const auto t1 = clk::now();
  if (sum != 499'999'500'000) fail("skynet: wrong sum", sum);
  result("skynet", "wall_ms", ms_since(t0, t1), "ms");
}

// ---------------------------------------------------------- spawn_idle
constexpr int kIdle = 1'000'000;

process idle(pid main) {
  send(main, atom<"ready">{});
  co_await receive<atom<"stop">>();
}

process spawn_idle() {
  const pid main = self();
  const std::int64_t rss0 = vm_rss();
  const auto t0 = clk::now();
  std::vector<pid> pids;  // the handles, 16 bytes per process (counted in the RSS)
  pids.reserve(kIdle);
  for (int i = 0; i < kIdle; ++i) pids.push_back(spawn(idle, main));
  for (int i = 0; i < kIdle; ++i) co_await receive<atom<"ready">>();
  const auto t1 = clk::now();
  const std::int64_t rss1 = vm_rss();
  for (const pid& p : pids) send(p, atom<"stop">{});
  result("spawn_idle", "spawn_ms", ms_since(t0, t1), "ms");
  result("spawn_idle", "rss_bytes_per_process", static_cast<double>(rss1 - rss0) / kIdle,
         "bytes");
}

// --------------------------------------------------------------- fanin
constexpr int kSenders = 1'000;
constexpr int kPerSender = 10'000;
constexpr int kFaninTotal = kSenders * kPerSender;

process fanin_receiver(pid main) {
  for (int i = 0; i < kFaninTotal; ++i) co_await receive<int>();
  send(main, atom<"counted">{});
}

process fanin_sender(pid to) {
  co_await receive<atom<"go">>();
  for (int i = 0; i < kPerSender; ++i) send(to, i);
}

process fanin() {
  const pid recv = spawn(fanin_receiver, self());
  std::vector<pid> senders;
  senders.reserve(kSenders);
  for (int s = 0; s < kSenders; ++s) senders.push_back(spawn(fanin_sender, recv));
  const auto t0 = clk::now();
  for (const pid& p : senders) send(p, atom<"go">{});
  co_await receive<atom<"counted">>();
  const auto t1 = clk::now();
  result("fanin", "msgs_per_s", kFaninTotal / s_since(t0, t1), "msgs/s");
}

// -------------------------------------------------------------- timers
constexpr int kTimers = 100'000;

process timer_proc(pid main) {
  const auto deadline = clk::now() + 10ms;
  co_await receive(after(10ms, [] {}));  // receive after 10 -> ok end
  const auto late = std::chrono::duration_cast<std::chrono::microseconds>(clk::now() - deadline);
  send(main, atom<"late">{}, static_cast<std::int64_t>(late.count()));
}

process timers() {
  const pid main = self();
  std::vector<std::int64_t> lates;
  lates.reserve(kTimers);
  const auto t0 = clk::now();
  for (int i = 0; i < kTimers; ++i) spawn(timer_proc, main);
  for (int i = 0; i < kTimers; ++i) {
    lates.push_back(co_await receive([](atom<"late">, std::int64_t us) { return us; }));
  }
  const auto t1 = clk::now();
  std::sort(lates.begin(), lates.end());
  auto pct = [&](int p) {  // nearest rank
    return static_cast<double>(lates[std::max(1, (kTimers * p + 99) / 100) - 1]);
  };
  result("timers", "wall_ms", ms_since(t0, t1), "ms");
  result("timers", "late_p50_us", pct(50), "us");
  result("timers", "late_p99_us", pct(99), "us");
}

// ------------------------------------------------------- timers_steady
constexpr int kSteady = 100'000;
constexpr auto kSteadyFor = 3s;
constexpr std::int64_t kHistUs = 1'000'000;  // 1 us buckets up to 1 s; the last: 1 s or more

// One lateness histogram per core: a process records only into its own core's, so no
// atomics; main reads them after every process has said it is done.
std::vector<std::vector<std::uint32_t>> g_hist;

process steady_proc(pid main, clk::time_point end) {
  std::vector<std::uint32_t>& hist = g_hist[self().core];
  for (;;) {
    const auto deadline = clk::now() + 10ms;
    co_await receive(after(10ms, [] {}));  // receive after 10 -> ok end, in a loop
    const auto now = clk::now();
    const auto late = std::chrono::duration_cast<std::chrono::microseconds>(now - deadline);
    if (late.count() < 0) fail("timers_steady: a timeout fired early", late.count());
    ++hist[static_cast<std::size_t>(std::clamp<std::int64_t>(late.count(), 0, kHistUs))];
    if (now >= end) break;
  }
  send(main, atom<"done">{});
}

// Nearest rank p (per mille) of the merged histogram.
double hist_rank(const std::vector<std::uint64_t>& h, std::uint64_t total, int per_mille) {
  const std::uint64_t rank = std::max<std::uint64_t>(1, (total * per_mille + 999) / 1000);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    seen += h[i];
    if (seen >= rank) return static_cast<double>(i);
  }
  return static_cast<double>(h.size() - 1);
}

process timers_steady() {
  const pid main = self();
  g_hist.assign(runtime_stats().size(), std::vector<std::uint32_t>(kHistUs + 1));
  const auto t0 = clk::now();
  const auto end = t0 + kSteadyFor;
  for (int i = 0; i < kSteady; ++i) spawn(steady_proc, main, end);
  for (int i = 0; i < kSteady; ++i) co_await receive<atom<"done">>();
  const auto t1 = clk::now();
  std::vector<std::uint64_t> h(kHistUs + 1);
  std::uint64_t total = 0;
  for (const auto& core : g_hist) {
    for (std::size_t i = 0; i < h.size(); ++i) {
      h[i] += core[i];
      total += core[i];
    }
  }
  if (total < static_cast<std::uint64_t>(kSteady)) fail("timers_steady: too few expiries", total);
  result("timers_steady", "late_p50_us", hist_rank(h, total, 500), "us");
  result("timers_steady", "late_p99_us", hist_rank(h, total, 990), "us");
  result("timers_steady", "late_p999_us", hist_rank(h, total, 999), "us");
  result("timers_steady", "expiries_per_s", static_cast<double>(total) / s_since(t0, t1),
         "expiries/s");
}

// ----------------------------------------------------------- selective
constexpr int kJunk = 1'000;
constexpr int kSelective = 100'000;

// Matches only {msg, _}; every {junk, _} stays queued ahead of the matches.
process selective_receiver(pid main) {
  int bad = -1;
  for (int i = 0; i < kSelective && bad < 0; ++i) {
    const int got = co_await receive([](atom<"msg">, int v) { return v; });
    if (got != i) bad = i;
  }
  // The junk must still be queued: take it out, counting, without waiting.
  int left = 0;
  while (co_await receive([](atom<"junk">, int) { return true; },
                          after(0ms, [] { return false; }))) {
    ++left;
  }
  send(main, atom<"done">{}, left, bad);
}

process selective() {
  const pid recv = spawn(selective_receiver, self());
  for (int i = 0; i < kJunk; ++i) send(recv, atom<"junk">{}, i);
  const auto t0 = clk::now();
  for (int i = 0; i < kSelective; ++i) send(recv, atom<"msg">{}, i);
  auto [left, bad] = co_await receive(
      [](atom<"done">, int l, int b) { return std::pair<int, int>{l, b}; });
  const auto t1 = clk::now();
  if (bad >= 0) fail("selective: message out of order at", bad);
  if (left != kJunk) fail("selective: junk left", left, kJunk);
  result("selective", "ns_per_receive",
         std::chrono::duration<double, std::nano>(t1 - t0).count() / kSelective, "ns");
}

// ---------------------------------------------------------------- main
int usage() {
  std::fprintf(stderr,
               "usage: coproc-peers <ring|pingpong|pingpong_cross|skynet|spawn_idle|fanin|"
               "timers|timers_steady|selective> [--cores N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string workload;
  unsigned cores = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--cores" && i + 1 < argc) {
      char* end = nullptr;
      const long n = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || n < 0 || n > 1000) return usage();
      cores = static_cast<unsigned>(n);
    } else if (a.rfind("--cores=", 0) == 0) {
      cores = static_cast<unsigned>(std::atoi(argv[i] + 8));
    } else if (workload.empty() && !a.starts_with("-")) {
      workload = a;
    } else {
      return usage();
    }
  }

  process (*body)() = nullptr;
  if (workload == "ring") body = ring;
  else if (workload == "skynet") body = skynet;
  else if (workload == "spawn_idle") body = spawn_idle;
  else if (workload == "fanin") body = fanin;
  else if (workload == "timers") body = timers;
  else if (workload == "timers_steady") body = timers_steady;
  else if (workload == "selective") body = selective;
  else if (workload != "pingpong" && workload != "pingpong_cross") return usage();

  runtime rt{options{.cores = cores}};
  if (workload == "pingpong_cross" && rt.cores() < 2) {
    std::fprintf(stderr, "pingpong_cross needs at least 2 cores\n");
    return 2;
  }
  std::fprintf(stderr, "coproc-peers %s: %u cores\n", workload.c_str(), rt.cores());
  int rc = 0;
  if (workload == "pingpong") {
    rc = rt.run([]() -> process { return pingpong(false, "pingpong"); });
  } else if (workload == "pingpong_cross") {
    rc = rt.run([]() -> process { return pingpong(true, "pingpong_cross"); });
  } else {
    rc = rt.run(body);
  }
  if (rc != 0) return 1;
  return g_failed ? 1 : 0;
}
