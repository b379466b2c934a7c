// coproc/http.hpp - a strict, bounded HTTP/1.1 request parser (no I/O).
//
//   http_parser p;                     // limits: http_limits
//   auto r = p.parse(buffer);          // buffer: bytes read so far on a connection
//   if (r.expect_continue) { write "HTTP/1.1 100 Continue\r\n\r\n" once; }
//   if (r.status == http_status::complete) { use(r.request); buffer.erase(0, r.consumed); }
//
// Strict: a request line `METHOD SP target SP HTTP/1.x CRLF`, header lines `name: value
// CRLF` (token names, no obsolete line folding, no bare CR or LF), then a body framed by
// Content-Length or by the chunked transfer coding. Every error is the status to answer,
// then close the connection:
//   400 malformed: a bad request line, header line, Content-Length, chunk or trailer;
//       and these (RFC 9112 / RFC 9110):
//     - Host (RFC 9112 §3.2): none in an HTTP/1.1 request, two or more Host lines (any
//       version), or a value that is not `uri-host [":" port]` (IP-literal "[...]", or a
//       reg-name of unreserved / %XX / sub-delims; port = *DIGIT). An empty value is valid.
//     - target (RFC 9112 §3.2): origin-form "/...", absolute-form "http(s)://authority..."
//       (scheme case-insensitive; no userinfo, no empty host, no fragment), or "*" with
//       OPTIONS only. For absolute-form the Host header must still be there (1.1) but the
//       authority of the target wins: request.host and the "host" entry of headers take
//       its value, and request.target becomes the origin-form ("/path?q", "/" for an empty path).
//     - Transfer-Encoding (RFC 9112 §6): in an HTTP/1.0 request, together with
//       Content-Length, "chunked" twice or not the final coding, or an empty or non-token
//       coding list (over all Transfer-Encoding lines).
//     - a chunk (RFC 9112 §7.1): a size that is not 1*HEXDIG at the start of its line
//       (empty, "0x10", a sign, leading space), a chunk-size line over 4096 bytes, a bad
//       extension (`;name[=token|"quoted"]`, values ignored), or data not followed by CRLF.
//   413 body too large: Content-Length, or the sum of the chunk sizes, over max_body (known
//       as soon as the size is read, before the data comes); or chunk framing over budget.
//   414 request line too long.    431 header section, or trailer section, too large or
//       with too many fields.
//   501 unknown method, or a transfer coding other than chunked ("gzip", "gzip, chunked").
//   505 HTTP version not 1.0/1.1.
// Connection (RFC 9112 §9.3): the comma-separated tokens of all Connection lines, case-
// insensitive; a "close" token anywhere closes; HTTP/1.0 stays open only with a
// "keep-alive" token and no "close". Tokens, not substrings ("closed" is not "close").
// Expect (RFC 9110 §10.1.1): see http_parse_result::expect_continue.
// Chunked bodies: request.body is the decoded data; the trailer fields are checked for
// syntax (at most max_headers of them) and discarded, not kept anywhere; consumed covers
// the whole chunked body.
// Bounded: the request line, the header section, the header count and the body each have a
// limit, and the parser looks at most that far into the buffer. The chunk framing (every
// chunk-size line with its CRLF, the CRLF after each chunk's data, the last chunk, the
// trailer section and the final CRLF) has a budget of its own of max_header_bytes, which
// also bounds the number of chunks (each costs at least 5 bytes); past it: 413, or 431 in
// the trailer section. So a client can make a connection hold at most max_header_bytes +
// 2 + max_body (+ max_header_bytes of framing, for chunked) bytes. One parse is linear in
// the bytes it looks at (a server re-parses the buffer whenever more arrives), and while a
// body is still arriving it costs the head and the chunk framing, not the body's data.
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
  int version_minor = 1;  // HTTP/1.<minor>
  // host[":"port] as sent: the Host header's value, or for an absolute-form target its
  // authority (RFC 9112 §3.2.2). Empty when HTTP/1.0 without a Host, or Host is empty.
  std::string host;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;                                          // decoded, for a chunked body
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
  // True when status is incomplete, the header section is complete and valid, the request
  // is HTTP/1.1 with an Expect token "100-continue" (case-insensitive) and its body
  // (Content-Length > 0, or chunked) has not all arrived: the server should then send
  // "100 Continue" once (RFC 9110 §10.1.1). A body over max_body by its Content-Length is
  // already 413 at that point, so the server can answer the final status instead.
  bool expect_continue = false;
  // The request when complete. When incomplete after a complete header section (so also
  // whenever expect_continue is set) its request line, host and headers, with no body.
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
