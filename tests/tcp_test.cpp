// Loopback tests of the io_uring TCP layer (127.0.0.1 only, bounded in time).
#include <gtest/gtest.h>

#include <coproc/coproc.hpp>
#include <numeric>
#include <string>
#include <vector>

using namespace coproc;
using namespace std::chrono_literals;

namespace {

process echo_once(tcp_stream s) {
  char buf[4096];
  try {
    while (std::size_t n = co_await s.read_some(buf, 5s)) co_await s.write_all({buf, n}, 5s);
  } catch (const std::system_error&) {
  }
}

process echo_acceptor(tcp_listener l, int connections) {
  for (int i = 0; i < connections; ++i) spawn(echo_once, co_await l.accept(5s));
}

}  // namespace

TEST(Tcp, AnEchoRoundTripOverLoopbackReturnsTheSameBytes) {
  std::string got;
  int rc = coproc::run([&]() -> process {
    auto l = tcp_listener::bind(socket_address::loopback_v4(0));
    const auto at = l.local();
    spawn(echo_acceptor, std::move(l), 1);
    tcp_stream c = co_await tcp_stream::connect(at, 5s);
    co_await c.write_all(std::string_view("hello, coproc"), 5s);
    std::string buf(13, '\0');
    co_await c.read_exact(std::span<char>(buf.data(), buf.size()), 5s);
    got = buf;
    EXPECT_EQ(c.peer().port(), at.port());
    EXPECT_EQ(c.local().ip(), "127.0.0.1");
  }, options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, "hello, coproc");
}

TEST(Tcp, IPv6LoopbackWorksToo) {
  std::string got;
  int rc = coproc::run([&]() -> process {
    auto l = tcp_listener::bind(socket_address::loopback_v6(0));
    const auto at = l.local();
    EXPECT_EQ(at.to_string().front(), '[');
    spawn(echo_acceptor, std::move(l), 1);
    tcp_stream c = co_await tcp_stream::connect(at, 5s);
    co_await c.write_all(std::string_view("six"), 5s);
    std::string buf(3, '\0');
    co_await c.read_exact(std::span<char>(buf.data(), 3), 5s);
    got = buf;
  }, options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, "six");
}

TEST(Tcp, AReadWithATimeoutThrowsTimedOutWhenNothingArrives) {
  std::error_code ec;
  std::chrono::steady_clock::duration waited{};
  coproc::run([&]() -> process {
    auto l = tcp_listener::bind(socket_address::loopback_v4(0));
    const auto at = l.local();
    tcp_stream c = co_await tcp_stream::connect(at, 5s);
    tcp_stream server_side = co_await l.accept(5s);  // never writes
    char buf[16];
    const auto t0 = std::chrono::steady_clock::now();
    try {
      co_await c.read_some(buf, 50ms);
    } catch (const std::system_error& e) {
      ec = e.code();
    }
    waited = std::chrono::steady_clock::now() - t0;
  }, options{.cores = 1});
  EXPECT_EQ(ec, std::make_error_code(std::errc::timed_out));
  EXPECT_GE(waited, 45ms);
  EXPECT_LT(waited, 2s);
}

TEST(Tcp, ConnectingToAClosedPortThrowsConnectionRefused) {
  std::error_code ec;
  coproc::run([&]() -> process {
    std::uint16_t port = 0;
    {
      auto l = tcp_listener::bind(socket_address::loopback_v4(0));
      port = l.local().port();
    }  // closed again: nobody listens there now
    try {
      co_await tcp_stream::connect(socket_address::loopback_v4(port), 5s);
    } catch (const std::system_error& e) {
      ec = e.code();
    }
  }, options{.cores = 1});
  EXPECT_EQ(ec, std::error_code(ECONNREFUSED, std::system_category()));
}

