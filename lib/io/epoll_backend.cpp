// lib/io/epoll_backend.cpp - the readiness backend, for where io_uring is blocked.
//
// submit() tries the operation at once as a non-blocking syscall (MSG_DONTWAIT; listening
// and connecting sockets are made O_NONBLOCK). A result, even an immediate one, is queued
// and delivered by reap(), so submit never calls back. An operation that would block is
// parked on its descriptor's watch, readers and writers apart, oldest first, and the
// descriptor is registered once, edge-triggered, for input and output. An event retries
// the parked operations of its direction in order until one would block again.
//
// Descriptors are reused by the kernel, and a closed one leaves our epoll set without
// telling us: a watch remembers which open file it registered (io_op::file_id), and an
// operation on another file under the same number registers it again.
//
// Readiness is polled with epoll_wait(0) by reap() while operations are parked (every
// turn while events keep coming, else every kPollEvery turns, so that a loop busy with
// messages still serves its sockets), and with a timeout by wait() when the loop sleeps.
// Deadlines are timers on the loop's timer wheel. Cross-thread wakeups write an eventfd
// that the epoll set watches.
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "lib/io/backend.hpp"

namespace coproc::detail {
namespace {

constexpr unsigned kPollEvery = 8;   // busy turns between two readiness polls
constexpr int kEventsPerPoll = 256;  // epoll_wait's batch

bool is_reader(io_kind k) noexcept {
  return k == io_kind::accept || k == io_kind::accept_multishot || k == io_kind::recv ||
         k == io_kind::recvmsg;
}

bool would_block(int err) noexcept {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS || err == EALREADY;
}

class epoll_backend final : public io_backend {
 public:
  explicit epoll_backend(fatal_handler on_fatal) : on_fatal_(std::move(on_fatal)) {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) throw std::system_error(errno, std::system_category(), "coproc: epoll_create1");
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) {
      const int err = errno;
      ::close(epfd_);
      throw std::system_error(err, std::system_category(), "coproc: eventfd");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered: drained by the wait that sees it
    ev.data.fd = wake_fd_;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
      const int err = errno;
      ::close(wake_fd_);
      ::close(epfd_);
      throw std::system_error(err, std::system_category(), "coproc: epoll_ctl");
    }
    more_.reserve(64);
    more_now_.reserve(64);
  }
  epoll_backend(const epoll_backend&) = delete;
  epoll_backend& operator=(const epoll_backend&) = delete;
  ~epoll_backend() override {
    ::close(wake_fd_);
    ::close(epfd_);
  }

  [[nodiscard]] io_backend_kind kind() const noexcept override { return io_backend_kind::epoll; }

  bool submit(io_op& op) noexcept override {
    if (failed_) return false;
    op.state = io_state::in_flight;
    ++in_flight_;
    if (op.kind == io_kind::accept || op.kind == io_kind::accept_multishot ||
        op.kind == io_kind::connect) {
      // accept4 and connect have no per-call "don't block"; the loop thread must never.
      if (int err = make_nonblocking(op); err != 0) {
        finish(op, -err);
        return true;
      }
    }
    if (attempt(op, /*first=*/true)) return true;
    if (int err = park(op); err != 0) finish(op, -err);
    return true;
  }

  void cancel(io_op& op) noexcept override {
    if (op.state != io_state::in_flight) return;
    op.state = io_state::cancelled;
    if (op.parked) {
      unpark(op);
      finish(op, -ECANCELED);
    }
    // else its final result is already queued: it completes with that.
  }

  void flush() noexcept override {}

  bool reap() noexcept override {
    const bool fresh = std::exchange(just_polled_, false);
    if (parked_ > 0 && !fresh && (hot_ || ++turns_since_poll_ >= kPollEvery)) poll(0);
    if (more_.empty() && done_head_ == nullptr) return false;
    // Callbacks may submit again and queue new results: take this batch out first.
    // Within one operation, the results with io_more come before its final one.
    more_now_.swap(more_);
    io_op* finals = std::exchange(done_head_, nullptr);
    done_tail_ = nullptr;
    for (const more_result& r : more_now_) r.op->on_complete(r.op, r.fd, io_more);
    more_now_.clear();
    while (finals != nullptr) {
      io_op* op = finals;
      finals = op->next_done;
      op->next_done = nullptr;
      --in_flight_;
      op->state = io_state::completed;
      op->on_complete(op, op->queued_result, 0);  // may free op
    }
    return true;
  }

  [[nodiscard]] bool ready() const noexcept override {
    return done_head_ != nullptr || !more_.empty();
  }

  [[nodiscard]] bool poll_ready() noexcept override {
    if (parked_ > 0 && !ready()) poll(0);
    return ready();
  }

  void wait(std::int64_t timeout_ns) noexcept override {
    if (ready()) timeout_ns = 0;
    poll(timeout_ns);
    just_polled_ = true;  // the next reap need not ask the kernel again at once
  }

  void wake() noexcept override { eventfd_write(wake_fd_, 1); }

