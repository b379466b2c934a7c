// examples/echo_server.cpp - one process per connection, straight-line code.
//   build/release/examples/echo_server [port]      (default 7000)
//   then: nc 127.0.0.1 7000
// SIGTERM or SIGINT: stop accepting, give open connections up to 5 s to finish, exit 0.
#include <atomic>
#include <coproc/coproc.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace coproc;
using namespace std::chrono_literals;

namespace {

std::atomic<int> g_open{0};  // connections being served, for the graceful stop

process connection(tcp_stream s) {
  struct counted {
    counted() { g_open.fetch_add(1, std::memory_order_relaxed); }
    counted(const counted&) = delete;
    counted& operator=(const counted&) = delete;
    ~counted() { g_open.fetch_sub(1, std::memory_order_relaxed); }
  } const count;
  char buf[16 * 1024];
  try {
    while (std::size_t n = co_await s.read_some(buf, 60s)) {
      co_await s.write_all({buf, n}, 10s);
    }
  } catch (const std::system_error& e) {
    // A reset or an idle timeout ends this connection only.
  }
}

process acceptor(std::uint16_t port) {
  auto listener =
      tcp_listener::bind(socket_address::any_v4(port), {.reuse_port = true, .multishot = true});
  if (self().core == 0) {
    std::printf("echo server on %s\n", listener.local().to_string().c_str());
    std::fflush(stdout);
  }
  for (;;) {
    tcp_stream s = co_await listener.accept();  // out of descriptors: it waits, not throws
    spawn(connection, std::move(s));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7000);
  // One acceptor per core on SO_REUSEPORT listeners: the kernel spreads connections.
  return coproc::run([port]() -> process {
    trap_signal(SIGTERM);
    trap_signal(SIGINT);
    const auto cores = static_cast<unsigned>(runtime_stats().size());
    std::vector<pid> acceptors;
    for (unsigned c = 0; c < cores; ++c) acceptors.push_back(spawn_on(c, acceptor, port));
    const int signo = co_await receive([](atom<"signal">, int s) { return s; });
    for (const pid& a : acceptors) exit(a, exit_reason::shutdown());  // closes the listeners
    std::printf("echo server: signal %d: waiting for %d connections\n", signo, g_open.load());
    std::fflush(stdout);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (g_open.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      co_await sleep_for(10ms);
    }
    std::printf("echo server: stopped\n");
  });
}
