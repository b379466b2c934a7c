// coproc/term.hpp - a dynamically typed Erlang term, as exchanged with Erlang nodes.
//
//   term t = term::tuple({term::atom("ok"), term::binary("hi"), term::list({1, 2})});
//   t.to_string();                       // {ok,<<"hi">>,[1,2]}
//   t.is_tuple(3) && t[0].is_atom("ok")  // true
//   t[2][1].as_int();                    // 2
//
// The kinds: integer (int64, or a bignum held as sign + little-endian magnitude when the
// value does not fit int64), float (double), atom (UTF-8 name), binary (bytes), list
// (proper, or improper with a non-list tail), tuple, map (key/value pairs, insertion order
// kept), pid, reference, and nil ([] - the empty list).
//
// A term is an immutable value: it is built by the factories below and read through const
// accessors, so its invariants always hold:
//   - an integer is stored as int64 whenever it fits, as a bignum only when it does not,
//     and a bignum's magnitude has no high zero bytes;
//   - a list is never empty (that is nil) and its tail, when present, is not a list
//     ([1|[2|[]]] is built as [1,2]);
//   - a map has no two equal keys.
// Equality is exact, like Erlang's =:= : 1 != 1.0, 0.0 != -0.0 (bitwise float equality),
// and two maps are equal when they hold the same pairs in any order. operator<=> is a
// total order consistent with ==; it follows Erlang's term order between kinds
// (number < atom < reference < pid < tuple < map < nil < list < binary) and within most
// of them, but orders every integer before every float (Erlang compares them by value).
//
// An accessor used on the wrong kind throws term_type_error. Copies are deep, except the
// tail of an improper list, which is shared (it is immutable). Terms from the decoder are
// at most decode_options::max_depth deep; ==, <=>, to_string and the destructor recurse,
// so a term built by hand hundreds of thousands of levels deep can exhaust the stack.
#pragma once

#include <algorithm>
#include <bit>
#include <charconv>
#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace coproc {

// An accessor called on a term of another kind, or as_int() on a bignum.
class term_type_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class term_kind : std::uint8_t {
  integer,
  floating,
  atom,
  reference,
  pid,
  tuple,
  map,
  nil,
  list,
  binary,
};

class term {
 public:
  struct nil_t {};
  // An integer outside int64: |value| as little-endian bytes without high zero bytes.
  struct bignum {
    bool negative = false;
    std::string magnitude;
  };
  struct atom_t {
    std::string name;  // UTF-8
  };
  struct binary_t {
    std::string bytes;
  };
  struct list_t {
    std::vector<term> elements;        // never empty
    std::shared_ptr<const term> tail;  // null for a proper list; else not nil, not a list
  };
  struct tuple_t {
    std::vector<term> elements;
  };
  struct map_t {
    std::vector<std::pair<term, term>> entries;  // in insertion (or wire) order
    std::vector<std::uint32_t> order;            // entry indices sorted by key (operator<=>)
  };
  struct pid_t {
    std::string node;  // atom name, e.g. "nonode@nohost"
    std::uint32_t id = 0;
    std::uint32_t serial = 0;
    std::uint32_t creation = 0;
  };
  struct ref_t {
    std::string node;
    std::uint32_t creation = 0;
    std::vector<std::uint32_t> ids;  // as on the wire (least significant word first)
  };
  using variant_type = std::variant<nil_t, std::int64_t, bignum, double, atom_t, binary_t, list_t,
                                    tuple_t, map_t, pid_t, ref_t>;

  // ---- construction -------------------------------------------------------------------
  term() noexcept = default;  // nil

