// examples/echo_server.cpp - one process per connection, straight-line code.
//   build/release/examples/echo_server [port]      (default 7000; Ctrl-C to stop)
//   then: nc 127.0.0.1 7000
#include <coproc/coproc.hpp>
#include <cstdio>
#include <cstdlib>

using namespace coproc;
using namespace std::chrono_literals;

process connection(tcp_stream s) {
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
  if (listener.local().port() == port && self().core == 0) {
    std::printf("echo server on %s\n", listener.local().to_string().c_str());
    std::fflush(stdout);
  }
  for (;;) {
    tcp_stream s = co_await listener.accept();
    spawn(connection, std::move(s));
  }
}

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7000);
  // One acceptor per core on SO_REUSEPORT listeners: the kernel spreads connections.
  return coproc::run([port]() -> process {
    const auto cores = static_cast<unsigned>(runtime_stats().size());
    for (unsigned c = 1; c < cores; ++c) spawn_on(c, acceptor, port);
    co_await acceptor(port);
  });
}
