// libFuzzer target: the distribution protocol's parsers (handshake messages, epmd answers,
// 4-byte frames) must never crash or read out of bounds, must explain every rejection,
// and whatever they accept must re-build to the bytes it came from.
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -I. \
//     tests/fuzz/dist_handshake_fuzz.cpp lib/dist/wire.cpp lib/dist/md5.cpp -o dist_handshake_fuzz
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "lib/dist/wire.hpp"

namespace dist = coproc::detail::dist;

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "dist_handshake_fuzz: %s\n", what);
  std::abort();
}

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}

// Every handshake parser: on success the message re-builds to its bytes (send_name and
// send_challenge may be followed by ignored bytes, so there the build is a prefix) and
// parses back to itself; on failure it says why.
template <class Parse>
void check_handshake(std::string_view in, Parse parse, bool may_trail) {
  std::string error;
  const auto m = parse(in, error);
  if (!m) {
    if (error.empty()) die("a rejection without an error text");
    return;
  }
  const std::string again = dist::build(*m);
  if (may_trail ? in.substr(0, again.size()) != again : in != again) {
    die("an accepted message does not re-build to its bytes");
  }
  std::string error2;
  const auto m2 = parse(again, error2);
  if (!m2 || !(*m2 == *m)) die("a re-built message does not parse to itself");
}

// An incremental parser that accepts used bytes must answer need_more for every shorter
// prefix, and the same for exactly those bytes.
template <class Resp, class Parse>
void check_incremental(std::string_view in, Parse parse,
                       std::string (*rebuild)(const Resp&, std::string_view)) {
  Resp r;
  std::size_t used = 0;
  std::string error;
  const auto st = parse(in, r, used, error);
  if (st == dist::stream_parse::error) {
    if (error.empty()) die("an epmd rejection without an error text");
    return;
  }
  if (st == dist::stream_parse::need_more) return;
  if (used == 0 || used > in.size()) die("bad used count");
  const std::string_view whole = in.substr(0, used);
  if (rebuild(r, whole) != whole) die("an epmd answer does not re-build to its bytes");
  for (std::size_t n = 0; n < used; ++n) {
    Resp r2;
    std::size_t used2 = 0;
    if (parse(whole.substr(0, n), r2, used2, error) != dist::stream_parse::need_more) {
      die("a prefix of an accepted epmd answer is not need_more");
    }
  }
}

std::string rebuild_alive2(const dist::alive2_resp& r, std::string_view original) {
  std::string out;
  const bool extended = !original.empty() && static_cast<unsigned char>(original[0]) == 118;
  put_be(out, extended ? 118 : 121, 1);
  put_be(out, r.result, 1);
  put_be(out, r.creation, extended ? 4 : 2);
  return out;
}

// Extra is not kept, so it is copied from the end of the original.
std::string rebuild_port2(const dist::port2_resp& r, std::string_view original) {
  std::string out;
  put_be(out, 119, 1);
  put_be(out, r.result, 1);
  if (r.result != 0) return out;
  put_be(out, r.port, 2);
  put_be(out, r.node_type, 1);
  put_be(out, r.protocol, 1);
  put_be(out, r.highest, 2);
  put_be(out, r.lowest, 2);
  put_be(out, r.name.size(), 2);
  out += r.name;
  const std::size_t extra = original.size() - out.size() - 2;
  put_be(out, extra, 2);
  out += original.substr(original.size() - extra);
  return out;
}

void check_frames(std::string_view in, std::size_t max_frame) {
  std::string_view rest = in;
  for (;;) {
    std::string_view body;
    std::size_t used = 0;
    const auto st = dist::next_frame(rest, max_frame, body, used);
    if (st == dist::frame_status::need_more || st == dist::frame_status::too_large) return;
    if (st == dist::frame_status::tick) {
      if (used != 4 || !body.empty()) die("a tick is not 4 bytes");
    } else {
      if (used != 4 + body.size() || used > rest.size() || body.data() != rest.data() + 4 ||
          body.empty() || body.size() > max_frame) {
        die("a frame's body is not where its header says");
      }
      std::string header;
      dist::append_frame_header(header, static_cast<std::uint32_t>(body.size()));
      if (rest.substr(0, 4) != header) die("a frame header does not re-build");
    }
    rest.remove_prefix(used);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  check_handshake(in, dist::parse_name, true);
  check_handshake(in, dist::parse_status, false);
  check_handshake(in, dist::parse_challenge, true);
  check_handshake(in, dist::parse_challenge_reply, false);
  check_handshake(in, dist::parse_challenge_ack, false);
  check_handshake(in, dist::parse_complement, false);

  check_incremental<dist::alive2_resp>(in, dist::parse_alive2_resp, rebuild_alive2);
  check_incremental<dist::port2_resp>(in, dist::parse_port2_resp, rebuild_port2);

  check_frames(in, 1 << 16);
  check_frames(in, size > 0 ? data[0] : 0);

  // MD5 in pieces equals MD5 at once, wherever the input is split.
  const std::size_t split = size > 0 ? data[0] % (size + 1) : 0;
  dist::md5_hasher h;
  h.update(in.substr(0, split));
  h.update(in.substr(split));
  if (h.finish() != dist::md5(in)) die("md5 in pieces differs");
  return 0;
}
