// Socket semantics that a backend implements itself, checked on each: the default
// (io_uring where the kernel allows it) and epoll, forced. The whole suite also runs
// with io_uring blocked (scripts/test.sh epoll); these cases aim at what is easy to get
// wrong in a readiness backend: a descriptor number reused for another socket, a write
// that must wait for the peer, a core too busy to sleep, a deadline on a waiting read.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <coproc/coproc.hpp>
#include <filesystem>
#include <string>
#include <system_error>

#include "clock_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;

namespace {

int open_descriptors() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

class IoBackends : public ::testing::TestWithParam<io_backend_kind> {
 protected:
  [[nodiscard]] options opts(unsigned cores) const {
    return options{.cores = cores, .backend = GetParam()};
  }
};

std::string name_of(const ::testing::TestParamInfo<io_backend_kind>& p) {
  return p.param == io_backend_kind::epoll ? "epoll" : "default";
}

}  // namespace

TEST_P(IoBackends, TheRuntimeRunsOnTheBackendItWasGiven) {
  io_backend_kind seen = io_backend_kind::automatic;
  ASSERT_EQ(coproc::run(
                [&]() -> process {
                  seen = runtime_stats()[0].backend;
                  co_return;
                },
                opts(1)),
            0);
  if (GetParam() == io_backend_kind::epoll) {
    EXPECT_EQ(seen, io_backend_kind::epoll);
  } else {
    EXPECT_NE(seen, io_backend_kind::automatic);
  }
}

TEST_P(IoBackends, ADescriptorNumberReusedByANewSocketStillGetsItsData) {
  // A read parks on descriptor X (epoll registers X), X is closed, and a new socket gets
  // the number X: its read must not wait on the dead registration.
  std::string got;
  int reused = -1;
  int old = -2;
  ASSERT_EQ(coproc::run(
                [&]() -> process {
                  auto l = tcp_listener::bind(socket_address::loopback_v4(0));
                  const auto at = l.local();
                  tcp_stream c1 = co_await tcp_stream::connect(at, 5s);
                  tcp_stream s1 = co_await l.accept(5s);
                  char buf[16];
                  try {
                    co_await s1.read_some(buf, 30ms);  // parks, then times out
                  } catch (const std::system_error&) {
                  }
                  old = s1.native_handle();
                  tcp_stream c2 = co_await tcp_stream::connect(at, 5s);
                  s1.close();  // X is free: accept takes the lowest free number, X
                  tcp_stream s2 = co_await l.accept(5s);
                  reused = s2.native_handle();
                  // The read on X waits first (nothing sent yet), then the data comes.
                  pid reader = spawn(
                      [](tcp_stream s, pid parent) -> process {
                        char b[8];
                        const std::size_t n = co_await s.read_exact({b, 5}, 2s);
                        send(parent, std::string(b, n));
                      },
                      std::move(s2), self());
                  co_await sleep_for(20ms);
                  co_await c2.write_all("fresh", 5s);
                  got = co_await receive([](std::string text) { return text; },
                                         after(3s, [] { return std::string("no answer"); }));
                  (void)reader;
                },
                opts(1)),
            0);
  EXPECT_EQ(reused, old) << "the test did not get the same descriptor number again";
  EXPECT_EQ(got, "fresh");
}

TEST_P(IoBackends, AReadThatTimesOutLeavesTheStreamUsable) {
  std::string got;
  bool timed_out = false;
  ASSERT_EQ(coproc::run(
                [&]() -> process {
                  auto l = tcp_listener::bind(socket_address::loopback_v4(0));
                  tcp_stream c = co_await tcp_stream::connect(l.local(), 5s);
                  tcp_stream s = co_await l.accept(5s);
                  char buf[16];
                  try {
                    co_await s.read_some(buf, 20ms);
                  } catch (const std::system_error& e) {
                    timed_out = e.code() == std::errc::timed_out;
                  }
                  co_await c.write_all("late", 5s);
                  const std::size_t n = co_await s.read_exact({buf, 4}, 2s);
                  got.assign(buf, n);
                },
                opts(2)),
            0);
  EXPECT_TRUE(timed_out);
  EXPECT_EQ(got, "late");
}

