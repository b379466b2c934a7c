// lib/http/parser.cpp - the strict HTTP/1.1 request parser. It never reads past the
// limits and never allocates more than the bytes it accepted.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "coproc/http.hpp"
#include "lib/http/syntax.hpp"

namespace coproc {
namespace {

using detail::is_field_char;
using detail::is_tchar;

bool known_method(std::string_view m) {
  static constexpr std::string_view kMethods[] = {"GET",     "HEAD",  "POST",  "PUT",    "DELETE",
                                                  "OPTIONS", "PATCH", "TRACE", "CONNECT"};
  return std::find(std::begin(kMethods), std::end(kMethods), m) != std::end(kMethods);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_ws(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
  return s;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// Calls f on each non-empty element of a comma-separated list (RFC 9110 §5.6.1), trimmed of
// optional whitespace. Empty elements are ignored, as the RFC asks of a recipient.
template <class F>
void for_each_element(std::string_view list, F f) {
  for (;;) {
    const std::size_t comma = list.find(',');
    const std::string_view e = trim(list.substr(0, comma));
    if (!e.empty()) f(e);
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

bool is_hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}
bool is_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  return std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
}

// RFC 3986 §2.2-2.3.
bool is_unreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

bool is_sub_delim(char c) {
  switch (c) {
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
      return true;
    default:
      return false;
  }
}

// reg-name = *( unreserved / pct-encoded / sub-delims ) (RFC 3986 §3.2.2). Also covers
// IPv4address, whose characters are all unreserved.
bool valid_reg_name(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return false;
      i += 2;
    } else if (!is_unreserved(s[i]) && !is_sub_delim(s[i])) {
      return false;
    }
  }
  return true;
}

// dec-octet "." dec-octet "." dec-octet "." dec-octet, no leading zeros (RFC 3986 §3.2.2).
bool valid_ipv4(std::string_view s) {
  for (int i = 0; i < 4; ++i) {
    const std::size_t dot = s.find('.');
    if ((i < 3) == (dot == std::string_view::npos)) return false;
    const std::string_view octet = s.substr(0, dot);
    if (octet.empty() || octet.size() > 3 || !std::all_of(octet.begin(), octet.end(), is_digit) ||
        (octet.size() > 1 && octet[0] == '0')) {
      return false;
    }
    int v = 0;
    for (char c : octet) v = v * 10 + (c - '0');
    if (v > 255) return false;
    if (dot != std::string_view::npos) s.remove_prefix(dot + 1);
  }
  return true;
}

// IPv6address (RFC 3986 §3.2.2): eight h16 groups, or fewer with one "::"; the last 32 bits
// may be written as an IPv4address.
bool valid_ipv6(std::string_view s) {
  const std::size_t dc = s.find("::");
  const bool compressed = dc != std::string_view::npos;
  const std::string_view left = compressed ? s.substr(0, dc) : s;
  const std::string_view right = compressed ? s.substr(dc + 2) : std::string_view{};
  if (right.find("::") != std::string_view::npos) return false;
  int groups = 0;
  auto count = [&groups](std::string_view part, bool last_part) {
    if (part.empty()) return true;
    for (;;) {
      const std::size_t colon = part.find(':');
      const std::string_view item = part.substr(0, colon);
      if (colon == std::string_view::npos && last_part &&
          item.find('.') != std::string_view::npos) {
        groups += 2;
        return valid_ipv4(item);
      }
      if (item.empty() || item.size() > 4 || !std::all_of(item.begin(), item.end(), is_hex)) {
        return false;
      }
      ++groups;
      if (colon == std::string_view::npos) return true;
      part.remove_prefix(colon + 1);
    }
  };
  if (!count(left, !compressed) || !count(right, true)) return false;
  return compressed ? groups <= 7 : groups == 8;
}

// IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ) (RFC 3986 §3.2.2).
bool valid_ipvfuture(std::string_view s) {
  if (s.size() < 4 || (s[0] != 'v' && s[0] != 'V')) return false;
  const std::size_t dot = s.find('.');
  if (dot == std::string_view::npos || dot < 2) return false;
  const std::string_view ver = s.substr(1, dot - 1);
  const std::string_view rest = s.substr(dot + 1);
  return std::all_of(ver.begin(), ver.end(), is_hex) && !rest.empty() &&
         std::all_of(rest.begin(), rest.end(),
                     [](char c) { return is_unreserved(c) || is_sub_delim(c) || c == ':'; });
}

// uri-host [ ":" port ] (RFC 9112 §3.2, RFC 3986 §3.2.2-3.2.3). empty_host: the uri-host
// part is empty (a valid reg-name, but no http URI may have it).
bool valid_host_port(std::string_view s, bool& empty_host) {
  std::string_view rest;
  if (!s.empty() && s.front() == '[') {
    const std::size_t close = s.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view literal = s.substr(1, close - 1);
    if (!valid_ipv6(literal) && !valid_ipvfuture(literal)) return false;
    empty_host = false;
    rest = s.substr(close + 1);
  } else {
    const std::size_t colon = s.find(':');
    const std::string_view host = s.substr(0, colon);
    if (!valid_reg_name(host)) return false;
    empty_host = host.empty();
    rest = colon == std::string_view::npos ? std::string_view{} : s.substr(colon);
  }
  if (rest.empty()) return true;
  if (rest.front() != ':') return false;
  rest.remove_prefix(1);
  return std::all_of(rest.begin(), rest.end(), is_digit);  // port = *DIGIT
}

// absolute-form (RFC 9112 §3.2.2) for the http and https schemes (RFC 9110 §4.2): the
// authority (no userinfo, RFC 9110 §4.2.4; a non-empty host, §4.2.1) and the origin-form of
// the rest. No fragment: absolute-URI has none (RFC 3986 §4.3).
bool split_absolute(std::string_view t, std::string& origin, std::string_view& authority) {
  const std::size_t sep = t.find("://");
  if (sep == std::string_view::npos) return false;
  const std::string_view scheme = t.substr(0, sep);
  if (!iequals(scheme, "http") && !iequals(scheme, "https")) return false;
  if (t.find('#') != std::string_view::npos) return false;
  const std::string_view rest = t.substr(sep + 3);
  const std::size_t end = rest.find_first_of("/?");
  authority = rest.substr(0, end);
  bool empty_host = true;
  if (!valid_host_port(authority, empty_host) || empty_host) return false;
  const std::string_view path =
      end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  origin.clear();
  if (path.empty() || path.front() == '?') origin.push_back('/');
  origin.append(path);
  return true;
}

// chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ), chunk-ext-val =
// token / quoted-string (RFC 9112 §7.1.1, RFC 9110 §5.6.4).
bool valid_chunk_ext(std::string_view s) {
  std::size_t i = 0;
  auto skip_ws = [&] {
    while (i < s.size() && is_ws(s[i])) ++i;
  };
  auto token = [&] {
    const std::size_t from = i;
    while (i < s.size() && is_tchar(s[i])) ++i;
    return i > from;
  };
  auto quoted = [&] {
    if (i >= s.size() || s[i] != '"') return false;
    for (++i; i < s.size(); ++i) {
      const auto u = static_cast<unsigned char>(s[i]);
      if (u == '"') {
        ++i;
        return true;
      }
      if (u == '\\') {  // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        if (++i >= s.size() || !is_field_char(s[i])) return false;
      } else if (!is_field_char(s[i])) {  // qdtext
        return false;
      }
    }
    return false;
  };
  while (i < s.size()) {
    skip_ws();
    if (i >= s.size() || s[i] != ';') return false;
    ++i;
    skip_ws();
    if (!token()) return false;
    const std::size_t after_name = i;
    skip_ws();
    if (i < s.size() && s[i] == '=') {
      ++i;
      skip_ws();
      if (!token() && !quoted()) return false;
    } else {
      i = after_name;
    }
  }
  return true;
}

// A header or trailer field line (without its CRLF): a token name, a colon, a value of
// field characters, trimmed. False when malformed.
bool split_field(std::string_view h, std::string_view& name, std::string_view& value) {
  const std::size_t colon = h.find(':');
  if (colon == 0 || colon == std::string_view::npos) return false;
  name = h.substr(0, colon);
  value = trim(h.substr(colon + 1));
  return std::all_of(name.begin(), name.end(), is_tchar) &&
         std::all_of(value.begin(), value.end(), is_field_char);
}

http_parse_result fail(http_status s) {
  http_parse_result r;
  r.status = s;
  return r;
}

constexpr std::size_t kMaxChunkLine = 4096;  // chunk-size + extensions, without the CRLF

// Walks a chunked body (RFC 9112 §7.1) that starts at buf[pos]. On complete, end is the
// offset just past the final CRLF and data_size the decoded size, and the data is appended
// to *body unless body is null. Looks at most max_body bytes of data plus max_header_bytes
// of framing past pos, and only at the framing: a call costs the number of chunks, not the
// size of the data (parse calls it once without a body to find out whether the body is all
// in, which is what a server re-parsing a growing buffer mostly asks, then once to copy).
http_status parse_chunked(std::string_view buf, std::size_t pos, const http_limits& limits,
                          std::string* body, std::size_t& data_size, std::size_t& end) {
  const std::size_t budget = limits.max_header_bytes;  // framing bytes allowed
  std::size_t framing = 0;
  std::size_t total = 0;  // data so far
  // 1. Chunks, up to the last one (size 0).
  for (;;) {
    const std::size_t left = budget - framing;
    const std::size_t window = std::min(kMaxChunkLine + 2, left);
    const std::string_view avail = buf.substr(pos);
    const std::string_view seen = avail.substr(0, window);
    const std::size_t eol = seen.find("\r\n");
    if (eol == std::string_view::npos) {
      if (seen.find('\n') != std::string_view::npos) return http_status::bad_request;
      if (avail.size() < window) return http_status::incomplete;
      return window < kMaxChunkLine + 2 ? http_status::payload_too_large : http_status::bad_request;
    }
    const std::string_view line = avail.substr(0, eol);
    framing += eol + 2;
    pos += eol + 2;
    std::size_t size = 0;
    std::size_t i = 0;
    const std::size_t room = limits.max_body - total;
    for (; i < line.size() && is_hex(line[i]); ++i) {
      const auto d = static_cast<std::size_t>(hex_value(line[i]));
      if (d > room || size > (room - d) / 16) return http_status::payload_too_large;
      size = size * 16 + d;
    }
    if (i == 0 || !valid_chunk_ext(line.substr(i))) return http_status::bad_request;
    if (size == 0) break;                                             // last-chunk
    if (budget - framing < 2) return http_status::payload_too_large;  // its CRLF won't fit
    const std::size_t have = buf.size() - pos;
    if (have < size || have - size < 2) {  // (not size + 2: max_body may be SIZE_MAX)
      // Not all there yet; but what is there after the data must be its CRLF.
      if (have > size && buf[pos + size] != '\r') return http_status::bad_request;
      return http_status::incomplete;
    }
    if (buf[pos + size] != '\r' || buf[pos + size + 1] != '\n') return http_status::bad_request;
    if (body != nullptr) body->append(buf.substr(pos, size));
    total += size;
    pos += size + 2;
    framing += 2;
  }
  // 2. The trailer section (RFC 9112 §7.1.2): checked, then discarded.
  std::size_t fields = 0;
  for (;;) {
    const std::size_t window = budget - framing;
    const std::string_view avail = buf.substr(pos);
    const std::string_view seen = avail.substr(0, window);
    const std::size_t eol = seen.find("\r\n");
    if (eol == std::string_view::npos) {
      if (seen.find('\n') != std::string_view::npos) return http_status::bad_request;
      if (avail.size() < window) return http_status::incomplete;
      return http_status::header_fields_too_large;
    }
    const std::string_view h = avail.substr(0, eol);
    framing += eol + 2;
    pos += eol + 2;
    if (h.empty()) break;
    if (++fields > limits.max_headers) return http_status::header_fields_too_large;
    std::string_view name;
    std::string_view value;
    if (!split_field(h, name, value)) return http_status::bad_request;
  }
  end = pos;
  data_size = total;
  return http_status::complete;
}

}  // namespace

const std::string* http_request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

http_parse_result http_parser::parse(std::string_view buf) const {
  // 1. The request line, within its limit.
  const std::size_t line_end = buf.substr(0, limits_.max_request_line + 2).find("\r\n");
  if (line_end == std::string_view::npos) {
    if (buf.size() > limits_.max_request_line + 1) return fail(http_status::uri_too_long);
    if (buf.find('\n') != std::string_view::npos) return fail(http_status::bad_request);
    return {};
  }
  const std::string_view line = buf.substr(0, line_end);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || sp1 == 0 ||
      sp2 == sp1 + 1 || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return fail(http_status::bad_request);
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!std::all_of(method.begin(), method.end(), is_tchar)) return fail(http_status::bad_request);
  for (char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return fail(http_status::bad_request);
  }
  // The request-target forms (RFC 9112 §3.2); authority-form (CONNECT) is not served.
  std::string origin;
  std::string_view authority;
  const bool absolute = target.front() != '/' && target != "*";
  if (target == "*" && method != "OPTIONS") return fail(http_status::bad_request);
  if (absolute && !split_absolute(target, origin, authority)) {
    return fail(http_status::bad_request);
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      std::isdigit(static_cast<unsigned char>(version[5])) == 0 ||
      std::isdigit(static_cast<unsigned char>(version[7])) == 0) {
    return fail(http_status::bad_request);
  }
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
    return fail(http_status::version_not_supported);
  }
  if (!known_method(method)) return fail(http_status::not_implemented);

  http_parse_result r;
  r.request.method = std::string(method);
  r.request.target = absolute ? std::move(origin) : std::string(target);
  r.request.version_minor = version[7] - '0';
  const bool http11 = r.request.version_minor == 1;

  // 2. Header lines, up to the blank line, within the header-section limit.
  std::size_t pos = line_end + 2;
  bool has_length = false;
  std::size_t length = 0;
  bool conn_close = false;
  bool conn_keep_alive = false;
  bool expect_100 = false;
  std::size_t host_lines = 0;
  bool host_bad = false;
  // Transfer-Encoding, over all its lines (RFC 9112 §6.1).
  bool has_te = false;
  bool te_bad = false;
  bool te_other = false;  // a coding other than chunked
  int te_chunked = 0;
  bool te_chunked_last = false;
  for (;;) {
    if (pos > limits_.max_header_bytes) return fail(http_status::header_fields_too_large);
    const std::size_t window = limits_.max_header_bytes + 2 - pos;
    const std::size_t eol = buf.substr(pos, window).find("\r\n");
    if (eol == std::string_view::npos) {
      if (buf.size() - pos >= window) return fail(http_status::header_fields_too_large);
      if (buf.substr(pos).find('\n') != std::string_view::npos) {
        return fail(http_status::bad_request);
      }
      return {};
    }
    const std::string_view h = buf.substr(pos, eol);
    pos += eol + 2;
    if (h.empty()) break;  // end of the header section
    if (r.request.headers.size() >= limits_.max_headers) {
      return fail(http_status::header_fields_too_large);
    }
    std::string_view name;
    std::string_view value;
    if (!split_field(h, name, value)) return fail(http_status::bad_request);
    std::string key = lower(name);
    if (key == "content-length") {
      std::size_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || p != value.data() + value.size() || value.empty() ||
          (has_length && n != length)) {
        return fail(ec == std::errc::result_out_of_range ? http_status::payload_too_large
                                                         : http_status::bad_request);
      }
      has_length = true;
      length = n;
    } else if (key == "transfer-encoding") {
      has_te = true;
      for_each_element(value, [&](std::string_view coding) {
        // transfer-coding = token *( OWS ";" OWS transfer-parameter ); chunked has none.
        const std::string_view coding_name = trim(coding.substr(0, coding.find(';')));
        if (!is_token(coding_name)) {
          te_bad = true;
        } else if (iequals(coding_name, "chunked")) {
          if (coding_name.size() != coding.size()) te_bad = true;
          ++te_chunked;
          te_chunked_last = true;
        } else {
          te_other = true;
          te_chunked_last = false;
        }
      });
    } else if (key == "connection") {
      for_each_element(value, [&](std::string_view option) {
        if (iequals(option, "close")) conn_close = true;
        if (iequals(option, "keep-alive")) conn_keep_alive = true;
      });
    } else if (key == "expect") {
      for_each_element(value, [&](std::string_view e) {
        if (iequals(e, "100-continue")) expect_100 = true;
      });
    } else if (key == "host") {
      ++host_lines;
      bool empty_host = true;
      if (!valid_host_port(value, empty_host)) host_bad = true;
      r.request.host = std::string(value);
    }
    r.request.headers.emplace_back(std::move(key), std::string(value));
  }
  // RFC 9112 §3.2: Host is required in HTTP/1.1; more than one, or an invalid one, is 400.
  if (host_lines > 1 || host_bad || (http11 && host_lines == 0)) {
    return fail(http_status::bad_request);
  }
  if (has_te) {
    // RFC 9112 §6.1 (1.0, with Content-Length: faulty framing, a smuggling vector), §6.3
    // (chunked not final), §7 (chunked at most once).
    if (!http11 || has_length || te_bad || te_chunked > 1 || (te_chunked > 0 && !te_chunked_last) ||
        (te_chunked == 0 && !te_other)) {
      return fail(http_status::bad_request);
    }
    if (te_other) return fail(http_status::not_implemented);
  }
  if (absolute) {
    // RFC 9112 §3.2.2: the target's authority wins over the Host header.
    r.request.host = std::string(authority);
    for (auto& [k, v] : r.request.headers) {
      if (k == "host") v = r.request.host;
    }
  }
  r.request.keep_alive = !conn_close && (http11 || conn_keep_alive);
  const bool expect = http11 && expect_100;  // RFC 9110 §10.1.1: ignored in HTTP/1.0

  // 3. The body, by Content-Length or chunked.
  if (has_te) {
    std::size_t size = 0;
    std::size_t end = 0;
    const http_status s = parse_chunked(buf, pos, limits_, nullptr, size, end);
    if (s == http_status::incomplete) {
      r.expect_continue = expect;
      return r;
    }
    if (s != http_status::complete) return fail(s);
    r.request.body.reserve(size);
    (void)parse_chunked(buf, pos, limits_, &r.request.body, size, end);  // the same walk
    r.consumed = end;
    r.status = http_status::complete;
    return r;
  }
  if (has_length && length > limits_.max_body) return fail(http_status::payload_too_large);
  if (buf.size() - pos < length) {
    r.expect_continue = expect;
    return r;
  }
  r.request.body = std::string(buf.substr(pos, length));
  r.consumed = pos + length;
  r.status = http_status::complete;
  return r;
}

std::string_view http_reason(int code) noexcept {
  switch (code) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

}  // namespace coproc
