// External Term Format encoder and hardened decoder (see coproc/term_codec.hpp).
// Written from the format's description in OTP's erts "External Term Format" document.
#include <coproc/detail/utf8.hpp>
#include <coproc/term_codec.hpp>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace coproc {
namespace {

// Tags.
constexpr std::uint8_t version_magic = 131;
constexpr std::uint8_t new_float_ext = 70;
constexpr std::uint8_t bit_binary_ext = 77;
constexpr std::uint8_t compressed = 80;
constexpr std::uint8_t dist_header = 68;
constexpr std::uint8_t dist_frag_header = 69;
constexpr std::uint8_t atom_cache_ref = 82;
constexpr std::uint8_t new_pid_ext = 88;
constexpr std::uint8_t new_port_ext = 89;
constexpr std::uint8_t newer_reference_ext = 90;
constexpr std::uint8_t small_integer_ext = 97;
constexpr std::uint8_t integer_ext = 98;
constexpr std::uint8_t float_ext = 99;
constexpr std::uint8_t atom_ext = 100;
constexpr std::uint8_t reference_ext = 101;
constexpr std::uint8_t port_ext = 102;
constexpr std::uint8_t pid_ext = 103;
constexpr std::uint8_t small_tuple_ext = 104;
constexpr std::uint8_t large_tuple_ext = 105;
constexpr std::uint8_t nil_ext = 106;
constexpr std::uint8_t string_ext = 107;
constexpr std::uint8_t list_ext = 108;
constexpr std::uint8_t binary_ext = 109;
constexpr std::uint8_t small_big_ext = 110;
constexpr std::uint8_t large_big_ext = 111;
constexpr std::uint8_t new_fun_ext = 112;
constexpr std::uint8_t export_ext = 113;
constexpr std::uint8_t new_reference_ext = 114;
constexpr std::uint8_t small_atom_ext = 115;
constexpr std::uint8_t map_ext = 116;
constexpr std::uint8_t fun_ext = 117;
constexpr std::uint8_t atom_utf8_ext = 118;
constexpr std::uint8_t small_atom_utf8_ext = 119;
constexpr std::uint8_t v4_port_ext = 120;
constexpr std::uint8_t local_ext = 121;

constexpr std::size_t max_atom_chars = 255;
constexpr std::size_t max_ref_ids = 5;
constexpr std::uint32_t u32_max = std::numeric_limits<std::uint32_t>::max();

using detail::utf8_length;  // coproc/detail/utf8.hpp

// ---- encoder ----------------------------------------------------------------------------

class encoder {
 public:
  encoder(std::string& out, std::size_t max_depth) : out_(out), max_depth_(max_depth) {}

  void value(const term& t, std::size_t depth) {
    if (depth > max_depth_) {
      throw term_encode_error("term encode: nesting deeper than " + std::to_string(max_depth_));
    }
    std::visit([&](const auto& v) { encode(v, depth); }, t.value());
  }

 private:
  void u8(std::uint32_t v) { out_.push_back(static_cast<char>(v & 0xff)); }
  void u16(std::uint32_t v) {
    const char b[2] = {static_cast<char>((v >> 8) & 0xff), static_cast<char>(v & 0xff)};
    out_.append(b, 2);
  }
  void u32(std::uint32_t v) {  // one append, not four (it is on every pid and binary)
    const char b[4] = {static_cast<char>(v >> 24), static_cast<char>((v >> 16) & 0xff),
                       static_cast<char>((v >> 8) & 0xff), static_cast<char>(v & 0xff)};
    out_.append(b, 4);
  }
  static std::uint32_t size32(std::size_t n, const char* what) {
    if (n > u32_max) {
      throw term_encode_error(std::string("term encode: ") + what + " larger than 2^32-1");
    }
    return static_cast<std::uint32_t>(n);
  }

  void encode(const term::nil_t&, std::size_t) { u8(nil_ext); }

  void encode(std::int64_t v, std::size_t) {
    if (v >= 0 && v <= 255) {
      u8(small_integer_ext);
      u8(static_cast<std::uint32_t>(v));
    } else if (v >= std::numeric_limits<std::int32_t>::min() &&
               v <= std::numeric_limits<std::int32_t>::max()) {
      u8(integer_ext);
      u32(static_cast<std::uint32_t>(static_cast<std::int32_t>(v)));
    } else {
      encode(term(v).as_bignum(), 0);
    }
  }

