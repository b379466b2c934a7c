// The distribution protocol's wire layer: MD5 against RFC 1321 and md5sum, the cookie
// digest against a real Erlang node's, byte-exact messages written out by hand from OTP's
// "Distribution Protocol" document, round trips of every message, and hostile input:
// every truncation, trailing bytes, wrong tags and bad node names.
//
// The header lives in lib/ (it is not public API) and tests do not get the source root on
// their include path, hence the relative include.
#include "../lib/dist/wire.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace dist = coproc::detail::dist;
using namespace std::string_literals;

namespace {

std::string hex(const dist::digest16& d) {
  constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (auto b : d) {
    s.push_back(digits[b >> 4]);
    s.push_back(digits[b & 0xf]);
  }
  return s;
}

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

dist::digest16 digest_of(std::string_view text) {
  return dist::md5(text);
}

// A send_name as an OTP 25 node sends it.
dist::name_msg sample_name() {
  return {dist::mandatory_flags_25 | dist::flag_published | dist::flag_dist_monitor |
              dist::flag_spawn | dist::flag_alias,
          0x6502a1f3, "coproc@localhost"};
}

dist::challenge_msg sample_challenge() {
  return {dist::mandatory_flags_25 | dist::flag_v4_nc, 0xdeadbeef, 0x12345678, "erl@host.example"};
}

}  // namespace

// ---- MD5 ------------------------------------------------------------------------------

