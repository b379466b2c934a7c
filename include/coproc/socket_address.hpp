// coproc/socket_address.hpp - an IPv4 or IPv6 address and port.
//
//   auto a = socket_address::parse("127.0.0.1", 8080);   // or "::1", "0.0.0.0", "::"
//   a.to_string()  -> "127.0.0.1:8080" / "[::1]:8080"
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace coproc {

class socket_address {
 public:
  socket_address() = default;
  // A numeric address (no DNS). Throws std::invalid_argument for a malformed one.
  static socket_address parse(std::string_view ip, std::uint16_t port);
  static socket_address loopback_v4(std::uint16_t port) { return parse("127.0.0.1", port); }
  static socket_address loopback_v6(std::uint16_t port) { return parse("::1", port); }
  static socket_address any_v4(std::uint16_t port) { return parse("0.0.0.0", port); }
  static socket_address any_v6(std::uint16_t port) { return parse("::", port); }
  static socket_address from_native(const sockaddr* sa, socklen_t len);

  [[nodiscard]] int family() const noexcept { return storage_.ss_family; }
  [[nodiscard]] std::uint16_t port() const noexcept;
  [[nodiscard]] std::string ip() const;
  [[nodiscard]] std::string to_string() const;  // 1.2.3.4:80 or [::1]:80
  [[nodiscard]] const sockaddr* native() const noexcept {
    return reinterpret_cast<const sockaddr*>(&storage_);
  }
  [[nodiscard]] socklen_t native_size() const noexcept { return size_; }

 private:
  sockaddr_storage storage_{};
  socklen_t size_ = 0;
};

}  // namespace coproc