  [[nodiscard]] std::size_t in_flight() const noexcept override { return in_flight_; }

 private:
  struct more_result {  // one connection of a multishot accept
    io_op* op;
    int fd;
  };
  struct watch {
    std::uint64_t file_id = 0;  // the open file registered (and made non-blocking)
    bool registered = false;
    bool nonblocking = false;
    io_op* readers = nullptr;  // parked, oldest first (intrusive through io_op)
    io_op* readers_tail = nullptr;
    io_op* writers = nullptr;
    io_op* writers_tail = nullptr;
  };

  // The watch of op's descriptor, forgotten first if it was another open file's.
  watch& watch_of(const io_op& op) {
    const auto i = static_cast<std::size_t>(op.fd);
    if (i >= watches_.size()) watches_.resize(std::max<std::size_t>(i + 1, watches_.size() * 2));
    watch& w = watches_[i];
    if (w.file_id != op.file_id || op.file_id == 0) {
      // A parked operation keeps its file open, so a new file here has none parked.
      if (w.readers == nullptr && w.writers == nullptr) {
        w.registered = false;
        w.nonblocking = false;
      }
      w.file_id = op.file_id;
    }
    return w;
  }

  int make_nonblocking(const io_op& op) noexcept {
    try {
      watch& w = watch_of(op);
      if (w.nonblocking) return 0;
      const int fl = ::fcntl(op.fd, F_GETFL);
      if (fl < 0) return errno;
      if ((fl & O_NONBLOCK) == 0 && ::fcntl(op.fd, F_SETFL, fl | O_NONBLOCK) != 0) return errno;
      w.nonblocking = op.file_id != 0;
      return 0;
    } catch (...) {
      return ENOMEM;
    }
  }

  // One try of the syscall. True when the operation has its (final) result queued;
  // false when it would block (a multishot accept has queued what was there).
  bool attempt(io_op& op, bool first) noexcept {
    for (;;) {
      long n = 0;
      switch (op.kind) {
        case io_kind::recv:
          n = ::recv(op.fd, op.data, op.len, MSG_DONTWAIT);
          break;
        case io_kind::send:
          n = ::send(op.fd, op.data, op.len, MSG_DONTWAIT | MSG_NOSIGNAL);
          break;
        case io_kind::recvmsg:
          n = ::recvmsg(op.fd, op.msg, MSG_DONTWAIT);
          break;
        case io_kind::sendmsg:
          n = ::sendmsg(op.fd, op.msg, MSG_DONTWAIT | MSG_NOSIGNAL);
          break;
        case io_kind::accept:
          n = ::accept4(op.fd, op.addr, op.addr != nullptr ? &op.addrlen : nullptr, SOCK_CLOEXEC);
          break;
        case io_kind::accept_multishot:
          n = ::accept4(op.fd, nullptr, nullptr, SOCK_CLOEXEC);
          if (n >= 0) {
            push_more(op, static_cast<int>(n));
            continue;  // drain the backlog: the edge will not come again for it
          }
          break;
        case io_kind::connect:
          n = connect_step(op, first);
          if (n == -1 && errno == EISCONN) n = 0;
          break;
        case io_kind::recv_multishot:  // needs provided buffers, which epoll has not
          n = -1;
          errno = EINVAL;
          break;
      }
      if (n >= 0) {
        finish(op, static_cast<int>(n));
        return true;
      }
      const int err = errno;
      if (err == EINTR) continue;
      if (would_block(err)) return false;
      finish(op, -err);
      return true;
    }
  }

  // connect(2) the first time; afterwards, once the socket is writable, its outcome:
  // SO_ERROR, else a second connect that says EISCONN (done) or EALREADY (not yet).
  static long connect_step(io_op& op, bool first) noexcept {
    if (!first) {
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(op.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return -1;
      if (err != 0) {
        errno = err;
        return -1;
      }
    }
    return ::connect(op.fd, op.addr, op.addrlen);
  }

  int park(io_op& op) noexcept {
    watch* w = nullptr;
    try {
      w = &watch_of(op);
    } catch (...) {
      return ENOMEM;
    }
    if (!w->registered) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.fd = op.fd;
      if (epoll_ctl(epfd_, EPOLL_CTL_ADD, op.fd, &ev) != 0) {
        if (errno != EEXIST || epoll_ctl(epfd_, EPOLL_CTL_MOD, op.fd, &ev) != 0) return errno;
      }
      // Adding (or modifying) reports readiness that came before it, so nothing that
      // arrived since our try is missed; an fd registered earlier gets an edge for it.
      w->registered = true;
    }
    io_op*& head = is_reader(op.kind) ? w->readers : w->writers;
    io_op*& tail = is_reader(op.kind) ? w->readers_tail : w->writers_tail;
    op.prev_parked = tail;
    op.next_parked = nullptr;
    if (tail != nullptr) {
      tail->next_parked = &op;
    } else {
      head = &op;
    }
    tail = &op;
    op.parked = true;
    ++parked_;
    if (op.deadline != 0) {
      op.timer.op = &op;
      op.timer.backend = this;
      op.timer.fire = &on_deadline;
      arm_timer(&op.timer, op.deadline);
    }
    return 0;
  }

