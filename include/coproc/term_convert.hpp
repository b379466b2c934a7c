// coproc/term_convert.hpp - C++ values <-> Erlang terms.
//
//   term t = to_term(std::tuple{ok, std::string("hi"), std::vector<int>{1, 2}});
//   t.to_string();                                              // {ok,<<"hi">>,[1,2]}
//   auto v = from_term<std::tuple<atom<"ok">, std::string, std::vector<int>>>(t);  // engaged
//   from_term<std::uint8_t>(term(300));                         // nullopt: no wrap-around
//   int n; if (from_term(t[2][0], n)) ...                       // into an existing value
//   to_term("text");                                            // <<"text">>: any string_view
//
// A message from an Erlang node arrives as a term; a receive clause written with C++
// types, e.g. [](atom<"ok">, std::string s), matches it when from_term converts it, and a
// message sent to Erlang is converted with to_term. Several values sent together are one
// std::tuple, so tuple conversion is on the matching path: it checks the arity, then the
// atoms (the tags that tell clauses apart), then converts the other elements in place,
// stopping at the first mismatch.
//
//   C++ type                   to_term             from_term accepts
//   --------                   -------             -----------------
//   term                       the term itself     anything
//   atom<"x">                  x (*)               the atom x only
//   bool                       true | false        true, false
//   integral types but bool    integer             an integer within the type's range
//   double                     float               a float (not an integer)
//   float                      float               a float within +-FLT_MAX, rounded
//   std::string                binary              a binary; a charlist of bytes; []
//   std::vector<T>             proper list; []     a proper list of T; []
//   std::tuple<Ts...>          {T1, ..., Tn}       a tuple of that arity
//   std::pair<A, B>            {A, B}              a 2-tuple
//   std::map, unordered_map    map                 a map whose keys and values convert
//   exit_reason                (below)             anything
//   (*) converting an atom<"x"> whose name Erlang cannot hold (not UTF-8, over 255
//       characters) does not compile.
//
// Why these choices:
//  - Integers never wrap: Erlang integers are unbounded, and 300 is not 44, so 300 does not
//    match std::uint8_t, -1 no unsigned type, and a bignum nothing but a std::uint64_t it
//    fits. char, signed char and unsigned char (and wchar_t, char8/16/32_t) are integers
//    like the rest: a char is the number 97, not the string "a".
//  - 1 and 1.0 are different terms (1 =:= 1.0 is false), so an int does not match 1.0 and
//    a double does not match 1. A float matches a float term it can hold: the value is
//    rounded to float precision, and one beyond +-FLT_MAX (it would become infinity) does
//    not match.
//  - std::string is a binary on the way out, because Elixir strings are binaries. On the
//    way in it also takes an Erlang string, the charlist "abc" = [97,98,99] (and what
//    STRING_EXT carries), and [] (which is also ""). A charlist is taken byte for byte,
//    with no character-set conversion: each element must be an integer 0..255. An atom
//    is not a string.
//  - std::vector is always a list, std::vector<std::uint8_t> too: one rule for every
//    vector. Bytes that should travel as a binary go in a std::string.
//  - A map whose keys convert to the same C++ key (<<"a">> and "a" for std::string) does
//    not match: keeping one value would drop the other silently.
//  - std::optional is not mapped: Erlang has no single "none" (nil in Elixir, undefined in
//    OTP, sometimes []). Specialize term_traits for your own type with the one you use.
//  - exit_reason: normal, shutdown, kill, killed and noproc are those atoms;
//    exception(what) is {exception, <<"what">>}; user(text) is the atom text when text is
//    a valid atom name (UTF-8, at most 255 characters), else the binary; a structured
//    reason is its term. from_term takes any term, as an exit signal from Erlang can
//    carry any reason: an atom becomes its kind (exit_reason::from_atom_name),
//    {exception, Binary} an exception, a binary user(bytes), and anything else a
//    structured reason holding that term, e.g. {badarg,1}. So a user("normal") comes
//    back as normal(), as it would in Erlang.
//
// Customization: specialize term_traits<T> (or term_traits<T, Enable> with enable_if).
//   struct point { int x = 0, y = 0; };
//   template <> struct coproc::term_traits<point> {            // point <-> {point, X, Y}
//     static term to_term(const point& p) {
//       return term::tuple({term::atom("point"), p.x, p.y});
//     }
//     static bool from_term(const term& t, point& p) {
//       return t.is_tuple(3) && t[0].is_atom("point") && coproc::from_term(t[1], p.x) &&
//              coproc::from_term(t[2], p.y);
//     }
//   };
// to_term may throw (term::map throws std::invalid_argument when two keys convert to
// equal terms). from_term returns false when the term does not match, and then leaves out
// valid but unspecified; it throws nothing but std::bad_alloc, as receive tries it on
// messages that other clauses are waiting for. Specialize before the first use: a
// concept's answer for a type is fixed where it is first asked.
//
// from_term<T>(t) returns std::optional<T>: it default-constructs a T and fills it in, so
// it needs a default-constructible T, as vectors and maps do for their elements. A T
// without a default constructor can still specialize term_traits, and be read with
// from_term(t, out) into a value that exists.
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "coproc/atom.hpp"
#include "coproc/detail/utf8.hpp"
#include "coproc/exit_reason.hpp"
#include "coproc/term.hpp"

