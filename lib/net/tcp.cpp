// lib/net/tcp.cpp - TCP streams and listeners, and active mode.
#include "coproc/tcp.hpp"

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <system_error>

#include "coproc/atom.hpp"
#include "coproc/io_error.hpp"
#include "coproc/log.hpp"
#include "coproc/message.hpp"
#include "coproc/receive.hpp"
#include "lib/core/loop.hpp"
#include "lib/io/io_request.hpp"
#include "lib/net/address_of.hpp"

namespace coproc {
namespace detail {

// Shared by the stream handle and, while one is in flight, the active-mode reader.
// The fd is closed when the last owner lets go, so a read in flight never sees a
// reused descriptor.
struct socket_core {
  int fd = -1;
  socket_id id;
  std::mutex mu;  // owner, mode, reading, closed (the reader may run on another core)
  pid owner;
  active_mode mode = active_mode::passive;
  bool reading = false;
  bool closed = false;
  // A listener out of a resource (descriptors, memory): consecutive failed accepts and
  // when the episode began. Accepts pause with a growing, bounded delay meanwhile.
  // Written under mu; atomic so that a successful accept can see "no episode" without
  // taking the lock (relaxed: a stale non-zero only costs the lock).
  std::atomic<unsigned> accept_failures{0};
  std::int64_t accept_failing_since = 0;

  explicit socket_core(int f) : fd(f), id{next_id()} {}
  socket_core(const socket_core&) = delete;
  socket_core& operator=(const socket_core&) = delete;
  ~socket_core() {
    if (fd >= 0) ::close(fd);
  }
  static std::uint64_t next_id() {
    static std::atomic<std::uint64_t> n{1};
    return n.fetch_add(1, std::memory_order_relaxed);
  }
};

namespace {

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::system_category(), std::string("coproc: ") + what);
}

// The runtime's read loop for one active-mode stream, on the core that armed it.
struct active_reader final : io_op {
  static constexpr std::size_t kChunk = std::size_t{64} * 1024;
  std::shared_ptr<socket_core> sock;
  loop* home;
  std::unique_ptr<char[]> buf{new char[kChunk]};

