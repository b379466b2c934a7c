// coproc/tcp.hpp - TCP on the I/O backend of the calling process's core.
//
//   auto l = tcp_listener::bind(socket_address::any_v4(8080));
//   for (;;) {
//     tcp_stream s = co_await l.accept();
//     spawn([](tcp_stream s) -> process {                  // one process per connection
//       char buf[4096];
//       while (std::size_t n = co_await s.read_some(buf, 30s)) co_await s.write_all({buf, n});
//     }, std::move(s));
//   }
//
// Every operation is one operation of the calling process's core's backend (io_uring: a
// submission sent in the loop's per-turn batch; epoll: a non-blocking syscall, retried
// on readiness; see coproc/runtime.hpp, io_backend_kind). Each takes an optional
// timeout: when it passes, the operation throws std::system_error(std::errc::timed_out). Failures
// throw std::system_error with the errno (coproc/io_error.hpp); end of stream is not one. A process
// that dies with an operation in flight cancels it, and the buffers the kernel uses stay alive
// until the kernel lets go (they belong to the operation and data is copied to and from yours).
//
// Active mode, as gen_tcp: set_active(s, active_mode::once / on) makes the runtime read
// for the controlling process (the one that called set_active, or the one given to
// controlling_process) and deliver
//   (atom<"tcp">, socket_id, std::string data)
//   (atom<"tcp_closed">, socket_id)
//   (atom<"tcp_error">, socket_id, std::error_code)
// so one receive waits on socket data, other messages and an after() together. `once`
// delivers one chunk and returns to passive: that is the flow control. Do not mix
// read_some with active mode on one stream.
#pragma once

#include <chrono>
#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "coproc/detail/io_awaiter.hpp"
#include "coproc/detail/pcb.hpp"
#include "coproc/pid.hpp"
#include "coproc/socket_address.hpp"

namespace coproc {

inline constexpr std::chrono::nanoseconds no_timeout = std::chrono::nanoseconds::max();

// Names a socket in active-mode messages.
struct socket_id {
  std::uint64_t value = 0;
  friend constexpr bool operator==(socket_id, socket_id) noexcept = default;
  friend constexpr auto operator<=>(socket_id, socket_id) noexcept = default;
};

enum class active_mode { passive, once, on };

namespace detail {
struct socket_core;
}

class tcp_stream;

namespace detail {
struct multishot_acceptor;
// accept(): served by the listener's multishot accept on its core (Linux 5.19+), which
// keeps one operation armed for every connection; or, on another core or an older
// kernel, by a one-shot accept.
class [[nodiscard]] accept_awaiter {
 public:
  explicit accept_awaiter(io_request* oneshot) noexcept : oneshot_(oneshot) {}
  accept_awaiter(std::shared_ptr<multishot_acceptor> ms, std::chrono::nanoseconds timeout,
                 io_request* fallback) noexcept;
  accept_awaiter(accept_awaiter&& o) noexcept;
  accept_awaiter(const accept_awaiter&) = delete;
  accept_awaiter& operator=(const accept_awaiter&) = delete;
  accept_awaiter& operator=(accept_awaiter&&) = delete;
  ~accept_awaiter();

  bool await_ready();
  void await_suspend(std::coroutine_handle<> h);
  tcp_stream await_resume();

  // Used by the multishot acceptor (lib/net/tcp.cpp).
  void deliver(int fd_or_negative_errno) noexcept;

 private:
  struct oneshot_awaiter : io_awaiter {
    using io_awaiter::io_awaiter;
    int result() { return finish(); }
    [[nodiscard]] int raw_result() const noexcept;
  };
  oneshot_awaiter oneshot_;
  std::shared_ptr<multishot_acceptor> ms_;
  std::chrono::nanoseconds timeout_{};
  struct accept_timer : timer_node {
    accept_awaiter* owner = nullptr;
  };
  accept_timer timer_;
  pcb* waiter_ = nullptr;
  std::coroutine_handle<> resume_;
  int result_ = 0;
  bool waiting_ = false;
  bool use_oneshot_ = true;
  static void on_timeout(timer_node* t) noexcept;
};
class [[nodiscard]] connect_awaiter : public io_awaiter {
 public:
  connect_awaiter(io_request* r, int fd) noexcept : io_awaiter(r), fd_(fd) {}
  // The base takes only the request; fd_ is a separate member.
  connect_awaiter(connect_awaiter&& o) noexcept
      : io_awaiter(std::move(o)),
        fd_(std::exchange(o.fd_, -1)) {}  // NOLINT(bugprone-use-after-move)
  ~connect_awaiter();
  tcp_stream await_resume();

 private:
  int fd_;
};
struct stream_reader;
// read_some / read_exact. Two ways, chosen per stream by its first read:
// - one-shot: an operation of the backend per read (epoll, kernels before 6.0);
// - multishot (io_uring on Linux 6.0+): the stream keeps one multishot receive armed on
//   the core that reads it; the kernel fills the loop's provided buffers, whose bytes are
//   copied at once into the stream's unread bytes (or straight into a waiting reader's
//   buffer) and the buffers go back to the pool. A read that finds unread bytes completes
//   without suspending. See stream_reader in lib/net/tcp.cpp.
class [[nodiscard]] read_awaiter : public io_awaiter {
 public:
  read_awaiter(io_request* r, std::span<char> dst) noexcept : io_awaiter(r), dst_(dst) {}
  read_awaiter(std::shared_ptr<stream_reader> reader, std::span<char> dst, bool exact,
               std::chrono::nanoseconds timeout) noexcept;
  read_awaiter(read_awaiter&& o) noexcept;
  read_awaiter(const read_awaiter&) = delete;
  read_awaiter& operator=(const read_awaiter&) = delete;
  read_awaiter& operator=(read_awaiter&&) = delete;
  ~read_awaiter();

