// lib/dist/md5.hpp - MD5 (RFC 1321), for the distribution handshake's cookie digest.
//
// MD5 is broken as a general hash; it is here only because the Erlang handshake defines
// its challenge digest with it, so a peer computes exactly this and nothing else.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace coproc::detail::dist {

using digest16 = std::array<std::uint8_t, 16>;

// Hashes data given in pieces (the handshake digest is cookie then challenge text, and
// hashing them in place needs no allocation for a cookie of any length).
class md5_hasher {
 public:
  void update(std::string_view data) noexcept;
  // The digest of everything given to update; the hasher is spent afterwards.
  [[nodiscard]] digest16 finish() noexcept;

 private:
  void block(const std::uint8_t* p) noexcept;

  std::array<std::uint32_t, 4> state_ = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
  std::array<std::uint8_t, 64> pending_{};  // the bytes of an unfinished block
  std::uint64_t length_ = 0;                // bytes given so far
};

// The 16-byte MD5 digest of data.
[[nodiscard]] digest16 md5(std::string_view data) noexcept;

}  // namespace coproc::detail::dist