  active_reader(std::shared_ptr<socket_core> s, loop* h)
      : io_op(io_kind::recv, s->fd, &on_read), sock(std::move(s)), home(h) {
    file_id = sock->id.value;
    data = buf.get();
    len = kChunk;
  }
  bool arm() { return home->io().submit(*this); }
  static void on_read(io_op* op, int res, unsigned /*flags*/) noexcept {
    auto* self = static_cast<active_reader*>(op);
    socket_core& s = *self->sock;
    bool again = false;
    try {
      std::lock_guard lock(s.mu);
      if (!s.closed) {
        if (res > 0) {
          route(s.owner, make_message(atom<"tcp">{}, s.id,
                                      std::string(self->buf.get(), static_cast<std::size_t>(res))));
          if (s.mode == active_mode::once) s.mode = active_mode::passive;
          again = s.mode == active_mode::on;
        } else if (res == 0) {
          route(s.owner, make_message(atom<"tcp_closed">{}, s.id));
          s.mode = active_mode::passive;
        } else {
          route(s.owner, make_message(atom<"tcp_error">{}, s.id,
                                      std::error_code(-res, std::system_category())));
          s.mode = active_mode::passive;
        }
      }
      if (again) again = self->arm();
      s.reading = again;
    } catch (...) {
      s.reading = false;
      again = false;
    }
    if (!again) delete self;
  }
};

// accept(2) errors that mean "the process or the system is out of something right now"
// (descriptors, socket buffers, memory): the listener is fine and the pending
// connections stay in its backlog, so accepting pauses and resumes by itself.
bool is_resource_exhaustion(int err) {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}
// Errors of one connection that died in the backlog (accept(2) says: retry at once).
bool is_connection_error(int err) {
  switch (err) {
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EPERM:  // a firewall rule refused this one connection
      return true;
    default:
      return false;
  }
}

std::string listener_name(const socket_core& s) {
  try {
    return address_of(s.fd, false).to_string();
  } catch (...) {
    return "fd " + std::to_string(s.fd);
  }
}

// Called with s.mu held after an accept failed with a resource error; returns the
// pause before the next try: 5 ms, doubling, at most 250 ms (so a listener answers
// again within a quarter second of descriptors coming back, and costs nothing while
// the limit holds). The first failure of an episode is logged.
std::int64_t accept_backoff_after_failure(socket_core& s, int err) {
  const std::int64_t now = now_ns();
  const unsigned failures = s.accept_failures.load(std::memory_order_relaxed) + 1;
  s.accept_failures.store(failures, std::memory_order_relaxed);
  if (failures == 1) {
    s.accept_failing_since = now;
    log(log_level::warning, "accept on " + listener_name(s) + ": " + std::strerror(err) +
                                "; the listener stays open and retries with a pause of up to "
                                "250 ms until the resource is available again");
  }
  const unsigned doublings = std::min(failures - 1, 6U);
  return std::min<std::int64_t>(std::int64_t{5'000'000} << doublings, 250'000'000);
}

// After an accept succeeded: ends an episode, with a line. Lock-free when there was none
// (every connection comes through here).
void accept_recovered(socket_core& s) {
  if (s.accept_failures.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard lock(s.mu);
  const unsigned failures = s.accept_failures.load(std::memory_order_relaxed);
  if (failures == 0) return;
  const auto ms = (now_ns() - s.accept_failing_since) / 1'000'000;
  log(log_level::info, "accept on " + listener_name(s) + " resumed after " + std::to_string(ms) +
                           " ms (" + std::to_string(failures) + " failed tries)");
  s.accept_failures.store(0, std::memory_order_relaxed);
}

[[noreturn]] void throw_listener_closed() {
  throw std::system_error(std::make_error_code(std::errc::operation_canceled),
                          "coproc: accept: the listener was closed");
}

// Completion of a one-shot accept: resource errors pause and retry, a connection that
// died in the backlog is skipped, everything else completes as usual.
void on_oneshot_accept(io_op* op, int res, unsigned flags) noexcept {
  auto* r = static_cast<io_request*>(op);
  if (r->at != io_request::phase::orphaned) {
    auto& sock = *static_cast<socket_core*>(r->keep.get());
    if (res >= 0) {
      accept_recovered(sock);
      io_request::on_result(op, res, flags);
      return;
    }
    std::unique_lock lock(sock.mu);
    if (!sock.closed && is_resource_exhaustion(-res)) {
      const std::int64_t pause = accept_backoff_after_failure(sock, -res);
      lock.unlock();
      r->retry_at(now_ns() + pause);
      return;
    } else if (!sock.closed && is_connection_error(-res)) {
      lock.unlock();
      try {
        r->submit();
        return;
      } catch (...) {
        res = -EBUSY;
      }
      r->finish_with(res);
      return;
    } else if (sock.closed && res == -EINVAL) {
      res = -ESHUTDOWN;  // woken by close() (see tcp_listener::close): "listener closed"
    }
  }
  io_request::on_result(op, res, flags);
}

std::shared_ptr<socket_core> open_socket(int family) {
  int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("socket");
  return std::make_shared<socket_core>(fd);
}

}  // namespace

// The listener's armed multishot accept on one core. While armed it owns itself (and so
// the socket): the final completion (the listener was shut down, or the kernel ended
// the multishot) releases it. Connections that arrive with nobody waiting queue here.
struct multishot_acceptor final : io_op {
  // The owning core changes ready/waiters/armed; a process on another core only reads
  // `armed`/`home` (to fall back to a one-shot accept), so they share this lock.
  std::mutex mu;
  std::shared_ptr<socket_core> sock;
  loop* home = nullptr;
  bool armed = false;
  std::shared_ptr<multishot_acceptor> self_while_armed;
  std::deque<int> ready;                // accepted fds nobody has taken yet
  std::deque<accept_awaiter*> waiters;  // processes in accept(), oldest first
  // Out of descriptors: the multishot ended and is re-armed when this fires (it owns
  // itself meanwhile, through self_while_armed).
  struct pause_timer : timer_node {
    multishot_acceptor* owner = nullptr;
  };
  pause_timer pause;
  bool pausing = false;

