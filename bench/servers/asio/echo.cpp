// TCP echo server, Boost.Asio C++20 coroutines: see common.hpp for the setup
// (an io_context and an SO_REUSEPORT acceptor per core, a coroutine per connection).
//   echo PORT [THREADS]
#include "common.hpp"

#include <array>

static awaitable<void> session(tcp::socket s) {
  std::array<char, 4096> buf;
  try {
    for (;;) {
      const std::size_t n = co_await s.async_read_some(asio::buffer(buf), use_awaitable);
      co_await asio::async_write(s, asio::buffer(buf.data(), n), use_awaitable);
    }
  } catch (const boost::system::system_error&) {
    // EOF or reset: the socket closes when the coroutine ends.
  }
}

int main(int argc, char** argv) {
  return serve(argc, argv, "echo", session);
}