  bool await_ready();
  bool await_suspend(std::coroutine_handle<> h);
  std::size_t await_resume();

 private:
  friend struct stream_reader;
  std::span<char> dst_;
  // --- multishot only; the wait fields are guarded by the reader's lock ---
  std::shared_ptr<stream_reader> reader_;
  std::chrono::nanoseconds timeout_{};
  std::size_t need_ = 0;  // bytes that complete the read: 1, or all of dst_ (read_exact)
  std::size_t got_ = 0;   // copied into dst_ so far
  int error_ = 0;         // -errno once the read failed (-ETIMEDOUT: its timeout passed)
  bool exact_ = false;    // read_exact: end of stream before need_ bytes is an error
  bool eof_ = false;      // the stream ended before need_ bytes
  bool waiting_ = false;  // registered as the reader's waiter
  pcb* waiter_ = nullptr;
  loop* waiter_loop_ = nullptr;
  struct read_timer : timer_node {
    read_awaiter* owner = nullptr;
  };
  read_timer timer_;
};
class [[nodiscard]] write_awaiter : public io_awaiter {
 public:
  using io_awaiter::io_awaiter;
  void await_resume() { finish(); }
};
}  // namespace detail

class tcp_stream {
 public:
  tcp_stream() = default;
  explicit tcp_stream(std::shared_ptr<detail::socket_core> core) noexcept;
  tcp_stream(tcp_stream&&) noexcept = default;
  tcp_stream& operator=(tcp_stream&&) noexcept = default;
  ~tcp_stream();

  // co_await tcp_stream::connect(addr, timeout)
  static detail::connect_awaiter connect(const socket_address& to,
                                         std::chrono::nanoseconds timeout = no_timeout);

  // Up to buf.size() bytes; 0 at end of stream.
  detail::read_awaiter read_some(std::span<char> buf,
                                 std::chrono::nanoseconds timeout = no_timeout);
  // Exactly buf.size() bytes; end of stream first throws io_errc::eof.
  detail::read_awaiter read_exact(std::span<char> buf,
                                  std::chrono::nanoseconds timeout = no_timeout);
  // All of data (one timeout for the whole write). Bytes: write_all({ptr, n}). The bytes
  // are copied first, so data may go away while the write is in flight.
  detail::write_awaiter write_all(std::string_view data,
                                  std::chrono::nanoseconds timeout = no_timeout);
  // The same for a string the caller hands over: the operation owns its bytes until the
  // kernel is done with them (also when the process dies meanwhile), so none are copied.
  // write_all(std::move(s)) picks this; a literal or an lvalue takes the copying form.
  template <class S>
  requires std::same_as<S, std::string> detail::write_awaiter write_all(
      S&& data, std::chrono::nanoseconds timeout = no_timeout) {
    return write_owned(std::move(data), timeout);
  }

  void shutdown_write();  // half-close: the peer reads end of stream
  void close() noexcept;  // also done by the destructor
  [[nodiscard]] bool is_open() const noexcept;
  [[nodiscard]] socket_address peer() const;
  [[nodiscard]] socket_address local() const;
  [[nodiscard]] socket_id id() const noexcept;
  [[nodiscard]] int native_handle() const noexcept;

  friend void set_active(tcp_stream& s, active_mode mode);
  friend void controlling_process(tcp_stream& s, const pid& owner);

 private:
  detail::write_awaiter write_owned(std::string&& data, std::chrono::nanoseconds timeout);
  std::shared_ptr<detail::socket_core> core_;
};

// Active mode for s, delivering to its controlling process (default: the caller).
void set_active(tcp_stream& s, active_mode mode);
// Active-mode messages for s go to `owner` from now on (any core).
void controlling_process(tcp_stream& s, const pid& owner);

struct listen_options {
  int backlog = 1024;
  bool reuse_address = true;
  bool reuse_port = false;
  // Keep one multishot accept armed on the core of the first accept() (Linux 5.19+;
  // detected, else one-shot accepts). Use it when one core owns the listener, as with
  // per-core SO_REUSEPORT listeners: connections it takes wait for that core's accept(),
  // so a process on another core accepting from the same listener could wait forever.
  bool multishot = false;
};

class tcp_listener {
 public:
  tcp_listener() = default;
  // Binds and listens (synchronously). Throws std::system_error.
  static tcp_listener bind(const socket_address& at, listen_options opts = {});
  tcp_listener(tcp_listener&&) noexcept = default;
  tcp_listener& operator=(tcp_listener&&) noexcept = default;
  ~tcp_listener();

  detail::accept_awaiter accept(std::chrono::nanoseconds timeout = no_timeout);
  [[nodiscard]] socket_address local() const;
  void close() noexcept;
  [[nodiscard]] int native_handle() const noexcept;

 private:
  std::shared_ptr<detail::socket_core> core_;
  std::shared_ptr<detail::multishot_acceptor> multishot_;
};

}  // namespace coproc