  explicit multishot_acceptor(std::shared_ptr<socket_core> s)
      : io_op(io_kind::accept_multishot, s->fd, &on_accept), sock(std::move(s)) {
    file_id = sock->id.value;
  }
  multishot_acceptor(const multishot_acceptor&) = delete;
  multishot_acceptor& operator=(const multishot_acceptor&) = delete;
  ~multishot_acceptor() {
    for (int fd : ready) ::close(fd);
  }

  bool arm(loop* l) {
    if (!l->io().submit(*this)) return false;
    home = l;
    armed = true;
    return true;
  }

  static void on_accept(io_op* op, int res, unsigned flags) noexcept {
    auto* self = static_cast<multishot_acceptor*>(op);
    std::shared_ptr<multishot_acceptor> last_ref;  // dropped after the lock is released
    std::lock_guard lock(self->mu);
    const bool more = (flags & io_more) != 0;
    if (!more) self->armed = false;
    if (res >= 0) {
      int one = 1;
      ::setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      accept_recovered(*self->sock);
    } else if (is_resource_exhaustion(-res) || is_connection_error(-res)) {
      if (more) return;  // the kernel keeps the multishot armed
      if (!self->sock->closed) {
        std::int64_t wait = 0;
        if (is_resource_exhaustion(-res)) {
          std::lock_guard sock_lock(self->sock->mu);
          wait = accept_backoff_after_failure(*self->sock, -res);
        }
        self->pausing = true;
        self->pause.owner = self;
        self->pause.fire = &on_pause_end;
        self->pause.discard = [](timer_node* t) noexcept {  // the runtime ended meanwhile
          auto* owner = static_cast<pause_timer*>(t)->owner;
          std::shared_ptr<multishot_acceptor> last_ref;
          std::lock_guard lock(owner->mu);
          owner->pausing = false;
          last_ref = std::move(owner->self_while_armed);
        };
        arm_timer(&self->pause, now_ns() + wait);
        return;  // waiters keep waiting; self_while_armed keeps us alive
      }
      res = -ESHUTDOWN;
    }
    if (self->sock->closed && (res == -EINVAL || res == -ECANCELED)) res = -ESHUTDOWN;
    if (!self->waiters.empty()) {
      accept_awaiter* w = self->waiters.front();
      self->waiters.pop_front();
      w->deliver(res);
    } else if (res >= 0) {
      try {
        self->ready.push_back(res);
      } catch (...) {
        ::close(res);
      }
    }
    if (!more) {
      // Re-arm while someone waits (e.g. after ENFILE); else the next accept() will.
      if (!self->waiters.empty() && res != -EINVAL && !self->sock->closed &&
          self->arm(self->home)) {
        return;
      }
      for (accept_awaiter* w : self->waiters) w->deliver(res < 0 ? res : -ECANCELED);
      self->waiters.clear();
      last_ref = std::move(self->self_while_armed);
    }
  }

