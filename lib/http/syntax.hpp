// lib/http/syntax.hpp - the character classes of RFC 9110 §5.6 that both the request
// parser and the response writer check (private to lib/http).
#pragma once

#include <cctype>

namespace coproc::detail {

inline bool is_tchar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (std::isalnum(u) != 0) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

inline bool is_field_char(char c) {  // VCHAR, obs-text, SP, HTAB
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || u == ' ' || (u > 0x20 && u != 0x7f);
}

}  // namespace coproc::detail
