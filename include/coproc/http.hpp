// coproc/http.hpp - a strict, bounded HTTP/1.1 request parser (no I/O).
//
//   http_parser p;                     // limits: http_limits
//   auto r = p.parse(buffer);          // buffer: bytes read so far on a connection
//   if (r.status == http_status::complete) { use(r.request); buffer.erase(0, r.consumed); }
//
// Strict: a request line `METHOD SP target SP HTTP/1.x CRLF`, header lines `name: value
// CRLF` (token names, no obsolete line folding, no bare CR or LF), a body only by
// Content-Length (Transfer-Encoding is answered 501). Bounded: the request line, the
// header section, the header count and the body each have a limit, and the parser looks
// at most that far into the buffer, so a client can make a connection hold at most
// max_header_bytes + max_body bytes. Errors map to the status to answer, then close:
//   400 malformed, 413 body too large, 414 request line too long, 431 headers too large
//   or too many, 501 unknown method or transfer coding, 505 HTTP version not 1.0/1.1.
// Pipelined requests: parse returns the first one and how many bytes it used.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coproc {

struct http_limits {
  std::size_t max_request_line = std::size_t{8} * 1024;
  std::size_t max_header_bytes = std::size_t{16} * 1024;  // request line + headers + blank line
  std::size_t max_headers = 100;
  std::size_t max_body = std::size_t{1024} * 1024;
};

struct http_request {
  std::string method;
  std::string target;
  int version_minor = 1;                                     // HTTP/1.<minor>
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  bool keep_alive = true;
  // The first value of a header (name in lower case), or nullptr.
  [[nodiscard]] const std::string* header(std::string_view name) const;
};

enum class http_status {
  incomplete = 0,  // need more bytes
  complete = 200,
  bad_request = 400,
  payload_too_large = 413,
  uri_too_long = 414,
  header_fields_too_large = 431,
  not_implemented = 501,
  version_not_supported = 505,
};

struct http_parse_result {
  http_status status = http_status::incomplete;
  std::size_t consumed = 0;  // bytes of the buffer that made up the request
  http_request request;
};

class http_parser {
 public:
  explicit http_parser(http_limits limits = {}) : limits_(limits) {}
  [[nodiscard]] http_parse_result parse(std::string_view buffer) const;
  [[nodiscard]] const http_limits& limits() const noexcept { return limits_; }

 private:
  http_limits limits_;
};

// "HTTP/1.1 <code> <reason>" for a status.
std::string_view http_reason(int code) noexcept;

}  // namespace coproc