  void encode(const term::bignum& b, std::size_t) {
    if (b.magnitude.size() <= 255) {
      u8(small_big_ext);
      u8(static_cast<std::uint32_t>(b.magnitude.size()));
    } else {
      u8(large_big_ext);
      u32(size32(b.magnitude.size(), "bignum"));
    }
    u8(b.negative ? 1 : 0);
    out_ += b.magnitude;
  }

  void encode(double d, std::size_t) {
    if (!std::isfinite(d)) throw term_encode_error("term encode: float is not finite");
    const auto bits = std::bit_cast<std::uint64_t>(d);
    u8(new_float_ext);
    u32(static_cast<std::uint32_t>(bits >> 32));
    u32(static_cast<std::uint32_t>(bits & u32_max));
  }

  void atom(std::string_view name) {
    const std::size_t chars = utf8_length(name);
    if (chars == std::string_view::npos) {
      throw term_encode_error("term encode: atom is not valid UTF-8");
    }
    if (chars > max_atom_chars) {
      throw term_encode_error("term encode: atom longer than 255 characters");
    }
    if (name.size() <= 255) {
      u8(small_atom_utf8_ext);
      u8(static_cast<std::uint32_t>(name.size()));
    } else {
      u8(atom_utf8_ext);
      u16(static_cast<std::uint32_t>(name.size()));  // <= 4 * 255
    }
    out_ += name;
  }

  void encode(const term::atom_t& a, std::size_t) { atom(a.name); }

  void encode(const term::binary_t& b, std::size_t) {
    u8(binary_ext);
    u32(size32(b.bytes.size(), "binary"));
    out_ += b.bytes;
  }

  void encode(const term::list_t& l, std::size_t depth) {
    const bool bytes = !l.tail && l.elements.size() <= 0xffff &&
                       std::all_of(l.elements.begin(), l.elements.end(), [](const term& e) {
                         const auto* i = std::get_if<std::int64_t>(&e.value());
                         return i != nullptr && *i >= 0 && *i <= 255;
                       });
    if (bytes) {
      u8(string_ext);
      u16(static_cast<std::uint32_t>(l.elements.size()));
      for (const term& e : l.elements)
        u8(static_cast<std::uint32_t>(std::get<std::int64_t>(e.value())));
      return;
    }
    u8(list_ext);
    u32(size32(l.elements.size(), "list"));
    for (const term& e : l.elements) value(e, depth + 1);
    if (l.tail) {
      value(*l.tail, depth + 1);
    } else {
      u8(nil_ext);
    }
  }

  void encode(const term::tuple_t& t, std::size_t depth) {
    if (t.elements.size() <= 255) {
      u8(small_tuple_ext);
      u8(static_cast<std::uint32_t>(t.elements.size()));
    } else {
      u8(large_tuple_ext);
      u32(size32(t.elements.size(), "tuple"));
    }
    for (const term& e : t.elements) value(e, depth + 1);
  }

  void encode(const term::map_t& m, std::size_t depth) {
    u8(map_ext);
    u32(size32(m.entries.size(), "map"));
    for (const auto& [k, v] : m.entries) {
      value(k, depth + 1);
      value(v, depth + 1);
    }
  }

  void encode(const term::pid_t& p, std::size_t) {
    u8(new_pid_ext);
    atom(p.node);
    u32(p.id);
    u32(p.serial);
    u32(p.creation);
  }

  void encode(const term::ref_t& r, std::size_t) {
    if (r.ids.empty() || r.ids.size() > max_ref_ids) {
      throw term_encode_error("term encode: a reference needs 1 to 5 ids");
    }
    u8(newer_reference_ext);
    u16(static_cast<std::uint32_t>(r.ids.size()));
    atom(r.node);
    u32(r.creation);
    for (const std::uint32_t id : r.ids) u32(id);
  }

