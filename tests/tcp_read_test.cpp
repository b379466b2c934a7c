// Reads of a TCP stream (read_some, read_exact) over loopback: bytes in order whatever
// the chunking, no byte lost to a timeout, a kill or a hand-over to another core, end of
// stream after the last unread byte, and a peer held back by a reader that does not read.
// They hold for both ways of reading (lib/net/tcp.cpp): the multishot receive into
// provided buffers (io_uring on Linux 6.0+) and one operation per read (epoll, older
// kernels); the one test that tells them apart says which it expects.
#include <gtest/gtest.h>
#include <sys/utsname.h>

#include <atomic>
#include <coproc/coproc.hpp>
#include <cstdio>
#include <string>
#include <vector>

using namespace coproc;
using namespace std::chrono_literals;

namespace {

char pattern(std::size_t i) {
  return static_cast<char>(i * 131 % 251);
}

std::string pattern_bytes(std::size_t from, std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = pattern(from + i);
  return s;
}

bool is_pattern(std::string_view got, std::size_t from) {
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i] != pattern(from + i)) return false;
  }
  return true;
}

// Writes `total` pattern bytes in chunks of `chunk`, pausing `pause` between them.
subroutine<void> write_pattern(tcp_stream& s, std::size_t total, std::size_t chunk,
                               std::chrono::milliseconds pause) {
  for (std::size_t off = 0; off < total; off += chunk) {
    const std::string bytes = pattern_bytes(off, std::min(chunk, total - off));
    co_await s.write_all(bytes, 10s);
    if (pause.count() > 0) co_await sleep_for(pause);
  }
}

// Whether this machine reads with the multishot receive: io_uring, and Linux 6.0 or later.
bool reads_are_multishot() {
  if (runtime_stats().front().backend != io_backend_kind::io_uring) return false;
  utsname u{};
  int major = 0;
  return ::uname(&u) == 0 && std::sscanf(u.release, "%d", &major) == 1 && major >= 6;
}

}  // namespace

TEST(TcpRead, BytesThatArriveBeforeTheReadAreReadInOrderInAnyChunkSize) {
  constexpr std::size_t kBytes = 20'000;
  std::string got;
  long ticks_during_reads = -1;
  bool multishot = false;
  coproc::run(
      [&]() -> process {
        multishot = reads_are_multishot();
        auto l = tcp_listener::bind(socket_address::loopback_v4(0));
        const auto at = l.local();
        spawn_on(
            1,
            [](socket_address at) -> process {
              tcp_stream c = co_await tcp_stream::connect(at, 5s);
              co_await write_pattern(c, kBytes, 100, 0ms);
            },
            at);
        tcp_stream s = co_await l.accept(5s);
        char first = 0;
        co_await s.read_exact(std::span<char>(&first, 1), 5s);  // the stream is being read now
        got.push_back(first);
        co_await sleep_for(50ms);  // everything else arrives meanwhile
        // A process on the same core that counts how often it gets to run.
        std::atomic<long> ticks{0};
        std::atomic<bool> stop{false};
        spawn_on(
            self().core,
            [](std::atomic<long>* t, std::atomic<bool>* stop) -> process {
              while (!stop->load()) {
                t->fetch_add(1);
                co_await yield();
              }
            },
            &ticks, &stop);
        co_await yield();  // the counter is running
        const long before = ticks.load();
        char buf[37];
        while (got.size() < kBytes) {
          const std::size_t n = co_await s.read_some(buf, 5s);
          if (n == 0) break;
          got.append(buf, n);
        }
        ticks_during_reads = ticks.load() - before;
        stop = true;
        co_await sleep_for(1ms);
      },
      options{.cores = 2});
  EXPECT_EQ(got.size(), kBytes);
  EXPECT_TRUE(is_pattern(got, 0));
  if (multishot) {
    // Every byte was already received: no read waited, so the counter never ran.
    EXPECT_EQ(ticks_during_reads, 0) << "multishot receive";
  } else {
    EXPECT_GT(ticks_during_reads, 0) << "one operation per read: each read waits its turn";
  }
}

