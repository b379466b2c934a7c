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

#include "coproc/detail/pcb.hpp"
#include "lib/core/loop.hpp"

namespace coproc::detail {

struct io_request : io_completion {
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

  std::unique_ptr<char[]> buf;
  std::size_t want = 0;  // bytes to move
  std::size_t got = 0;   // bytes moved so far
  sockaddr_storage addr{};
  socklen_t addrlen = sizeof(sockaddr_storage);
  iovec iov{};
  msghdr msg{};

  io_request(op k, int f) : kind(k), fd(f) { complete = &on_complete; }
  void set_timeout(std::chrono::nanoseconds t);
  // Puts the SQE(s) on the ring of `home`. Throws std::system_error if it cannot.
  void submit();
  static void on_complete(io_completion* c, int res, unsigned flags) noexcept;
};

}  // namespace coproc::detail
