// lib/io/uring_backend.cpp - the io_uring backend: one ring per core.
//
// submit() fills a submission entry; flush() sends the turn's entries in one
// io_uring_submit. Completions are read from the shared completion queue without a
// syscall. user_data is the io_op, or one of two tags that are never addresses: a side
// entry (a cancel request), counted in in_flight() so shutdown waits for it, and the
// read of the wakeup eventfd that a sleeping loop keeps armed.
//
// Deadlines are timers on the loop's timer wheel: one that fires submits a cancel, and
// the operation completes with -ECANCELED (or its own result, if that was on its way).
// A linked IORING_OP_LINK_TIMEOUT would do the same in the kernel, but it costs an
// entry, a completion and an hrtimer armed and disarmed per operation, and echo and
// HTTP servers put a timeout on every read and write: perf showed 9% of an echo
// server's CPU in io_queue_linked_timeout and io_disarm_next. A wheel timer costs an
// insert and an unlink in memory the loop already has in cache.
#include <liburing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>

#include "lib/io/backend.hpp"

namespace coproc::detail {
namespace {

constexpr unsigned kEntries = 256;
constexpr std::uint64_t kSideTag = 1;  // io_op is aligned: 1 and 2 are never one
constexpr std::uint64_t kWakeTag = 2;
constexpr unsigned kBuffers = 256;  // provided buffers per loop (a power of two)
constexpr unsigned kBufferSize = 8 * 1024;
constexpr unsigned short kBufferGroup = 0;

class uring_backend final : public io_backend {
 public:
  explicit uring_backend(fatal_handler on_fatal) : on_fatal_(std::move(on_fatal)) {
    if (int rc = init_ring(); rc < 0) {
      throw std::system_error(-rc, std::system_category(), "coproc: io_uring_setup");
    }
    wake_fd_ = eventfd(0, EFD_CLOEXEC);
    if (wake_fd_ < 0) {
      const int err = errno;
      io_uring_queue_exit(&ring_);
      throw std::system_error(err, std::system_category(), "coproc: eventfd");
    }
  }
  uring_backend(const uring_backend&) = delete;
  uring_backend& operator=(const uring_backend&) = delete;
  ~uring_backend() override {
    io_uring_queue_exit(&ring_);  // unregisters the buffer ring with the ring
    if (buffer_ring_ != nullptr) ::munmap(buffer_ring_, buffer_bytes_);
    ::close(wake_fd_);
  }

  [[nodiscard]] io_backend_kind kind() const noexcept override { return io_backend_kind::io_uring; }

  bool submit(io_op& op) noexcept override {
    io_uring_sqe* sqe = get_sqe();
    if (sqe == nullptr) return false;
    switch (op.kind) {
      case io_kind::accept:
        io_uring_prep_accept(sqe, op.fd, op.addr, &op.addrlen, SOCK_CLOEXEC);
        break;
      case io_kind::accept_multishot:
        io_uring_prep_multishot_accept(sqe, op.fd, nullptr, nullptr, SOCK_CLOEXEC);
        break;
      case io_kind::connect:
        io_uring_prep_connect(sqe, op.fd, op.addr, op.addrlen);
        break;
      case io_kind::recv:
        io_uring_prep_recv(sqe, op.fd, op.data, op.len, 0);
        break;
      case io_kind::send:
        io_uring_prep_send(sqe, op.fd, op.data, op.len, MSG_NOSIGNAL);
        break;
      case io_kind::recvmsg:
        io_uring_prep_recvmsg(sqe, op.fd, op.msg, 0);
        break;
      case io_kind::sendmsg:
        io_uring_prep_sendmsg(sqe, op.fd, op.msg, MSG_NOSIGNAL);
        break;
      case io_kind::recv_multishot:
        io_uring_prep_recv_multishot(sqe, op.fd, nullptr, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = kBufferGroup;
        break;
    }
    io_uring_sqe_set_data(sqe, &op);
    ++in_flight_;
    op.state = io_state::in_flight;
    if (op.deadline != 0) {
      op.timer.op = &op;
      op.timer.backend = this;
      op.timer.fire = &on_deadline;
      arm_timer(&op.timer, op.deadline);
    }
    return true;
  }

  void cancel(io_op& op) noexcept override {
    if (op.state != io_state::in_flight) return;
    if (op.timer.armed()) disarm_timer(&op.timer);
    op.state = io_state::cancelled;
    if (io_uring_sqe* sqe = get_sqe(); sqe != nullptr) {
      io_uring_prep_cancel(sqe, &op, 0);
      io_uring_sqe_set_data64(sqe, kSideTag);
      ++in_flight_;
    }
  }

  void flush() noexcept override {
    if (!failed_ && io_uring_sq_ready(&ring_) > 0) ok(io_uring_submit(&ring_), "io_uring_submit");
  }

  bool reap() noexcept override {
    io_uring_cqe* cqe = nullptr;
    unsigned n = 0;
    while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
      const std::uint64_t tag = cqe->user_data;
      const int res = cqe->res;
      const bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
      unsigned flags = more ? io_more : 0U;
      if ((cqe->flags & IORING_CQE_F_BUFFER) != 0) {
        flags |= io_buffer_flag | (cqe->flags >> IORING_CQE_BUFFER_SHIFT) << io_buffer_shift;
      }
      io_uring_cqe_seen(&ring_, cqe);
      ++n;
      if (tag == kSideTag) {
        --in_flight_;
      } else if (tag == kWakeTag) {
        wake_armed_ = false;
      } else if (tag != 0) {
        auto* op = reinterpret_cast<io_op*>(static_cast<std::uintptr_t>(tag));
        if (!more) {
          --in_flight_;
          op->state = io_state::completed;
          if (op->timer.armed()) disarm_timer(&op->timer);
        }
        op->on_complete(op, res, flags);  // may free op
      }
    }
    return n > 0;
  }