TEST(Tcp, HalfCloseLetsThePeerReadEndOfStreamAndStillReply) {
  std::string reply;
  coproc::run([&]() -> process {
    auto l = tcp_listener::bind(socket_address::loopback_v4(0));
    const auto at = l.local();
    spawn([](tcp_listener l) -> process {
      tcp_stream s = co_await l.accept(5s);
      std::string all;
      char buf[64];
      while (std::size_t n = co_await s.read_some(buf, 5s)) all.append(buf, n);  // until EOF
      co_await s.write_all("got:" + all, 5s);
    }, std::move(l));
    tcp_stream c = co_await tcp_stream::connect(at, 5s);
    co_await c.write_all(std::string_view("abc"), 5s);
    c.shutdown_write();
    char buf[64];
    while (std::size_t n = co_await c.read_some(buf, 5s)) reply.append(buf, n);
  }, options{.cores = 2});
  EXPECT_EQ(reply, "got:abc");
}

TEST(Tcp, ReadExactThrowsEofWhenTheStreamEndsFirst) {
  std::error_code ec;
  coproc::run([&]() -> process {
    auto l = tcp_listener::bind(socket_address::loopback_v4(0));
    const auto at = l.local();
    spawn([](tcp_listener l) -> process {
      tcp_stream s = co_await l.accept(5s);
      co_await s.write_all(std::string_view("12"), 5s);
    }, std::move(l));  // then closes
    tcp_stream c = co_await tcp_stream::connect(at, 5s);
    char buf[8];
    try {
      co_await c.read_exact(buf, 5s);
    } catch (const std::system_error& e) {
      ec = e.code();
    }
  }, options{.cores = 1});
  EXPECT_EQ(ec, make_error_code(io_errc::eof));
}

TEST(Tcp, SixtyFourMebibytesArriveByteForByte) {
  constexpr std::size_t kBytes = 64u << 20;
  bool same = false;
  coproc::run([&]() -> process {
    auto l = tcp_listener::bind(socket_address::loopback_v4(0));
    const auto at = l.local();
    spawn([](tcp_listener l) -> process {
      tcp_stream s = co_await l.accept(5s);
      std::vector<char> chunk(1 << 20);
      for (std::size_t off = 0; off < kBytes; off += chunk.size()) {
        for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>((off + i) * 131 % 251);
        co_await s.write_all({chunk.data(), chunk.size()}, 30s);
      }
    }, std::move(l));
    tcp_stream c = co_await tcp_stream::connect(at, 5s);
    std::vector<char> buf(256 * 1024);
    std::size_t total = 0;
    bool ok = true;
    while (std::size_t n = co_await c.read_some(buf, 30s)) {
      for (std::size_t i = 0; i < n; ++i) {
        ok = ok && buf[i] == static_cast<char>((total + i) * 131 % 251);
      }
      total += n;
    }
    same = ok && total == kBytes;
  }, options{.cores = 2});
  EXPECT_TRUE(same);
}

TEST(Tcp, AHandedOverStringIsWrittenWholeAndOutlivesAKilledWriter) {
  // write_all(std::move(s)) writes from s's own bytes, which the operation keeps: a writer
  // killed mid-write frees nothing the kernel still reads (ASan would see it), and every
  // byte the peer gets is the string's.
  constexpr std::size_t kWhole = 8u << 20;
  constexpr std::size_t kStuck = 64u << 20;  // far more than loopback's socket buffers
  auto pattern = [](std::size_t i) { return static_cast<char>(i * 131 % 251); };
  bool whole_ok = false;
  bool prefix_ok = false;
  std::size_t prefix = 0;
  bool still_serving = false;
  coproc::run([&]() -> process {
    auto l = tcp_listener::bind(socket_address::loopback_v4(0));
    const auto at = l.local();
    auto writer = [pattern](tcp_stream s, std::size_t n) -> process {
      std::string bytes(n, '\0');
      for (std::size_t i = 0; i < n; ++i) bytes[i] = pattern(i);
      co_await s.write_all(std::move(bytes), 30s);
    };
    auto read_all = [pattern](tcp_stream& c, std::size_t& total) -> subroutine<bool> {
      std::vector<char> buf(256 * 1024);
      bool ok = true;
      while (std::size_t n = co_await c.read_some(buf, 30s)) {
        for (std::size_t i = 0; i < n; ++i) ok = ok && buf[i] == pattern(total + i);
        total += n;
      }
      co_return ok;
    };
    {
      tcp_stream c = co_await tcp_stream::connect(at, 5s);
      spawn(writer, co_await l.accept(5s), kWhole);
      std::size_t total = 0;
      const bool ok = co_await read_all(c, total);
      whole_ok = ok && total == kWhole;
    }
    {
      tcp_stream c = co_await tcp_stream::connect(at, 5s);
      const pid w = spawn(writer, co_await l.accept(5s), kStuck);
      co_await sleep_for(50ms);  // the kernel has taken what fits, and waits for room
      exit(w, exit_reason::kill());
      const bool ok = co_await read_all(c, prefix);
      prefix_ok = ok && prefix > 0 && prefix < kStuck;
    }
    spawn(echo_acceptor, std::move(l), 1);
    tcp_stream c = co_await tcp_stream::connect(at, 5s);
    co_await c.write_all("x", 5s);  // a literal still takes the copying form
    char b = 0;
    co_await c.read_exact(std::span<char>(&b, 1), 5s);
    still_serving = b == 'x';
  }, options{.cores = 1});
  EXPECT_TRUE(whole_ok);
  EXPECT_TRUE(prefix_ok) << prefix;
  EXPECT_TRUE(still_serving);
}

