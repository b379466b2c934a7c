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
  // The multishot receive, made by the first read where the core has provided buffers;
  // from then on every read of this stream goes through it (so bytes stay in order).
  // Made, read and dropped only by the process that owns the stream.
  std::shared_ptr<stream_reader> reader;

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

// A stream's multishot receive (io_uring, Linux 6.0+), armed on the core that reads it.
// The kernel fills the loop's provided buffers; each chunk is copied at once into the
// waiting reader's buffer or into `unread`, and the buffer goes back to the pool, so no
// buffer waits on a socket and a read that dies leaves none behind.
//
// State, all under mu:
//   armed, home - the multishot is in flight on home's ring (only home's thread submits
//                 or cancels it). While armed it owns itself (self_while_armed) and the
//                 socket (sock_while_armed), so the descriptor stays open under it.
//   stopping    - a cancel is asked for or on its way: unread bytes over kUnreadLimit
//                 with nobody reading (flow control: the peer's window fills), or a reader
//                 on another core, which re-arms there once this one has ended.
//   unread      - bytes received and not yet read, from unread_at on.
//   end         - 0; 1 once the peer ended the stream; -errno once it failed. Sticky, and
//                 reported only after the unread bytes.
//   waiter      - the read suspended on this stream (it runs on waiter->waiter_loop_);
//                 wait_seq tells a hand-over that arrives after it left to do nothing.
// Invariant: while a waiter waits, unread is empty, or unread bytes are on their way to
// its core (a hand-over task); a waiter is completed (made runnable) only on its own core.
struct stream_reader final : io_op, std::enable_shared_from_this<stream_reader> {
  static constexpr std::size_t kUnreadLimit = std::size_t{256} * 1024;

  std::mutex mu;
  std::weak_ptr<socket_core> sock;
  std::shared_ptr<socket_core> sock_while_armed;
  std::shared_ptr<stream_reader> self_while_armed;
  loop* home = nullptr;
  bool armed = false;
  bool stopping = false;
  int end = 0;
  std::string unread;
  std::size_t unread_at = 0;
  read_awaiter* waiter = nullptr;
  std::uint64_t wait_seq = 0;

  explicit stream_reader(const std::shared_ptr<socket_core>& s)
      : io_op(io_kind::recv_multishot, s->fd, &on_recv), sock(s) {
    file_id = s->id.value;
  }

  [[nodiscard]] std::size_t unread_size() const noexcept { return unread.size() - unread_at; }

  // Moves unread bytes, then `fresh` (just received, not yet in unread), into w's
  // buffer; what does not fit is kept in unread. True when w is complete: it has its
  // bytes, or the stream's end (or error) comes before them.
  bool fill(read_awaiter& w, std::string_view fresh) noexcept {
    const auto copy = [&w](std::string_view from) {
      const std::size_t n = std::min(from.size(), w.dst_.size() - w.got_);
      if (n > 0) std::memcpy(w.dst_.data() + w.got_, from.data(), n);
      w.got_ += n;
      return n;
    };
    if (unread_size() > 0) {
      unread_at += copy(std::string_view(unread).substr(unread_at));
      if (unread_at == unread.size()) {
        unread.clear();
        unread_at = 0;
      }
    }
    if (!fresh.empty()) {
      const std::size_t taken = unread_size() == 0 ? copy(fresh) : 0;
      keep(fresh.substr(taken));
    }
    if (w.got_ >= w.need_) return true;
    if (end == 0 || unread_size() > 0) return false;
    if (end < 0) {
      w.error_ = end;
    } else {
      w.eof_ = true;
    }
    return true;
  }

  void keep(std::string_view bytes) noexcept {
    if (bytes.empty()) return;
    try {
      if (unread_at > 0 && unread_at >= unread.size() / 2) {
        unread.erase(0, unread_at);
        unread_at = 0;
      }
      unread.append(bytes);
    } catch (...) {
      end = -ENOMEM;  // out of memory for unread bytes: the stream fails, loudly
    }
  }

  // On the waiter's core: completes w if it can, else makes sure a multishot will feed it
  // (arms one here, or asks the core that has one to stop it).
  void settle(read_awaiter& w, std::string_view fresh) noexcept {
    if (fill(w, fresh)) {
      complete(w);
      return;
    }
    if (!keep_feeding(w)) complete(w);
  }

  void complete(read_awaiter& w) noexcept {
    waiter = nullptr;
    w.waiting_ = false;
    if (w.timer_.armed()) disarm_timer(&w.timer_);
    w.waiter_loop_->make_runnable(w.waiter_);
  }

  // On w's core, with w not complete: false (w.error_ set) if no multishot can be armed.
  bool keep_feeding(read_awaiter& w) noexcept {
    loop* here = w.waiter_loop_;
    if (armed) {
      if (home != here && !stopping) {
        stopping = true;  // the other core ends it, and the waiter's core re-arms here
        hand_over(home, hand_over_task::stop);
      }
      return true;
    }
    std::shared_ptr<socket_core> s = sock.lock();
    if (!s || !here->io().has_provided_buffers()) {
      w.error_ = s ? -ENOBUFS : -EBADF;
      return false;
    }
    if (!here->io().submit(*this)) {
      w.error_ = -EBUSY;
      return false;
    }
    armed = true;
    home = here;
    sock_while_armed = std::move(s);
    self_while_armed = shared_from_this();
    return true;
  }

