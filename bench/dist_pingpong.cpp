// bench/dist_pingpong.cpp - the C++ peer of the remote ping-pong benchmark
// (bench/dist/run.sh, protocol in bench/dist/README.md, Erlang side in bench/dist/pong.erl).
//
//   coproc_dist_pingpong serve  --name NAME@HOST --cookie C
//   coproc_dist_pingpong client --name NAME@HOST --cookie C --peer NODE
//                               --mode rt|pipe|bin --seconds S
//
// serve: registers `pong` ({ping, From, N} -> From ! {pong, N}; {echo, From, Bin} ->
// From ! {echo, Bin}; `stop` ends it and the program), prints READY once the node is
// published in epmd, and runs until `stop` or SIGTERM/SIGINT.
// client: one warm-up round trip, then S seconds of `rt` (one ping in flight) or `pipe`
// (1000 in flight, one more per pong) or `bin` (one 10 MiB binary in flight, echoed; the
// result is MiB echoed per second), every ping sent to {pong, NODE}; after a pipe run
// it collects the pongs still in flight. It prints a `#` detail line and
// `RESULT mode=<mode> per_s=<integer>`, and exits 0; 1 (with the reason on stderr) when
// the peer cannot be reached or a pong does not come within 10 s; 2 on a bad command line.
// The epmd port comes from $ERL_EPMD_PORT (node::options::epmd_port = 0).
//
// Both run one event loop (options.cores = 1): a node's acceptor and every connection run
// on the node's core (node::options::core), and the pong process and the client are spawned
// there too, so a message never crosses cores. A lone loop does not spin when idle (see
// options::spin): it sleeps in the ring until a socket completes, which leaves the CPU to
// the kernel and to the other node of the pair on the same machine.
#include <coproc/coproc.hpp>
#include <coproc/node.hpp>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

using namespace coproc;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::int64_t kWindow = 1000;                    // pings in flight in pipe mode
constexpr auto kReplyTimeout = 10s;                       // a pong later than this fails the run
constexpr auto kConnectTimeout = 10s;                     // retrying node::ping this long
constexpr std::int64_t kClockEvery = 256;                 // steady_clock is read every 256 pongs
constexpr std::size_t kBinBytes = std::size_t{10} << 20;  // bin mode's binary

struct config {
  std::string command;  // serve | client
  std::string name;
  std::string cookie;
  std::string peer;
  std::string mode;  // rt | pipe | bin
  long seconds = 0;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "coproc_dist_pingpong: %s\n"
               "usage: coproc_dist_pingpong serve  --name NAME@HOST --cookie C\n"
               "       coproc_dist_pingpong client --name NAME@HOST --cookie C --peer NODE "
               "--mode rt|pipe|bin --seconds S\n",
               why);
  std::exit(2);
}

config parse(int argc, char** argv) {
  if (argc < 2) usage("missing command");
  config c;
  c.command = argv[1];
  if (c.command != "serve" && c.command != "client") usage("the command is serve or client");
  for (int i = 2; i < argc; i += 2) {
    const std::string_view key = argv[i];
    if (i + 1 >= argc) usage("an option without a value");
    const char* value = argv[i + 1];
    if (key == "--name") {
      c.name = value;
    } else if (key == "--cookie") {
      c.cookie = value;
    } else if (key == "--peer") {
      c.peer = value;
    } else if (key == "--mode") {
      c.mode = value;
    } else if (key == "--seconds") {
      char* end = nullptr;
      c.seconds = std::strtol(value, &end, 10);
      if (end == value || *end != '\0' || c.seconds <= 0)
        usage("--seconds takes a positive integer");
    } else {
      usage("unknown option");
    }
  }
  if (c.name.empty() || c.cookie.empty()) usage("--name and --cookie are required");
  if (c.command == "client") {
    if (c.peer.empty()) usage("client needs --peer");
    if (c.mode != "rt" && c.mode != "pipe" && c.mode != "bin") usage("--mode is rt, pipe or bin");
    if (c.seconds == 0) usage("client needs --seconds");
  }
  return c;
}

