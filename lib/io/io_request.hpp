// lib/io/io_request.hpp - one socket operation a process awaits, on its core's backend.
//
// Who owns it: the awaiter, while the process waits; itself (orphaned) once the
// awaiter is gone and the backend still has it. Everything the kernel reads or writes
// (buffer, address, msghdr, timespec) lives here, so a cancel never frees memory the
// kernel may still touch.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <coroutine>
#include <cstdint>
#include <memory>
#include <string>
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

// Asks l's backend to end `target` (its final completion follows).
void submit_cancel(loop& l, io_op* target) noexcept;

// A socket operation that one process awaits (through io_awaiter).
//
// Lifecycle (phase, written on the owner core):
//   made        - built by the socket call, not yet handed to the backend
//   in_flight   - the backend has it; the process waits
//   backing_off - between two submissions (accept out of descriptors): only a timer
//   orphaned    - the process died while the backend had it: cancelled, and freed
//                 (buffers included) when its final completion arrives
//   done        - the result is in `result`; the process resumes and frees it
struct io_request : io_op {
  static void* operator new(std::size_t n) { return small_alloc(n); }
  static void operator delete(void* p, std::size_t n) noexcept { small_free(p, n); }

  enum class phase : std::uint8_t { made, in_flight, backing_off, orphaned, done };
  phase at = phase::made;
  bool exact = false;  // recv/send: keep going until `want` bytes (read_exact, write_all)
  int result = 0;
  pcb* waiter = nullptr;
  std::coroutine_handle<> resume;
  loop* home = nullptr;

  io_buffer buf;
  // write_all(std::string&&): the caller's bytes, moved in; a send reads them instead of
  // buf, so the request (not the process, which may die) keeps them alive for the kernel.
  std::string owned;
  std::size_t want = 0;  // bytes to move
  std::size_t got = 0;   // bytes moved so far
  sockaddr_storage addr_storage{};
  iovec iov{};
  msghdr header{};

  // What the operation's owner needs alive while it is in flight (an accept keeps its
  // listener's state here, so the fd cannot close under the kernel).
  std::shared_ptr<void> keep;
  // The pause before submitting again (backing_off).
  struct retry_timer : timer_node {
    io_request* owner = nullptr;
  };
  retry_timer retry;

  io_request(io_kind k, int f, std::uint64_t file) noexcept : io_op(k, f, &on_result) {
    file_id = file;
    addr = reinterpret_cast<sockaddr*>(&addr_storage);
    addrlen = sizeof(addr_storage);
  }
  void set_timeout(std::chrono::nanoseconds t);
  // Hands it to the backend of `home` (made, backing_off or done -> in_flight). Throws
  // std::system_error if the backend cannot take it.
  void submit();
  static void on_result(io_op* op, int res, unsigned flags) noexcept;
  // Submits again at `when` (runtime clock) instead of completing now. Owner core only.
  void retry_at(std::int64_t when) noexcept;
  // Completes with `res` now: the waiting process resumes (owner core only).
  void finish_with(int res) noexcept;
};

}  // namespace coproc::detail
