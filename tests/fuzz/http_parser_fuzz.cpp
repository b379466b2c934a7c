// libFuzzer target: the HTTP parser must never crash, read out of bounds, or accept a
// request larger than its limits, whatever the bytes.
#include <coproc/http.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  coproc::http_limits limits;
  limits.max_request_line = 512;
  limits.max_header_bytes = 2048;
  limits.max_headers = 16;
  limits.max_body = 4096;
  const coproc::http_parser parser(limits);
  std::string_view buf(reinterpret_cast<const char*>(data), size);
  // Walk pipelined requests as a server would.
  for (int i = 0; i < 64 && !buf.empty(); ++i) {
    auto r = parser.parse(buf);
    if (r.status != coproc::http_status::complete) break;
    if (r.consumed == 0 || r.consumed > buf.size()) std::abort();
    if (r.request.body.size() > limits.max_body) std::abort();
    if (r.consumed - r.request.body.size() > limits.max_header_bytes + 2) std::abort();
    buf.remove_prefix(r.consumed);
  }
  return 0;
}