// A bench server is stopped by run.sh with SIGTERM. It holds nothing that needs an orderly
// end: READY was flushed long ago and nothing else is written; the kernel closes the
// sockets, so peers see the connection close, and epmd drops our name when the ALIVE2
// connection closes. Waking the event loops from a signal handler would need an
// async-signal-safe way into the runtime, which it does not offer, so the handler ends
// the program at once (_Exit is async-signal-safe; exit() is not).
extern "C" void on_stop_signal(int) {
  std::_Exit(0);
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

node::options node_options(const config& c) {
  node::options opts;
  opts.name = c.name;
  opts.cookie = c.cookie;
  return opts;
}

// ------------------------------------------------------------------------ server ---

process pong_server() {
  for (;;) {
    const bool more = co_await receive(
        [](atom<"ping">, pid from, std::int64_t n) {
          send(from, atom<"pong">{}, n);
          return true;
        },
        [](atom<"echo">, pid from, std::string& bin) {
          send(from, atom<"echo">{}, std::move(bin));
          return true;
        },
        [](atom<"stop">) { return false; },
        [](const message&) { return true; });  // anything else: dropped, as pong.erl does
    if (!more) co_return;
  }
}

process serve(config c) {
  co_await node::start(node_options(c));
  auto [pong, ref] = spawn_monitor(pong_server);
  register_name("pong", pong);  // before READY: a client may send at once
  std::printf("READY %s\n", node::self_name().c_str());
  std::fflush(stdout);
  co_await receive([](atom<"DOWN">, monitor_ref, pid, const exit_reason&) {});
  node::stop();
}

// ------------------------------------------------------------------------ client ---

// Why the client failed; printed on stderr by main, which then exits with 1.
std::string g_failure;
// The last crash report while connecting (a failed attempt), for g_failure.
std::string g_last_report;

// Awaited: one pong within kReplyTimeout, its N, or -1 when none came. (A plain receive
// awaitable rather than a subroutine: no coroutine frame per pong.)
auto next_pong() {
  return receive([](atom<"pong">, std::int64_t n) { return n; },
                 after(kReplyTimeout, [] { return std::int64_t{-1}; }));
}

process client(config c) {
  co_await node::start(node_options(c));

  // Connect first (as pong.erl's connect/1 does), retrying while the server comes up.
  // Each failed attempt ends a connection process with a crash report; only the last one
  // is kept, for the failure message (one core: the reporter runs on this thread).
  set_crash_reporter([](const crash_report& r) { g_last_report = format_crash_report(r); });
  const auto connect_until = clock_type::now() + kConnectTimeout;
  bool connected = false;
  while (!(connected = co_await node::ping(c.peer)) && clock_type::now() < connect_until) {
    co_await sleep_for(100ms);
  }
  set_crash_reporter({});
  if (!connected) {
    g_failure = "cannot connect to " + c.peer + " within 10 s" +
                (g_last_report.empty() ? "" : "; last attempt: " + g_last_report);
    co_return;
  }

  const remote_name target{"pong", c.peer};
  const pid me = self();

  send(target, atom<"ping">{}, me, std::int64_t{0});  // warm-up round trip
  if (co_await next_pong() != 0) {
    g_failure = "no pong from {pong, " + c.peer + "} for the warm-up ping";
    co_return;
  }

  const auto start = clock_type::now();
  const auto deadline = start + std::chrono::seconds(c.seconds);
  std::int64_t count = 0;        // pongs received while timing
  std::int64_t outstanding = 0;  // pings still in flight when the time is up
  if (c.mode == "rt") {
    for (;;) {
      const std::int64_t n = count + 1;
      send(target, atom<"ping">{}, me, n);
      const std::int64_t got = co_await next_pong();
      if (got != n) {
        g_failure = got < 0 ? "no pong for ping " + std::to_string(n)
                            : "pong " + std::to_string(got) + " for ping " + std::to_string(n);
        co_return;
      }
      count = n;
      if (count % kClockEvery == 0 && clock_type::now() >= deadline) break;
    }
  } else if (c.mode == "bin") {
    std::string payload(kBinBytes, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = "0123456789abcdef"[i % 16];
    for (;;) {
      send(target, atom<"echo">{}, me, payload);
      const std::size_t got =
          co_await receive([](atom<"echo">, const std::string& b) { return b.size(); },
                           after(kReplyTimeout, [] { return std::size_t{0}; }));
      if (got != payload.size()) {
        g_failure = got == 0 ? "no echo for round trip " + std::to_string(count + 1)
                             : "an echo of " + std::to_string(got) + " bytes";
        co_return;
      }
      ++count;
      if (clock_type::now() >= deadline) break;
    }
  } else {
    std::int64_t next = 1;
    for (; next <= kWindow; ++next) send(target, atom<"ping">{}, me, next);
    for (;;) {
      if (co_await next_pong() < 0) {
        g_failure = "pipe stalled after " + std::to_string(count) + " pongs";
        co_return;
      }
      ++count;
      if (count % kClockEvery == 0 && clock_type::now() >= deadline) break;
      send(target, atom<"ping">{}, me, next++);
    }
    outstanding = (next - 1) - count;
  }
  const std::chrono::duration<double> elapsed = clock_type::now() - start;

  for (std::int64_t k = outstanding; k > 0; --k) {  // the server is idle for the next run
    if (co_await next_pong() < 0) {
      g_failure = "drain stalled with " + std::to_string(k) + " pongs missing";
      co_return;
    }
  }

  const double per_round = c.mode == "bin" ? static_cast<double>(kBinBytes >> 20) : 1.0;
  const long long per_s = std::llround(static_cast<double>(count) * per_round / elapsed.count());
  std::printf("# mode=%s count=%lld elapsed_s=%.3f both_ways_per_s=%lld\n", c.mode.c_str(),
              static_cast<long long>(count), elapsed.count(), 2 * per_s);
  std::printf("RESULT mode=%s per_s=%lld\n", c.mode.c_str(), per_s);
  std::fflush(stdout);
  node::stop();
}

}  // namespace

int main(int argc, char** argv) {
  const config c = parse(argc, argv);
  install_signal_handlers();
  const options rt_options{.cores = 1};
  try {
    if (c.command == "serve") return coproc::run([c] { return serve(c); }, rt_options);
    const int rc = coproc::run([c] { return client(c); }, rt_options);
    if (!g_failure.empty()) {
      std::fprintf(stderr, "coproc_dist_pingpong client failed: %s\n", g_failure.c_str());
      return 1;
    }
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "coproc_dist_pingpong: %s\n", e.what());
    return 1;
  }
}