  void unpark(io_op& op) noexcept {
    watch& w = watches_[static_cast<std::size_t>(op.fd)];
    io_op*& head = is_reader(op.kind) ? w.readers : w.writers;
    io_op*& tail = is_reader(op.kind) ? w.readers_tail : w.writers_tail;
    if (op.prev_parked != nullptr) {
      op.prev_parked->next_parked = op.next_parked;
    } else {
      head = op.next_parked;
    }
    if (op.next_parked != nullptr) {
      op.next_parked->prev_parked = op.prev_parked;
    } else {
      tail = op.prev_parked;
    }
    op.next_parked = op.prev_parked = nullptr;
    op.parked = false;
    --parked_;
    if (op.timer.armed()) disarm_timer(&op.timer);
  }

  // Retries the parked operations of one direction, oldest first, until one blocks.
  void retry(io_op* head) noexcept {
    while (head != nullptr) {
      io_op* next = head->next_parked;
      if (!attempt(*head, false)) return;
      unpark(*head);
      head = next;
    }
  }

  void poll(std::int64_t timeout_ns) noexcept {
    if (failed_) return;
    turns_since_poll_ = 0;
    int n = 0;
    for (;;) {
      n = wait_events(timeout_ns);
      if (n >= 0) break;
      if (errno == EINTR) return;
      failed_ = true;
      try {
        on_fatal_(std::string("epoll_wait failed: ") + std::strerror(errno));
      } catch (...) {
      }
      return;
    }
    bool io = false;
    for (int i = 0; i < n; ++i) {
      const int fd = events_[static_cast<std::size_t>(i)].data.fd;
      const std::uint32_t ev = events_[static_cast<std::size_t>(i)].events;
      if (fd == wake_fd_) {
        eventfd_t drained = 0;
        eventfd_read(wake_fd_, &drained);
        continue;
      }
      io = true;
      if (static_cast<std::size_t>(fd) >= watches_.size()) continue;
      watch& w = watches_[static_cast<std::size_t>(fd)];
      if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) retry(w.readers);
      if ((ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) retry(w.writers);
    }
    hot_ = io;
  }

  int wait_events(std::int64_t timeout_ns) noexcept {
    if (timeout_ns <= 0)
      return epoll_wait(epfd_, events_.data(), kEventsPerPoll, timeout_ns < 0 ? -1 : 0);
    if (have_pwait2_) {
      timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000),
                  static_cast<long>(timeout_ns % 1'000'000'000)};
      const int n = epoll_pwait2(epfd_, events_.data(), kEventsPerPoll, &ts, nullptr);
      if (n >= 0 || (errno != ENOSYS && errno != EPERM)) return n;
      have_pwait2_ = false;  // an old kernel or a filter without it: milliseconds will do
    }
    // Rounded up, so a deadline is never missed by sleeping short.
    const std::int64_t ms = std::min<std::int64_t>((timeout_ns + 999'999) / 1'000'000, 1'000'000);
    return epoll_wait(epfd_, events_.data(), kEventsPerPoll, static_cast<int>(ms));
  }

  // Queues a connection of a multishot accept. Out of memory, that one is dropped.
  void push_more(io_op& op, int fd) noexcept {
    try {
      more_.push_back({&op, fd});
    } catch (...) {
      ::close(fd);
    }
  }
  // Queues op's final result: intrusive, so it cannot fail.
  void finish(io_op& op, int res) noexcept {
    op.queued_result = res;
    op.next_done = nullptr;
    if (done_tail_ != nullptr) {
      done_tail_->next_done = &op;
    } else {
      done_head_ = &op;
    }
    done_tail_ = &op;
  }

  static void on_deadline(timer_node* t) noexcept {
    auto* dt = static_cast<io_op::deadline_timer*>(t);
    auto* self = static_cast<epoll_backend*>(dt->backend);
    self->unpark(*dt->op);
    self->finish(*dt->op, -ECANCELED);
  }

  int epfd_ = -1;
  int wake_fd_ = -1;
  bool failed_ = false;
  bool hot_ = false;  // the last poll found I/O: poll again next turn
  bool have_pwait2_ = true;
  bool just_polled_ = false;  // wait() polled since the last reap
  unsigned turns_since_poll_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t parked_ = 0;
  std::vector<watch> watches_;  // by descriptor
  io_op* done_head_ = nullptr;  // final results not yet delivered, in order
  io_op* done_tail_ = nullptr;
  std::vector<more_result> more_;  // multishot connections not yet delivered
  std::vector<more_result> more_now_;
  std::array<epoll_event, kEventsPerPoll> events_{};
  fatal_handler on_fatal_;
};

}  // namespace

std::unique_ptr<io_backend> make_epoll_backend(io_backend::fatal_handler on_fatal) {
  return std::make_unique<epoll_backend>(std::move(on_fatal));
}

}  // namespace coproc::detail