  struct hand_over_task : core_task {
    enum what_t : std::uint8_t { settle, stop };
    std::shared_ptr<stream_reader> reader;
    std::uint64_t seq = 0;
    what_t what = settle;
  };

  // Under mu, on a loop thread: asks `to` to settle the waiter, or to stop the multishot.
  void hand_over(loop* to, hand_over_task::what_t what) noexcept {
    try {
      auto t = std::make_unique<hand_over_task>();
      t->run = &run_hand_over;
      t->drop = [](core_task* c) noexcept { delete static_cast<hand_over_task*>(c); };
      t->reader = shared_from_this();
      t->seq = wait_seq;
      t->what = what;
      t_loop->send_task(to->index(), t.get());
      static_cast<void>(t.release());  // the envelope owns it: run or drop frees it
    } catch (...) {
      // Out of memory: the waiter is left to its timeout, or to the next chunk.
    }
  }

  static void run_hand_over(core_task* c) noexcept {
    std::unique_ptr<hand_over_task> t(static_cast<hand_over_task*>(c));
    stream_reader& r = *t->reader;
    std::lock_guard lock(r.mu);
    if (t->what == hand_over_task::stop) {
      if (r.armed && r.home == t_loop) t_loop->io().cancel(r);
      return;
    }
    read_awaiter* w = r.waiter;
    if (w != nullptr && r.wait_seq == t->seq && w->waiter_loop_ == t_loop) r.settle(*w, {});
  }

  // A result of the multishot, on home's thread.
  static void on_recv(io_op* op, int res, unsigned flags) noexcept {
    auto* self = static_cast<stream_reader*>(op);
    std::shared_ptr<stream_reader> last_ref;  // dropped after the lock
    std::shared_ptr<socket_core> last_sock;
    {
      std::lock_guard lock(self->mu);
      io_backend& io = t_loop->io();
      std::string_view fresh;
      const bool has_buffer = (flags & io_buffer_flag) != 0;
      const unsigned id = flags >> io_buffer_shift;
      if (has_buffer && res > 0) fresh = {io.provided_buffer(id), static_cast<std::size_t>(res)};
      if ((flags & io_more) == 0) {
        self->armed = false;
        self->stopping = false;
        if (res == 0) {
          self->end = 1;
        } else if (res < 0 && res != -ECANCELED && res != -ENOBUFS) {
          self->end = res;
        }
        last_ref = std::move(self->self_while_armed);
        last_sock = std::move(self->sock_while_armed);
      }
      read_awaiter* w = self->waiter;
      if (w != nullptr && w->waiter_loop_ == t_loop) {
        self->settle(*w, fresh);
      } else {
        self->keep(fresh);
        if (w != nullptr) self->hand_over(w->waiter_loop_, hand_over_task::settle);
      }
      if (has_buffer) io.recycle_buffer(id);
      if (self->armed && !self->stopping && self->unread_size() > kUnreadLimit) {
        self->stopping = true;  // nobody reads: let the peer's window fill instead
        io.cancel(*self);
      }
    }
  }

  // The stream closes (its owner's thread): ends the multishot. On its own core the
  // cancel and the multishot itself are handed to the kernel at once, which then holds
  // the file for them, so the descriptor closes now, as a close without a reader would
  // (its number is free for the next accept). From another core the socket is shut down
  // instead, and the final result lets go of the descriptor.
  void stop_for_close() noexcept {
    std::shared_ptr<socket_core> last_sock;  // closes the descriptor after the lock
    std::lock_guard lock(mu);
    if (!armed) return;
    if (home == t_loop) {
      stopping = true;
      t_loop->io().cancel(*this);
      t_loop->io().flush();
      last_sock = std::move(sock_while_armed);
    } else {
      ::shutdown(fd, SHUT_RDWR);
    }
  }
};

read_awaiter::read_awaiter(std::shared_ptr<stream_reader> reader, std::span<char> dst, bool exact,
                           std::chrono::nanoseconds timeout) noexcept
    : io_awaiter(nullptr),
      dst_(dst),
      reader_(std::move(reader)),
      timeout_(timeout),
      need_(exact ? dst.size() : std::min<std::size_t>(1, dst.size())),
      exact_(exact) {}

read_awaiter::read_awaiter(read_awaiter&& o) noexcept
    : io_awaiter(std::move(o)),
      dst_(o.dst_),
      reader_(std::move(o.reader_)),
      timeout_(o.timeout_),
      need_(o.need_),
      exact_(o.exact_) {}  // only moved before it is awaited

