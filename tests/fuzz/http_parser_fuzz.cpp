// libFuzzer target: the HTTP parser must never crash, read out of bounds, or accept a
// request larger than its limits, whatever the bytes.
#include <coproc/http.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

void walk(std::string_view buf, const coproc::http_limits& limits) {
  const coproc::http_parser parser(limits);
  // Walk pipelined requests as a server would.
  for (int i = 0; i < 64 && !buf.empty(); ++i) {
    auto r = parser.parse(buf);
    // expect_continue only while waiting for the body of an HTTP/1.1 request.
    if (r.expect_continue &&
        (r.status != coproc::http_status::incomplete || r.request.version_minor != 1)) {
      std::abort();
    }
    if (r.status != coproc::http_status::complete) break;
    if (r.consumed == 0 || r.consumed > buf.size()) std::abort();
    if (r.request.body.size() > limits.max_body) std::abort();
    // The header section is at most max_header_bytes + 2 (its blank line); a chunked body
    // may add up to max_header_bytes of framing (size lines, CRLFs, trailers).
    const bool chunked = r.request.header("transfer-encoding") != nullptr;
    const std::size_t framing =
        limits.max_header_bytes + 2 + (chunked ? limits.max_header_bytes : 0);
    if (r.consumed - r.request.body.size() > framing) std::abort();
    if (!chunked &&
        r.request.body != buf.substr(r.consumed - r.request.body.size(), r.request.body.size())) {
      std::abort();
    }
    // The host is the Host header's value, unless the target was absolute-form.
    const std::string* host = r.request.header("host");
    if (host != nullptr && *host != r.request.host) std::abort();
    if (r.request.target.empty() || (r.request.target[0] != '/' && r.request.target != "*")) {
      std::abort();
    }
    // A complete request was never complete, nor an error, one byte earlier: the server
    // would have answered too soon.
    auto shorter = parser.parse(buf.substr(0, r.consumed - 1));
    if (shorter.status != coproc::http_status::incomplete) std::abort();
    // Without the bytes after it, it ends at the same place.
    if (parser.parse(buf.substr(0, r.consumed)).consumed != r.consumed) std::abort();
    buf.remove_prefix(r.consumed);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view buf(reinterpret_cast<const char*>(data), size);
  coproc::http_limits limits;
  limits.max_request_line = 512;
  limits.max_header_bytes = 2048;
  limits.max_headers = 16;
  limits.max_body = 4096;
  walk(buf, limits);
  // Tight limits, so that every bound (framing budget included) is reached often.
  limits.max_request_line = 40;
  limits.max_header_bytes = 96;
  limits.max_headers = 3;
  limits.max_body = 16;
  walk(buf, limits);
  return 0;
}
