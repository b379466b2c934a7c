// Distribution protocol wire format (see lib/dist/wire.hpp). Written from OTP's erts
// "Distribution Protocol" document; flag values from kernel's dist.hrl.
#include "lib/dist/wire.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace coproc::detail::dist {
namespace {

constexpr std::size_t max_node_name = 255;
constexpr std::size_t max_frame16 = 0xffff;

// Tags.
constexpr char tag_name = 'N';  // send_name and send_challenge share it
constexpr char tag_status = 's';
constexpr char tag_complement = 'c';
constexpr char tag_challenge_reply = 'r';
constexpr char tag_challenge_ack = 'a';
constexpr std::uint8_t alive2_req = 120;
constexpr std::uint8_t alive2_x_resp = 118;
constexpr std::uint8_t alive2_resp_tag = 121;
constexpr std::uint8_t port_please2_req = 122;
constexpr std::uint8_t port2_resp_tag = 119;
constexpr std::uint8_t node_type_normal = 77;
constexpr std::uint8_t node_type_hidden = 72;
constexpr std::uint8_t protocol_tcp = 0;
constexpr std::uint16_t dist_version = 6;

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}

// A cursor over untrusted bytes. Every read is preceded by a has() check by the caller;
// the reads themselves never go past the end either way.
class reader {
 public:
  explicit reader(std::string_view in) noexcept : in_(in) {}
  [[nodiscard]] std::size_t left() const noexcept { return in_.size() - pos_; }
  [[nodiscard]] bool has(std::size_t n) const noexcept { return left() >= n; }
  [[nodiscard]] std::size_t pos() const noexcept { return pos_; }

  std::uint64_t be(int bytes) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes && pos_ < in_.size(); ++i) {
      v = v << 8 | static_cast<unsigned char>(in_[pos_++]);
    }
    return v;
  }
  std::uint8_t u8() noexcept { return static_cast<std::uint8_t>(be(1)); }
  std::uint16_t u16() noexcept { return static_cast<std::uint16_t>(be(2)); }
  std::uint32_t u32() noexcept { return static_cast<std::uint32_t>(be(4)); }
  std::uint64_t u64() noexcept { return be(8); }
  std::string_view bytes(std::size_t n) noexcept {
    const std::string_view s = in_.substr(pos_, n);
    pos_ += s.size();
    return s;
  }
  digest16 digest() noexcept {
    digest16 d{};
    for (auto& b : d) b = u8();
    return d;
  }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

std::string hex_byte(unsigned char c) {
  constexpr char digits[] = "0123456789abcdef";
  return std::string("0x") + digits[c >> 4] + digits[c & 0xf];
}

// The checks every node name gets. need_at is false for send_name with flag_name_me,
// which carries just the host and asks the peer to pick the name, and for epmd's alive
// names.
bool check_name(std::string_view what, std::string_view name, bool need_at, std::string& error) {
  if (name.empty()) {
    error = std::string(what) + ": empty node name";
    return false;
  }
  if (name.size() > max_node_name) {
    error = std::string(what) + ": node name of " + std::to_string(name.size()) +
            " bytes (at most 255)";
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f) {
      error = std::string(what) + ": control byte " + hex_byte(c) + " at " + std::to_string(i) +
              " in node name";
      return false;
    }
  }
  if (need_at && name.find('@') == std::string_view::npos) {
    error = std::string(what) + ": node name without '@'";
    return false;
  }
  return true;
}

bool check_tag(std::string_view what, reader& r, char tag, std::string& error) {
  if (!r.has(1)) {
    error = std::string(what) + ": empty message";
    return false;
  }
  const auto got = static_cast<unsigned char>(r.u8());
  if (got != static_cast<unsigned char>(tag)) {
    error = std::string(what) + ": tag " + hex_byte(got) + ", expected '" + tag + "'";
    return false;
  }
  return true;
}

bool check_fixed(std::string_view what, std::string_view body, std::size_t size,
                 std::string& error) {
  if (body.size() != size) {
    error = std::string(what) + ": " + std::to_string(body.size()) + " bytes, expected " +
            std::to_string(size);
    return false;
  }
  return true;
}

// Reads Nlen and Name, which end send_name and send_challenge; what follows is ignored.
std::optional<std::string_view> read_name(std::string_view what, reader& r, std::string& error) {
  if (!r.has(2)) {
    error = std::string(what) + ": truncated before Nlen";
    return std::nullopt;
  }
  const std::size_t n = r.u16();
  if (!r.has(n)) {
    error = std::string(what) + ": Nlen " + std::to_string(n) + " runs past the end (" +
            std::to_string(r.left()) + " bytes left)";
    return std::nullopt;
  }
  return r.bytes(n);
}

void put_name(std::string& out, std::string_view name) {
  if (name.size() > 0xffff) throw std::length_error("dist: node name longer than 65535 bytes");
  put_be(out, name.size(), 2);
  out.append(name);
}