  template <std::integral I>
  requires(!std::same_as<std::remove_cv_t<I>, bool>)
      term(I v) {  // NOLINT(google-explicit-constructor)
    static_assert(sizeof(I) <= 8, "integers wider than 64 bits: use term::big");
    if constexpr (std::is_unsigned_v<I> && sizeof(I) == 8) {
      if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        *this = from_magnitude(false, static_cast<std::uint64_t>(v));
        return;
      }
    }
    v_ = static_cast<std::int64_t>(v);
  }
  template <std::floating_point F>
  term(F v) : v_(static_cast<double>(v)) {}  // NOLINT(google-explicit-constructor)

  static term nil() { return {}; }
  static term integer(std::int64_t v) { return term(v); }
  // An integer of any size: sign and |value| as little-endian bytes (high zeros allowed).
  static term big(bool negative, std::string magnitude_le) {
    while (!magnitude_le.empty() && magnitude_le.back() == '\0') magnitude_le.pop_back();
    if (magnitude_le.size() <= 8) {
      std::uint64_t m = 0;
      for (std::size_t i = magnitude_le.size(); i-- > 0;) {
        m = (m << 8) | static_cast<unsigned char>(magnitude_le[i]);
      }
      constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
      if (!negative && m <= max) return term(static_cast<std::int64_t>(m));
      if (negative && m <= max + 1) {
        return term(m == max + 1 ? std::numeric_limits<std::int64_t>::min()
                                 : -static_cast<std::int64_t>(m));
      }
    }
    term t;
    t.v_ = bignum{negative, std::move(magnitude_le)};
    return t;
  }
  static term floating(double v) { return term(v); }
  static term atom(std::string name) { return from(atom_t{std::move(name)}); }
  static term boolean(bool b) { return atom(b ? "true" : "false"); }
  static term binary(std::string bytes) { return from(binary_t{std::move(bytes)}); }
  // An Erlang string: the list of the bytes' values ("" is nil).
  static term string(std::string_view chars) {
    std::vector<term> e;
    e.reserve(chars.size());
    for (const char c : chars) e.emplace_back(static_cast<unsigned char>(c));
    return list(std::move(e));
  }
  static term list(std::vector<term> elements) {
    if (elements.empty()) return {};
    return from(list_t{std::move(elements), nullptr});
  }
  // [E1, ..., En | Tail]; a list tail is spliced in, so the result is canonical.
  static term improper_list(std::vector<term> elements, term tail) {
    if (tail.is_nil()) return list(std::move(elements));
    if (auto* l = std::get_if<list_t>(&tail.v_)) {
      elements.insert(elements.end(), std::make_move_iterator(l->elements.begin()),
                      std::make_move_iterator(l->elements.end()));
      return from(list_t{std::move(elements), std::move(l->tail)});
    }
    if (elements.empty()) return tail;
    return from(list_t{std::move(elements), std::make_shared<const term>(std::move(tail))});
  }
  static term tuple(std::vector<term> elements) { return from(tuple_t{std::move(elements)}); }
  // Throws std::invalid_argument if two keys are equal.
  static term map(std::vector<std::pair<term, term>> entries);
  static term pid(std::string node, std::uint32_t id, std::uint32_t serial,
                  std::uint32_t creation) {
    return from(pid_t{std::move(node), id, serial, creation});
  }
  static term ref(std::string node, std::uint32_t creation, std::vector<std::uint32_t> ids) {
    return from(ref_t{std::move(node), creation, std::move(ids)});
  }

  // ---- inspection ---------------------------------------------------------------------
  [[nodiscard]] term_kind kind() const noexcept {
    static constexpr term_kind kinds[] = {
        term_kind::nil,  term_kind::integer, term_kind::integer,  term_kind::floating,
        term_kind::atom, term_kind::binary,  term_kind::list,     term_kind::tuple,
        term_kind::map,  term_kind::pid,     term_kind::reference};
    return kinds[v_.index()];
  }
  [[nodiscard]] const variant_type& value() const& noexcept { return v_; }
  // From a term that is no longer needed (std::move(t).value()): its contents, moved out,
  // so that a large binary changes hands without a copy. t is left valid but unspecified.
  [[nodiscard]] variant_type value() && noexcept { return std::move(v_); }

  [[nodiscard]] bool is_nil() const noexcept { return holds<nil_t>(); }
  [[nodiscard]] bool is_integer() const noexcept {
    return holds<std::int64_t>() || holds<bignum>();
  }
  [[nodiscard]] bool fits_int64() const noexcept { return holds<std::int64_t>(); }
  [[nodiscard]] bool is_bignum() const noexcept { return holds<bignum>(); }
  [[nodiscard]] bool is_float() const noexcept { return holds<double>(); }
  [[nodiscard]] bool is_number() const noexcept { return is_integer() || is_float(); }
  [[nodiscard]] bool is_atom() const noexcept { return holds<atom_t>(); }
  [[nodiscard]] bool is_atom(std::string_view name) const noexcept {
    const auto* a = std::get_if<atom_t>(&v_);
    return a != nullptr && a->name == name;
  }
  [[nodiscard]] bool is_bool() const noexcept { return is_atom("true") || is_atom("false"); }
  [[nodiscard]] bool is_binary() const noexcept { return holds<binary_t>(); }
  // Erlang's is_list: [] or a (possibly improper) non-empty list.
  [[nodiscard]] bool is_list() const noexcept { return is_nil() || holds<list_t>(); }
  [[nodiscard]] bool is_proper_list() const noexcept {
    const auto* l = std::get_if<list_t>(&v_);
    return is_nil() || (l != nullptr && !l->tail);
  }
  [[nodiscard]] bool is_tuple() const noexcept { return holds<tuple_t>(); }
  [[nodiscard]] bool is_tuple(std::size_t arity) const noexcept {
    const auto* t = std::get_if<tuple_t>(&v_);
    return t != nullptr && t->elements.size() == arity;
  }
  [[nodiscard]] bool is_map() const noexcept { return holds<map_t>(); }
  [[nodiscard]] bool is_pid() const noexcept { return holds<pid_t>(); }
  [[nodiscard]] bool is_ref() const noexcept { return holds<ref_t>(); }

  // ---- access (term_type_error on the wrong kind) --------------------------------------
  [[nodiscard]] std::int64_t as_int() const {
    if (const auto* i = std::get_if<std::int64_t>(&v_)) return *i;
    if (is_bignum()) throw term_type_error("term: integer does not fit in int64");
    wrong("an integer");
  }
  // Any integer as sign + magnitude (an int64 too; zero has an empty magnitude).
  [[nodiscard]] bignum as_bignum() const {
    if (const auto* b = std::get_if<bignum>(&v_)) return *b;
    const std::int64_t v = as_int();
    bignum b{v < 0, {}};
    std::uint64_t m =
        v < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
    for (; m != 0; m >>= 8) b.magnitude.push_back(static_cast<char>(m & 0xff));
    return b;
  }
  [[nodiscard]] double as_float() const { return get<double>("a float"); }
  [[nodiscard]] bool as_bool() const {
    if (is_atom("true")) return true;
    if (is_atom("false")) return false;
    wrong("a boolean");
  }
  [[nodiscard]] const std::string& atom_name() const { return get<atom_t>("an atom").name; }
  [[nodiscard]] const std::string& as_binary() const { return get<binary_t>("a binary").bytes; }
  // The elements of a tuple, of a list (without its tail), or of nil (none).
  [[nodiscard]] const std::vector<term>& elements() const {
    if (const auto* t = std::get_if<tuple_t>(&v_)) return t->elements;
    if (const auto* l = std::get_if<list_t>(&v_)) return l->elements;
    if (is_nil()) return empty_elements();
    wrong("a tuple or a list");
  }
  // A list's tail: nil for a proper list (and for nil itself).
  [[nodiscard]] const term& tail() const {
    if (const auto* l = std::get_if<list_t>(&v_)) return l->tail ? *l->tail : nil_term();
    if (is_nil()) return nil_term();
    wrong("a list");
  }
  // Element i of a tuple or list; std::out_of_range past the end.
  [[nodiscard]] const term& operator[](std::size_t i) const { return elements().at(i); }
  [[nodiscard]] const term& at(std::size_t i) const { return elements().at(i); }
  // Tuple arity, list length (without tail), map size, or 0 for nil.
  [[nodiscard]] std::size_t size() const {
    if (const auto* m = std::get_if<map_t>(&v_)) return m->entries.size();
    return elements().size();
  }
  [[nodiscard]] const std::vector<std::pair<term, term>>& map_entries() const {
    return get<map_t>("a map").entries;
  }
  // The value for key in a map, or nullptr (O(log n)).
  [[nodiscard]] const term* find(const term& key) const;
  [[nodiscard]] const pid_t& as_pid() const { return get<pid_t>("a pid"); }
  [[nodiscard]] const ref_t& as_ref() const { return get<ref_t>("a reference"); }

  // Erlang syntax: {ok,<<"hi">>,[1,2]}, "abc" for a printable list, #{a => 1}, [1|2],
  // 'quoted atom', 1.0e10, -16#... for a bignum of more than 2 KiB. Pids and references
  // print as <node.id.serial> and #Ref<node.id...>, which Erlang cannot read back.
  [[nodiscard]] std::string to_string() const {
    std::string s;
    append_to(s);
    return s;
  }
  void append_to(std::string& out) const;

  friend std::strong_ordering operator<=>(const term& a, const term& b);
  friend bool operator==(const term& a, const term& b) { return (a <=> b) == 0; }
  friend std::ostream& operator<<(std::ostream& os, const term& t) { return os << t.to_string(); }

 private:
  template <class T>
  static term from(T&& v) {
    term t;
    t.v_ = std::forward<T>(v);
    return t;
  }
  static term from_magnitude(bool negative, std::uint64_t m) {
    std::string mag;
    for (; m != 0; m >>= 8) mag.push_back(static_cast<char>(m & 0xff));
    return big(negative, std::move(mag));
  }
  template <class T>
  [[nodiscard]] bool holds() const noexcept {
    return std::holds_alternative<T>(v_);
  }
  template <class T>
  [[nodiscard]] const T& get(const char* what) const {
    if (const auto* p = std::get_if<T>(&v_)) return *p;
    wrong(what);
  }
  [[noreturn]] void wrong(const char* what) const {
    static constexpr const char* names[] = {"an integer", "a float", "an atom", "a reference",
                                            "a pid",      "a tuple", "a map",   "nil",
                                            "a list",     "a binary"};
    throw term_type_error(std::string("term: expected ") + what + ", got " +
                          names[static_cast<int>(kind())]);
  }
  static const std::vector<term>& empty_elements() {
    static const std::vector<term> none;
    return none;
  }
  static const term& nil_term() {
    static const term n;
    return n;
  }

  variant_type v_;
};