// A socket operation's deadline is a timer on the loop's wheel, on the runtime's clock
// (io_uring used to hand it to the kernel as a linked timeout, on the wall clock). On a
// manual clock it passes when the clock does: not at 5 s - 1 ms, at 5 s.
TEST_P(IoBackends, ASocketDeadlinePassesWithTheRuntimeClock) {
  manual_clock clk;
  std::atomic<int> outcome{0};  // 0: still waiting, 1: timed out, 2: another error, 3: data
  bool waiting_before_deadline = false;
  options o = opts(1);
  o.clock = &clk;
  ASSERT_EQ(coproc::run(
                [&]() -> process {
                  auto l = tcp_listener::bind(socket_address::loopback_v4(0));
                  tcp_stream c = co_await tcp_stream::connect(l.local());
                  tcp_stream s = co_await l.accept();
                  spawn(
                      [&outcome](tcp_stream s) -> process {
                        char buf[16];
                        try {
                          co_await s.read_some(buf, 5s);
                          outcome = 3;
                        } catch (const std::system_error& e) {
                          outcome = e.code() == std::errc::timed_out ? 1 : 2;
                        }
                      },
                      std::move(s));
                  co_await yield();  // the reader has submitted its read
                  co_await coproc_test::advance_clock(clk, 5s - 1ms);
                  // Real time passes too: a wall-clock deadline would not pass in 50 ms
                  // either, but a deadline that fired early would show here.
                  const auto look_until = std::chrono::steady_clock::now() + 50ms;
                  while (std::chrono::steady_clock::now() < look_until) co_await yield();
                  waiting_before_deadline = outcome == 0;
                  co_await coproc_test::advance_clock(clk, 1ms);
                  // The cancel goes through the kernel: wait for its completion (bounded,
                  // and far below the 5 s a wall-clock deadline would take).
                  const auto give_up = std::chrono::steady_clock::now() + 2s;
                  while (outcome == 0 && std::chrono::steady_clock::now() < give_up) {
                    co_await yield();
                  }
                },
                o),
            0);
  EXPECT_TRUE(waiting_before_deadline);
  EXPECT_EQ(outcome, 1);
}

TEST_P(IoBackends, ACoreThatNeverSleepsStillServesItsSockets) {
  // Two processes keep the only core busy with messages, so its loop never goes idle:
  // socket results must still come (epoll polls readiness between busy turns).
  std::atomic<bool> stop{false};
  bool read = false;
  ASSERT_EQ(coproc::run(
                [&]() -> process {
                  pid b = spawn(
                      [](std::atomic<bool>* stop) -> process {
                        while (!stop->load()) {
                          pid from = co_await receive([](pid p) { return p; });
                          send(from, self());
                        }
                      },
                      &stop);
                  spawn(
                      [](pid b, std::atomic<bool>* stop) -> process {
                        send(b, self());
                        while (!stop->load()) {
                          co_await receive([](pid) {});
                          send(b, self());
                        }
                      },
                      b, &stop);
                  auto l = tcp_listener::bind(socket_address::loopback_v4(0));
                  tcp_stream c = co_await tcp_stream::connect(l.local(), 5s);
                  tcp_stream s = co_await l.accept(5s);
                  co_await c.write_all("z", 5s);
                  char ch = 0;
                  read = co_await s.read_exact({&ch, 1}, 5s) == 1 && ch == 'z';
                  stop = true;
                  send(b, self());  // in case b waits
                },
                opts(1)),
            0);
  EXPECT_TRUE(read);
}

TEST_P(IoBackends, KillingAProcessWhoseWriteWaitsForThePeerFreesItAndTheCoreGoesOn) {
  // 32 MiB to a peer that reads nothing: the write waits for buffer space (epoll parks
  // it as a writer). Killing the writer cancels it; the runtime ends cleanly.
  bool writer_alive_after = true;
  std::string echoed;
  ASSERT_EQ(coproc::run(
                [&]() -> process {
                  auto l = tcp_listener::bind(socket_address::loopback_v4(0));
                  const auto at = l.local();
                  tcp_stream quiet = co_await tcp_stream::connect(at, 5s);
                  tcp_stream s = co_await l.accept(5s);
                  pid writer = spawn(
                      [](tcp_stream s) -> process {
                        const std::string big(std::size_t{32} << 20, 'w');
                        co_await s.write_all(big, 10s);
                      },
                      std::move(s));
                  co_await sleep_for(50ms);
                  exit(writer, exit_reason::kill());
                  co_await sleep_for(20ms);
                  writer_alive_after = alive(writer);
                  // The core still does I/O.
                  tcp_stream c = co_await tcp_stream::connect(at, 5s);
                  tcp_stream s2 = co_await l.accept(5s);
                  co_await c.write_all("ok", 5s);
                  char buf[2];
                  const std::size_t n = co_await s2.read_exact({buf, 2}, 5s);
                  echoed.assign(buf, n);
                },
                opts(1)),
            0);
  EXPECT_FALSE(writer_alive_after);
  EXPECT_EQ(echoed, "ok");
}

