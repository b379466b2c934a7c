// examples/http_hello.cpp - HTTP/1.1 with keep-alive: GET / answers "Hello, World!",
// GET /stats shows live runtime counters.
//   build/release/examples/http_hello [port]     (default 8080)
//   wrk -t2 -c100 -d10s http://127.0.0.1:8080/
//
// One acceptor per core on an SO_REUSEPORT listener (the kernel spreads connections
// over the cores), one process per connection running serve_http (coproc/http_server.hpp):
// strict bounded parsing, pipelining, 408 for slow senders, idle timeouts.
// SIGTERM or SIGINT: stop accepting, let the requests in progress finish (at most 10 s),
// close idle connections, exit 0.
#include <coproc/coproc.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

using namespace coproc;
using namespace std::chrono_literals;

namespace {

// Messages per second since the previous /stats request (any connection).
struct rate_meter {
  std::mutex mu;
  std::uint64_t last_messages = 0;
  std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
};
rate_meter g_rate;

subroutine<std::string> stats_page() {
  const auto cores = runtime_stats();
  std::string body = "coproc runtime\n\nI/O backend: ";
  body += backend_name(cores.empty() ? io_backend_kind::automatic : cores[0].backend);
  body += "\n\ncore  processes  spawned     messages  sleeps\n";
  std::uint64_t total = 0;
  for (std::size_t c = 0; c < cores.size(); ++c) {
    char line[128];
    std::snprintf(line, sizeof line, "%4zu  %9llu  %7llu  %11llu  %6llu\n", c,
                  static_cast<unsigned long long>(cores[c].processes),
                  static_cast<unsigned long long>(cores[c].spawned),
                  static_cast<unsigned long long>(cores[c].messages),
                  static_cast<unsigned long long>(cores[c].sleeps));
    body += line;
    total += cores[c].messages;
  }
  {
    std::lock_guard lock(g_rate.mu);
    const auto now = std::chrono::steady_clock::now();
    const double secs = std::chrono::duration<double>(now - g_rate.last).count();
    const double rate = secs > 0 ? static_cast<double>(total - g_rate.last_messages) / secs : 0;
    body += "\nmessages/s since the last /stats: " + std::to_string(static_cast<long long>(rate)) +
            "\n";
    g_rate.last = now;
    g_rate.last_messages = total;
  }
  body += "\nlongest mailboxes:\n";
  for (const mailbox_info& m : co_await top_mailboxes(5, 500ms)) {
    body += "  " + to_string(m.who) + "  " + std::to_string(m.length) + "\n";
  }
  co_return body;
}

struct hello_app {
  subroutine<http_response> operator()(const http_request& req) {
    if (req.method != "GET" && req.method != "HEAD")
      co_return http_response{405, "text/plain", "method not allowed\n"};
    if (req.target == "/") co_return http_response{200, "text/plain", "Hello, World!"};
    if (req.target == "/stats") {
      // Named first: g++ 12 destroys temporaries of a braced initializer that holds a
      // co_await twice (see the README's "g++ 12 pitfall").
      std::string page = co_await stats_page();
      co_return http_response{200, "text/plain", std::move(page)};
    }
    co_return http_response{404, "text/plain", "not found\n"};
  }
};

process acceptor(std::uint16_t port, std::shared_ptr<http_drain> drain, pid parent) {
  auto listener =
      tcp_listener::bind(socket_address::any_v4(port), {.reuse_port = true, .multishot = true});
  send(parent, atom<"listening">{});
  const http_server_options opts{.drain = std::move(drain)};
  for (;;) {
    tcp_stream s = co_await listener.accept();  // out of descriptors: it waits, not throws
    spawn(serve_http<hello_app>, std::move(s), hello_app{}, opts);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8080);
  return coproc::run([port]() -> process {
    trap_signal(SIGTERM);
    trap_signal(SIGINT);
    auto drain = std::make_shared<http_drain>();
    const auto cores = static_cast<unsigned>(runtime_stats().size());
    std::vector<pid> acceptors;
    for (unsigned c = 0; c < cores; ++c) {
      acceptors.push_back(spawn_on(c, acceptor, port, drain, self()));
    }
    for (unsigned c = 0; c < cores; ++c) co_await receive([](atom<"listening">) {});
    std::printf("http_hello on 0.0.0.0:%u (%u cores)\n", port, cores);
    std::fflush(stdout);
    const int signo = co_await receive([](atom<"signal">, int s) { return s; });
    std::printf("http_hello: signal %d: draining %zu connections\n", signo, drain->open());
    std::fflush(stdout);
    for (const pid& a : acceptors) exit(a, exit_reason::shutdown());  // closes the listeners
    drain->start();
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (drain->open() > 0 && std::chrono::steady_clock::now() < deadline) {
      co_await sleep_for(10ms);
    }
    std::printf("http_hello: stopped, %zu connections left\n", drain->open());
  });
}
