// lib/io/backend.hpp - what one core's loop needs from the kernel for I/O.
//
// Every loop owns one backend, and every loop of a runtime has the same kind:
//   io_uring (lib/io/uring_backend.cpp) - the fast path: operations are submission
//       entries, sent once per loop turn in one io_uring_enter; completions are read
//       from shared memory without a syscall.
//   epoll (lib/io/epoll_backend.cpp)    - where io_uring is blocked (Docker's default
//       seccomp profile, kernel.io_uring_disabled): each operation is tried at once as
//       a non-blocking syscall, and one that would block waits for readiness on the
//       loop's epoll instance (edge-triggered) and is tried again.
// The run loop and the socket code know only this interface (see make_backend).
//
// Contract
// - Owner thread only, except wake(), which any thread may call.
// - submit() and cancel() never block and never call back: every result is delivered
//   by reap(), on the owner thread, through the operation's on_complete.
// - Ownership: an operation (io_op) and everything it points at (buffer, address,
//   msghdr) belong to its owner, who keeps them alive from submit() until the final
//   completion (the one without io_more) has been delivered. The backend never
//   allocates, copies or frees an operation, and touches none of it after that call.
// - Cancel: cancel(op) on an operation in flight makes it complete exactly once more,
//   finally: with -ECANCELED if it was still waiting, or with its own result if that
//   was already on its way. On an operation that is not in flight it does nothing.
// - Deadline: an operation with a deadline (runtime clock, ns) that is still waiting
//   when the deadline passes completes with -ECANCELED.
// - Results are the syscall's: a byte count, a descriptor or 0, or -errno.
// - A backend the kernel refuses for good (io_uring_enter denied after the rings were
//   made, epoll_wait failing) reports it once through its fatal handler and from then
//   on only waits for wake() or a deadline: it never spins.
//
// Lifecycle of one operation (io_op::state, written by the backend):
//
//   pending --submit--> in_flight --result--> completed  (on_complete runs; the owner
//                         |   \                            may submit it again)
//                         |    `--result with io_more (multishot): stays in flight
//                         `--cancel--> cancelled --final result--> completed
#pragma once

#include <linux/time_types.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "coproc/detail/pcb.hpp"
#include "coproc/runtime.hpp"

namespace coproc::detail {

enum class io_kind : std::uint8_t {
  accept,            // one connection: fd, addr, addrlen (value-result)
  accept_multishot,  // every connection, each a result with io_more, until cancelled
  connect,           // fd, addr, addrlen
  recv,              // fd, data, len
  send,              // fd, data, len (never raises SIGPIPE)
  recvmsg,           // fd, msg
  sendmsg,           // fd, msg (never raises SIGPIPE)
  recv_multishot,    // fd: every chunk that arrives, each a result with io_more in a
                     // provided buffer (io_buffer_flag), until end of stream (0), an
                     // error, the buffers running out (-ENOBUFS) or a cancel. Only where
                     // has_provided_buffers().
};

enum class io_state : std::uint8_t { pending, in_flight, cancelled, completed };

// on_complete's flags: more results of this operation will follow (multishot accept).
inline constexpr unsigned io_more = 1;
// on_complete's flags: the result's bytes are in provided buffer (flags >> 16), which the
// owner hands back with recycle_buffer once it has copied them.
inline constexpr unsigned io_buffer_flag = 2;
inline constexpr unsigned io_buffer_shift = 16;

struct io_op {
  using callback = void (*)(io_op* op, int result, unsigned flags) noexcept;

  explicit io_op(io_kind k, int f = -1, callback cb = nullptr) noexcept
      : on_complete(cb), kind(k), fd(f) {}
  io_op(const io_op&) = delete;
  io_op& operator=(const io_op&) = delete;

