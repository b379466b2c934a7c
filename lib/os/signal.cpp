// lib/os/signal.cpp - trap_signal: OS signals delivered as messages.
//
// State (process-wide, under g_mu): the socket pair the handler writes into (made once,
// never closed, so a handler running on some thread never writes into a reused fd),
// the trapping pid of each signal, and the reader process of the current runtime.
#include "coproc/os_signal.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>

#include "coproc/atom.hpp"
#include "coproc/receive.hpp"
#include "coproc/spawn.hpp"
#include "coproc/tcp.hpp"

namespace coproc {
namespace detail {
tcp_stream adopt_socket(int fd);  // lib/net/tcp.cpp
}

namespace {

constexpr int kSignals = 65;  // 1..64 (NSIG on Linux)

std::mutex g_mu;
// The handler's end. Atomic because the handler reads it on whatever thread the signal
// hits; set once, before any handler is installed, so relaxed is enough.
std::atomic<int> g_write_fd{-1};
int g_read_fd = -1;  // dup()ed for each runtime's reader
std::array<pid, kSignals> g_trapper{};
pid g_reader;

void on_signal(int signo) {
  const int saved = errno;
  const auto byte = static_cast<unsigned char>(signo);
  // Async-signal-safe. A full socket drops this one: the kernel coalesces signals too.
  [[maybe_unused]] const ssize_t n =
      ::send(g_write_fd.load(std::memory_order_relaxed), &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  errno = saved;
}

void set_default(int signo) noexcept {
  struct sigaction sa {};
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  ::sigaction(signo, &sa, nullptr);
}

// Called with g_mu held: forgets every trap and gives each signal its default action.
void restore_all_locked() noexcept {
  for (int s = 1; s < kSignals; ++s) {
    if (g_trapper[static_cast<std::size_t>(s)]) {
      g_trapper[static_cast<std::size_t>(s)] = pid{};
      set_default(s);
    }
  }
}

void deliver(int signo) {
  if (signo <= 0 || signo >= kSignals) return;
  pid to;
  {
    std::lock_guard lock(g_mu);
    to = g_trapper[static_cast<std::size_t>(signo)];
    if (!to) return;  // untrapped since it was raised
    if (!alive(to)) {
      g_trapper[static_cast<std::size_t>(signo)] = pid{};
      set_default(signo);
      ::kill(::getpid(), signo);  // the default action takes this delivery
      return;
    }
  }
  send(to, atom<"signal">{}, signo);
}

process signal_reader(int fd) {
  tcp_stream s = detail::adopt_socket(fd);
  struct restore_on_exit {  // the runtime ends (or this process dies): defaults again
    restore_on_exit() = default;
    restore_on_exit(const restore_on_exit&) = delete;
    restore_on_exit& operator=(const restore_on_exit&) = delete;
    ~restore_on_exit() {
      std::lock_guard lock(g_mu);
      restore_all_locked();
      g_reader = pid{};
    }
  } const guard;
  char buf[64];
  for (;;) {
    const std::size_t n = co_await s.read_some(buf);
    if (n == 0) co_return;
    for (std::size_t i = 0; i < n; ++i) deliver(static_cast<unsigned char>(buf[i]));
  }
}

}  // namespace

void trap_signal(int signo) {
  if (signo <= 0 || signo >= kSignals || signo == SIGKILL || signo == SIGSTOP || signo == SIGSEGV ||
      signo == SIGBUS || signo == SIGFPE || signo == SIGILL) {
    throw std::invalid_argument("coproc: trap_signal: signal " + std::to_string(signo) +
                                " cannot be trapped");
  }
  const pid me = self();  // throws outside a process
  std::lock_guard lock(g_mu);
  if (g_write_fd.load(std::memory_order_relaxed) < 0) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      throw std::system_error(errno, std::system_category(), "coproc: trap_signal: socketpair");
    }
    g_read_fd = fds[0];
    g_write_fd.store(fds[1], std::memory_order_relaxed);
  }
  if (!g_reader || !alive(g_reader)) {
    const int fd = ::fcntl(g_read_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::system_category(), "coproc: trap_signal: dup");
    g_reader = spawn_on(0, signal_reader, fd);
  }
  struct sigaction sa {};
  sa.sa_handler = &on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (::sigaction(signo, &sa, nullptr) != 0) {
    throw std::system_error(errno, std::system_category(), "coproc: trap_signal: sigaction");
  }
  g_trapper[static_cast<std::size_t>(signo)] = me;
}

void untrap_signal(int signo) noexcept {
  if (signo <= 0 || signo >= kSignals) return;
  std::lock_guard lock(g_mu);
  if (g_trapper[static_cast<std::size_t>(signo)]) {
    g_trapper[static_cast<std::size_t>(signo)] = pid{};
    set_default(signo);
  }
}

}  // namespace coproc
