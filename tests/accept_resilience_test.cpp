// A listener outlives resource exhaustion and is closed cleanly:
// - accept() while the process is out of descriptors (EMFILE) waits and retries with a
//   bounded, growing pause, logs one line per episode, and returns the connection once a
//   descriptor is free again; it never throws for it (one-shot and multishot accepts);
// - tcp_listener::close() ends an accept in flight with operation_canceled.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <coproc/coproc.hpp>
#include <string>
#include <vector>

using namespace coproc;
using namespace std::chrono_literals;

namespace {

struct captured_log {
  std::vector<std::pair<log_level, std::string>> lines;
  std::mutex mu;
  captured_log() {
    set_log_handler([this](log_level l, std::string_view t) {
      std::lock_guard lock(mu);
      lines.emplace_back(l, std::string(t));
    });
  }
  captured_log(const captured_log&) = delete;
  captured_log& operator=(const captured_log&) = delete;
  ~captured_log() { set_log_handler(nullptr); }
  int count(log_level l, const std::string& part) {
    std::lock_guard lock(mu);
    int n = 0;
    for (const auto& [level, text] : lines) n += level == l && text.find(part) != std::string::npos;
    return n;
  }
};

// Takes every free descriptor (under a low soft limit) until release().
struct descriptor_hog {
  rlimit saved{};
  std::vector<int> fds;
  descriptor_hog() {
    getrlimit(RLIMIT_NOFILE, &saved);
    rlimit low = saved;
    low.rlim_cur = std::min<rlim_t>(saved.rlim_cur, 512);
    setrlimit(RLIMIT_NOFILE, &low);
    for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) fds.push_back(fd);
  }
  descriptor_hog(const descriptor_hog&) = delete;
  descriptor_hog& operator=(const descriptor_hog&) = delete;
  void release() {
    for (int fd : fds) ::close(fd);
    fds.clear();
  }
  ~descriptor_hog() {
    release();
    setrlimit(RLIMIT_NOFILE, &saved);
  }
};

void accept_survives_emfile(bool multishot) {
  captured_log log;
  coproc::run(
      [&]() -> process {
        auto l = tcp_listener::bind(socket_address::loopback_v4(0), {.multishot = multishot});
        const socket_address at = l.local();
        // Clients connect before the descriptors run out (the kernel completes the
        // handshakes; the connections wait in the backlog).
        std::vector<int> clients;
        for (int i = 0; i < 3; ++i) {
          const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
          EXPECT_EQ(::connect(c, at.native(), at.native_size()), 0);
          clients.push_back(c);
        }
        auto hog = std::make_shared<descriptor_hog>();
        EXPECT_GT(hog->fds.size(), 0U);
        spawn([hog]() -> process {
          co_await sleep_for(300ms);
          hog->release();
        });
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<tcp_stream> accepted;
        for (int i = 0; i < 3; ++i) {
          tcp_stream s = co_await l.accept(10s);  // waits out EMFILE, never throws for it
          accepted.push_back(std::move(s));
        }
        const auto waited = std::chrono::steady_clock::now() - t0;
        EXPECT_GE(waited, 250ms);
        EXPECT_LT(waited, 3s);
        // The streams work.
        EXPECT_EQ(::write(clients[0], "hi", 2), 2);
        char buf[2];
        EXPECT_EQ(co_await accepted[0].read_some(buf, 5s), 2U);
        for (int c : clients) ::close(c);
      },
      options{.cores = 1});
  EXPECT_EQ(log.count(log_level::warning, "Too many open files"), 1);  // once per episode
  EXPECT_EQ(log.count(log_level::info, "resumed"), 1);
}

}  // namespace

TEST(AcceptResilience, OneShotAcceptWaitsOutDescriptorExhaustionAndLogsOnce) {
  accept_survives_emfile(false);
}

TEST(AcceptResilience, MultishotAcceptWaitsOutDescriptorExhaustionAndLogsOnce) {
  accept_survives_emfile(true);
}

TEST(AcceptResilience, AProcessDyingWhileItsAcceptPausesLeaksNothing) {
  coproc::run(
      []() -> process {
        auto l = tcp_listener::bind(socket_address::loopback_v4(0));
        const socket_address at = l.local();
        const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        EXPECT_EQ(::connect(c, at.native(), at.native_size()), 0);
        descriptor_hog hog;
        pid acceptor = spawn([&l]() -> process { tcp_stream s = co_await l.accept(); });
        co_await sleep_for(50ms);  // it failed with EMFILE and pauses
        exit(acceptor, exit_reason::kill());
        co_await sleep_for(20ms);
        EXPECT_FALSE(alive(acceptor));
        hog.release();
        ::close(c);
      },
      options{.cores = 1});
}

namespace {
void close_ends_a_pending_accept(bool multishot) {
  coproc::run(
      [multishot]() -> process {
        auto l = tcp_listener::bind(socket_address::loopback_v4(0), {.multishot = multishot});
        const pid me = self();
        spawn([&l, me]() -> process {
          std::string what = "accepted";
          try {
            tcp_stream s = co_await l.accept(10s);
          } catch (const std::system_error& e) {
            what = e.code() == std::errc::operation_canceled ? "canceled" : e.what();
          }
          send(me, atom<"done">{}, what);
        });
        co_await sleep_for(50ms);
        const auto t0 = std::chrono::steady_clock::now();
        l.close();
        const std::string what = co_await receive([](atom<"done">, std::string w) { return w; },
                                                  after(5s, [] { return std::string("stuck"); }));
        EXPECT_EQ(what, "canceled");
        EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
      },
      options{.cores = 1});
}
}  // namespace

TEST(AcceptResilience, CloseEndsAPendingOneShotAccept) {
  close_ends_a_pending_accept(false);
}

TEST(AcceptResilience, CloseEndsAPendingMultishotAccept) {
  close_ends_a_pending_accept(true);
}