TEST(Tcp, AThousandConcurrentConnectionsAreAllServed) {
  constexpr int kConns = 1000;
  int served = 0;
  coproc::run([&]() -> process {
    auto l = tcp_listener::bind(socket_address::loopback_v4(0), {.backlog = 4096, .multishot = true});
    const auto at = l.local();
    spawn(echo_acceptor, std::move(l), kConns);
    const pid me = self();
    for (int i = 0; i < kConns; ++i) {
      spawn([at, me, i]() -> process {
        bool ok = false;
        try {
          tcp_stream c = co_await tcp_stream::connect(at, 10s);
          const std::string msg = "client " + std::to_string(i);
          co_await c.write_all(msg, 10s);
          std::string back(msg.size(), '\0');
          co_await c.read_exact(std::span<char>(back.data(), back.size()), 10s);
          ok = back == msg;
        } catch (const std::system_error&) {
        }
        send(me, ok);
      });
    }
    for (int i = 0; i < kConns; ++i) {
      if (co_await receive([](bool ok) { return ok; }, after(20s, [] { return false; }))) ++served;
    }
  }, options{.cores = 2});
  EXPECT_EQ(served, kConns);
}

TEST(Tcp, KillingAProcessWithAReadInFlightCancelsItAndLeaksNothing) {
  bool still_serving = false;
  coproc::run([&]() -> process {
    auto l = tcp_listener::bind(socket_address::loopback_v4(0));
    const auto at = l.local();
    tcp_stream keep = co_await tcp_stream::connect(at, 5s);
    tcp_stream server_side = co_await l.accept(5s);
    pid reader = spawn([](tcp_stream s) -> process {
      char buf[128];
      co_await s.read_some(buf);  // nothing ever comes
    }, std::move(server_side));
    co_await sleep_for(20ms);  // it is now waiting in the kernel
    exit(reader, exit_reason::kill());
    co_await sleep_for(20ms);
    EXPECT_FALSE(alive(reader));
    // The listener still works.
    spawn(echo_acceptor, std::move(l), 1);
    tcp_stream c = co_await tcp_stream::connect(at, 5s);
    co_await c.write_all(std::string_view("x"), 5s);
    char b = 0;
    co_await c.read_exact(std::span<char>(&b, 1), 5s);
    still_serving = b == 'x';
  }, options{.cores = 1});
  EXPECT_TRUE(still_serving);
}