  // The pause after a resource error is over: accept again if anyone waits.
  static void on_pause_end(timer_node* t) noexcept {
    multishot_acceptor* self = static_cast<pause_timer*>(t)->owner;
    std::shared_ptr<multishot_acceptor> last_ref;  // dropped after the lock is released
    std::lock_guard lock(self->mu);
    self->pausing = false;
    if (!self->sock->closed && !self->waiters.empty() && self->arm(self->home)) return;
    for (accept_awaiter* w : self->waiters) w->deliver(self->sock->closed ? -ESHUTDOWN : -EBUSY);
    self->waiters.clear();
    last_ref = std::move(self->self_while_armed);
  }
};

namespace {
bool kernel_has_multishot_accept() {
  static const bool yes = [] {
    utsname u{};
    if (::uname(&u) != 0) return false;
    int major = 0, minor = 0;
    if (std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
    return major > 5 || (major == 5 && minor >= 19);
  }();
  return yes;
}
}  // namespace

int accept_awaiter::oneshot_awaiter::raw_result() const noexcept {
  return req_->result;
}

accept_awaiter::accept_awaiter(std::shared_ptr<multishot_acceptor> ms,
                               std::chrono::nanoseconds timeout, io_request* fallback) noexcept
    : oneshot_(fallback), ms_(std::move(ms)), timeout_(timeout), use_oneshot_(false) {}

accept_awaiter::accept_awaiter(accept_awaiter&& o) noexcept
    : oneshot_(std::move(o.oneshot_)),
      ms_(std::move(o.ms_)),
      timeout_(o.timeout_),
      result_(o.result_),
      use_oneshot_(o.use_oneshot_) {}

accept_awaiter::~accept_awaiter() {
  if (waiting_ && ms_) {  // the process died waiting: stop waiting
    std::lock_guard lock(ms_->mu);
    std::erase(ms_->waiters, this);
    if (timer_.armed()) disarm_timer(&timer_);
  }
  if (!use_oneshot_ && result_ > 0) ::close(result_);  // taken but never returned
}

bool accept_awaiter::await_ready() {
  if (use_oneshot_) return false;
  if (t_loop == nullptr) throw_outside_process("accept()");
  std::lock_guard lock(ms_->mu);
  if ((ms_->armed || ms_->pausing) && ms_->home != t_loop) {
    use_oneshot_ = true;  // armed on another core: this caller does a one-shot accept
    return false;
  }
  if (!ms_->ready.empty() && ms_->home == t_loop) {
    result_ = ms_->ready.front();
    ms_->ready.pop_front();
    return true;
  }
  return false;
}

void accept_awaiter::await_suspend(std::coroutine_handle<> h) {
  if (use_oneshot_) {
    oneshot_.await_suspend(h);
    return;
  }
  std::lock_guard lock(ms_->mu);
  if (!ms_->armed && !ms_->pausing) {
    if (!ms_->arm(t_loop))
      throw std::system_error(EBUSY, std::system_category(), "coproc: the I/O backend is full");
    ms_->self_while_armed = ms_;
  }
  waiter_ = t_current;
  resume_ = h;
  ms_->waiters.push_back(this);
  waiting_ = true;
  if (timeout_ != std::chrono::nanoseconds::max()) {
    timer_.fire = &on_timeout;
    timer_.owner = this;
    arm_timer(&timer_, deadline_after(now_ns(), std::max<std::int64_t>(0, timeout_.count())));
  }
  waiter_->state = proc_state::waiting;
}

void accept_awaiter::deliver(int fd_or_error) noexcept {
  waiting_ = false;
  if (timer_.armed()) disarm_timer(&timer_);
  result_ = fd_or_error;
  waiter_->resume_point = resume_;
  waiter_->home->make_runnable(waiter_);
}

void accept_awaiter::on_timeout(timer_node* t) noexcept {
  auto* self = static_cast<accept_timer*>(t)->owner;
  std::lock_guard lock(self->ms_->mu);
  std::erase(self->ms_->waiters, self);
  self->waiting_ = false;
  self->result_ = -ETIMEDOUT;
  self->waiter_->resume_point = self->resume_;
  self->waiter_->home->make_runnable(self->waiter_);
}

tcp_stream accept_awaiter::await_resume() {
  int fd = 0;
  if (use_oneshot_) {
    if (oneshot_.raw_result() == -ESHUTDOWN) throw_listener_closed();
    fd = oneshot_.result();
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  } else {
    fd = std::exchange(result_, 0);
    if (fd == -ETIMEDOUT) {
      throw std::system_error(std::make_error_code(std::errc::timed_out),
                              "coproc: accept timed out");
    }
    if (fd == -ESHUTDOWN) throw_listener_closed();
    if (fd < 0) throw std::system_error(-fd, std::system_category(), "coproc: accept failed");
  }
  return tcp_stream(std::make_shared<socket_core>(fd));
}

connect_awaiter::~connect_awaiter() {
  if (fd_ < 0) return;
  if (req_ != nullptr && req_->at == io_request::phase::in_flight) {
    // The process died while connecting, and the backend still has the fd: the request
    // (orphaned by io_awaiter's destructor, which runs next) closes it when the cancel
    // completes, so it is never closed under the kernel nor leaked.
    const int fd = fd_;
    try {
      req_->keep = std::shared_ptr<void>(nullptr, [fd](void*) { ::close(fd); });
    } catch (...) {
      // Out of memory: one descriptor leaks rather than being closed in flight.
    }
    return;
  }
  ::close(fd_);
}

tcp_stream connect_awaiter::await_resume() {
  finish();
  auto core = std::make_shared<socket_core>(fd_);
  fd_ = -1;
  int one = 1;
  ::setsockopt(core->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return tcp_stream(std::move(core));
}

std::size_t read_awaiter::await_resume() {
  const int n = finish();
  const std::size_t moved = req_->exact ? req_->got : static_cast<std::size_t>(n);
  if (req_->exact && moved < req_->want) {
    throw std::system_error(make_error_code(io_errc::eof), "coproc: read_exact");
  }
  std::memcpy(dst_.data(), req_->buf.get(), moved);
  return moved;
}

}  // namespace detail

tcp_stream::tcp_stream(std::shared_ptr<detail::socket_core> core) noexcept
    : core_(std::move(core)) {}

tcp_stream::~tcp_stream() {
  close();
}

detail::connect_awaiter tcp_stream::connect(const socket_address& to,
                                            std::chrono::nanoseconds timeout) {
  int fd = ::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) detail::throw_errno("socket");
  auto* r = new detail::io_request(detail::io_kind::connect, fd, 0);
  std::memcpy(&r->addr_storage, to.native(), to.native_size());
  r->addrlen = to.native_size();
  r->set_timeout(timeout);
  return detail::connect_awaiter(r, fd);
}

namespace {
detail::io_request* make_io(detail::io_kind kind, const detail::socket_core* sock, std::size_t n,
                            bool exact, std::chrono::nanoseconds timeout) {
  if (sock == nullptr) {
    throw std::system_error(EBADF, std::system_category(), "coproc: closed socket");
  }
  auto* r = new detail::io_request(kind, sock->fd, sock->id.value);
  r->buf = detail::io_buffer(n);
  r->want = n;
  r->exact = exact;
  r->set_timeout(timeout);
  return r;
}
}  // namespace

detail::read_awaiter tcp_stream::read_some(std::span<char> buf, std::chrono::nanoseconds timeout) {
  return {make_io(detail::io_kind::recv, core_.get(), buf.size(), false, timeout), buf};
}

detail::read_awaiter tcp_stream::read_exact(std::span<char> buf, std::chrono::nanoseconds timeout) {
  return {make_io(detail::io_kind::recv, core_.get(), buf.size(), true, timeout), buf};
}

detail::write_awaiter tcp_stream::write_all(std::string_view data,
                                            std::chrono::nanoseconds timeout) {
  auto* r = make_io(detail::io_kind::send, core_.get(), data.size(), true, timeout);
  std::memcpy(r->buf.get(), data.data(), data.size());
  return detail::write_awaiter(r);
}

void tcp_stream::shutdown_write() {
  if (core_ && ::shutdown(core_->fd, SHUT_WR) != 0) detail::throw_errno("shutdown");
}

void tcp_stream::close() noexcept {
  if (!core_) return;
  {
    std::lock_guard lock(core_->mu);
    core_->closed = true;
    // Wake an active read in flight; it then drops its reference and the fd closes.
    if (core_->reading) ::shutdown(core_->fd, SHUT_RDWR);
  }
  core_.reset();
}

bool tcp_stream::is_open() const noexcept {
  return static_cast<bool>(core_);
}
socket_id tcp_stream::id() const noexcept {
  return core_ ? core_->id : socket_id{};
}
int tcp_stream::native_handle() const noexcept {
  return core_ ? core_->fd : -1;
}

namespace detail {
// getsockname / getpeername as a socket_address.
socket_address address_of(int fd, bool peer) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  auto* sa = reinterpret_cast<sockaddr*>(&ss);
  if ((peer ? ::getpeername(fd, sa, &len) : ::getsockname(fd, sa, &len)) != 0) {
    throw_errno(peer ? "getpeername" : "getsockname");
  }
  return socket_address::from_native(sa, len);
}
}  // namespace detail