TEST_P(IoBackends, AMultishotListenerQueuesABurstOfConnectionsOnItsCore) {
  constexpr int kConnections = 64;
  int served = 0;
  ASSERT_EQ(coproc::run(
                [&]() -> process {
                  auto l = tcp_listener::bind(socket_address::loopback_v4(0), {.multishot = true});
                  const auto at = l.local();
                  std::vector<tcp_stream> clients;
                  for (int i = 0; i < kConnections; ++i) {
                    tcp_stream c = co_await tcp_stream::connect(at, 5s);
                    clients.push_back(std::move(c));
                  }
                  for (int i = 0; i < kConnections; ++i) {
                    tcp_stream s = co_await l.accept(5s);
                    co_await s.write_all("!", 5s);
                    ++served;
                  }
                  for (tcp_stream& c : clients) {
                    char ch = 0;
                    co_await c.read_exact({&ch, 1}, 5s);
                  }
                  l.close();
                },
                opts(2)),
            0);
  EXPECT_EQ(served, kConnections);
}

TEST_P(IoBackends, SeveralAcceptsWaitingOnOneListenerEachGetAConnection) {
  // Three processes of one core wait in accept() on one listener (epoll parks them on one
  // descriptor, oldest first); three connections must reach all three.
  int accepted = 0;
  ASSERT_EQ(coproc::run(
                [&]() -> process {
                  auto l = std::make_shared<tcp_listener>(
                      tcp_listener::bind(socket_address::loopback_v4(0)));
                  const auto at = l->local();
                  for (int i = 0; i < 3; ++i) {
                    spawn(
                        [](std::shared_ptr<tcp_listener> l, pid parent) -> process {
                          tcp_stream s = co_await l->accept(5s);
                          send(parent, atom<"accepted">{});
                        },
                        l, self());
                  }
                  co_await sleep_for(20ms);  // all three are waiting now
                  std::vector<tcp_stream> clients;
                  for (int i = 0; i < 3; ++i) {
                    tcp_stream c = co_await tcp_stream::connect(at, 5s);
                    clients.push_back(std::move(c));
                  }
                  for (int i = 0; i < 3; ++i) {
                    const bool got = co_await receive([](atom<"accepted">) { return true; },
                                                      after(3s, [] { return false; }));
                    if (got) ++accepted;
                  }
                },
                opts(1)),
            0);
  EXPECT_EQ(accepted, 3);
}

TEST_P(IoBackends, KillingAProcessWhoseConnectIsInFlightClosesItsDescriptor) {
  // A listener whose accept queue is full drops new SYNs, so a connect to it stays in
  // flight. Killing the connecting process must cancel it and close its socket once
  // the backend lets go: the process's descriptor count comes back.
  int before = -1;
  int after = -1;
  bool connector_died = false;
  ASSERT_EQ(coproc::run(
                [&]() -> process {
                  auto l = tcp_listener::bind(socket_address::loopback_v4(0), {.backlog = 1});
                  const auto at = l.local();
                  std::vector<tcp_stream> fillers;  // never accepted: they fill the accept queue
                  for (int i = 0; i < 2; ++i) {
                    tcp_stream c = co_await tcp_stream::connect(at, 2s);
                    fillers.push_back(std::move(c));
                  }
                  co_await sleep_for(20ms);
                  before = open_descriptors();
                  pid connector = spawn(
                      [](socket_address at) -> process {
                        tcp_stream c = co_await tcp_stream::connect(at, 10s);
                      },
                      at);
                  co_await sleep_for(50ms);  // its SYN was dropped; the connect waits
                  exit(connector, exit_reason::kill());
                  co_await sleep_for(50ms);
                  connector_died = !alive(connector);
                  after = open_descriptors();
                },
                opts(1)),
            0);
  EXPECT_TRUE(connector_died);
  EXPECT_GE(before, 0);
  EXPECT_EQ(after, before) << "the killed connect's socket was not closed";
}

INSTANTIATE_TEST_SUITE_P(Backends, IoBackends,
                         ::testing::Values(io_backend_kind::automatic, io_backend_kind::epoll),
                         name_of);
