// coproc/detail/etf_writer.hpp - C++ values straight to the External Term Format.
//
// A message sent to another node is encoded on the sender's core. Going through a
// coproc::term first (to_term, then encode) allocates a tree per message; for the types
// a message is usually made of - atoms, integers, floats, strings, pids, tuples, lists -
// this writes the bytes directly. The bytes decode to the same term as
// encode(to_term(v)) (tests/term_convert_test.cpp checks it); anything else, including
// user term_traits, goes through to_term. Lists are always LIST_EXT here (the term
// encoder writes STRING_EXT for small byte lists, as OTP does; both decode alike).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "coproc/atom.hpp"
#include "coproc/pid.hpp"
#include "coproc/term.hpp"
#include "coproc/term_codec.hpp"
#include "coproc/term_convert.hpp"

namespace coproc::detail::etf {

inline void u8(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>(v & 0xff));
}
inline void u32(std::string& out, std::uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>((v >> 16) & 0xff),
                     static_cast<char>((v >> 8) & 0xff), static_cast<char>(v & 0xff)};
  out.append(b, 4);
}

// An atom whose name is known to be valid UTF-8 of at most 255 characters (atom<N> is
// checked at compile time by term_traits; other names go through the term encoder).
inline void atom(std::string& out, std::string_view name) {
  if (name.size() <= 255) {
    u8(out, 119);  // SMALL_ATOM_UTF8_EXT
    u8(out, static_cast<std::uint32_t>(name.size()));
  } else {
    u8(out, 118);  // ATOM_UTF8_EXT
    u8(out, static_cast<std::uint32_t>(name.size() >> 8));
    u8(out, static_cast<std::uint32_t>(name.size() & 0xff));
  }
  out += name;
}

inline void integer(std::string& out, std::int64_t v) {
  if (v >= 0 && v <= 255) {
    u8(out, 97);  // SMALL_INTEGER_EXT
    u8(out, static_cast<std::uint32_t>(v));
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    u8(out, 98);  // INTEGER_EXT
    u32(out, static_cast<std::uint32_t>(static_cast<std::int32_t>(v)));
  } else {
    encode_append(out, term(v), {.version_byte = false});  // a bignum
  }
}

inline void binary(std::string& out, std::string_view bytes) {
  if (bytes.size() > UINT32_MAX) throw term_encode_error("term encode: binary larger than 2^32-1");
  u8(out, 109);  // BINARY_EXT
  u32(out, static_cast<std::uint32_t>(bytes.size()));
  out += bytes;
}

inline void tuple_header(std::string& out, std::size_t n) {
  if (n <= 255) {
    u8(out, 104);  // SMALL_TUPLE_EXT
    u8(out, static_cast<std::uint32_t>(n));
  } else {
    u8(out, 105);  // LARGE_TUPLE_EXT
    u32(out, static_cast<std::uint32_t>(n));
  }
}

// NEW_PID_EXT with this node's name and creation, or the pid's own node's (lib/dist).
void pid(std::string& out, const coproc::pid& p);

template <class T>
inline constexpr bool is_atom_v = false;
template <fixed_string N>
inline constexpr bool is_atom_v<coproc::atom<N>> = true;
template <class T>
inline constexpr bool is_tuple_v = false;
template <class... T>
inline constexpr bool is_tuple_v<std::tuple<T...>> = true;
template <class A, class B>
inline constexpr bool is_tuple_v<std::pair<A, B>> = true;
template <class T>
inline constexpr bool is_vector_v = false;
template <class T, class A>
inline constexpr bool is_vector_v<std::vector<T, A>> = true;

template <class T>
void value(std::string& out, const T& v) {
  if constexpr (is_atom_v<T>) {
    (void)&term_traits<T>::to_term;  // its static_assert checks the name
    atom(out, T::name());
  } else if constexpr (std::is_same_v<T, bool>) {
    atom(out, v ? "true" : "false");
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    integer(out, static_cast<std::int64_t>(v));
  } else if constexpr (std::is_integral_v<T>) {
    if (static_cast<std::uint64_t>(v) <= static_cast<std::uint64_t>(INT64_MAX)) {
      integer(out, static_cast<std::int64_t>(v));
    } else {
      encode_append(out, term_traits<T>::to_term(v), {.version_byte = false});
    }
  } else if constexpr (std::is_floating_point_v<T>) {
    const double d = static_cast<double>(v);
    if (!std::isfinite(d)) throw term_encode_error("term encode: float is not finite");
    const auto bits = std::bit_cast<std::uint64_t>(d);
    u8(out, 70);  // NEW_FLOAT_EXT
    u32(out, static_cast<std::uint32_t>(bits >> 32));
    u32(out, static_cast<std::uint32_t>(bits & 0xffffffffU));
  } else if constexpr (std::is_same_v<T, std::string>) {
    binary(out, v);
  } else if constexpr (std::is_same_v<T, coproc::pid>) {
    pid(out, v);
  } else if constexpr (std::is_same_v<T, term>) {
    encode_append(out, v, {.version_byte = false});
  } else if constexpr (is_tuple_v<T>) {
    tuple_header(out, std::tuple_size_v<T>);
    std::apply([&](const auto&... e) { (value(out, e), ...); }, v);
  } else if constexpr (is_vector_v<T>) {
    if (v.empty()) {
      u8(out, 106);  // NIL_EXT
      return;
    }
    if (v.size() > UINT32_MAX) throw term_encode_error("term encode: list larger than 2^32-1");
    u8(out, 108);  // LIST_EXT
    u32(out, static_cast<std::uint32_t>(v.size()));
    for (const auto& e : v) value(out, e);
    u8(out, 106);
  } else {
    encode_append(out, term_traits<T>::to_term(v), {.version_byte = false});
  }
}

// Can value() write T (directly, or through term_traits)?
template <class T>
inline constexpr bool writable_v = term_convertible<T>;

}  // namespace coproc::detail::etf