  std::string& out_;
  std::size_t max_depth_;
};

// ---- decoder ----------------------------------------------------------------------------

const char* tag_name(std::uint8_t tag) {
  switch (tag) {
    case compressed:
      return "compressed term (tag 80; zlib is not supported)";
    case dist_header:
      return "distribution header (DIST_HEADER)";
    case dist_frag_header:
      return "distribution fragment header";
    case atom_cache_ref:
      return "atom cache reference (ATOM_CACHE_REF)";
    case bit_binary_ext:
      return "bit string (BIT_BINARY_EXT)";
    case new_fun_ext:
      return "fun (NEW_FUN_EXT)";
    case fun_ext:
      return "fun (FUN_EXT)";
    case export_ext:
      return "export fun (EXPORT_EXT)";
    case new_port_ext:
      return "port (NEW_PORT_EXT)";
    case port_ext:
      return "port (PORT_EXT)";
    case v4_port_ext:
      return "port (V4_PORT_EXT)";
    case local_ext:
      return "LOCAL_EXT";
    default:
      return nullptr;
  }
}

class decoder {
 public:
  decoder(std::string_view in, std::size_t max_depth) : in_(in), max_depth_(max_depth) {}

  [[nodiscard]] std::size_t pos() const noexcept { return pos_; }
  [[nodiscard]] std::size_t left() const noexcept { return in_.size() - pos_; }

  [[noreturn]] void fail(const std::string& what, std::size_t at, bool unsupported = false) const {
    throw term_decode_error("term decode: " + what + " (at byte " + std::to_string(at) + ")", at,
                            unsupported);
  }

  void need(std::size_t n, const char* what) const {
    if (left() < n) {
      fail(std::string("truncated input: ") + what + " needs " + std::to_string(n) + " bytes, " +
               std::to_string(left()) + " left",
           pos_);
    }
  }

