// coproc/term_codec.hpp - Erlang's External Term Format (term_to_binary / binary_to_term).
//
//   std::string bytes = encode(term::tuple({term::atom("ok"), 42}));  // <<131,104,2,...>>
//   term t = decode(bytes);                         // throws term_decode_error
//   auto r = try_decode(bytes);                     // never throws
//   if (r) use(*r.value); else log(r.error);
//
// encode writes what OTP 26's term_to_binary/1 writes (byte for byte, for terms whose
// maps are in Erlang's own order): the version byte 131, then SMALL_INTEGER_EXT,
// INTEGER_EXT, SMALL_BIG_EXT / LARGE_BIG_EXT, NEW_FLOAT_EXT, SMALL_ATOM_UTF8_EXT /
// ATOM_UTF8_EXT, BINARY_EXT, SMALL_TUPLE_EXT / LARGE_TUPLE_EXT, NIL_EXT, STRING_EXT (a
// proper list of at most 65535 integers 0..255, as OTP does), LIST_EXT, MAP_EXT,
// NEW_PID_EXT and NEWER_REFERENCE_EXT. It throws term_encode_error for what Erlang could
// not decode: a non-finite float, an atom that is not UTF-8 or longer than 255
// characters, a reference with other than 1..5 ids, a size above 2^32-1, or nesting
// deeper than encode_options::max_depth.
//
// decode also reads the older forms OTP may send: ATOM_EXT and SMALL_ATOM_EXT (Latin-1,
// converted to UTF-8), PID_EXT, REFERENCE_EXT, NEW_REFERENCE_EXT, STRING_EXT (a list of
// integers) and FLOAT_EXT (a float as text). It rejects compressed terms (tag 80: no
// zlib here), bit strings, funs, exports, ports, atom cache references, LOCAL_EXT and
// distribution headers, as it does anything malformed.
//
// Hostile input: decode never reads outside the input, recurses at most
// decode_options::max_depth levels, and never allocates for a length field more than the
// bytes left could hold: a binary of n bytes needs n bytes, and a container of n subterms
// needs n bytes beyond those its enclosing containers are still owed, so the capacity
// reserved by all open containers together never exceeds the input size. A decoded term
// takes at most about 72 bytes of memory per input byte (sizeof(term); the worst case is
// a STRING_EXT or a list of nils, one term per byte). It
// rejects: a length past the end, a bad version byte, an unknown tag, an atom that is not
// valid UTF-8 or is longer than 255 characters, a non-finite float, a bignum sign other
// than 0 or 1, a map with two equal keys, a reference with 0 or more than 5 ids, and
// (unless allow_trailing) bytes after the term.
#pragma once

#include <coproc/term.hpp>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace coproc {

class term_decode_error : public std::runtime_error {
 public:
  term_decode_error(const std::string& what, std::size_t offset, bool unsupported = false)
      : std::runtime_error(what), offset_(offset), unsupported_(unsupported) {}
  // Where in the input the problem was found.
  [[nodiscard]] std::size_t offset() const noexcept { return offset_; }
  // True when the input is well formed as far as it was read but holds a type that term
  // cannot represent (a fun, a port, an export: "unsupported ..." in what()); false when
  // it is malformed (truncated, a length past the end, an unknown tag, ...).
  [[nodiscard]] bool unsupported() const noexcept { return unsupported_; }

 private:
  std::size_t offset_;
  bool unsupported_;
};

class term_encode_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct decode_options {
  std::size_t max_depth = 256;  // nesting of tuples, lists, maps (the top term is level 1)
  bool version_byte = true;     // the input starts with 131 (false: terms after a dist header)
  bool allow_trailing = false;  // bytes after the term are allowed (see decode_result::used)
};

struct encode_options {
  std::size_t max_depth = 256;
  bool version_byte = true;
};

struct decode_result {
  std::optional<term> value;     // engaged on success
  std::size_t used = 0;          // bytes the term took, version byte included
  std::string error;             // on failure: what was wrong
  std::size_t error_offset = 0;  // on failure: where
  bool unsupported = false;      // on failure: see term_decode_error::unsupported()
  explicit operator bool() const noexcept { return value.has_value(); }
};

[[nodiscard]] std::string encode(const term& t, const encode_options& opts = {});
// Appends the encoding to out (out is left as it was if this throws).
void encode_append(std::string& out, const term& t, const encode_options& opts = {});

// Throws term_decode_error (and only that, or std::bad_alloc). If used is not null it
// receives the bytes the term took.
[[nodiscard]] term decode(std::string_view bytes, const decode_options& opts = {},
                          std::size_t* used = nullptr);
[[nodiscard]] decode_result try_decode(std::string_view bytes,
                                       const decode_options& opts = {}) noexcept;

}  // namespace coproc
