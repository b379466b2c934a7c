// coproc/atom.hpp - Erlang atoms as compile-time strings.
//
// atom<"ok"> is an empty type; two atoms are the same type exactly when their
// names are equal, so matching on an atom is matching on a type and costs nothing
// at run time. coproc::ok and coproc::error are predefined values.
//   send(p, coproc::ok, 42);                       // {:ok, 42}
//   co_await receive([](atom<"ok">, int v) {...});  // {:ok, v} -> ...
#pragma once

#include <algorithm>
#include <cstddef>
#include <ostream>
#include <string_view>

namespace coproc {

// A string literal usable as a template argument.
template <std::size_t N>
struct fixed_string {
  char chars[N]{};
  constexpr fixed_string(const char (&s)[N]) noexcept { std::copy_n(s, N, chars); }  // NOLINT
  [[nodiscard]] constexpr std::string_view view() const noexcept { return {chars, N - 1}; }
};

template <fixed_string Name>
struct atom {
  static constexpr std::string_view name() noexcept { return Name.view(); }
  friend constexpr bool operator==(atom, atom) noexcept { return true; }
  friend std::ostream& operator<<(std::ostream& os, atom) { return os << ':' << Name.view(); }
};

inline constexpr atom<"ok"> ok{};
inline constexpr atom<"error"> error{};

}  // namespace coproc