socket_address tcp_stream::peer() const {
  return detail::address_of(native_handle(), true);
}
socket_address tcp_stream::local() const {
  return detail::address_of(native_handle(), false);
}

void set_active(tcp_stream& s, active_mode mode) {
  if (!s.core_) throw std::system_error(EBADF, std::system_category(), "coproc: set_active");
  if (detail::t_loop == nullptr) detail::throw_outside_process("set_active()");
  std::lock_guard lock(s.core_->mu);
  if (!s.core_->owner) s.core_->owner = self();
  s.core_->mode = mode;
  if (mode != active_mode::passive && !s.core_->reading) {
    auto* r = new detail::active_reader(s.core_, detail::t_loop);
    if (!r->arm()) {
      delete r;
      throw std::system_error(EBUSY, std::system_category(), "coproc: the I/O backend is full");
    }
    s.core_->reading = true;
  }
}

void controlling_process(tcp_stream& s, const pid& owner) {
  if (!s.core_) return;
  std::lock_guard lock(s.core_->mu);
  s.core_->owner = owner;
}

tcp_listener tcp_listener::bind(const socket_address& at, listen_options opts) {
  tcp_listener l;
  l.core_ = detail::open_socket(at.family());
  const int fd = l.core_->fd;
  int one = 1;
  if (opts.reuse_address) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (opts.reuse_port) ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(fd, at.native(), at.native_size()) != 0) detail::throw_errno("bind");
  if (::listen(fd, opts.backlog) != 0) detail::throw_errno("listen");
  if (opts.multishot && detail::kernel_has_multishot_accept()) {
    l.multishot_ = std::make_shared<detail::multishot_acceptor>(l.core_);
  }
  return l;
}