// ---- implementation ---------------------------------------------------------------------

namespace detail::term_impl {

inline int kind_rank(const term& t) noexcept {
  return static_cast<int>(t.kind());
}

inline std::strong_ordering compare_bytes(std::string_view a, std::string_view b) noexcept {
  return a.compare(b) <=> 0;
}

inline std::strong_ordering compare_magnitudes(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() <=> b.size();
  for (std::size_t i = a.size(); i-- > 0;) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x != y) return x <=> y;
  }
  return std::strong_ordering::equal;
}

inline std::strong_ordering compare_integers(const term::variant_type& a,
                                             const term::variant_type& b) {
  const auto* ai = std::get_if<std::int64_t>(&a);
  const auto* bi = std::get_if<std::int64_t>(&b);
  if (ai && bi) return *ai <=> *bi;
  // A bignum never fits int64: a negative one is below every int64, a positive one above.
  if (ai)
    return std::get<term::bignum>(b).negative ? std::strong_ordering::greater
                                              : std::strong_ordering::less;
  if (bi)
    return std::get<term::bignum>(a).negative ? std::strong_ordering::less
                                              : std::strong_ordering::greater;
  const auto& x = std::get<term::bignum>(a);
  const auto& y = std::get<term::bignum>(b);
  if (x.negative != y.negative) {
    return x.negative ? std::strong_ordering::less : std::strong_ordering::greater;
  }
  return x.negative ? compare_magnitudes(y.magnitude, x.magnitude)
                    : compare_magnitudes(x.magnitude, y.magnitude);
}