namespace coproc {

// The conversion of T: static term to_term(const T&) and
// static bool from_term(const term&, T& out). Undefined for a type that does not convert.
template <class T, class Enable = void>
struct term_traits;

template <class T>
concept term_convertible = requires(const T& v, const term& t, T& out) {
  { term_traits<T>::to_term(v) } -> std::same_as<term>;
  { term_traits<T>::from_term(t, out) } -> std::same_as<bool>;
};

template <class T>
inline constexpr bool is_term_convertible_v = term_convertible<T>;

template <term_convertible T>
[[nodiscard]] term to_term(const T& v) {
  return term_traits<T>::to_term(v);
}
// A string literal or other text: a binary, as std::string.
[[nodiscard]] inline term to_term(std::string_view s) {
  return term::binary(std::string(s));
}

// Converts t into out; false (out unspecified) if t does not match T.
template <term_convertible T>
[[nodiscard]] bool from_term(const term& t, T& out) {
  return term_traits<T>::from_term(t, out);
}

template <term_convertible T>
requires std::default_initializable<T>
[[nodiscard]] std::optional<T> from_term(const term& t) {
  T value{};
  if (!term_traits<T>::from_term(t, value)) return std::nullopt;
  return std::optional<T>(std::move(value));
}

// The same from a term that is no longer needed: binaries (and what holds them: tuples,
// lists, maps) are moved into out instead of copied, where T's traits offer
// from_term(term&&, T&); other traits convert as from a const term. t is left valid but
// unspecified.
template <term_convertible T>
[[nodiscard]] bool from_term(term&& t, T& out) {
  return term_traits<T>::from_term(std::move(t), out);
}

template <term_convertible T>
requires std::default_initializable<T>
[[nodiscard]] std::optional<T> from_term(term&& t) {
  T value{};
  if (!term_traits<T>::from_term(std::move(t), value)) return std::nullopt;
  return std::optional<T>(std::move(value));
}

// Whether from_term would take t as a T, without building the T where T's traits offer
// static bool matches(const term&) (std::string, vectors and tuples do: a clause that
// checks a 10 MB binary does not copy it). Other traits convert into a scratch value.
template <term_convertible T>
requires std::default_initializable<T>
[[nodiscard]] bool converts_to(const term& t) {
  if constexpr (requires {
                  { term_traits<T>::matches(t) } -> std::same_as<bool>;
                }) {
    return term_traits<T>::matches(t);
  } else {
    T scratch{};
    return term_traits<T>::from_term(t, scratch);
  }
}

namespace detail::convert {

// A container element: converted into a default-constructed value.
template <class T>
concept element = term_convertible<T> && std::default_initializable<T>;

// The integers term holds: every integral type but bool, up to 64 bits, not cv-qualified.
template <class T>
concept integer =
    std::integral<T> && std::same_as<T, std::remove_cv_t<T>> && !std::same_as<T, bool> &&
    sizeof(T) <= 8;

template <class T>
inline constexpr bool is_atom_type = false;
template <fixed_string N>
inline constexpr bool is_atom_type<atom<N>> = true;

// Whether encode accepts name as an atom: valid UTF-8 of at most 255 characters.
constexpr bool is_atom_name(std::string_view name) noexcept {
  const std::size_t n = utf8_length(name);
  return n != std::string_view::npos && n <= 255;
}

template <class I>
constexpr bool fits(std::int64_t v) noexcept {
  using limits = std::numeric_limits<I>;
  if constexpr (std::is_signed_v<I>) {
    return v >= static_cast<std::int64_t>(limits::min()) &&
           v <= static_cast<std::int64_t>(limits::max());
  } else {
    return v >= 0 && static_cast<std::uint64_t>(v) <= static_cast<std::uint64_t>(limits::max());
  }
}

// Tuple elements that are atoms are checked first: a check writes nothing and costs a
// short compare, and atoms are what tell one clause's message from another's.
template <class E>
bool tag_matches(const term& t) noexcept {
  if constexpr (is_atom_type<E>) {
    return t.is_atom(E::name());
  } else {
    return true;
  }
}
template <class E>
bool convert_untagged(const term& t, E& out) {
  if constexpr (is_atom_type<E>) {
    return true;  // checked by tag_matches
  } else {
    return term_traits<E>::from_term(t, out);
  }
}
template <class E>
bool convert_untagged(term&& t, E& out) {
  if constexpr (is_atom_type<E>) {
    return true;  // checked by tag_matches
  } else {
    return term_traits<E>::from_term(std::move(t), out);
  }
}
template <class E>
bool check_untagged(const term& t) {
  if constexpr (is_atom_type<E>) {
    return true;  // checked by tag_matches
  } else {
    return converts_to<E>(t);
  }
}

// std::tuple and std::pair: {E0, ..., En}.
template <class Tuple>
struct tuple_traits {
  static constexpr std::size_t arity = std::tuple_size_v<Tuple>;
  using indices = std::make_index_sequence<arity>;

