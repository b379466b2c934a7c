// lib/http/parser.cpp - the strict HTTP/1.1 request parser. It never reads past the
// limits and never allocates more than the bytes it accepted.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "coproc/http.hpp"

namespace coproc {
namespace {

bool is_tchar(char c) {
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

bool is_field_char(char c) {  // VCHAR, obs-text, SP, HTAB
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || u == ' ' || (u > 0x20 && u != 0x7f);
}

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

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

http_parse_result fail(http_status s) {
  http_parse_result r;
  r.status = s;
  return r;
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
  if (target.front() != '/' && target != "*" && target.find("://") == std::string_view::npos) {
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
  r.request.target = std::string(target);
  r.request.version_minor = version[7] - '0';

  // 2. Header lines, up to the blank line, within the header-section limit.
  std::size_t pos = line_end + 2;
  bool has_length = false;
  std::size_t length = 0;
  bool close = r.request.version_minor == 0;
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
    const std::size_t colon = h.find(':');
    if (colon == 0 || colon == std::string_view::npos) return fail(http_status::bad_request);
    const std::string_view name = h.substr(0, colon);
    const std::string_view value = trim(h.substr(colon + 1));
    if (!std::all_of(name.begin(), name.end(), is_tchar)) return fail(http_status::bad_request);
    if (!std::all_of(value.begin(), value.end(), is_field_char)) {
      return fail(http_status::bad_request);
    }
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
      return fail(http_status::not_implemented);
    } else if (key == "connection") {
      const std::string v = lower(value);
      if (v.find("close") != std::string::npos) close = true;
      if (v.find("keep-alive") != std::string::npos) close = false;
    }
    r.request.headers.emplace_back(std::move(key), std::string(value));
  }
  if (r.request.version_minor == 1 && r.request.header("host") == nullptr) {
    return fail(http_status::bad_request);  // RFC 9112: Host is required in HTTP/1.1
  }

  // 3. The body, by Content-Length.
  if (has_length && length > limits_.max_body) return fail(http_status::payload_too_large);
  if (buf.size() - pos < length) return {};
  r.request.body = std::string(buf.substr(pos, length));
  r.request.keep_alive = !close;
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