// IEEE totalOrder: equal exactly when the bits are equal.
inline std::strong_ordering compare_doubles(double a, double b) noexcept {
  constexpr std::uint64_t sign = std::uint64_t{1} << 63;
  auto key = [](double d) {
    const auto u = std::bit_cast<std::uint64_t>(d);
    return (u & sign) ? ~u : (u | sign);
  };
  return key(a) <=> key(b);
}

inline std::strong_ordering compare_lists(const term::list_t& a, const term::list_t& b) {
  const std::size_t n = std::min(a.elements.size(), b.elements.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (auto c = a.elements[i] <=> b.elements[i]; c != 0) return c;
  }
  // What follows the common part: more elements (a list), or the tail (nil or non-list).
  const bool a_more = a.elements.size() > n;
  const bool b_more = b.elements.size() > n;
  if (a_more && b_more) return std::strong_ordering::equal;  // unreachable
  const int list_rank = static_cast<int>(term_kind::list);
  static const term nil;
  const term& ta = a.tail ? *a.tail : nil;
  const term& tb = b.tail ? *b.tail : nil;
  if (a_more) return list_rank <=> kind_rank(tb);
  if (b_more) return kind_rank(ta) <=> list_rank;
  return ta <=> tb;
}

inline std::strong_ordering compare_maps(const term::map_t& a, const term::map_t& b) {
  if (a.entries.size() != b.entries.size()) return a.entries.size() <=> b.entries.size();
  for (std::size_t i = 0; i < a.order.size(); ++i) {
    if (auto c = a.entries[a.order[i]].first <=> b.entries[b.order[i]].first; c != 0) return c;
  }
  for (std::size_t i = 0; i < a.order.size(); ++i) {
    if (auto c = a.entries[a.order[i]].second <=> b.entries[b.order[i]].second; c != 0) {
      return c;
    }
  }
  return std::strong_ordering::equal;
}