  static term to_term(const Tuple& v) { return make(v, indices{}); }
  static bool from_term(const term& t, Tuple& out) {
    const auto* tuple = std::get_if<term::tuple_t>(&t.value());
    if (tuple == nullptr || tuple->elements.size() != arity) return false;
    return convert(tuple->elements, out, indices{});
  }
  static bool from_term(term&& t, Tuple& out) {
    if (!t.is_tuple(arity)) return false;
    term::variant_type v = std::move(t).value();
    return convert_moving(std::get<term::tuple_t>(v).elements, out, indices{});
  }
  static bool matches(const term& t) {
    const auto* tuple = std::get_if<term::tuple_t>(&t.value());
    if (tuple == nullptr || tuple->elements.size() != arity) return false;
    return check(tuple->elements, indices{});
  }

 private:
  template <std::size_t... I>
  static term make([[maybe_unused]] const Tuple& v, std::index_sequence<I...>) {
    std::vector<term> elements;
    elements.reserve(arity);
    (elements.push_back(term_traits<std::tuple_element_t<I, Tuple>>::to_term(std::get<I>(v))), ...);
    return term::tuple(std::move(elements));
  }
  template <std::size_t... I>
  static bool convert([[maybe_unused]] const std::vector<term>& e, [[maybe_unused]] Tuple& out,
                      std::index_sequence<I...>) {
    return (tag_matches<std::tuple_element_t<I, Tuple>>(e[I]) && ...) &&
           (convert_untagged<std::tuple_element_t<I, Tuple>>(e[I], std::get<I>(out)) && ...);
  }
  template <std::size_t... I>
  static bool convert_moving([[maybe_unused]] std::vector<term>& e, [[maybe_unused]] Tuple& out,
                             std::index_sequence<I...>) {
    return (tag_matches<std::tuple_element_t<I, Tuple>>(e[I]) && ...) &&
           (convert_untagged<std::tuple_element_t<I, Tuple>>(std::move(e[I]), std::get<I>(out)) &&
            ...);
  }
  template <std::size_t... I>
  static bool check([[maybe_unused]] const std::vector<term>& e, std::index_sequence<I...>) {
    return (tag_matches<std::tuple_element_t<I, Tuple>>(e[I]) && ...) &&
           (check_untagged<std::tuple_element_t<I, Tuple>>(e[I]) && ...);
  }
};

// std::map and std::unordered_map.
template <class Map>
struct map_traits {
  using key_type = typename Map::key_type;
  using mapped_type = typename Map::mapped_type;