tcp_listener::~tcp_listener() {
  close();
}

detail::accept_awaiter tcp_listener::accept(std::chrono::nanoseconds timeout) {
  if (!core_) throw std::system_error(EBADF, std::system_category(), "coproc: closed listener");
  auto* r = new detail::io_request(detail::io_kind::accept, core_->fd, core_->id.value);
  r->set_timeout(timeout);
  r->on_complete = &detail::on_oneshot_accept;
  r->keep = core_;
  if (!multishot_) return detail::accept_awaiter(r);
  return {multishot_, timeout, r};
}

socket_address tcp_listener::local() const {
  return detail::address_of(native_handle(), false);
}

void tcp_listener::close() noexcept {
  if (core_ && !multishot_) {
    // Wakes every one-shot accept in flight on any core (they then fail with EINVAL,
    // reported as "listener closed"); they hold the socket, so the fd closes after them.
    std::lock_guard lock(core_->mu);
    core_->closed = true;
    ::shutdown(core_->fd, SHUT_RDWR);
  }
  if (core_ && multishot_) {
    // Ends the armed multishot accept; its final completion frees it and the fd.
    std::lock_guard lock(multishot_->mu);
    core_->closed = true;
    if (multishot_->armed) {
      if (detail::t_loop == multishot_->home) {
        detail::submit_cancel(*multishot_->home, multishot_.get());
      } else {
        ::shutdown(core_->fd, SHUT_RDWR);  // from another thread: the best we can do
      }
    }
  }
  multishot_.reset();
  core_.reset();
}
int tcp_listener::native_handle() const noexcept {
  return core_ ? core_->fd : -1;
}

}  // namespace coproc

namespace coproc::detail {
// A connected stream socket made elsewhere (trap_signal's socket pair) as a tcp_stream.
tcp_stream adopt_socket(int fd) {
  return tcp_stream(std::make_shared<socket_core>(fd));
}
}  // namespace coproc::detail
