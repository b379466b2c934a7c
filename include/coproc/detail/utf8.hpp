// coproc/detail/utf8.hpp - UTF-8 validation, as Erlang applies it to atom names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace coproc::detail {

// The code points of s if it is valid UTF-8 (shortest forms, no surrogates, at most
// U+10FFFF), else npos: the rule encode applies to atom names.
constexpr std::size_t utf8_length(std::string_view s) noexcept {
  std::size_t chars = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 1;
    std::uint32_t cp = c;
    if (c >= 0x80) {
      if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1fU;
      } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0fU;
      } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07U;
      } else {
        return std::string_view::npos;
      }
      if (s.size() - i < len) return std::string_view::npos;
      for (std::size_t k = 1; k < len; ++k) {
        const auto d = static_cast<unsigned char>(s[i + k]);
        if ((d & 0xc0U) != 0x80U) return std::string_view::npos;
        cp = (cp << 6) | (d & 0x3fU);
      }
      constexpr std::uint32_t shortest[] = {0, 0, 0x80, 0x800, 0x10000};
      if (cp < shortest[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return std::string_view::npos;
      }
    }
    i += len;
    ++chars;
  }
  return chars;
}

}  // namespace coproc::detail