  // --- set by the owner before submit ---
  callback on_complete;
  io_kind kind;
  io_state state = io_state::pending;  // written by the backend
  int fd;
  // Names the open file behind fd (a socket's id), so that a backend that remembers
  // descriptors (epoll) notices a number reused for another socket. 0: unknown.
  std::uint64_t file_id = 0;
  char* data = nullptr;
  std::size_t len = 0;
  sockaddr* addr = nullptr;
  socklen_t addrlen = 0;
  msghdr* msg = nullptr;
  std::int64_t deadline = 0;  // ns on the runtime clock; 0 = none

  // --- the backend's ---
  io_op* next_parked = nullptr;  // epoll: the operations waiting on one descriptor
  io_op* prev_parked = nullptr;
  io_op* next_done = nullptr;  // epoll: the queue of final results not yet reaped
  bool parked = false;
  int queued_result = 0;  // epoll: the final result while it waits for reap()
  struct deadline_timer : timer_node {
    io_op* op = nullptr;
    void* backend = nullptr;
  };
  deadline_timer timer;  // ends the operation at its deadline (armed while it waits)
};

class io_backend {
 public:
  // Told once, on the owner thread, when the kernel refuses the backend for good.
  using fatal_handler = std::function<void(const std::string& why)>;

  io_backend() = default;
  io_backend(const io_backend&) = delete;
  io_backend& operator=(const io_backend&) = delete;
  virtual ~io_backend() = default;

  [[nodiscard]] virtual io_backend_kind kind() const noexcept = 0;
  // Takes op (pending or completed) into flight. False when it cannot now (the ring is
  // full and the kernel takes no more, the backend failed): op stays pending.
  [[nodiscard]] virtual bool submit(io_op& op) noexcept = 0;
  virtual void cancel(io_op& op) noexcept = 0;
  // Hands the kernel what submit() queued (io_uring: one io_uring_enter per turn).
  virtual void flush() noexcept = 0;
  // Runs on_complete for every result that is ready; true if there was any.
  virtual bool reap() noexcept = 0;
  // True when reap() would find something, without a syscall (for the idle spin).
  [[nodiscard]] virtual bool ready() const noexcept = 0;
  // As ready(), but asks the kernel too where results are not in shared memory (epoll:
  // one epoll_wait(0) while operations wait). The idle spin calls it now and then.
  [[nodiscard]] virtual bool poll_ready() noexcept = 0;
  // Blocks until a result, a wake() or `timeout_ns` (negative: no limit), after
  // handing the kernel what is queued. Results are delivered by the next reap().
  virtual void wait(std::int64_t timeout_ns) noexcept = 0;
  // Any thread: ends the current wait(), or makes the next one return at once.
  virtual void wake() noexcept = 0;
  // Operations (and io_uring's side entries) whose final result is not reaped yet.
  [[nodiscard]] virtual std::size_t in_flight() const noexcept = 0;

  // Provided buffers (io_uring on Linux 6.0+): one pool per loop that the kernel fills
  // for recv_multishot, so a socket that waits for input holds no buffer. Made on the
  // first call; false where the kernel has none (and on epoll).
  [[nodiscard]] virtual bool has_provided_buffers() noexcept { return false; }
  // The bytes of provided buffer `id` (from on_complete's flags), valid until recycled.
  [[nodiscard]] virtual const char* provided_buffer(unsigned /*id*/) const noexcept {
    return nullptr;
  }
  virtual void recycle_buffer(unsigned /*id*/) noexcept {}
};

// One core's backend of the given kind (io_uring or epoll). Throws std::system_error
// when the kernel refuses it (for io_uring: io_uring_setup, or a first io_uring_enter,
// denied; ENOMEM from the locked-memory limit).
std::unique_ptr<io_backend> make_backend(io_backend_kind kind, io_backend::fatal_handler on_fatal);

// Whether io_uring works here: 0, or the errno of the first call the kernel refused,
// with that call's name in *what. Makes a ring and enters it once (a NOP).
int probe_io_uring(const char** what) noexcept;

}  // namespace coproc::detail
