#include "coproc/udp.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "lib/io/io_request.hpp"
#include "lib/net/address_of.hpp"

namespace coproc {

namespace detail {
std::pair<std::size_t, socket_address> receive_from_awaiter::await_resume() {
  const auto n = static_cast<std::size_t>(finish());
  const std::size_t copy = std::min(n, dst_.size());
  std::memcpy(dst_.data(), req_->buf.get(), copy);
  return {copy, socket_address::from_native(reinterpret_cast<const sockaddr*>(&req_->addr_storage),
                                            req_->header.msg_namelen)};
}
}  // namespace detail

udp_socket udp_socket::bind(const socket_address& at) {
  udp_socket u;
  u.fd_ = ::socket(at.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (u.fd_ < 0) throw std::system_error(errno, std::system_category(), "coproc: socket");
  // Ids from the top half, apart from the TCP sockets' (lib/net/tcp.cpp).
  static std::atomic<std::uint64_t> next_id{std::uint64_t{1} << 63};
  u.owner_ = std::shared_ptr<closer>(
      new closer{u.fd_, next_id.fetch_add(1, std::memory_order_relaxed)}, [](closer* c) {
        ::close(c->fd);
        delete c;
      });
  if (::bind(u.fd_, at.native(), at.native_size()) != 0) {
    throw std::system_error(errno, std::system_category(), "coproc: bind");
  }
  return u;
}

udp_socket::~udp_socket() {
  close();
}

void udp_socket::close() noexcept {
  owner_.reset();
  fd_ = -1;
}

detail::send_to_awaiter udp_socket::send_to(std::string_view datagram, const socket_address& to,
                                            std::chrono::nanoseconds timeout) {
  if (fd_ < 0) throw std::system_error(EBADF, std::system_category(), "coproc: closed socket");
  auto* r = new detail::io_request(detail::io_kind::sendmsg, fd_, owner_->id);
  r->buf = detail::io_buffer(datagram.size());
  std::memcpy(r->buf.get(), datagram.data(), datagram.size());
  r->want = datagram.size();
  std::memcpy(&r->addr_storage, to.native(), to.native_size());
  r->addrlen = to.native_size();
  r->set_timeout(timeout);
  return detail::send_to_awaiter(r);
}

detail::receive_from_awaiter udp_socket::receive_from(std::span<char> buf,
                                                      std::chrono::nanoseconds timeout) {
  if (fd_ < 0) throw std::system_error(EBADF, std::system_category(), "coproc: closed socket");
  auto* r = new detail::io_request(detail::io_kind::recvmsg, fd_, owner_->id);
  r->buf = detail::io_buffer(buf.size());
  r->want = buf.size();
  r->set_timeout(timeout);
  return {r, buf};
}

socket_address udp_socket::local() const {
  return detail::address_of(fd_, false);
}

}  // namespace coproc