TEST(DistMd5, MatchesTheRfc1321TestSuite) {
  EXPECT_EQ(hex(dist::md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hex(dist::md5("a")), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(hex(dist::md5("abc")), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(hex(dist::md5("message digest")), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(hex(dist::md5("abcdefghijklmnopqrstuvwxyz")), "c3fcd3d76192e4007dfb496cca67e13b");
  EXPECT_EQ(hex(dist::md5("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")),
            "d174ab98d277d9f5a5611c2c9f419d9f");
  EXPECT_EQ(hex(dist::md5("1234567890123456789012345678901234567890"
                          "1234567890123456789012345678901234567890")),
            "57edf4a22be3c955ac49da2e2107b67a");
}

// Lengths around the padding boundary: the length field fits in the last block (55), just
// does not (56), and whole blocks (64, 120 = 56 + 64). Expected values from md5sum.
TEST(DistMd5, PaddingBoundariesMatchMd5sum) {
  const std::pair<std::size_t, const char*> cases[] = {
      {55, "ef1772b6dff9a122358552954ad0df65"},  {56, "3b0c8ac703f828b04c6c197006d17218"},
      {63, "b06521f39153d618550606be297466d5"},  {64, "014842d480b571495a4a0363793f7367"},
      {65, "c743a45e0d2e6a95cb859adae0248435"},  {119, "8a7bd0732ed6a28ce75f6dabc90e1613"},
      {120, "5f61c0ccad4cac44c75ff505e1f1e537"},
  };
  for (const auto& [n, expected] : cases) {
    EXPECT_EQ(hex(dist::md5(std::string(n, 'a'))), expected) << n << " bytes";
  }
}

// Expected values from md5sum: a million 'a' (also in many MD5 test suites), and 1 MiB of
// the bytes i * 7 % 251, which exercises every byte value.
TEST(DistMd5, LongInputsMatchMd5sum) {
  EXPECT_EQ(hex(dist::md5(std::string(1'000'000, 'a'))), "7707d6ae4e027c70eea2a935c2296f21");
  std::string pattern(std::size_t{1} << 20, '\0');
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    pattern[i] = static_cast<char>(i * 7 % 251);
  }
  EXPECT_EQ(hex(dist::md5(pattern)), "26e2437d8c01f4bceded84f9309ac88f");
}

TEST(DistMd5, HashingInPiecesEqualsHashingAtOnce) {
  std::string text;
  for (int i = 0; i < 300; ++i) text.push_back(static_cast<char>(i * 31 + 7));
  const auto whole = dist::md5(text);
  for (std::size_t piece : {1, 3, 55, 63, 64, 65, 128}) {
    dist::md5_hasher h;
    for (std::size_t at = 0; at < text.size(); at += piece) {
      h.update(std::string_view(text).substr(at, piece));
    }
    EXPECT_EQ(h.finish(), whole) << "pieces of " << piece;
  }
}

// ---- the cookie digest ------------------------------------------------------------------

// Expected values from Erlang itself:
//   erlang:md5("COOKIE" ++ integer_to_list(12345))
TEST(DistDigest, IsMd5OfCookieAndDecimalChallengeAsErlangComputesIt) {
  EXPECT_EQ(hex(dist::handshake_digest(12345, "COOKIE")), "e8326bad89676cdadf29fb538c8f2b0c");
  EXPECT_EQ(hex(dist::handshake_digest(4294967295U, "secret-cookie")),
            "c15315cfaaff15de6f7b31363e8d35e8");
  EXPECT_EQ(hex(dist::handshake_digest(0, "x")), "e50eb7598b580311bab8f39bb8f4815b");
  EXPECT_EQ(dist::handshake_digest(987654321, "c"), digest_of("c987654321"));
}

// ---- flags ------------------------------------------------------------------------------

TEST(DistFlags, HaveTheValuesOfDistHrl) {
  EXPECT_EQ(dist::flag_published, 0x1U);
  EXPECT_EQ(dist::flag_extended_references, 0x4U);
  EXPECT_EQ(dist::flag_dist_monitor, 0x8U);
  EXPECT_EQ(dist::flag_fun_tags, 0x10U);
  EXPECT_EQ(dist::flag_dist_monitor_name, 0x20U);
  EXPECT_EQ(dist::flag_new_fun_tags, 0x80U);
  EXPECT_EQ(dist::flag_extended_pids_ports, 0x100U);
  EXPECT_EQ(dist::flag_export_ptr_tag, 0x200U);
  EXPECT_EQ(dist::flag_bit_binaries, 0x400U);
  EXPECT_EQ(dist::flag_new_floats, 0x800U);
  EXPECT_EQ(dist::flag_utf8_atoms, 0x10000U);
  EXPECT_EQ(dist::flag_map_tag, 0x20000U);
  EXPECT_EQ(dist::flag_big_creation, 0x40000U);
  EXPECT_EQ(dist::flag_send_sender, 0x80000U);
  EXPECT_EQ(dist::flag_exit_payload, 0x400000U);
  EXPECT_EQ(dist::flag_fragments, 0x800000U);
  EXPECT_EQ(dist::flag_handshake_23, 0x1000000U);
  EXPECT_EQ(dist::flag_unlink_id, 0x2000000U);
  EXPECT_EQ(dist::flag_mandatory_25_digest, 0x4000000U);
  EXPECT_EQ(dist::flag_spawn, 0x100000000U);
  EXPECT_EQ(dist::flag_name_me, 0x200000000U);
  EXPECT_EQ(dist::flag_v4_nc, 0x400000000U);
  EXPECT_EQ(dist::flag_alias, 0x800000000U);
  // Erlang: 16#04 bor 16#10 bor 16#100 bor 16#80 bor 16#200 bor 16#400 bor 16#800
  //         bor 16#10000 bor 16#20000 bor 16#40000 bor 16#01000000
  EXPECT_EQ(dist::mandatory_flags_25, 0x1070F94U);
}

// ---- handshake messages: exact bytes ----------------------------------------------------

TEST(DistHandshake, SendNameHasTheDocumentedLayout) {
  const dist::name_msg m{0x0102030405060708, 0xa1b2c3d4, "a@b"};
  // 'N', Flags(8), Creation(4), Nlen(2), Name
  const std::string expected = bytes({'N', 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  //
                                      0xa1, 0xb2, 0xc3, 0xd4, 0x00, 0x03, 'a', '@', 'b'});
  EXPECT_EQ(dist::build(m), expected);
  EXPECT_EQ(dist::frame16(dist::build(m)), bytes({0x00, 18}) + expected);
}

TEST(DistHandshake, OtherMessagesHaveTheDocumentedLayout) {
  EXPECT_EQ(dist::build(dist::status_msg{"ok"}), "sok");
  EXPECT_EQ(dist::build(dist::challenge_msg{0x1122334455667788, 0x01020304, 0x0a0b0c0d, "x@y"}),
            bytes({'N',  0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x01, 0x02,
                   0x03, 0x04, 0x0a, 0x0b, 0x0c, 0x0d, 0x00, 0x03, 'x',  '@',  'y'}));
  dist::digest16 d{};
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<std::uint8_t>(0xf0 + i);
  const std::string digest_bytes(reinterpret_cast<const char*>(d.data()), d.size());
  EXPECT_EQ(dist::build(dist::challenge_reply_msg{0xcafebabe, d}),
            bytes({'r', 0xca, 0xfe, 0xba, 0xbe}) + digest_bytes);
  EXPECT_EQ(dist::build(dist::challenge_ack_msg{d}), "a" + digest_bytes);
  EXPECT_EQ(dist::build(dist::complement_msg{0x0000000f, 0x87654321}),
            bytes({'c', 0x00, 0x00, 0x00, 0x0f, 0x87, 0x65, 0x43, 0x21}));
}

TEST(DistHandshake, Frame16PrefixesTheBigEndianLengthAndRefusesOver65535) {
  EXPECT_EQ(dist::frame16(""), bytes({0, 0}));
  const std::string max(65535, 'z');
  const std::string framed = dist::frame16(max);
  EXPECT_EQ(framed.substr(0, 2), bytes({0xff, 0xff}));
  EXPECT_EQ(framed.substr(2), max);
  EXPECT_THROW((void)dist::frame16(std::string(65536, 'z')), std::length_error);
}

TEST(DistHandshake, BuildersRefuseANameTheLengthFieldCannotHold) {
  dist::name_msg m = sample_name();
  m.name = std::string(65536, 'n');
  EXPECT_THROW((void)dist::build(m), std::length_error);
  dist::challenge_msg c = sample_challenge();
  c.name = m.name;
  EXPECT_THROW((void)dist::build(c), std::length_error);
}

// ---- handshake messages: round trips ----------------------------------------------------

TEST(DistHandshake, EveryMessageRoundTrips) {
  std::string error;
  const auto name = sample_name();
  EXPECT_EQ(dist::parse_name(dist::build(name), error), name) << error;

  for (const char* s : {"ok", "ok_simultaneous", "nok", "not_allowed", "alive", "true", "false"}) {
    const dist::status_msg st{s};
    EXPECT_EQ(dist::parse_status(dist::build(st), error), st) << error;
  }
  // "named:" carries binary data after the text: Nlen, Name, Creation.
  const dist::status_msg named{"named:" + bytes({0, 3}) + "a@b" + bytes({0, 0, 0, 9})};
  EXPECT_EQ(dist::parse_status(dist::build(named), error), named) << error;

  const auto ch = sample_challenge();
  EXPECT_EQ(dist::parse_challenge(dist::build(ch), error), ch) << error;

  const dist::challenge_reply_msg reply{0xfeedface, dist::handshake_digest(0xdeadbeef, "cookie")};
  EXPECT_EQ(dist::parse_challenge_reply(dist::build(reply), error), reply) << error;

  const dist::challenge_ack_msg ack{dist::handshake_digest(0xfeedface, "cookie")};
  EXPECT_EQ(dist::parse_challenge_ack(dist::build(ack), error), ack) << error;

  const dist::complement_msg comp{0x0000000f, 0x11223344};
  EXPECT_EQ(dist::parse_complement(dist::build(comp), error), comp) << error;
}

TEST(DistHandshake, SendNameWithNameMeMayCarryJustAHost) {
  std::string error;
  dist::name_msg m{dist::mandatory_flags_25 | dist::flag_name_me, 1, "host.example"};
  EXPECT_EQ(dist::parse_name(dist::build(m), error), m) << error;
  m.flags &= ~dist::flag_name_me;
  EXPECT_FALSE(dist::parse_name(dist::build(m), error));
  EXPECT_NE(error.find('@'), std::string::npos) << error;
}

// ---- handshake messages: hostile input ---------------------------------------------------

// Status is left out: it has no length field of its own, its frame ends it.
TEST(DistHandshakeHostile, EveryTruncationIsRejected) {
  const auto check = [](const std::string& whole, auto parse) {
    for (std::size_t n = 0; n < whole.size(); ++n) {
      std::string error;
      EXPECT_FALSE(parse(std::string_view(whole).substr(0, n), error)) << n << " bytes";
      EXPECT_FALSE(error.empty()) << n << " bytes";
    }
  };
  check(dist::build(sample_name()), dist::parse_name);
  check(dist::build(sample_challenge()), dist::parse_challenge);
  check(dist::build(dist::challenge_reply_msg{7, {}}), dist::parse_challenge_reply);
  check(dist::build(dist::challenge_ack_msg{}), dist::parse_challenge_ack);
  check(dist::build(dist::complement_msg{1, 2}), dist::parse_complement);
  std::string error;
  EXPECT_FALSE(dist::parse_status("", error));
  EXPECT_FALSE(dist::parse_status("s", error));
}

TEST(DistHandshakeHostile, FixedSizeMessagesRejectTrailingBytes) {
  std::string error;
  EXPECT_FALSE(dist::parse_challenge_reply(dist::build(dist::challenge_reply_msg{}) + "x", error));
  EXPECT_NE(error.find("22 bytes"), std::string::npos) << error;
  EXPECT_FALSE(dist::parse_challenge_ack(dist::build(dist::challenge_ack_msg{}) + "x", error));
  EXPECT_FALSE(dist::parse_complement(dist::build(dist::complement_msg{}) + "x", error));
}

// The protocol: "Any extra data after the node Name must be accepted and ignored."
TEST(DistHandshakeHostile, NameAndChallengeIgnoreBytesAfterTheName) {
  std::string error;
  EXPECT_EQ(dist::parse_name(dist::build(sample_name()) + "future", error), sample_name());
  EXPECT_EQ(dist::parse_challenge(dist::build(sample_challenge()) + "future", error),
            sample_challenge());
}

TEST(DistHandshakeHostile, WrongTagsAreRejected) {
  std::string error;
  std::string name = dist::build(sample_name());
  name[0] = 'n';  // the old version 5 send_name
  EXPECT_FALSE(dist::parse_name(name, error));
  EXPECT_NE(error.find("tag"), std::string::npos) << error;
  EXPECT_FALSE(dist::parse_challenge(name, error));
  EXPECT_FALSE(dist::parse_status("Sok", error));
  EXPECT_FALSE(dist::parse_challenge_reply(dist::build(dist::challenge_ack_msg{}) + "1234", error));
  EXPECT_FALSE(dist::parse_challenge_ack("r" + std::string(16, '\0'), error));
  EXPECT_FALSE(dist::parse_complement("C" + std::string(8, '\0'), error));
}

TEST(DistHandshakeHostile, NlenPastTheEndIsRejected) {
  std::string body = dist::build(sample_name());
  body[13] = static_cast<char>(0xff);  // Nlen's high byte: 65280 + 16 bytes claimed
  std::string error;
  EXPECT_FALSE(dist::parse_name(body, error));
  EXPECT_NE(error.find("past the end"), std::string::npos) << error;
  std::string ch = dist::build(sample_challenge());
  ch[18] = static_cast<char>(ch[18] + 1);  // one more byte than there is
  EXPECT_FALSE(dist::parse_challenge(ch, error));
}

TEST(DistHandshakeHostile, BadNodeNamesAreRejected) {
  const std::string bad[] = {
      "",                                                   // empty
      std::string(128, 'a') + "@" + std::string(127, 'b'),  // 256 bytes
      "nohost",
      "a@b\n",
      "a@b"s + '\0',
      "a\x1f@b",
      "a\x7f@b",
  };
  for (const auto& name : bad) {
    std::string error;
    EXPECT_FALSE(dist::parse_name(dist::build(dist::name_msg{0, 0, name}), error)) << name;
    EXPECT_FALSE(error.empty());
    error.clear();
    EXPECT_FALSE(dist::parse_challenge(dist::build(dist::challenge_msg{0, 0, 0, name}), error))
        << name;
    EXPECT_FALSE(error.empty());
  }
  const std::string good[] = {
      std::string(127, 'a') + "@" + std::string(127, 'b'),  // 255 bytes
      "n\xc3\xa4me@h\xc3\xb6st",                            // UTF-8
      "a b@~",
  };
  for (const auto& name : good) {
    std::string error;
    EXPECT_TRUE(dist::parse_name(dist::build(dist::name_msg{0, 0, name}), error)) << error;
    EXPECT_TRUE(dist::parse_challenge(dist::build(dist::challenge_msg{0, 0, 0, name}), error))
        << error;
  }
}

// ---- epmd -------------------------------------------------------------------------------

TEST(DistEpmd, Alive2ReqHasTheDocumentedLayout) {
  // Length(2), 120, PortNo(2), NodeType, Protocol, Highest(2), Lowest(2), Nlen(2), Name,
  // Elen(2)
  const std::string expected =
      bytes({0x00, 17, 120, 0x23, 0x28, 77, 0, 0, 6, 0, 6, 0, 4, 'n', 'o', 'd', 'e', 0, 0});
  EXPECT_EQ(dist::build_alive2_req(9000, false, "node"), expected);
  EXPECT_EQ(dist::build_alive2_req(9000, false, "node@host"), expected);
  std::string hidden = expected;
  hidden[5] = 72;
  EXPECT_EQ(dist::build_alive2_req(9000, true, "node"), hidden);
  EXPECT_THROW((void)dist::build_alive2_req(1, false, "@host"), std::invalid_argument);
  EXPECT_THROW((void)dist::build_alive2_req(1, false, std::string(65523, 'a')), std::length_error);
  EXPECT_EQ(dist::build_alive2_req(1, false, std::string(65522, 'a')).size(), 65537U);
}

TEST(DistEpmd, PortPlease2ReqHasTheDocumentedLayout) {
  EXPECT_EQ(dist::build_port_please2_req("erl@host"), bytes({0, 4, 122, 'e', 'r', 'l'}));
  EXPECT_THROW((void)dist::build_port_please2_req(""), std::invalid_argument);
}

TEST(DistEpmd, Alive2RespInBothFormsParses) {
  dist::alive2_resp r;
  std::size_t used = 0;
  std::string error;
  const std::string x = bytes({118, 0, 0x12, 0x34, 0x56, 0x78});
  ASSERT_EQ(dist::parse_alive2_resp(x + "more", r, used, error), dist::stream_parse::ok);
  EXPECT_EQ(used, 6U);
  EXPECT_EQ(r.result, 0);
  EXPECT_EQ(r.creation, 0x12345678U);
  const std::string old = bytes({121, 1, 0xab, 0xcd});
  ASSERT_EQ(dist::parse_alive2_resp(old, r, used, error), dist::stream_parse::ok);
  EXPECT_EQ(used, 4U);
  EXPECT_EQ(r.result, 1);
  EXPECT_EQ(r.creation, 0xabcdU);

  for (const auto& whole : {x, old}) {
    for (std::size_t n = 0; n < whole.size(); ++n) {
      used = 99;
      EXPECT_EQ(dist::parse_alive2_resp(whole.substr(0, n), r, used, error),
                dist::stream_parse::need_more)
          << n;
      EXPECT_EQ(used, 99U);
    }
  }
  EXPECT_EQ(dist::parse_alive2_resp(bytes({119, 0, 0, 0}), r, used, error),
            dist::stream_parse::error);
  EXPECT_FALSE(error.empty());
}

TEST(DistEpmd, Port2RespParsesFoundAndNotFound) {
  // 119, Result, PortNo(2), NodeType, Protocol, Highest(2), Lowest(2), Nlen(2), Name,
  // Elen(2), Extra
  const std::string found =
      bytes({119, 0, 0x9c, 0x40, 77, 0, 0, 6, 0, 5, 0, 3, 'e', 'r', 'l', 0, 2, 'x', 'y'});
  dist::port2_resp r;
  std::size_t used = 0;
  std::string error;
  ASSERT_EQ(dist::parse_port2_resp(found + "after", r, used, error), dist::stream_parse::ok)
      << error;
  EXPECT_EQ(used, found.size());
  EXPECT_EQ(r.result, 0);
  EXPECT_EQ(r.port, 40000);
  EXPECT_EQ(r.node_type, 77);
  EXPECT_EQ(r.protocol, 0);
  EXPECT_EQ(r.highest, 6);
  EXPECT_EQ(r.lowest, 5);
  EXPECT_EQ(r.name, "erl");

  const std::string missing = bytes({119, 1});
  ASSERT_EQ(dist::parse_port2_resp(missing, r, used, error), dist::stream_parse::ok);
  EXPECT_EQ(used, 2U);
  EXPECT_EQ(r.result, 1);
  EXPECT_EQ(r.port, 0);
  EXPECT_TRUE(r.name.empty());

  for (const auto& whole : {found, missing}) {
    for (std::size_t n = 0; n < whole.size(); ++n) {
      used = 99;
      EXPECT_EQ(dist::parse_port2_resp(whole.substr(0, n), r, used, error),
                dist::stream_parse::need_more)
          << n;
      EXPECT_EQ(used, 99U);
    }
  }
}

TEST(DistEpmd, Port2RespRejectsWrongTagAndBadName) {
  dist::port2_resp r;
  std::size_t used = 0;
  std::string error;
  EXPECT_EQ(dist::parse_port2_resp(bytes({118, 0}), r, used, error), dist::stream_parse::error);
  EXPECT_FALSE(error.empty());
  error.clear();
  const std::string empty_name = bytes({119, 0, 0, 1, 77, 0, 0, 6, 0, 6, 0, 0, 0, 0});
  EXPECT_EQ(dist::parse_port2_resp(empty_name, r, used, error), dist::stream_parse::error);
  EXPECT_FALSE(error.empty());
  const std::string control = bytes({119, 0, 0, 1, 77, 0, 0, 6, 0, 6, 0, 1, 0x07, 0, 0});
  EXPECT_EQ(dist::parse_port2_resp(control, r, used, error), dist::stream_parse::error);
}

// ---- connected: 4-byte frames -----------------------------------------------------------

TEST(DistFrames, AZeroLengthIsATick) {
  std::string_view body = "untouched";
  std::size_t used = 0;
  EXPECT_EQ(dist::next_frame(bytes({0, 0, 0, 0, 9}), 100, body, used), dist::frame_status::tick);
  EXPECT_EQ(used, 4U);
  EXPECT_TRUE(body.empty());
}

TEST(DistFrames, PartialHeaderOrBodyNeedsMore) {
  std::string buf;
  dist::append_frame_header(buf, 5);
  EXPECT_EQ(buf, bytes({0, 0, 0, 5}));
  buf += "hello";
  for (std::size_t n = 0; n < buf.size(); ++n) {
    std::string_view body;
    std::size_t used = 99;
    EXPECT_EQ(dist::next_frame(std::string_view(buf).substr(0, n), 100, body, used),
              dist::frame_status::need_more)
        << n;
    EXPECT_EQ(used, n < 4 ? 4U : 9U) << n;  // what the whole frame will take, once known
  }
}

TEST(DistFrames, ALengthOverTheLimitIsTooLarge) {
  std::string buf;
  dist::append_frame_header(buf, 0x01000001);
  std::string_view body;
  std::size_t used = 0;
  EXPECT_EQ(dist::next_frame(buf, 0x01000000, body, used), dist::frame_status::too_large);
  buf.clear();
  dist::append_frame_header(buf, 0xffffffff);
  EXPECT_EQ(buf, bytes({0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(dist::next_frame(buf, 0x01000000, body, used), dist::frame_status::too_large);
  // At the limit it is only waiting for the body.
  buf.clear();
  dist::append_frame_header(buf, 10);
  EXPECT_EQ(dist::next_frame(buf, 10, body, used), dist::frame_status::need_more);
}

TEST(DistFrames, FramesBackToBackAreReadOneAtATime) {
  std::string buf;
  dist::append_frame_header(buf, 3);
  buf += "one";
  dist::append_frame_header(buf, 0);
  dist::append_frame_header(buf, 5);
  buf += "three";
  std::string_view rest = buf;
  std::string_view body;
  std::size_t used = 0;
  ASSERT_EQ(dist::next_frame(rest, 16, body, used), dist::frame_status::frame);
  EXPECT_EQ(body, "one");
  EXPECT_EQ(used, 7U);
  rest.remove_prefix(used);
  ASSERT_EQ(dist::next_frame(rest, 16, body, used), dist::frame_status::tick);
  rest.remove_prefix(used);
  ASSERT_EQ(dist::next_frame(rest, 16, body, used), dist::frame_status::frame);
  EXPECT_EQ(body, "three");
  rest.remove_prefix(used);
  EXPECT_TRUE(rest.empty());
  EXPECT_EQ(dist::next_frame(rest, 16, body, used), dist::frame_status::need_more);
}
