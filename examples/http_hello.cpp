// examples/http_hello.cpp - HTTP/1.1 with keep-alive: GET / answers "Hello, World!",
// GET /stats shows live runtime counters.
//   build/release/examples/http_hello [port]     (default 8080)
//   wrk -t2 -c100 -d10s http://127.0.0.1:8080/
//
// One acceptor per core on an SO_REUSEPORT listener (the kernel spreads connections
// over the cores), one process per connection. The parser is strict and bounded
// (coproc/http.hpp): bad input gets 400/413/414/431/501/505 and a close, a request that
// trickles in gets 408 after 10 s, an idle keep-alive connection closes after 30 s.
#include <coproc/coproc.hpp>
#include <coproc/http.hpp>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

using namespace coproc;
using namespace std::chrono_literals;

namespace {

constexpr auto kIdle = 30s;
constexpr auto kRequestDeadline = 10s;

std::string response(int code, std::string_view type, std::string_view body, bool keep_alive) {
  std::string r = "HTTP/1.1 " + std::to_string(code) + " " + std::string(http_reason(code)) +
                  "\r\nServer: coproc\r\nContent-Type: " + std::string(type) +
                  "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (!keep_alive) r += "Connection: close\r\n";
  r += "\r\n";
  r += body;
  return r;
}

// Messages per second since the previous /stats request (any connection).
struct rate_meter {
  std::mutex mu;
  std::uint64_t last_messages = 0;
  std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
};
rate_meter g_rate;

subroutine<std::string> stats_page() {
  const auto cores = runtime_stats();
  std::string body = "coproc runtime\n\ncore  processes  spawned     messages  sleeps\n";
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

process connection(tcp_stream s) {
  static const std::string hello = response(200, "text/plain", "Hello, World!", true);
  const http_parser parser;
  std::string buf;
  char chunk[16 * 1024];
  try {
    auto started = std::chrono::steady_clock::now();
    for (;;) {
      http_parse_result r = parser.parse(buf);
      if (r.status == http_status::incomplete) {
        // Idle between requests; a deadline for the whole request once it has begun.
        auto limit = buf.empty() ? std::chrono::nanoseconds(kIdle)
                                 : kRequestDeadline - (std::chrono::steady_clock::now() - started);
        if (limit <= 0ns) {
          co_await s.write_all(response(408, "text/plain", "request timeout\n", false), 1s);
          co_return;
        }
        const std::size_t n = co_await s.read_some(chunk, limit);
        if (n == 0) co_return;
        if (buf.empty()) started = std::chrono::steady_clock::now();
        buf.append(chunk, n);
        continue;
      }
      if (r.status != http_status::complete) {
        const int code = static_cast<int>(r.status);
        co_await s.write_all(response(code, "text/plain", std::string(http_reason(code)) + "\n",
                                      false),
                             1s);
        co_return;
      }
      buf.erase(0, r.consumed);
      started = std::chrono::steady_clock::now();
      const http_request& req = r.request;
      if (req.method != "GET" && req.method != "HEAD") {
        co_await s.write_all(response(405, "text/plain", "method not allowed\n", req.keep_alive),
                             5s);
      } else if (req.target == "/") {
        if (req.keep_alive) {
          co_await s.write_all(hello, 5s);
        } else {
          co_await s.write_all(response(200, "text/plain", "Hello, World!", false), 5s);
        }
      } else if (req.target == "/stats") {
        co_await s.write_all(response(200, "text/plain", co_await stats_page(), req.keep_alive),
                             5s);
      } else {
        co_await s.write_all(response(404, "text/plain", "not found\n", req.keep_alive), 5s);
      }
      if (!req.keep_alive) co_return;
    }
  } catch (const std::system_error&) {
    // Reset, timeout or a closed peer: this connection ends, the server goes on.
  }
}

process acceptor(std::uint16_t port) {
  auto listener = tcp_listener::bind(socket_address::any_v4(port), {.reuse_port = true});
  for (;;) spawn(connection, co_await listener.accept());
}

}  // namespace

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8080);
  return coproc::run([port]() -> process {
    const auto cores = static_cast<unsigned>(runtime_stats().size());
    for (unsigned c = 0; c < cores; ++c) spawn_on(c, acceptor, port);
    std::printf("http_hello on 0.0.0.0:%u (%u cores)\n", port, cores);
    std::fflush(stdout);
    co_await receive(after(std::chrono::hours(24 * 365), [] {}));
  });
}