  // With COOP_TASKRUN a finished socket operation may still be task work that the next
  // io_uring_enter runs; the kernel says so with IORING_SQ_TASKRUN, and reap() (through
  // io_uring_peek_cqe) enters the kernel to run it.
  [[nodiscard]] bool ready() const noexcept override {
    return io_uring_cq_ready(&ring_) != 0 ||
           (IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_TASKRUN) != 0;
  }
  [[nodiscard]] bool poll_ready() noexcept override { return ready(); }

  void wait(std::int64_t timeout_ns) noexcept override {
    if (failed_) {
      wait_without_ring(timeout_ns);
      return;
    }
    if (!wake_armed_) {
      if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_); sqe != nullptr) {
        io_uring_prep_read(sqe, wake_fd_, &wake_buf_, sizeof(wake_buf_), 0);
        io_uring_sqe_set_data64(sqe, kWakeTag);
        wake_armed_ = true;
      }
    }
    io_uring_cqe* cqe = nullptr;
    if (timeout_ns >= 0) {
      __kernel_timespec ts{timeout_ns / 1'000'000'000, timeout_ns % 1'000'000'000};
      ok(io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr),
         "io_uring_submit_and_wait");
    } else {
      ok(io_uring_submit_and_wait(&ring_, 1), "io_uring_submit_and_wait");
    }
  }

  void wake() noexcept override { eventfd_write(wake_fd_, 1); }

  [[nodiscard]] std::size_t in_flight() const noexcept override {
    return failed_ ? 0 : in_flight_;  // a failed ring completes nothing more
  }

  bool has_provided_buffers() noexcept override {
    if (buffers_state_ == buffers::untried) buffers_state_ = setup_buffers();
    return buffers_state_ == buffers::ready;
  }
  [[nodiscard]] const char* provided_buffer(unsigned id) const noexcept override {
    return buffer_memory_ + std::size_t{id} * kBufferSize;
  }
  void recycle_buffer(unsigned id) noexcept override {
    io_uring_buf_ring_add(buffer_ring_, buffer_memory_ + std::size_t{id} * kBufferSize, kBufferSize,
                          static_cast<unsigned short>(id), io_uring_buf_ring_mask(kBuffers), 0);
    io_uring_buf_ring_advance(buffer_ring_, 1);
  }

 private:
  // COOP_TASKRUN: the kernel runs a completion's task work when this thread next enters
  // it, instead of interrupting it with an IPI. A loop that spins on the completion
  // queue was interrupted that way for every socket completion (7% of an HTTP server's
  // CPU in irqentry_exit_to_user_mode); TASKRUN_FLAG tells the spin that work waits.
  // Kernels before 5.19 refuse the flags: the ring is then made without them.
  int init_ring() noexcept {
    const int rc = io_uring_queue_init(kEntries, &ring_,
                                       IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG);
    if (rc != -EINVAL) return rc;
    return io_uring_queue_init(kEntries, &ring_, 0);
  }

  // The provided-buffer ring: kBuffers buffers of kBufferSize bytes (2 MiB per loop),
  // registered as group kBufferGroup. Multishot recv needs Linux 6.0 (buffer rings came in
  // 5.19); an older kernel, or a refused registration, leaves one-shot receives.
  enum class buffers : std::uint8_t { untried, ready, unavailable };
  buffers setup_buffers() noexcept {
    utsname u{};
    int major = 0;
    if (failed_ || ::uname(&u) != 0 || std::sscanf(u.release, "%d", &major) != 1 || major < 6) {
      return buffers::unavailable;
    }
    const std::size_t ring_bytes = kBuffers * sizeof(io_uring_buf);
    const std::size_t total = ring_bytes + std::size_t{kBuffers} * kBufferSize;
    void* mem = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return buffers::unavailable;
    buffer_ring_ = static_cast<io_uring_buf_ring*>(mem);
    buffer_memory_ = static_cast<char*>(mem) + ring_bytes;
    buffer_bytes_ = total;
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(mem);
    reg.ring_entries = kBuffers;
    reg.bgid = kBufferGroup;
    if (io_uring_register_buf_ring(&ring_, &reg, 0) != 0) {
      ::munmap(mem, total);
      buffer_ring_ = nullptr;
      buffer_memory_ = nullptr;
      return buffers::unavailable;
    }
    io_uring_buf_ring_init(buffer_ring_);
    for (unsigned id = 0; id < kBuffers; ++id) {
      io_uring_buf_ring_add(buffer_ring_, buffer_memory_ + std::size_t{id} * kBufferSize,
                            kBufferSize, static_cast<unsigned short>(id),
                            io_uring_buf_ring_mask(kBuffers), static_cast<int>(id));
    }
    io_uring_buf_ring_advance(buffer_ring_, kBuffers);
    return buffers::ready;
  }

  io_uring_sqe* get_sqe() noexcept {
    if (failed_) return nullptr;
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
      if (!ok(io_uring_submit(&ring_), "io_uring_submit")) return nullptr;
      sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
  }

  // An operation's deadline passed while it waited: it ends as cancelled.
  static void on_deadline(timer_node* t) noexcept {
    auto* dt = static_cast<io_op::deadline_timer*>(t);
    static_cast<uring_backend*>(dt->backend)->cancel(*dt->op);
  }

  // io_uring_enter's result. Interrupted, timed out, or the kernel short of something
  // for a moment: the next turn tries again. Anything else (EPERM from a seccomp filter,
  // EFAULT, EBADF...) fails the same way every time, and retrying would only spin.
  bool ok(int rc, const char* what) noexcept {
    if (rc >= 0 || rc == -EINTR || rc == -ETIME || rc == -EAGAIN || rc == -EBUSY) return true;
    failed_ = true;
    try {
      on_fatal_(std::string(what) + " failed: " + std::strerror(-rc) +
                " (io_uring may be blocked by a seccomp profile or by the "
                "kernel.io_uring_disabled sysctl; the epoll backend runs without it)");
    } catch (...) {
    }
    return false;
  }

  // A failed ring: wait on the wakeup eventfd with poll, never spin.
  void wait_without_ring(std::int64_t timeout_ns) noexcept {
    const int ms = timeout_ns < 0
                       ? -1
                       : static_cast<int>(std::min<std::int64_t>(timeout_ns / 1'000'000 + 1, 1000));
    pollfd pfd{wake_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, ms) > 0) {
      eventfd_t drained = 0;
      eventfd_read(wake_fd_, &drained);
    }
  }

  io_uring ring_{};
  int wake_fd_ = -1;
  std::uint64_t wake_buf_ = 0;  // the kernel writes here while the wake read is armed
  bool wake_armed_ = false;
  bool failed_ = false;
  std::size_t in_flight_ = 0;
  buffers buffers_state_ = buffers::untried;
  io_uring_buf_ring* buffer_ring_ = nullptr;  // shared with the kernel: the free buffers
  char* buffer_memory_ = nullptr;             // kBuffers * kBufferSize bytes
  std::size_t buffer_bytes_ = 0;              // the mapping: ring, then buffers
  fatal_handler on_fatal_;
};

}  // namespace

std::unique_ptr<io_backend> make_uring_backend(io_backend::fatal_handler on_fatal) {
  return std::make_unique<uring_backend>(std::move(on_fatal));
}

int probe_io_uring(const char** what) noexcept {
  io_uring ring{};
  if (int rc = io_uring_queue_init(2, &ring, 0); rc < 0) {
    *what = "io_uring_setup";
    return -rc;
  }
  int err = 0;
  io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  io_uring_prep_nop(sqe);
  io_uring_sqe_set_data64(sqe, 0);
  int rc = io_uring_submit_and_wait(&ring, 1);
  if (rc < 0 && rc != -EINTR) {
    *what = "io_uring_enter";
    err = -rc;
  } else {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_peek_cqe(&ring, &cqe) == 0) io_uring_cqe_seen(&ring, cqe);
  }
  io_uring_queue_exit(&ring);
  return err;
}

}  // namespace coproc::detail
