// MD5 as RFC 1321 specifies it: 64-byte blocks of little-endian words, four rounds of
// sixteen steps, and a final block padded with 0x80, zeros and the bit length.
#include "lib/dist/md5.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>

namespace coproc::detail::dist {
namespace {

// K[i] = floor(|sin(i + 1)| * 2^32), RFC 1321 section 3.4.
constexpr std::array<std::uint32_t, 64> k_table = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

// Left-rotation amounts: four per round, used in turn.
constexpr std::array<int, 16> shifts = {7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21};

}  // namespace

void md5_hasher::block(const std::uint8_t* p) noexcept {
  std::array<std::uint32_t, 16> m{};
  for (std::size_t i = 0; i < 16; ++i) {
    m[i] = std::uint32_t{p[4 * i]} | std::uint32_t{p[4 * i + 1]} << 8 |
           std::uint32_t{p[4 * i + 2]} << 16 | std::uint32_t{p[4 * i + 3]} << 24;
  }
  std::uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
  for (std::size_t i = 0; i < 64; ++i) {
    std::uint32_t f = 0;
    std::size_t g = 0;
    switch (i / 16) {
      case 0:
        f = (b & c) | (~b & d);
        g = i;
        break;
      case 1:
        f = (d & b) | (~d & c);
        g = (5 * i + 1) % 16;
        break;
      case 2:
        f = b ^ c ^ d;
        g = (3 * i + 5) % 16;
        break;
      default:
        f = c ^ (b | ~d);
        g = (7 * i) % 16;
        break;
    }
    const std::uint32_t rotated = std::rotl(a + f + k_table[i] + m[g], shifts[i / 16 * 4 + i % 4]);
    a = d;
    d = c;
    c = b;
    b += rotated;
  }
  state_[0] += a;
  state_[1] += b;
  state_[2] += c;
  state_[3] += d;
}

void md5_hasher::update(std::string_view data) noexcept {
  const auto* p = reinterpret_cast<const std::uint8_t*>(data.data());
  std::size_t n = data.size();
  std::size_t have = length_ % 64;
  length_ += n;
  if (have != 0) {
    const std::size_t take = std::min(n, 64 - have);
    std::memcpy(pending_.data() + have, p, take);
    p += take;
    n -= take;
    have += take;
    if (have < 64) return;
    block(pending_.data());
  }
  for (; n >= 64; n -= 64, p += 64) block(p);
  if (n != 0) std::memcpy(pending_.data(), p, n);
}

digest16 md5_hasher::finish() noexcept {
  // 0x80, zeros up to 56 mod 64, then the length in bits mod 2^64, little-endian.
  const std::uint64_t bits = length_ * 8;
  std::array<std::uint8_t, 72> pad{};
  pad[0] = 0x80;
  const std::size_t have = length_ % 64;
  const std::size_t zeros = (have < 56 ? 56 - have : 120 - have) - 1;
  for (std::size_t i = 0; i < 8; ++i)
    pad[1 + zeros + i] = static_cast<std::uint8_t>(bits >> (8 * i));
  update(std::string_view(reinterpret_cast<const char*>(pad.data()), 1 + zeros + 8));

  digest16 out{};
  for (std::size_t w = 0; w < 4; ++w) {
    for (std::size_t i = 0; i < 4; ++i)
      out[4 * w + i] = static_cast<std::uint8_t>(state_[w] >> (8 * i));
  }
  return out;
}

digest16 md5(std::string_view data) noexcept {
  md5_hasher h;
  h.update(data);
  return h.finish();
}

}  // namespace coproc::detail::dist
