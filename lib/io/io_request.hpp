// lib/io/io_request.hpp - one socket operation in flight on a core's ring.
//
// Who owns it: the awaiter, while the process waits; itself (orphaned) once the
// awaiter is gone and the kernel still has it. Everything the kernel reads or writes
// (buffer, address, msghdr, timespec) lives here, so a cancel never frees memory the
// kernel may still touch.
#pragma once

#include <liburing.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <coroutine>
#include <cstdint>
#include <memory>
#include <utility>

#include "coproc/detail/pcb.hpp"
#include "coproc/detail/small_alloc.hpp"
#include "lib/core/loop.hpp"

namespace coproc::detail {

// Buffers the kernel reads or writes. Sizes are rounded up to a power of two (at least
// 4 KiB) and each thread keeps a few of each size, so a connection that reads 16 KiB at
// a time does not go to malloc for every read.
class io_buffer {
 public:
  io_buffer() = default;
  explicit io_buffer(std::size_t size);
  io_buffer(io_buffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), cls_(o.cls_) {}
  io_buffer& operator=(io_buffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(cls_, o.cls_);
    return *this;
  }
  io_buffer(const io_buffer&) = delete;
  io_buffer& operator=(const io_buffer&) = delete;
  ~io_buffer();
  [[nodiscard]] char* get() const noexcept { return p_; }

 private:
  char* p_ = nullptr;
  unsigned cls_ = 0;
};

// Asks the kernel to cancel the operation whose user_data is `target` (on l's ring).
void submit_cancel(loop& l, io_completion* target) noexcept;

struct io_request : io_completion {
  static void* operator new(std::size_t n) { return small_alloc(n); }
  static void operator delete(void* p, std::size_t n) noexcept { small_free(p, n); }

  enum class op : std::uint8_t { accept, connect, recv, send, recvmsg, sendmsg };
  op kind;
  int fd = -1;
  bool exact = false;  // recv/send: keep going until `want` bytes (read_exact, write_all)
  bool submitted = false;
  bool done = false;
  bool orphaned = false;
  int result = 0;
  pcb* waiter = nullptr;
  std::coroutine_handle<> resume;
  loop* home = nullptr;
  std::int64_t deadline = 0;  // ns on the runtime clock; 0 = none
  __kernel_timespec ts{};

  io_buffer buf;
  std::size_t want = 0;  // bytes to move
  std::size_t got = 0;   // bytes moved so far
  sockaddr_storage addr{};
  socklen_t addrlen = sizeof(sockaddr_storage);
  iovec iov{};
  msghdr msg{};

  // What the operation's owner needs alive while it is in flight (an accept keeps its
  // listener's state here, so the fd cannot close under the kernel).
  std::shared_ptr<void> keep;
  // A pause before submitting again (accept while the process is out of descriptors):
  // not in the kernel then, so a dying process disarms the timer instead of cancelling.
  struct retry_timer : timer_node {
    io_request* owner = nullptr;
  };
  retry_timer retry;
  bool backing_off = false;

  io_request(op k, int f) : kind(k), fd(f) { complete = &on_complete; }
  void set_timeout(std::chrono::nanoseconds t);
  // Puts the SQE(s) on the ring of `home`. Throws std::system_error if it cannot.
  void submit();
  static void on_complete(io_completion* c, int res, unsigned flags) noexcept;
  // Submits again at `when` (runtime clock) instead of completing now. Owner core only.
  void retry_at(std::int64_t when) noexcept;
  // Completes with `res` now: the waiting process resumes (owner core only).
  void finish_with(int res) noexcept;
};

}  // namespace coproc::detail
