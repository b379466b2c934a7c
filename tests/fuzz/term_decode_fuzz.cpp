// libFuzzer target: the External Term Format decoder must never crash, read out of bounds
// or recurse without limit, and whatever it accepts must re-encode and decode to itself.
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -Iinclude \
//     tests/fuzz/term_decode_fuzz.cpp lib/dist/term_codec.cpp -o term_decode_fuzz
#include <coproc/term.hpp>
#include <coproc/term_codec.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace {

[[noreturn]] void die(const char* what, const coproc::term& t) {
  std::fprintf(stderr, "term_decode_fuzz: %s\n  term: %.2000s\n", what, t.to_string().c_str());
  std::abort();
}

void check_round_trip(const coproc::term& t) {
  std::string again;
  try {
    again = coproc::encode(t);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "encode threw: %s\n", e.what());
    die("a decoded term does not encode", t);
  }
  const auto r = coproc::try_decode(again);
  if (!r) {
    std::fprintf(stderr, "decode error: %s\n", r.error.c_str());
    die("our own encoding does not decode", t);
  }
  if (*r.value != t) die("re-decoded term differs", t);
  if (r.used != again.size()) die("re-decode did not use the whole encoding", t);
  if (coproc::encode(*r.value) != again) die("encoding is not stable", t);
  (void)t.to_string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // As binary_to_term sees it: version byte, one term, nothing after.
  const auto r = coproc::try_decode(in);
  if (r) {
    if (r.used != size) die("strict decode did not use the whole input", *r.value);
    check_round_trip(*r.value);
  } else if (r.error.empty() || r.error_offset > size) {
    std::abort();
  }

  // As a distribution layer sees it: no version byte, more terms may follow.
  coproc::decode_options opts;
  opts.version_byte = false;
  opts.allow_trailing = true;
  opts.max_depth = 64;
  const auto bare = coproc::try_decode(in, opts);
  if (bare) {
    if (bare.used == 0 || bare.used > size) die("bad used count", *bare.value);
    check_round_trip(*bare.value);
  }
  return 0;
}