std::string_view alive_part(std::string_view name) {
  return name.substr(0, name.find('@'));  // npos: the whole name
}

}  // namespace

digest16 handshake_digest(std::uint32_t challenge, std::string_view cookie) noexcept {
  char digits[10];  // 4294967295 has ten
  std::size_t n = sizeof digits;
  do {
    digits[--n] = static_cast<char>('0' + challenge % 10);
    challenge /= 10;
  } while (challenge != 0);
  md5_hasher h;
  h.update(cookie);
  h.update(std::string_view(digits + n, sizeof digits - n));
  return h.finish();
}

// ---- handshake builders ----------------------------------------------------------------

std::string build(const name_msg& m) {
  std::string out;
  out.reserve(15 + m.name.size());
  out.push_back(tag_name);
  put_be(out, m.flags, 8);
  put_be(out, m.creation, 4);
  put_name(out, m.name);
  return out;
}

std::string build(const status_msg& m) {
  return tag_status + m.status;
}

std::string build(const challenge_msg& m) {
  std::string out;
  out.reserve(19 + m.name.size());
  out.push_back(tag_name);
  put_be(out, m.flags, 8);
  put_be(out, m.challenge, 4);
  put_be(out, m.creation, 4);
  put_name(out, m.name);
  return out;
}

std::string build(const challenge_reply_msg& m) {
  std::string out;
  out.push_back(tag_challenge_reply);
  put_be(out, m.challenge, 4);
  out.append(reinterpret_cast<const char*>(m.digest.data()), m.digest.size());
  return out;
}

std::string build(const challenge_ack_msg& m) {
  std::string out;
  out.push_back(tag_challenge_ack);
  out.append(reinterpret_cast<const char*>(m.digest.data()), m.digest.size());
  return out;
}

std::string build(const complement_msg& m) {
  std::string out;
  out.push_back(tag_complement);
  put_be(out, m.flags_high, 4);
  put_be(out, m.creation, 4);
  return out;
}

std::string frame16(std::string_view body) {
  if (body.size() > max_frame16) {
    throw std::length_error("dist: handshake message of " + std::to_string(body.size()) +
                            " bytes (at most 65535)");
  }
  std::string out;
  out.reserve(2 + body.size());
  put_be(out, body.size(), 2);
  out.append(body);
  return out;
}

// ---- handshake parsers -----------------------------------------------------------------

std::optional<name_msg> parse_name(std::string_view body, std::string& error) {
  constexpr std::string_view what = "send_name";
  reader r(body);
  if (!check_tag(what, r, tag_name, error)) return std::nullopt;
  if (!r.has(12)) {
    error = "send_name: truncated before Nlen";
    return std::nullopt;
  }
  name_msg m;
  m.flags = r.u64();
  m.creation = r.u32();
  const auto name = read_name(what, r, error);
  if (!name) return std::nullopt;
  if (!check_name(what, *name, (m.flags & flag_name_me) == 0, error)) return std::nullopt;
  m.name = *name;
  return m;
}

std::optional<status_msg> parse_status(std::string_view body, std::string& error) {
  reader r(body);
  if (!check_tag("status", r, tag_status, error)) return std::nullopt;
  if (r.left() == 0) {
    error = "status: empty status";
    return std::nullopt;
  }
  return status_msg{std::string(body.substr(1))};
}

std::optional<challenge_msg> parse_challenge(std::string_view body, std::string& error) {
  constexpr std::string_view what = "send_challenge";
  reader r(body);
  if (!check_tag(what, r, tag_name, error)) return std::nullopt;
  if (!r.has(16)) {
    error = "send_challenge: truncated before Nlen";
    return std::nullopt;
  }
  challenge_msg m;
  m.flags = r.u64();
  m.challenge = r.u32();
  m.creation = r.u32();
  const auto name = read_name(what, r, error);
  if (!name || !check_name(what, *name, true, error)) return std::nullopt;
  m.name = *name;
  return m;
}

std::optional<challenge_reply_msg> parse_challenge_reply(std::string_view body,
                                                         std::string& error) {
  constexpr std::string_view what = "challenge_reply";
  reader r(body);
  if (!check_tag(what, r, tag_challenge_reply, error)) return std::nullopt;
  if (!check_fixed(what, body, 21, error)) return std::nullopt;
  challenge_reply_msg m;
  m.challenge = r.u32();
  m.digest = r.digest();
  return m;
}

std::optional<challenge_ack_msg> parse_challenge_ack(std::string_view body, std::string& error) {
  constexpr std::string_view what = "challenge_ack";
  reader r(body);
  if (!check_tag(what, r, tag_challenge_ack, error)) return std::nullopt;
  if (!check_fixed(what, body, 17, error)) return std::nullopt;
  return challenge_ack_msg{r.digest()};
}