inline std::strong_ordering compare_same_kind(const term& x, const term& y) {
  const auto& a = x.value();
  const auto& b = y.value();
  switch (x.kind()) {
    case term_kind::nil:
      return std::strong_ordering::equal;
    case term_kind::integer:
      return compare_integers(a, b);
    case term_kind::floating:
      return compare_doubles(std::get<double>(a), std::get<double>(b));
    case term_kind::atom:
      return compare_bytes(std::get<term::atom_t>(a).name, std::get<term::atom_t>(b).name);
    case term_kind::binary:
      return compare_bytes(std::get<term::binary_t>(a).bytes, std::get<term::binary_t>(b).bytes);
    case term_kind::list:
      return compare_lists(std::get<term::list_t>(a), std::get<term::list_t>(b));
    case term_kind::tuple: {
      const auto& p = std::get<term::tuple_t>(a).elements;
      const auto& q = std::get<term::tuple_t>(b).elements;
      if (p.size() != q.size()) return p.size() <=> q.size();
      for (std::size_t i = 0; i < p.size(); ++i) {
        if (auto c = p[i] <=> q[i]; c != 0) return c;
      }
      return std::strong_ordering::equal;
    }
    case term_kind::map:
      return compare_maps(std::get<term::map_t>(a), std::get<term::map_t>(b));
    case term_kind::pid: {
      const auto& p = std::get<term::pid_t>(a);
      const auto& q = std::get<term::pid_t>(b);
      if (auto c = compare_bytes(p.node, q.node); c != 0) return c;
      if (auto c = p.id <=> q.id; c != 0) return c;
      if (auto c = p.serial <=> q.serial; c != 0) return c;
      return p.creation <=> q.creation;
    }
    case term_kind::reference: {
      const auto& p = std::get<term::ref_t>(a);
      const auto& q = std::get<term::ref_t>(b);
      if (auto c = compare_bytes(p.node, q.node); c != 0) return c;
      if (auto c = p.creation <=> q.creation; c != 0) return c;
      return p.ids <=> q.ids;
    }
  }
  return std::strong_ordering::equal;
}

// ---- to_string helpers ----

inline void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