  std::uint8_t u8(const char* what) {
    need(1, what);
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  std::uint32_t u16(const char* what) {
    need(2, what);
    const std::uint32_t v = (byte(0) << 8) | byte(1);
    pos_ += 2;
    return v;
  }
  std::uint32_t u32(const char* what) {
    need(4, what);
    const std::uint32_t v = (byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3);
    pos_ += 4;
    return v;
  }
  std::string_view bytes(std::size_t n, const char* what) {
    need(n, what);
    auto s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  // Every term takes at least one byte, so a container of `items` subterms (elements,
  // keys and values, a list's tail) needs that many bytes - beyond the bytes already owed
  // to the subterms that open containers have announced but not yet begun. Checking the
  // sum, before anything is allocated, keeps the capacity reserved by all open
  // containers together within the size of the input, however they nest.
  void claim(std::uint64_t items, const char* what, std::size_t at) {
    if (pending_ > left() || items > left() - pending_) {
      fail(std::string(what) + " claims " + std::to_string(items) + " subterms but only " +
               std::to_string(left()) + " bytes are left, " + std::to_string(pending_) +
               " of them owed to enclosing terms",
           at);
    }
    pending_ += items;
  }
  // Decodes one subterm announced by claim().
  term item(std::size_t depth) {
    --pending_;
    return value(depth);
  }

  term value(std::size_t depth) {
    const std::size_t at = pos_;
    if (depth > max_depth_) fail("nesting deeper than " + std::to_string(max_depth_), at);
    const std::uint8_t tag = u8("tag");
    switch (tag) {
      case small_integer_ext:
        return term(std::int64_t{u8("SMALL_INTEGER_EXT")});
      case integer_ext:
        return term(std::int64_t{static_cast<std::int32_t>(u32("INTEGER_EXT"))});
      case small_big_ext:
      case large_big_ext: {
        const char* what = tag == small_big_ext ? "SMALL_BIG_EXT" : "LARGE_BIG_EXT";
        const std::uint32_t n = tag == small_big_ext ? u8(what) : u32(what);
        const std::size_t sign_at = pos_;
        const std::uint8_t sign = u8(what);
        if (sign > 1) fail(std::string(what) + " sign byte is not 0 or 1", sign_at);
        return term::big(sign == 1, std::string(bytes(n, what)));
      }
      case new_float_ext: {
        const std::uint64_t hi = u32("NEW_FLOAT_EXT");
        const std::uint64_t lo = u32("NEW_FLOAT_EXT");
        const double d = std::bit_cast<double>((hi << 32) | lo);
        if (!std::isfinite(d)) fail("NEW_FLOAT_EXT is not a finite float", at);
        return term(d);
      }
      case float_ext:
        return old_float(at);
      case atom_ext:
      case small_atom_ext:
      case atom_utf8_ext:
      case small_atom_utf8_ext:
        --pos_;
        return term::atom(atom_text("atom"));
      case binary_ext: {
        const std::uint32_t n = u32("BINARY_EXT");
        return term::binary(std::string(bytes(n, "BINARY_EXT")));
      }
      case small_tuple_ext:
      case large_tuple_ext: {
        const char* what = tag == small_tuple_ext ? "SMALL_TUPLE_EXT" : "LARGE_TUPLE_EXT";
        const std::uint32_t n = tag == small_tuple_ext ? u8(what) : u32(what);
        claim(n, what, at);
        std::vector<term> elements;
        elements.reserve(n);
        for (std::uint32_t i = 0; i < n; ++i) elements.push_back(item(depth + 1));
        return term::tuple(std::move(elements));
      }
      case nil_ext:
        return {};
      case string_ext: {
        const std::uint32_t n = u16("STRING_EXT");
        return term::string(bytes(n, "STRING_EXT"));
      }
      case list_ext: {
        const std::uint32_t n = u32("LIST_EXT");
        claim(std::uint64_t{n} + 1, "LIST_EXT", at);
        std::vector<term> elements;
        elements.reserve(n);
        for (std::uint32_t i = 0; i < n; ++i) elements.push_back(item(depth + 1));
        term tail = item(depth + 1);
        return term::improper_list(std::move(elements), std::move(tail));
      }
      case map_ext: {
        const std::uint32_t n = u32("MAP_EXT");
        claim(std::uint64_t{n} * 2, "MAP_EXT", at);
        std::vector<std::pair<term, term>> entries;
        entries.reserve(n);
        for (std::uint32_t i = 0; i < n; ++i) {
          term k = item(depth + 1);
          term v = item(depth + 1);
          entries.emplace_back(std::move(k), std::move(v));
        }
        try {
          return term::map(std::move(entries));
        } catch (const std::invalid_argument&) {
          fail("MAP_EXT has two equal keys", at);
        }
      }
      case new_pid_ext:
      case pid_ext: {
        const char* what = tag == new_pid_ext ? "NEW_PID_EXT" : "PID_EXT";
        std::string node = atom_text(what);
        const std::uint32_t id = u32(what);
        const std::uint32_t serial = u32(what);
        const std::uint32_t creation = tag == new_pid_ext ? u32(what) : u8(what);
        return term::pid(std::move(node), id, serial, creation);
      }
      case newer_reference_ext:
      case new_reference_ext: {
        const char* what = tag == newer_reference_ext ? "NEWER_REFERENCE_EXT" : "NEW_REFERENCE_EXT";
        const std::uint32_t n = u16(what);
        if (n == 0 || n > max_ref_ids) {
          fail(std::string(what) + " has " + std::to_string(n) + " ids (1 to 5 allowed)", at);
        }
        std::string node = atom_text(what);
        const std::uint32_t creation = tag == newer_reference_ext ? u32(what) : u8(what);
        need(std::size_t{4} * n, what);
        std::vector<std::uint32_t> ids(n);
        for (auto& id : ids) id = u32(what);
        return term::ref(std::move(node), creation, std::move(ids));
      }
      case reference_ext: {
        std::string node = atom_text("REFERENCE_EXT");
        const std::uint32_t id = u32("REFERENCE_EXT");
        const std::uint32_t creation = u8("REFERENCE_EXT");
        return term::ref(std::move(node), creation, {id});
      }
      default:
        if (const char* name = tag_name(tag)) fail(std::string("unsupported ") + name, at, true);
        fail("unknown tag " + std::to_string(tag), at);
    }
  }

 private:
  [[nodiscard]] std::uint32_t byte(std::size_t i) const noexcept {
    return static_cast<unsigned char>(in_[pos_ + i]);
  }

  // Any atom encoding, as a UTF-8 name (a pid's or reference's node, or an atom term).
  std::string atom_text(const char* context) {
    const std::size_t at = pos_;
    const std::uint8_t tag = u8(context);
    switch (tag) {
      case atom_ext:
      case small_atom_ext: {
        const char* what = tag == atom_ext ? "ATOM_EXT" : "SMALL_ATOM_EXT";
        const std::uint32_t n = tag == atom_ext ? u16(what) : u8(what);
        if (n > max_atom_chars) fail(std::string(what) + " longer than 255 characters", at);
        std::string name;
        for (const char c : bytes(n, what)) {  // Latin-1 to UTF-8
          const auto b = static_cast<unsigned char>(c);
          if (b < 0x80) {
            name += c;
          } else {
            name += static_cast<char>(0xc0 | (b >> 6));
            name += static_cast<char>(0x80 | (b & 0x3f));
          }
        }
        return name;
      }
      case atom_utf8_ext:
      case small_atom_utf8_ext: {
        const char* what = tag == atom_utf8_ext ? "ATOM_UTF8_EXT" : "SMALL_ATOM_UTF8_EXT";
        const std::uint32_t n = tag == atom_utf8_ext ? u16(what) : u8(what);
        const std::string_view s = bytes(n, what);
        const std::size_t chars = utf8_length(s);
        if (chars == std::string_view::npos) fail(std::string(what) + " is not valid UTF-8", at);
        if (chars > max_atom_chars) fail(std::string(what) + " longer than 255 characters", at);
        return std::string(s);
      }
      default:
        fail(std::string(context) + ": expected an atom, found tag " + std::to_string(tag), at);
    }
  }

  // FLOAT_EXT: 31 bytes of printf("%.20e") text, NUL-padded.
  term old_float(std::size_t at) {
    std::string_view s = bytes(31, "FLOAT_EXT");
    const auto end = s.find('\0');
    const std::string_view text = s.substr(0, end);
    if (end != std::string_view::npos &&
        s.substr(end).find_first_not_of('\0') != std::string_view::npos) {
      fail("FLOAT_EXT has bytes after its terminating NUL", at);
    }
    double d = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), d);
    if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size() ||
        !std::isfinite(d)) {
      fail("FLOAT_EXT is not a finite float", at);
    }
    return term(d);
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  std::uint64_t pending_ = 0;  // bytes owed to announced, not yet begun subterms
  std::size_t max_depth_;
};

}  // namespace