TEST(TcpRead, ReadExactGathersItsBytesFromManySmallChunks) {
  constexpr std::size_t kBytes = 50'000;
  std::string got(kBytes, '\0');
  bool done = false;
  coproc::run(
      [&]() -> process {
        auto l = tcp_listener::bind(socket_address::loopback_v4(0));
        const auto at = l.local();
        spawn_on(
            1,
            [](socket_address at) -> process {
              tcp_stream c = co_await tcp_stream::connect(at, 5s);
              co_await write_pattern(c, kBytes, 1'000, 1ms);
            },
            at);
        tcp_stream s = co_await l.accept(5s);
        co_await s.read_exact(std::span<char>(got.data(), got.size()), 10s);
        done = true;
      },
      options{.cores = 2});
  EXPECT_TRUE(done);
  EXPECT_TRUE(is_pattern(got, 0));
}

TEST(TcpRead, EndOfStreamComesAfterEveryUnreadByteAndStays) {
  std::string got;
  std::vector<std::size_t> after_end;
  coproc::run(
      [&]() -> process {
        auto l = tcp_listener::bind(socket_address::loopback_v4(0));
        const auto at = l.local();
        spawn(
            [](socket_address at) -> process {
              tcp_stream c = co_await tcp_stream::connect(at, 5s);
              co_await write_pattern(c, 5'000, 5'000, 0ms);  // then it closes
            },
            at);
        tcp_stream s = co_await l.accept(5s);
        char buf[1'000];
        const std::size_t n = co_await s.read_some(buf, 5s);
        got.append(buf, n);
        co_await sleep_for(30ms);  // the rest and the end arrive before the next read
        while (const std::size_t m = co_await s.read_some(buf, 5s)) got.append(buf, m);
        after_end.push_back(co_await s.read_some(buf, 5s));
        after_end.push_back(co_await s.read_some(buf, 5s));
      },
      options{.cores = 1});
  EXPECT_EQ(got.size(), 5'000U);
  EXPECT_TRUE(is_pattern(got, 0));
  EXPECT_EQ(after_end, (std::vector<std::size_t>{0, 0}));
}

TEST(TcpRead, AReadThatTimesOutLosesNoByteThatComesLater) {
  std::string got;
  bool timed_out = false;
  coproc::run(
      [&]() -> process {
        auto l = tcp_listener::bind(socket_address::loopback_v4(0));
        const auto at = l.local();
        tcp_stream c = co_await tcp_stream::connect(at, 5s);
        tcp_stream s = co_await l.accept(5s);
        char buf[64];
        try {
          co_await s.read_some(buf, 20ms);
        } catch (const std::system_error& e) {
          timed_out = e.code() == std::errc::timed_out;
        }
        co_await c.write_all(std::string_view("abc"), 5s);
        co_await sleep_for(10ms);  // arrives while nobody reads
        co_await c.write_all(std::string_view("def"), 5s);
        std::string both(6, '\0');
        co_await s.read_exact(std::span<char>(both.data(), both.size()), 5s);
        got = both;
      },
      options{.cores = 1});
  EXPECT_TRUE(timed_out);
  EXPECT_EQ(got, "abcdef");
}

TEST(TcpRead, AStreamHandedToAProcessOnAnotherCoreKeepsItsBytesInOrder) {
  constexpr std::size_t kBytes = 300'000;
  std::string got;
  coproc::run(
      [&]() -> process {
        auto l = tcp_listener::bind(socket_address::loopback_v4(0));
        const auto at = l.local();
        spawn_on(
            1,
            [](socket_address at) -> process {
              tcp_stream c = co_await tcp_stream::connect(at, 5s);
              co_await write_pattern(c, kBytes, 3'000, 1ms);
            },
            at);
        tcp_stream s = co_await l.accept(5s);  // on core 0
        std::string head(10'000, '\0');
        co_await s.read_exact(std::span<char>(head.data(), head.size()), 5s);
        co_await sleep_for(5ms);  // more arrives for core 0's reader before the hand-over
        const pid me = self();
        // Core 1 reads the rest (bytes core 0 received first come first), then core 0 again.
        spawn_on(
            1,
            [](tcp_stream s, pid back) -> process {
              std::string mid(140'000, '\0');
              co_await s.read_exact(std::span<char>(mid.data(), mid.size()), 10s);
              send(back, std::move(mid), std::move(s));
            },
            std::move(s), me);
        auto [mid, stream] = co_await receive(
            [](std::string m, tcp_stream s) {
              return std::pair<std::string, tcp_stream>(std::move(m), std::move(s));
            },
            after(10s, [] { return std::pair<std::string, tcp_stream>(); }));
        got = head + mid;
        if (!stream.is_open()) co_return;
        char buf[4'096];
        while (got.size() < kBytes) {
          const std::size_t n = co_await stream.read_some(buf, 10s);
          if (n == 0) break;
          got.append(buf, n);
        }
      },
      options{.cores = 2});
  EXPECT_EQ(got.size(), kBytes);
  EXPECT_TRUE(is_pattern(got, 0));
}

TEST(TcpRead, APeerSendingToAReaderThatDoesNotReadIsHeldBackAndLosesNothing) {
  // The peer trickles 64 KiB at a time, so no burst runs the provided buffers out: only
  // the stream's own limit on unread bytes stops the receiving, and then the kernel's
  // socket buffers fill and the peer stalls. Without the limit all 32 MiB would go.
  constexpr std::size_t kBytes = std::size_t{32} << 20;
  constexpr std::size_t kChunk = std::size_t{64} << 10;
  std::atomic<std::size_t> sent{0};
  std::size_t sent_when_stalled = 0;
  std::size_t received = 0;
  bool in_order = true;
  coproc::run(
      [&]() -> process {
        auto l = tcp_listener::bind(socket_address::loopback_v4(0));
        const auto at = l.local();
        spawn_on(
            1,
            [](socket_address at, std::atomic<std::size_t>* sent) -> process {
              tcp_stream c = co_await tcp_stream::connect(at, 5s);
              // pattern() repeats every 251 bytes: every chunk is a window of one string.
              const std::string bytes = pattern_bytes(0, kChunk + 251);
              for (std::size_t off = 0; off < kBytes; off += kChunk) {
                co_await c.write_all(std::string_view(bytes).substr(off % 251, kChunk), 30s);
                sent->fetch_add(kChunk);
                co_await sleep_for(1ms);
              }
            },
            at, &sent);
        tcp_stream s = co_await l.accept(5s);
        char one = 0;
        co_await s.read_exact(std::span<char>(&one, 1), 5s);  // the stream is being read now
        in_order = one == pattern(0);
        // Not reading, until the peer has made no progress for 200 ms (or it sent it all).
        for (int i = 0; i < 100; ++i) {
          const std::size_t before = sent.load();
          co_await sleep_for(200ms);
          if (sent.load() == before || sent.load() == kBytes) break;
        }
        sent_when_stalled = sent.load();
        received = 1;
        std::vector<char> buf(std::size_t{64} * 1024);
        while (received < kBytes) {
          const std::size_t n = co_await s.read_some(buf, 30s);
          if (n == 0) break;
          in_order = in_order && is_pattern({buf.data(), n}, received);
          received += n;
        }
      },
      options{.cores = 2});
  EXPECT_LT(sent_when_stalled, kBytes) << "the peer was never held back";
  EXPECT_EQ(received, kBytes);
  EXPECT_TRUE(in_order);
}

TEST(TcpRead, ReadersKilledWhileBytesArriveLeaveEveryBufferForTheNextConnection) {
  constexpr int kReaders = 300;  // more than a core's provided buffers
  bool echoed = false;
  coproc::run(
      [&]() -> process {
        auto l = tcp_listener::bind(socket_address::loopback_v4(0), {.backlog = 1024});
        const auto at = l.local();
        std::vector<tcp_stream> clients;
        std::vector<pid> readers;
        for (int i = 0; i < kReaders; ++i) {
          clients.push_back(co_await tcp_stream::connect(at, 5s));
          readers.push_back(spawn(
              [](tcp_stream s) -> process {
                char buf[16];
                for (;;) co_await s.read_some(buf, 10s);  // reads a little, then waits
              },
              co_await l.accept(5s)));
        }
        co_await sleep_for(10ms);
        const std::string burst = pattern_bytes(0, 50'000);
        for (tcp_stream& c : clients) co_await c.write_all(burst, 5s);
        for (const pid& r : readers) exit(r, exit_reason::kill());
        co_await sleep_for(20ms);
        for (const pid& r : readers) EXPECT_FALSE(alive(r));
        // A new connection is read as usual, a megabyte of it.
        spawn(
            [](tcp_listener l) -> process {
              tcp_stream s = co_await l.accept(5s);
              char buf[8'192];
              while (std::size_t n = co_await s.read_some(buf, 5s))
                co_await s.write_all({buf, n}, 5s);
            },
            std::move(l));
        tcp_stream c = co_await tcp_stream::connect(at, 5s);
        constexpr std::size_t kEcho = std::size_t{1} << 20;
        spawn(
            [](tcp_stream* c) -> process {
              const std::string bytes = pattern_bytes(0, kEcho);
              co_await c->write_all(bytes, 10s);
            },
            &c);
        std::string back(kEcho, '\0');
        co_await c.read_exact(std::span<char>(back.data(), back.size()), 10s);
        echoed = is_pattern(back, 0);
      },
      options{.cores = 1});
  EXPECT_TRUE(echoed);
}