inline void append_bignum(std::string& out, const term::bignum& b) {
  if (b.negative) out += '-';
  static constexpr char hex[] = "0123456789ABCDEF";
  if (b.magnitude.size() > 2048) {  // decimal conversion is quadratic; Erlang reads 16#...
    out += "16#";
    for (std::size_t i = b.magnitude.size(); i-- > 0;) {
      const auto byte = static_cast<unsigned char>(b.magnitude[i]);
      if (i + 1 != b.magnitude.size() || byte >= 16) out += hex[byte >> 4];
      out += hex[byte & 15];
    }
    return;
  }
  // Base 10^9 digits by repeated division of 32-bit limbs (most significant first).
  std::vector<std::uint32_t> limbs((b.magnitude.size() + 3) / 4, 0);
  for (std::size_t i = 0; i < b.magnitude.size(); ++i) {
    limbs[limbs.size() - 1 - i / 4] |= std::uint32_t{static_cast<unsigned char>(b.magnitude[i])}
                                       << (8 * (i % 4));
  }
  std::vector<std::uint32_t> chunks;  // base 10^9, least significant first
  std::size_t first = 0;
  while (first < limbs.size()) {
    std::uint64_t rem = 0;
    for (std::size_t i = first; i < limbs.size(); ++i) {
      const std::uint64_t cur = (rem << 32) | limbs[i];
      limbs[i] = static_cast<std::uint32_t>(cur / 1000000000U);
      rem = cur % 1000000000U;
    }
    chunks.push_back(static_cast<std::uint32_t>(rem));
    while (first < limbs.size() && limbs[first] == 0) ++first;
  }
  if (chunks.empty()) chunks.push_back(0);
  append_int(out, chunks.back());
  for (std::size_t i = chunks.size() - 1; i-- > 0;) {
    char buf[16];
    auto r = std::to_chars(buf, buf + sizeof buf, chunks[i]);
    out.append(9 - static_cast<std::size_t>(r.ptr - buf), '0');
    out.append(buf, r.ptr);
  }
}

// Shortest round-trip form, made Erlang-readable: 1.0e10, 100.0, 5.0e-324.
inline void append_double(std::string& out, double d) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  std::string_view s(buf, static_cast<std::size_t>(r.ptr - buf));
  if (s.find_first_not_of("-0123456789.e+") != std::string_view::npos) {  // inf, nan
    out += s;
    return;
  }
  const auto e = s.find('e');
  std::string_view mant = s.substr(0, e);
  out += mant;
  if (mant.find('.') == std::string_view::npos) out += ".0";
  if (e == std::string_view::npos) return;
  std::string_view exp = s.substr(e + 1);
  out += 'e';
  if (!exp.empty() && (exp[0] == '+' || exp[0] == '-')) {
    if (exp[0] == '-') out += '-';
    exp.remove_prefix(1);
  }
  while (exp.size() > 1 && exp[0] == '0') exp.remove_prefix(1);
  out += exp;
}

inline void append_escaped(std::string& out, unsigned char c, char quote) {
  static constexpr char hex[] = "0123456789ABCDEF";
  switch (c) {
    case '\n':
      out += "\\n";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\\':
      out += "\\\\";
      return;
    default:
      break;
  }
  if (c == static_cast<unsigned char>(quote)) {
    out += '\\';
    out += quote;
  } else if (c < 0x20 || c == 0x7f) {
    out += "\\x{";
    out += hex[c >> 4];
    out += hex[c & 15];
    out += '}';
  } else {
    out += static_cast<char>(c);
  }
}

inline void append_atom(std::string& out, std::string_view name) {
  static constexpr std::string_view reserved[] = {
      "after", "and",   "andalso", "band",   "begin",   "bnot", "bor", "bsl",  "bsr", "bxor",
      "case",  "catch", "cond",    "div",    "else",    "end",  "fun", "if",   "let", "maybe",
      "not",   "of",    "or",      "orelse", "receive", "rem",  "try", "when", "xor"};
  bool plain = !name.empty() && name[0] >= 'a' && name[0] <= 'z';
  for (const char c : name) {
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '@');
  }
  plain = plain && std::find(std::begin(reserved), std::end(reserved), name) == std::end(reserved);
  if (plain) {
    out += name;
    return;
  }
  out += '\'';
  for (const char c : name) append_escaped(out, static_cast<unsigned char>(c), '\'');
  out += '\'';
}

inline bool printable(std::int64_t c) noexcept {
  return (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t' || c == '\r';
}

}  // namespace detail::term_impl

inline std::strong_ordering operator<=>(const term& a, const term& b) {
  const int ra = detail::term_impl::kind_rank(a);
  const int rb = detail::term_impl::kind_rank(b);
  if (ra != rb) return ra <=> rb;
  return detail::term_impl::compare_same_kind(a, b);
}

