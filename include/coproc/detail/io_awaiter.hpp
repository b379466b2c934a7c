// coproc/detail/io_awaiter.hpp - the awaiter behind every socket operation.
//
// Lifecycle of one operation (an io_request, owned by lib/io):
//   made      - by the socket call; owns the buffer the kernel will use
//   submitted - await_suspend hands it to the I/O backend of the caller's core (an SQE,
//               or a non-blocking try and a readiness wait; a deadline is a timer on the
//               loop's wheel); the
//               process waits (state waiting, no receive)
//   completed - the result wakes the process; await_resume copies data out and frees it
//   orphaned  - the process died (its frame, and this awaiter, were destroyed) while
//               the kernel still had the operation: the request is cancelled, and it is
//               freed, buffers included, only when its completion finally arrives.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstddef>

namespace coproc::detail {

struct io_request;

class [[nodiscard]] io_awaiter {
 public:
  explicit io_awaiter(io_request* r) noexcept : req_(r) {}
  io_awaiter(io_awaiter&& o) noexcept : req_(o.req_) { o.req_ = nullptr; }
  io_awaiter(const io_awaiter&) = delete;
  io_awaiter& operator=(const io_awaiter&) = delete;
  io_awaiter& operator=(io_awaiter&&) = delete;
  ~io_awaiter();

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h);

 protected:
  // The operation's result (bytes, fd, 0); throws std::system_error on failure.
  int finish();
  io_request* req_;
};

}  // namespace coproc::detail
