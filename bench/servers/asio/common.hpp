// Shared setup for the Boost.Asio peers (echo.cpp, http.cpp): one io_context per
// thread (threads = cores by default, or argv[2]), each with its own acceptor on
// the same port (SO_REUSEPORT, so the kernel spreads connections over them), a
// coroutine per connection (co_spawn + use_awaitable), TCP_NODELAY. SIGTERM or
// SIGINT stops every io_context and main returns.
#pragma once

#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without including it (GCC 12)

#include <boost/asio.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

template <class Session>
awaitable<void> listener(tcp::acceptor acceptor, Session session) {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket s = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;  // EMFILE and friends: try again
    }
    s.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(acceptor.get_executor(), session(std::move(s)), asio::detached);
  }
}

// serve(argc, argv, name, session): session is a callable tcp::socket -> awaitable<void>.
template <class Session>
int serve(int argc, char** argv, const char* name, Session session) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s PORT [THREADS]\n", name);
    return 2;
  }
  const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
  unsigned threads =
      argc == 3 ? static_cast<unsigned>(std::atoi(argv[2])) : std::thread::hardware_concurrency();
  if (threads == 0) threads = 1;

  std::vector<std::unique_ptr<asio::io_context>> ctxs;
  for (unsigned i = 0; i < threads; ++i) {
    // concurrency hint 1: each io_context is run by exactly one thread.
    auto ctx = std::make_unique<asio::io_context>(1);
    tcp::acceptor acc(*ctx);
    const tcp::endpoint ep(asio::ip::address_v4::any(), port);
    acc.open(ep.protocol());
    acc.set_option(tcp::acceptor::reuse_address(true));
    acc.set_option(reuse_port(true));
    acc.bind(ep);
    acc.listen(1024);
    asio::co_spawn(*ctx, listener(std::move(acc), session), asio::detached);
    ctxs.push_back(std::move(ctx));
  }

  asio::signal_set signals(*ctxs[0], SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) {
    for (auto& c : ctxs) c->stop();
  });

  std::printf("asio %s server on 0.0.0.0:%u, %u threads\n", name, port, threads);
  std::fflush(stdout);
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&, i] { ctxs[i]->run(); });
  ctxs[0]->run();
  for (auto& c : ctxs) c->stop();
  for (auto& t : pool) t.join();
  return 0;
}