inline term term::map(std::vector<std::pair<term, term>> entries) {
  if (entries.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw std::invalid_argument("term::map: too many entries");
  }
  map_t m;
  m.order.resize(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) m.order[i] = static_cast<std::uint32_t>(i);
  std::sort(m.order.begin(), m.order.end(), [&](std::uint32_t x, std::uint32_t y) {
    return (entries[x].first <=> entries[y].first) < 0;
  });
  for (std::size_t i = 1; i < m.order.size(); ++i) {
    if (entries[m.order[i - 1]].first == entries[m.order[i]].first) {
      throw std::invalid_argument("term::map: duplicate key " +
                                  entries[m.order[i]].first.to_string());
    }
  }
  m.entries = std::move(entries);
  return from(std::move(m));
}

inline const term* term::find(const term& key) const {
  const auto& m = get<map_t>("a map");
  auto it = std::lower_bound(
      m.order.begin(), m.order.end(), key,
      [&](std::uint32_t i, const term& k) { return (m.entries[i].first <=> k) < 0; });
  if (it == m.order.end() || m.entries[*it].first != key) return nullptr;
  return &m.entries[*it].second;
}

inline void term::append_to(std::string& out) const {
  namespace ti = detail::term_impl;
  std::visit(
      [&out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, nil_t>) {
          out += "[]";
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          ti::append_int(out, v);
        } else if constexpr (std::is_same_v<T, bignum>) {
          ti::append_bignum(out, v);
        } else if constexpr (std::is_same_v<T, double>) {
          ti::append_double(out, v);
        } else if constexpr (std::is_same_v<T, atom_t>) {
          ti::append_atom(out, v.name);
        } else if constexpr (std::is_same_v<T, binary_t>) {
          const bool text =
              !v.bytes.empty() && std::all_of(v.bytes.begin(), v.bytes.end(), [](char c) {
                return ti::printable(static_cast<unsigned char>(c));
              });
          out += "<<";
          if (text) {
            out += '"';
            for (const char c : v.bytes)
              ti::append_escaped(out, static_cast<unsigned char>(c), '"');
            out += '"';
          } else {
            for (std::size_t i = 0; i < v.bytes.size(); ++i) {
              if (i != 0) out += ',';
              ti::append_int(out, static_cast<unsigned char>(v.bytes[i]));
            }
          }
          out += ">>";
        } else if constexpr (std::is_same_v<T, list_t>) {
          const bool text =
              !v.tail && std::all_of(v.elements.begin(), v.elements.end(), [](const term& e) {
                const auto* i = std::get_if<std::int64_t>(&e.v_);
                return i != nullptr && ti::printable(*i);
              });
          if (text) {
            out += '"';
            for (const term& e : v.elements) {
              ti::append_escaped(out, static_cast<unsigned char>(std::get<std::int64_t>(e.v_)),
                                 '"');
            }
            out += '"';
            return;
          }
          out += '[';
          for (std::size_t i = 0; i < v.elements.size(); ++i) {
            if (i != 0) out += ',';
            v.elements[i].append_to(out);
          }
          if (v.tail) {
            out += '|';
            v.tail->append_to(out);
          }
          out += ']';
        } else if constexpr (std::is_same_v<T, tuple_t>) {
          out += '{';
          for (std::size_t i = 0; i < v.elements.size(); ++i) {
            if (i != 0) out += ',';
            v.elements[i].append_to(out);
          }
          out += '}';
        } else if constexpr (std::is_same_v<T, map_t>) {
          out += "#{";
          for (std::size_t i = 0; i < v.entries.size(); ++i) {
            if (i != 0) out += ',';
            v.entries[i].first.append_to(out);
            out += " => ";
            v.entries[i].second.append_to(out);
          }
          out += '}';
        } else if constexpr (std::is_same_v<T, pid_t>) {
          out += '<';
          out += v.node;
          out += '.';
          ti::append_int(out, v.id);
          out += '.';
          ti::append_int(out, v.serial);
          out += '>';
        } else if constexpr (std::is_same_v<T, ref_t>) {
          out += "#Ref<";
          out += v.node;
          for (std::size_t i = v.ids.size(); i-- > 0;) {
            out += '.';
            ti::append_int(out, v.ids[i]);
          }
          out += '>';
        }
      },
      v_);
}

}  // namespace coproc