  static term to_term(const Map& m) {
    std::vector<std::pair<term, term>> entries;
    entries.reserve(m.size());
    for (const auto& [k, v] : m) {
      entries.emplace_back(term_traits<key_type>::to_term(k), term_traits<mapped_type>::to_term(v));
    }
    return term::map(std::move(entries));
  }
  static bool from_term(const term& t, Map& out) {
    const auto* map = std::get_if<term::map_t>(&t.value());
    if (map == nullptr) return false;
    out.clear();
    for (const auto& [k, v] : map->entries) {
      key_type key{};
      mapped_type value{};
      if (!term_traits<key_type>::from_term(k, key) ||
          !term_traits<mapped_type>::from_term(v, value) ||
          !out.emplace(std::move(key), std::move(value)).second) {
        return false;
      }
    }
    return true;
  }
};

}  // namespace detail::convert

// ---- the mapping ----------------------------------------------------------------------

template <>
struct term_traits<term> {
  static term to_term(const term& t) { return t; }
  static bool matches(const term& /*unused*/) noexcept { return true; }
  static bool from_term(const term& t, term& out) {
    out = t;
    return true;
  }
  static bool from_term(term&& t, term& out) noexcept {
    out = std::move(t);
    return true;
  }
};

template <fixed_string N>
struct term_traits<atom<N>> {
  static term to_term(atom<N>) {
    static_assert(detail::convert::is_atom_name(atom<N>::name()),
                  "an Erlang atom name is valid UTF-8 of at most 255 characters");
    return term::atom(std::string(atom<N>::name()));
  }
  static bool from_term(const term& t, atom<N>&) noexcept { return t.is_atom(atom<N>::name()); }
};

template <>
struct term_traits<bool> {
  static term to_term(bool b) { return term::boolean(b); }
  static bool from_term(const term& t, bool& out) noexcept {
    if (t.is_atom("true")) {
      out = true;
    } else if (t.is_atom("false")) {
      out = false;
    } else {
      return false;
    }
    return true;
  }
};

// Every integral type but bool, up to 64 bits (char types included, as numbers).
template <detail::convert::integer I>
struct term_traits<I> {
  static term to_term(I v) { return term(v); }
  static bool from_term(const term& t, I& out) noexcept {
    const auto& v = t.value();
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
      if (!detail::convert::fits<I>(*i)) return false;
      out = static_cast<I>(*i);
      return true;
    }
    if constexpr (std::is_unsigned_v<I> && sizeof(I) == 8) {
      // term keeps 2^63 .. 2^64-1 as a bignum of at most 8 magnitude bytes.
      const auto* b = std::get_if<term::bignum>(&v);
      if (b == nullptr || b->negative || b->magnitude.size() > 8) return false;
      std::uint64_t m = 0;
      for (std::size_t k = b->magnitude.size(); k-- > 0;) {
        m = (m << 8) | static_cast<unsigned char>(b->magnitude[k]);
      }
      out = static_cast<I>(m);
      return true;
    } else {
      return false;
    }
  }
};

template <>
struct term_traits<double> {
  static term to_term(double d) { return term(d); }
  static bool from_term(const term& t, double& out) noexcept {
    const auto* d = std::get_if<double>(&t.value());
    if (d == nullptr) return false;
    out = *d;
    return true;
  }
};

template <>
struct term_traits<float> {
  static term to_term(float f) { return term(f); }
  static bool from_term(const term& t, float& out) noexcept {
    const auto* d = std::get_if<double>(&t.value());
    // A finite double beyond float's range has no float value (the cast would be UB).
    if (d == nullptr ||
        (std::isfinite(*d) && std::fabs(*d) > double{std::numeric_limits<float>::max()})) {
      return false;
    }
    out = static_cast<float>(*d);
    return true;
  }
};

template <>
struct term_traits<std::string> {
  static term to_term(const std::string& s) { return term::binary(s); }
  static bool matches(const term& t) noexcept {
    if (t.is_binary() || t.is_nil()) return true;
    const auto* l = std::get_if<term::list_t>(&t.value());
    if (l == nullptr || l->tail) return false;
    for (const term& e : l->elements) {
      const auto* i = std::get_if<std::int64_t>(&e.value());
      if (i == nullptr || *i < 0 || *i > 255) return false;
    }
    return true;
  }
  static bool from_term(term&& t, std::string& out) {
    if (!t.is_binary()) return from_term(std::as_const(t), out);
    term::variant_type v = std::move(t).value();
    out = std::move(std::get<term::binary_t>(v).bytes);
    return true;
  }
  static bool from_term(const term& t, std::string& out) {
    const auto& v = t.value();
    if (const auto* b = std::get_if<term::binary_t>(&v)) {
      out = b->bytes;
      return true;
    }
    if (!matches(t)) return false;  // checked before out is touched: no allocation
    if (t.is_nil()) {
      out.clear();
      return true;
    }
    const auto* l = std::get_if<term::list_t>(&v);
    out.resize(l->elements.size());
    for (std::size_t k = 0; k < out.size(); ++k) {
      out[k] = static_cast<char>(
          static_cast<unsigned char>(std::get<std::int64_t>(l->elements[k].value())));
    }
    return true;
  }
};