read_awaiter::~read_awaiter() {
  if (!reader_ || !waiting_) return;
  // The process died waiting (its frame goes on its own core): stop waiting. Bytes on
  // their way stay in the reader's unread bytes.
  std::lock_guard lock(reader_->mu);
  if (reader_->waiter == this) reader_->waiter = nullptr;
  waiting_ = false;
  if (timer_.armed()) disarm_timer(&timer_);
}

bool read_awaiter::await_ready() {
  if (!reader_) return false;
  if (t_current == nullptr || t_loop == nullptr) throw_outside_process("a socket operation");
  std::lock_guard lock(reader_->mu);
  if (reader_->waiter != nullptr) {
    throw std::system_error(EBUSY, std::system_category(),
                            "coproc: another read is waiting on this stream");
  }
  return reader_->fill(*this, {});
}

bool read_awaiter::await_suspend(std::coroutine_handle<> h) {
  if (!reader_) {
    io_awaiter::await_suspend(h);
    return true;
  }
  std::lock_guard lock(reader_->mu);
  if (reader_->fill(*this, {})) return false;  // bytes came from another core meanwhile
  waiter_ = t_current;
  waiter_loop_ = t_loop;
  if (!reader_->keep_feeding(*this)) return false;
  reader_->waiter = this;
  ++reader_->wait_seq;
  waiting_ = true;
  if (timeout_ != std::chrono::nanoseconds::max()) {
    timer_.owner = this;
    timer_.fire = [](timer_node* t) noexcept {
      read_awaiter* self = static_cast<read_timer*>(t)->owner;
      std::lock_guard lock(self->reader_->mu);
      if (!self->waiting_) return;
      self->reader_->waiter = nullptr;
      self->waiting_ = false;
      self->error_ = -ETIMEDOUT;
      self->waiter_loop_->make_runnable(self->waiter_);
    };
    // From the core's next clock read (never earlier than now): no clock read per read.
    if (timeout_.count() > 0) {
      arm_timer_after(&timer_, timeout_.count());
    } else {
      arm_timer(&timer_, now_ns());
    }
  }
  waiter_->resume_point = h;
  waiter_->state = proc_state::waiting;
  return true;
}

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
  if (reader_) {
    if (error_ == -ETIMEDOUT) {
      throw std::system_error(std::make_error_code(std::errc::timed_out),
                              "coproc: socket operation timed out");
    }
    if (error_ < 0) {
      throw std::system_error(-error_, std::system_category(), "coproc: socket operation failed");
    }
    if (eof_ && exact_)
      throw std::system_error(make_error_code(io_errc::eof), "coproc: read_exact");
    return got_;
  }
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
// An operation on sock moving n bytes; with a buffer of its own for them unless the bytes
// come in `owned` (write_owned).
detail::io_request* make_io(detail::io_kind kind, const detail::socket_core* sock, std::size_t n,
                            bool exact, std::chrono::nanoseconds timeout, bool own_buffer = true) {
  if (sock == nullptr) {
    throw std::system_error(EBADF, std::system_category(), "coproc: closed socket");
  }
  auto* r = new detail::io_request(kind, sock->fd, sock->id.value);
  if (own_buffer) r->buf = detail::io_buffer(n);
  r->want = n;
  r->exact = exact;
  r->set_timeout(timeout);
  return r;
}
}  // namespace

namespace {
// The stream's multishot reader, made on its first read where the core has provided
// buffers; null where reads are one-shot operations.
detail::stream_reader* reader_for(const std::shared_ptr<detail::socket_core>& core) {
  if (!core) throw std::system_error(EBADF, std::system_category(), "coproc: closed socket");
  if (!core->reader && detail::t_loop != nullptr && detail::t_loop->io().has_provided_buffers()) {
    core->reader = std::make_shared<detail::stream_reader>(core);
  }
  return core->reader.get();
}
}  // namespace

detail::read_awaiter tcp_stream::read_some(std::span<char> buf, std::chrono::nanoseconds timeout) {
  if (reader_for(core_) != nullptr) return {core_->reader, buf, false, timeout};
  return {make_io(detail::io_kind::recv, core_.get(), buf.size(), false, timeout), buf};
}

detail::read_awaiter tcp_stream::read_exact(std::span<char> buf, std::chrono::nanoseconds timeout) {
  if (reader_for(core_) != nullptr) return {core_->reader, buf, true, timeout};
  return {make_io(detail::io_kind::recv, core_.get(), buf.size(), true, timeout), buf};
}

detail::write_awaiter tcp_stream::write_all(std::string_view data,
                                            std::chrono::nanoseconds timeout) {
  auto* r = make_io(detail::io_kind::send, core_.get(), data.size(), true, timeout);
  std::memcpy(r->buf.get(), data.data(), data.size());
  return detail::write_awaiter(r);
}

detail::write_awaiter tcp_stream::write_owned(std::string&& data,
                                              std::chrono::nanoseconds timeout) {
  if (data.empty()) return write_all(std::string_view{}, timeout);
  auto* r = make_io(detail::io_kind::send, core_.get(), data.size(), true, timeout, false);
  r->owned = std::move(data);
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
  if (core_->reader) core_->reader->stop_for_close();
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