void encode_append(std::string& out, const term& t, const encode_options& opts) {
  const std::size_t start = out.size();
  try {
    if (opts.version_byte) out.push_back(static_cast<char>(version_magic));
    encoder(out, opts.max_depth).value(t, 1);
  } catch (...) {
    out.resize(start);
    throw;
  }
}

std::string encode(const term& t, const encode_options& opts) {
  std::string out;
  encode_append(out, t, opts);
  return out;
}

term decode(std::string_view bytes, const decode_options& opts, std::size_t* used) {
  decoder d(bytes, opts.max_depth);
  if (opts.version_byte) {
    if (bytes.empty()) d.fail("empty input", 0);
    if (static_cast<std::uint8_t>(bytes[0]) != version_magic) {
      d.fail("version byte is " + std::to_string(static_cast<std::uint8_t>(bytes[0])) + ", not 131",
             0);
    }
    (void)d.u8("version");
  }
  term t = d.value(1);
  if (!opts.allow_trailing && d.left() != 0) {
    d.fail(std::to_string(d.left()) + " bytes after the term", d.pos());
  }
  if (used != nullptr) *used = d.pos();
  return t;
}

decode_result try_decode(std::string_view bytes, const decode_options& opts) noexcept {
  decode_result r;
  try {
    std::size_t used = 0;
    r.value.emplace(decode(bytes, opts, &used));
    r.used = used;
  } catch (const term_decode_error& e) {
    r.value.reset();
    r.error_offset = e.offset();
    r.unsupported = e.unsupported();
    try {
      r.error = e.what();
    } catch (...) {  // out of memory for the message
    }
  } catch (const std::bad_alloc&) {
    r.value.reset();
    r.error_offset = 0;
    r.error.clear();
    try {
      r.error = "term decode: out of memory";
    } catch (...) {
    }
  } catch (...) {
    r.value.reset();
    r.error_offset = 0;
    r.error.clear();
    try {
      r.error = "term decode: unexpected internal error";
    } catch (...) {
    }
  }
  return r;
}

}  // namespace coproc