template <detail::convert::element T, class A>
struct term_traits<std::vector<T, A>> {
  static term to_term(const std::vector<T, A>& v) {
    std::vector<term> elements;
    elements.reserve(v.size());
    for (const auto& e : v) elements.push_back(term_traits<T>::to_term(e));
    return term::list(std::move(elements));
  }
  static bool from_term(const term& t, std::vector<T, A>& out) {
    out.clear();
    if (t.is_nil()) return true;
    const auto* l = std::get_if<term::list_t>(&t.value());
    if (l == nullptr || l->tail) return false;
    out.reserve(l->elements.size());
    for (const term& e : l->elements) {
      if constexpr (std::is_same_v<T, bool>) {  // no bool& into a std::vector<bool>
        bool b = false;
        if (!term_traits<bool>::from_term(e, b)) return false;
        out.push_back(b);
      } else {
        if (!term_traits<T>::from_term(e, out.emplace_back())) return false;
      }
    }
    return true;
  }
  static bool from_term(term&& t, std::vector<T, A>& out) {
    if constexpr (std::is_same_v<T, bool>) {
      return from_term(std::as_const(t), out);
    } else {
      out.clear();
      if (t.is_nil()) return true;
      const auto* l = std::get_if<term::list_t>(&t.value());
      if (l == nullptr || l->tail) return false;
      term::variant_type v = std::move(t).value();
      auto& elements = std::get<term::list_t>(v).elements;
      out.reserve(elements.size());
      for (term& e : elements) {
        if (!term_traits<T>::from_term(std::move(e), out.emplace_back())) return false;
      }
      return true;
    }
  }
  static bool matches(const term& t) {
    if (t.is_nil()) return true;
    const auto* l = std::get_if<term::list_t>(&t.value());
    if (l == nullptr || l->tail) return false;
    for (const term& e : l->elements) {
      if (!converts_to<T>(e)) return false;
    }
    return true;
  }
};

template <term_convertible... Ts>
struct term_traits<std::tuple<Ts...>> : detail::convert::tuple_traits<std::tuple<Ts...>> {};

template <term_convertible A, term_convertible B>
struct term_traits<std::pair<A, B>> : detail::convert::tuple_traits<std::pair<A, B>> {};

template <detail::convert::element K, detail::convert::element V, class C, class A>
struct term_traits<std::map<K, V, C, A>> : detail::convert::map_traits<std::map<K, V, C, A>> {};

template <detail::convert::element K, detail::convert::element V, class H, class E, class A>
struct term_traits<std::unordered_map<K, V, H, E, A>>
    : detail::convert::map_traits<std::unordered_map<K, V, H, E, A>> {};

template <>
struct term_traits<exit_reason> {
  static term to_term(const exit_reason& r) {
    using kind = exit_reason::kind;
    switch (r.what()) {
      case kind::normal:
        return term::atom("normal");
      case kind::shutdown:
        return term::atom("shutdown");
      case kind::kill:
        return term::atom("kill");
      case kind::killed:
        return term::atom("killed");
      case kind::noproc:
        return term::atom("noproc");
      case kind::exception:
        return term::tuple({term::atom("exception"), term::binary(r.text())});
      case kind::structured:
        return *r.structured();
      case kind::user:
        break;
    }
    if (detail::convert::is_atom_name(r.text())) return term::atom(r.text());
    return term::binary(r.text());
  }
  static bool matches(const term& /*unused*/) noexcept { return true; }
  static bool from_term(const term& t, exit_reason& out) {
    if (const auto* b = std::get_if<term::binary_t>(&t.value())) {
      out = exit_reason::user(b->bytes);  // what user(text) too long for an atom becomes
    } else {
      out = exit_reason(t);
    }
    return true;
  }
};

template <class T>
exit_reason exit_reason::of(const T& value) {
  return exit_reason(coproc::to_term(value));
}

// pid and monitor_ref: see coproc/node.hpp

}  // namespace coproc
