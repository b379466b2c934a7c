// coproc/udp.hpp - UDP datagrams on the I/O backend of the calling process's core.
//
//   auto u = udp_socket::bind(socket_address::loopback_v4(0));
//   co_await u.send_to(std::string_view("ping"), peer, 1s);
//   char buf[1500];
//   auto [n, from] = co_await u.receive_from(buf, 1s);
//
// Errors and timeouts as in tcp.hpp (std::system_error; std::errc::timed_out). A
// datagram larger than the buffer is truncated, as recvmsg does.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

#include "coproc/detail/io_awaiter.hpp"
#include "coproc/socket_address.hpp"
#include "coproc/tcp.hpp"

namespace coproc {

namespace detail {
class [[nodiscard]] receive_from_awaiter : public io_awaiter {
 public:
  receive_from_awaiter(io_request* r, std::span<char> dst) noexcept : io_awaiter(r), dst_(dst) {}
  std::pair<std::size_t, socket_address> await_resume();

 private:
  std::span<char> dst_;
};
class [[nodiscard]] send_to_awaiter : public io_awaiter {
 public:
  using io_awaiter::io_awaiter;
  std::size_t await_resume() { return static_cast<std::size_t>(finish()); }
};
}  // namespace detail

class udp_socket {
 public:
  udp_socket() = default;
  static udp_socket bind(const socket_address& at);
  udp_socket(udp_socket&&) noexcept = default;
  udp_socket& operator=(udp_socket&&) noexcept = default;
  ~udp_socket();

  detail::send_to_awaiter send_to(std::string_view datagram, const socket_address& to,
                                  std::chrono::nanoseconds timeout = no_timeout);
  detail::receive_from_awaiter receive_from(std::span<char> buf,
                                            std::chrono::nanoseconds timeout = no_timeout);
  [[nodiscard]] socket_address local() const;
  void close() noexcept;
  [[nodiscard]] int native_handle() const noexcept { return fd_; }

 private:
  int fd_ = -1;
  struct closer {
    int fd;
    std::uint64_t id;  // names this socket to the I/O backend (descriptor numbers are reused)
  };
  std::shared_ptr<closer> owner_;  // moves share nothing; copy is disabled by the awaiters
};

}  // namespace coproc