std::optional<complement_msg> parse_complement(std::string_view body, std::string& error) {
  constexpr std::string_view what = "complement";
  reader r(body);
  if (!check_tag(what, r, tag_complement, error)) return std::nullopt;
  if (!check_fixed(what, body, 9, error)) return std::nullopt;
  complement_msg m;
  m.flags_high = r.u32();
  m.creation = r.u32();
  return m;
}

// ---- epmd ------------------------------------------------------------------------------

std::string build_alive2_req(std::uint16_t port, bool hidden, std::string_view alive_name) {
  const std::string_view name = alive_part(alive_name);
  if (name.empty()) throw std::invalid_argument("epmd: empty alive name");
  const std::size_t len = 13 + name.size();
  if (len > max_frame16) throw std::length_error("epmd: alive name too long for ALIVE2_REQ");
  std::string out;
  out.reserve(2 + len);
  put_be(out, len, 2);
  put_be(out, alive2_req, 1);
  put_be(out, port, 2);
  put_be(out, hidden ? node_type_hidden : node_type_normal, 1);
  put_be(out, protocol_tcp, 1);
  put_be(out, dist_version, 2);  // highest
  put_be(out, dist_version, 2);  // lowest
  put_be(out, name.size(), 2);
  out.append(name);
  put_be(out, 0, 2);  // Elen: no Extra
  return out;
}

std::string build_port_please2_req(std::string_view alive_name) {
  const std::string_view name = alive_part(alive_name);
  if (name.empty()) throw std::invalid_argument("epmd: empty alive name");
  if (1 + name.size() > max_frame16) {
    throw std::length_error("epmd: alive name too long for PORT_PLEASE2_REQ");
  }
  std::string out;
  out.reserve(3 + name.size());
  put_be(out, 1 + name.size(), 2);
  put_be(out, port_please2_req, 1);
  out.append(name);
  return out;
}

stream_parse parse_alive2_resp(std::string_view bytes, alive2_resp& out, std::size_t& used,
                               std::string& error) {
  reader r(bytes);
  if (!r.has(1)) return stream_parse::need_more;
  const std::uint8_t tag = r.u8();
  if (tag != alive2_x_resp && tag != alive2_resp_tag) {
    error = "epmd: alive2 response tag " + hex_byte(tag) + ", expected 118 or 121";
    return stream_parse::error;
  }
  const int creation_bytes = tag == alive2_x_resp ? 4 : 2;
  if (!r.has(1 + static_cast<std::size_t>(creation_bytes))) return stream_parse::need_more;
  out.result = r.u8();
  out.creation = static_cast<std::uint32_t>(r.be(creation_bytes));
  used = r.pos();
  return stream_parse::ok;
}

stream_parse parse_port2_resp(std::string_view bytes, port2_resp& out, std::size_t& used,
                              std::string& error) {
  reader r(bytes);
  if (!r.has(1)) return stream_parse::need_more;
  const std::uint8_t tag = r.u8();
  if (tag != port2_resp_tag) {
    error = "epmd: port2 response tag " + hex_byte(tag) + ", expected 119";
    return stream_parse::error;
  }
  if (!r.has(1)) return stream_parse::need_more;
  port2_resp m;
  m.result = r.u8();
  if (m.result == 0) {
    if (!r.has(10)) return stream_parse::need_more;
    m.port = r.u16();
    m.node_type = r.u8();
    m.protocol = r.u8();
    m.highest = r.u16();
    m.lowest = r.u16();
    const std::size_t nlen = r.u16();
    if (!r.has(nlen + 2)) return stream_parse::need_more;
    const std::string_view name = r.bytes(nlen);
    if (!check_name("epmd: port2 response", name, false, error)) return stream_parse::error;
    m.name = name;
    const std::size_t elen = r.u16();
    if (!r.has(elen)) return stream_parse::need_more;
    (void)r.bytes(elen);
  }
  out = std::move(m);
  used = r.pos();
  return stream_parse::ok;
}

// ---- connected -------------------------------------------------------------------------

frame_status next_frame(std::string_view buf, std::size_t max_frame, std::string_view& body,
                        std::size_t& used) noexcept {
  reader r(buf);
  if (!r.has(4)) {
    used = 4;
    return frame_status::need_more;
  }
  const std::size_t len = r.u32();
  if (len == 0) {
    body = {};
    used = 4;
    return frame_status::tick;
  }
  if (len > max_frame) return frame_status::too_large;
  if (!r.has(len)) {
    used = 4 + len;
    return frame_status::need_more;
  }
  body = r.bytes(len);
  used = 4 + len;
  return frame_status::frame;
}

void append_frame_header(std::string& out, std::uint32_t len) {
  put_be(out, len, 4);
}

}  // namespace coproc::detail::dist