TEST(Tcp, APeerResetEndsOnlyThatConnectionsProcess) {
  std::error_code ec;
  coproc::run([&]() -> process {
    auto l = tcp_listener::bind(socket_address::loopback_v4(0));
    const auto at = l.local();
    {
      tcp_stream c = co_await tcp_stream::connect(at, 5s);
      linger lg{1, 0};  // close with RST
      ::setsockopt(c.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      tcp_stream s = co_await l.accept(5s);
      c.close();
      co_await sleep_for(10ms);
      char buf[8];
      try {
        co_await s.read_some(buf, 5s);
        co_await s.write_all(std::string_view("late"), 5s);
        co_await s.read_some(buf, 5s);
      } catch (const std::system_error& e) {
        ec = e.code();
      }
    }
  }, options{.cores = 1});
  EXPECT_EQ(ec, std::error_code(ECONNRESET, std::system_category()));
}

TEST(TcpActive, OnceDeliversOneChunkAndThenWaitsForTheNextSetActive) {
  std::vector<std::string> chunks;
  bool second_waited = false;
  coproc::run([&]() -> process {
    auto l = tcp_listener::bind(socket_address::loopback_v4(0));
    const auto at = l.local();
    tcp_stream c = co_await tcp_stream::connect(at, 5s);
    tcp_stream s = co_await l.accept(5s);
    set_active(s, active_mode::once);
    co_await c.write_all(std::string_view("one"), 5s);
    chunks.push_back(co_await receive([](atom<"tcp">, socket_id, std::string d) { return d; },
                                      after(5s, [] { return std::string("timeout"); })));
    co_await c.write_all(std::string_view("two"), 5s);
    // Passive again: nothing is delivered until we ask.
    second_waited = co_await receive([](atom<"tcp">, socket_id, std::string) { return false; },
                                     after(50ms, [] { return true; }));
    set_active(s, active_mode::once);
    chunks.push_back(co_await receive([](atom<"tcp">, socket_id, std::string d) { return d; },
                                      after(5s, [] { return std::string("timeout"); })));
  }, options{.cores = 1});
  EXPECT_TRUE(second_waited);
  EXPECT_EQ(chunks, (std::vector<std::string>{"one", "two"}));
}

TEST(TcpActive, OneReceiveWaitsOnSocketDataOtherMessagesAndClose) {
  std::vector<std::string> events;
  coproc::run([&]() -> process {
    auto l = tcp_listener::bind(socket_address::loopback_v4(0));
    const auto at = l.local();
    tcp_stream c = co_await tcp_stream::connect(at, 5s);
    tcp_stream s = co_await l.accept(5s);
    const socket_id sid = s.id();
    set_active(s, active_mode::on);
    send(self(), atom<"note">{}, std::string("hello"));
    co_await c.write_all(std::string_view("data"), 5s);
    c.close();
    for (int i = 0; i < 3; ++i) {
      events.push_back(co_await receive(
          [&](atom<"tcp">, socket_id id, std::string d) { return id == sid ? "tcp:" + d : "?"; },
          [](atom<"note">, std::string n) { return "note:" + n; },
          [&](atom<"tcp_closed">, socket_id id) { return std::string(id == sid ? "closed" : "?"); },
          after(5s, [] { return std::string("timeout"); })));
    }
  }, options{.cores = 1});
  EXPECT_EQ(events, (std::vector<std::string>{"note:hello", "tcp:data", "closed"}));
}

TEST(TcpActive, ControllingProcessOnAnotherCoreGetsTheData) {
  std::string got;
  coproc::run([&]() -> process {
    auto l = tcp_listener::bind(socket_address::loopback_v4(0));
    const auto at = l.local();
    tcp_stream c = co_await tcp_stream::connect(at, 5s);
    tcp_stream s = co_await l.accept(5s);
    const pid me = self();
    pid other = spawn_on(1, [me]() -> process {
      auto d = co_await receive([](atom<"tcp">, socket_id, std::string d) { return d; },
                                after(5s, [] { return std::string("timeout"); }));
      send(me, d);
    });
    controlling_process(s, other);
    set_active(s, active_mode::once);
    co_await c.write_all(std::string_view("handed over"), 5s);
    got = co_await receive([](std::string d) { return d; },
                           after(5s, [] { return std::string("timeout"); }));
  }, options{.cores = 2});
  EXPECT_EQ(got, "handed over");
}

TEST(Udp, ADatagramGoesThereAndBackWithTheSendersAddress) {
  std::string got;
  std::uint16_t from_port = 0, client_port = 1;
  coproc::run([&]() -> process {
    auto server = udp_socket::bind(socket_address::loopback_v4(0));
    auto client = udp_socket::bind(socket_address::loopback_v4(0));
    client_port = client.local().port();
    co_await client.send_to(std::string_view("ping"), server.local(), 5s);
    char buf[64];
    auto [n, from] = co_await server.receive_from(buf, 5s);
    from_port = from.port();
    co_await server.send_to(std::string_view(buf, n), from, 5s);
    auto [m, back_from] = co_await client.receive_from(buf, 5s);
    got.assign(buf, m);
  }, options{.cores = 1});
  EXPECT_EQ(got, "ping");
  EXPECT_EQ(from_port, client_port);
}

TEST(Udp, ReceiveFromTimesOutWhenNothingComes) {
  std::error_code ec;
  coproc::run([&]() -> process {
    auto u = udp_socket::bind(socket_address::loopback_v4(0));
    char buf[8];
    try {
      co_await u.receive_from(buf, 30ms);
    } catch (const std::system_error& e) {
      ec = e.code();
    }
  }, options{.cores = 1});
  EXPECT_EQ(ec, std::make_error_code(std::errc::timed_out));
}

TEST(TcpAccept, ConnectionsThatArriveBeforeAcceptAreQueuedNotLost) {
  int accepted = 0;
  coproc::run([&]() -> process {
    auto l = tcp_listener::bind(socket_address::loopback_v4(0), {.multishot = true});
    const auto at = l.local();
    // Arm the listener's multishot accept, then let connections pile up unaccepted.
    try {
      co_await l.accept(1ms);
    } catch (const std::system_error&) {
    }
    std::vector<tcp_stream> clients;
    for (int i = 0; i < 5; ++i) clients.push_back(co_await tcp_stream::connect(at, 5s));
    co_await sleep_for(20ms);
    for (int i = 0; i < 5; ++i) {
      tcp_stream s = co_await l.accept(1s);
      if (s.is_open()) ++accepted;
    }
  }, options{.cores = 1});
  EXPECT_EQ(accepted, 5);
}

TEST(TcpAccept, AcceptWithATimeoutThrowsTimedOutAndTheListenerStillWorks) {
  for (bool multishot : {false, true}) {
  std::error_code ec;
  bool later_ok = false;
  coproc::run([&]() -> process {
    auto l = tcp_listener::bind(socket_address::loopback_v4(0), {.multishot = multishot});
    const auto at = l.local();
    try {
      co_await l.accept(30ms);
    } catch (const std::system_error& e) {
      ec = e.code();
    }
    tcp_stream c = co_await tcp_stream::connect(at, 5s);
    tcp_stream s = co_await l.accept(5s);
    later_ok = s.is_open() && c.is_open();
  }, options{.cores = 1});
  EXPECT_EQ(ec, std::make_error_code(std::errc::timed_out)) << "multishot " << multishot;
  EXPECT_TRUE(later_ok) << "multishot " << multishot;
  }
}

TEST(TcpAccept, AProcessOnAnotherCoreCanAcceptFromTheSameListener) {
  bool ok = false;
  coproc::run([&]() -> process {
    auto l = tcp_listener::bind(socket_address::loopback_v4(0));
    const auto at = l.local();
    tcp_stream c1 = co_await tcp_stream::connect(at, 5s);
    tcp_stream s1 = co_await l.accept(5s);
    const pid me = self();
    spawn_on(1, [me](tcp_listener* lp) -> process {
      tcp_stream s = co_await lp->accept(5s);
      send(me, s.is_open());
    }, &l);
    co_await sleep_for(10ms);
    tcp_stream c2 = co_await tcp_stream::connect(at, 5s);
    ok = co_await receive([](bool b) { return b; }, after(5s, [] { return false; }));
  }, options{.cores = 2});
  EXPECT_TRUE(ok);
}
