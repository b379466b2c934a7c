// coproc::term and the External Term Format codec: round trips, exact bytes, legacy tags,
// hostile input (truncation, huge lengths, deep nesting, unknown tags, mutations), and a
// property test against a real Erlang node (erl must be on PATH: Debian's erlang-nox).
#include <coproc/term.hpp>
#include <coproc/term_codec.hpp>

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <new>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "alloc_hook.hpp"

// ---- allocation watch: the largest single operator new request while armed -------------

namespace {
std::atomic<bool> g_watch{false};
std::atomic<std::size_t> g_largest{0};
std::atomic<std::size_t> g_total{0};

}  // namespace

void on_allocation(std::size_t n) noexcept {
  if (!g_watch.load(std::memory_order_relaxed)) return;
  g_total.fetch_add(n, std::memory_order_relaxed);
  std::size_t cur = g_largest.load(std::memory_order_relaxed);
  while (n > cur && !g_largest.compare_exchange_weak(cur, n, std::memory_order_relaxed)) {
  }
}

namespace {

using coproc::decode;
using coproc::decode_options;
using coproc::decode_result;
using coproc::encode;
using coproc::encode_options;
using coproc::term;
using coproc::term_decode_error;
using coproc::try_decode;

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (const int b : v) s.push_back(static_cast<char>(b));
  return s;
}
std::string cat(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (auto p : parts) s += p;
  return s;
}

term A(const char* name) {
  return term::atom(name);
}

// Every kind, and each size class of each encoding.
std::vector<term> sample_terms() {
  std::vector<term> v;
  v.reserve(64);
  for (std::int64_t i :
       {std::int64_t{0}, std::int64_t{1}, std::int64_t{255}, std::int64_t{256}, std::int64_t{-1},
        std::int64_t{-256}, std::int64_t{2147483647}, std::int64_t{-2147483647 - 1},
        std::int64_t{2147483648}, std::int64_t{-2147483649},
        std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
    v.emplace_back(i);
  }
  v.emplace_back(std::numeric_limits<std::uint64_t>::max());
  v.push_back(term::big(false, std::string(8, '\0') + "\x01"));    // 2^64
  v.push_back(term::big(true, std::string(20, '\x7f')));           // -(big)
  v.push_back(term::big(false, std::string(300, '\0') + "\x05"));  // LARGE_BIG_EXT
  for (double d : {0.0, -0.0, 1.5, -3.25e-7, 1e300, 5e-324, 123456789.0}) v.emplace_back(d);
  v.push_back(A("ok"));
  v.push_back(A(""));
  v.push_back(A("hello world"));
  v.push_back(A("h\xc3\xa9llo"));                  // héllo
  v.push_back(term::atom(std::string(255, 'z')));  // 255 chars
  {
    std::string smileys;
    for (int i = 0; i < 255; ++i) smileys += "\xf0\x9f\x98\x80";  // 1020 bytes: ATOM_UTF8_EXT
    v.push_back(term::atom(smileys));
  }
  v.push_back(term::boolean(true));
  v.push_back(term::binary(""));
  v.push_back(term::binary("hi"));
  v.push_back(term::binary(std::string("\0\x01\xff", 3)));
  v.push_back(term::binary(std::string(70000, 'b')));
  v.push_back(term::nil());
  v.push_back(term::string("abc"));
  v.push_back(term::list({1, 2, 3}));
  v.push_back(term::list({1000, -1, A("x")}));
  v.push_back(term::list(std::vector<term>(70000, term(7))));  // too long for STRING_EXT
  v.push_back(term::improper_list({1, 2}, 3));
  v.push_back(term::improper_list({A("a")}, A("b")));
  v.push_back(term::list({term::list({term::list({})}), term::string("x")}));
  v.push_back(term::tuple({}));
  v.push_back(term::tuple({A("ok"), term::binary("hi"), term::list({1, 2})}));
  {
    std::vector<term> big;
    big.reserve(300);
    for (int i = 0; i < 300; ++i) big.emplace_back(i);
    v.push_back(term::tuple(std::move(big)));  // LARGE_TUPLE_EXT
  }
  v.push_back(term::map({}));
  v.push_back(term::map({{A("a"), 1},
                         {term::binary("b"), term::list({2})},
                         {term::tuple({A("c")}), term::map({{A("d"), A("e")}})}}));
  v.push_back(term::pid("nonode@nohost", 42, 0, 0));
  v.push_back(term::pid("a@b.com", 0xffffffffU, 0x7fff, 0x12345678));
  v.push_back(term::ref("nonode@nohost", 0, {1, 2, 3}));
  v.push_back(
      term::ref("n\xc3\xb8"
                "de@h",
                0xfedcba98U, {1, 2, 3, 4, 5}));
  v.push_back(
      term::tuple({term::map({{term::list({1.5, term::string("s")}), term::pid("x@y", 1, 2, 3)}}),
                   term::improper_list({term::ref("x@y", 1, {9})}, term::binary("t"))}));
  return v;
}

// Older encodings OTP may send, with the terms they stand for.
struct legacy_case {
  const char* name;
  std::string wire;
  term expect;
};
std::vector<legacy_case> legacy_cases() {
  const std::string nonode = "nonode@nohost";
  return {
      {"ATOM_EXT", bytes({131, 100, 0, 2, 'o', 'k'}), A("ok")},
      {"SMALL_ATOM_EXT", bytes({131, 115, 2, 'o', 'k'}), A("ok")},
      {"ATOM_EXT latin1", bytes({131, 100, 0, 1, 233}), A("\xc3\xa9")},
      {"SMALL_ATOM_EXT latin1", bytes({131, 115, 3, 'a', 0xff, 'b'}),
       A("a\xc3\xbf"
         "b")},
      {"ATOM_UTF8_EXT", bytes({131, 118, 0, 2, 'o', 'k'}), A("ok")},
      {"STRING_EXT", bytes({131, 107, 0, 3, 'a', 'b', 'c'}), term::list({97, 98, 99})},
      {"STRING_EXT empty", bytes({131, 107, 0, 0}), term::nil()},
      {"FLOAT_EXT", cat({bytes({131, 99}), "1.50000000000000000000e+00", std::string(5, '\0')}),
       term(1.5)},
      {"FLOAT_EXT negative",
       cat({bytes({131, 99}), "-2.50000000000000000000e-03", std::string(4, '\0')}), term(-2.5e-3)},
      {"PID_EXT", cat({bytes({131, 103, 100, 0, 13}), nonode, bytes({0, 0, 0, 42, 0, 0, 0, 1, 2})}),
       term::pid(nonode, 42, 1, 2)},
      {"NEW_PID_EXT with ATOM_EXT node (OTP 25)",
       cat({bytes({131, 88, 100, 0, 13}), nonode, bytes({0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0})}),
       term::pid(nonode, 9, 0, 0)},
      {"NEWER_REFERENCE_EXT (OTP 25)",
       cat({bytes({131, 90, 0, 3, 100, 0, 13}), nonode,
            bytes({0, 0, 0, 0, 0, 0, 21, 30, 247, 188, 0, 2, 34, 14, 46, 164})}),
       term::ref(nonode, 0, {0x151e, 0xf7bc0002U, 0x220e2ea4})},
      {"NEW_REFERENCE_EXT", bytes({131, 114, 0, 2, 115, 1, 'a', 3, 0, 0, 0, 1, 0, 0, 0, 2}),
       term::ref("a", 3, {1, 2})},
      {"REFERENCE_EXT", bytes({131, 101, 115, 1, 'a', 0, 0, 0, 7, 1}), term::ref("a", 1, {7})},
      {"SMALL_BIG_EXT high zeros", bytes({131, 110, 3, 0, 5, 0, 0}), term(5)},
      {"SMALL_BIG_EXT empty", bytes({131, 110, 0, 0}), term(0)},
      {"SMALL_BIG_EXT negative zero", bytes({131, 110, 1, 1, 0}), term(0)},
      {"LARGE_BIG_EXT small value", bytes({131, 111, 0, 0, 0, 2, 1, 1, 1}), term(-257)},
      {"LIST_EXT of small ints", bytes({131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 106}),
       term::list({1, 2})},
      {"LIST_EXT with a list tail",
       bytes({131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 100, 0, 1, 'x'}),
       term::improper_list({1, 2}, A("x"))},
      {"LIST_EXT with a STRING_EXT tail", bytes({131, 108, 0, 0, 0, 1, 97, 1, 107, 0, 1, 2}),
       term::list({1, 2})},
      {"LIST_EXT empty with a tail", bytes({131, 108, 0, 0, 0, 0, 97, 7}), term(7)},
      {"LARGE_TUPLE_EXT small", bytes({131, 105, 0, 0, 0, 1, 106}), term::tuple({term::nil()})},
  };
}

std::vector<std::string> valid_encodings() {
  std::vector<std::string> v;
  for (const term& t : sample_terms()) v.push_back(encode(t));
  for (const auto& c : legacy_cases()) v.push_back(c.wire);
  return v;
}

// A decoded term must re-encode, decode to itself, and re-encode to the same bytes.
void expect_stable(const term& t, const std::string& context) {
  std::string again;
  try {
    again = encode(t);
  } catch (const std::exception& e) {
    ADD_FAILURE() << context << ": decoded term does not encode: " << e.what();
    return;
  }
  auto r = try_decode(again);
  ASSERT_TRUE(r) << context << ": " << r.error;
  EXPECT_EQ(*r.value, t) << context;
  EXPECT_EQ(encode(*r.value), again) << context;
}

std::string nested_tuples(std::size_t n, std::string_view leaf) {
  std::string s(1, static_cast<char>(131));
  for (std::size_t i = 0; i < n; ++i) s += bytes({104, 1});
  s += leaf;
  return s;
}

// ---- term API -------------------------------------------------------------------------

TEST(Term, ConstructionAndAccessors) {
  const term t = term::tuple({A("ok"), term::binary("hi"), term::list({1, 2})});
  EXPECT_TRUE(t.is_tuple());
  EXPECT_TRUE(t.is_tuple(3));
  EXPECT_EQ(t.size(), 3U);
  EXPECT_TRUE(t[0].is_atom("ok"));
  EXPECT_EQ(t[0].atom_name(), "ok");
  EXPECT_EQ(t[1].as_binary(), "hi");
  EXPECT_TRUE(t[2].is_proper_list());
  EXPECT_EQ(t[2][1].as_int(), 2);
  EXPECT_EQ(t.kind(), coproc::term_kind::tuple);
  EXPECT_THROW((void)t.as_int(), coproc::term_type_error);
  EXPECT_THROW((void)t[3], std::out_of_range);
  EXPECT_THROW((void)t[0].as_binary(), coproc::term_type_error);

  EXPECT_TRUE(term().is_nil());
  EXPECT_TRUE(term().is_list());
  EXPECT_EQ(term().size(), 0U);
  EXPECT_TRUE(term::boolean(false).is_bool());
  EXPECT_FALSE(term::boolean(false).as_bool());
  EXPECT_DOUBLE_EQ(term(2.5).as_float(), 2.5);
  EXPECT_TRUE(term(2.5f).is_float());
  EXPECT_TRUE(term('a').is_integer());
  EXPECT_EQ(term::pid("n@h", 1, 2, 3).as_pid().serial, 2U);
  EXPECT_EQ(term::ref("n@h", 4, {5}).as_ref().ids.at(0), 5U);
}

TEST(Term, IntegersAreCanonical) {
  EXPECT_TRUE(term(std::numeric_limits<std::int64_t>::max()).fits_int64());
  const term u = term(std::numeric_limits<std::uint64_t>::max());
  EXPECT_TRUE(u.is_bignum());
  EXPECT_THROW((void)u.as_int(), coproc::term_type_error);
  EXPECT_EQ(u.as_bignum().magnitude, std::string(8, '\xff'));
  EXPECT_EQ(term::big(false, std::string("\x05\0\0\0", 4)), term(5));
  EXPECT_EQ(term::big(true, std::string("\0\0\0\0\0\0\0\x80", 8)),
            term(std::numeric_limits<std::int64_t>::min()));
  EXPECT_TRUE(term::big(false, std::string("\0\0\0\0\0\0\0\x80", 8)).is_bignum());
  EXPECT_EQ(term::big(true, ""), term(0));
  const auto b = term(-300).as_bignum();
  EXPECT_TRUE(b.negative);
  EXPECT_EQ(b.magnitude, std::string("\x2c\x01", 2));
  EXPECT_EQ(term(std::numeric_limits<std::int64_t>::min()).as_bignum().magnitude,
            std::string("\0\0\0\0\0\0\0\x80", 8));
}

TEST(Term, EqualityIsExact) {
  EXPECT_NE(term(1), term(1.0));
  EXPECT_NE(term(0.0), term(-0.0));
  EXPECT_NE(A("a"), term::binary("a"));
  EXPECT_EQ(term::string("ab"), term::list({97, 98}));
  EXPECT_NE(term::list({1}), term::improper_list({1}, 2));
  // Maps are equal whatever the order of their pairs.
  EXPECT_EQ(term::map({{A("a"), 1}, {A("b"), 2}}), term::map({{A("b"), 2}, {A("a"), 1}}));
  EXPECT_NE(term::map({{A("a"), 1}, {A("b"), 2}}), term::map({{A("b"), 1}, {A("a"), 2}}));
  EXPECT_THROW((void)term::map({{A("a"), 1}, {A("a"), 2}}), std::invalid_argument);
  const term m = term::map({{A("k"), 1}, {term::tuple({1, 2}), 2}, {term(1.0), 3}});
  ASSERT_NE(m.find(term::tuple({1, 2})), nullptr);
  EXPECT_EQ(*m.find(term::tuple({1, 2})), term(2));
  EXPECT_EQ(*m.find(term(1.0)), term(3));
  EXPECT_EQ(m.find(term(1)), nullptr);
}

TEST(Term, ImproperListsAreFlattened) {
  const term t = term::improper_list({1}, term::improper_list({2}, 3));
  EXPECT_EQ(t, term::improper_list({1, 2}, 3));
  EXPECT_EQ(t.elements().size(), 2U);
  EXPECT_EQ(t.tail(), term(3));
  EXPECT_EQ(term::improper_list({1}, term::list({2})), term::list({1, 2}));
  EXPECT_EQ(term::improper_list({}, A("x")), A("x"));
  EXPECT_EQ(term::list({1}).tail(), term::nil());
}

TEST(Term, OrderFollowsErlangBetweenKinds) {
  // number < atom < reference < pid < tuple < map < nil < list < binary
  std::vector<term> v = {
      term::binary("b"),       term::list({1}),        term::nil(), term::map({}), term::tuple({}),
      term::pid("a", 1, 1, 1), term::ref("a", 1, {1}), A("a"),      term(1.0),     term(1)};
  std::vector<term> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  std::reverse(v.begin(), v.end());
  EXPECT_EQ(sorted, v);
  EXPECT_LT(term::big(true, std::string(9, '\x01')),
            term(std::numeric_limits<std::int64_t>::min()));
  EXPECT_GT(term::big(false, std::string(9, '\x01')),
            term(std::numeric_limits<std::int64_t>::max()));
  EXPECT_LT(term(-1.0), term(-0.0));
  EXPECT_LT(term::tuple({9}), term::tuple({1, 1}));
  EXPECT_LT(term::list({1}), term::list({1, 2}));
  EXPECT_LT(term::improper_list({1}, A("z")), term::list({1, 2}));  // atom < list
}

TEST(Term, ToStringIsErlangSyntax) {
  EXPECT_EQ(term::tuple({A("ok"), term::binary("hi"), term::list({1, 2})}).to_string(),
            R"({ok,<<"hi">>,[1,2]})");
  EXPECT_EQ(term().to_string(), "[]");
  EXPECT_EQ(term::string("say \"hi\"\n").to_string(), R"("say \"hi\"\n")");
  EXPECT_EQ(term::improper_list({1, 2}, 3).to_string(), "[1,2|3]");
  EXPECT_EQ(term::binary(std::string("\0\xff", 2)).to_string(), "<<0,255>>");
  EXPECT_EQ(term::binary("").to_string(), "<<>>");
  EXPECT_EQ(A("Ok").to_string(), "'Ok'");
  EXPECT_EQ(A("a b").to_string(), "'a b'");
  EXPECT_EQ(A("it's").to_string(), R"('it\'s')");
  EXPECT_EQ(A("").to_string(), "''");
  EXPECT_EQ(A("receive").to_string(), "'receive'");
  EXPECT_EQ(A("node@host_1").to_string(), "node@host_1");
  EXPECT_EQ(term(-42).to_string(), "-42");
  EXPECT_EQ(term(1e10).to_string(), "1.0e10");
  EXPECT_EQ(term(100.0).to_string(), "100.0");
  EXPECT_EQ(term(0.1).to_string(), "0.1");
  EXPECT_EQ(term(-2.5e-7).to_string(), "-2.5e-7");
  EXPECT_EQ(term(5e-324).to_string(), "5.0e-324");
  EXPECT_EQ(term(std::numeric_limits<std::uint64_t>::max()).to_string(), "18446744073709551615");
  EXPECT_EQ(term::big(true, std::string(8, '\0') + "\x01").to_string(), "-18446744073709551616");
  EXPECT_EQ(term::big(false, std::string(12, '\0') + "\x01").to_string(),
            "79228162514264337593543950336");  // 2^96
  EXPECT_EQ(term::big(false, std::string(3000, '\0') + "\x01").to_string(),
            "16#1" + std::string(6000, '0'));
  EXPECT_EQ(term::map({{A("a"), 1}, {term::binary("b"), term::tuple({})}}).to_string(),
            R"(#{a => 1,<<"b">> => {}})");
  EXPECT_EQ(term::pid("n@h", 42, 3, 1).to_string(), "<n@h.42.3>");
  EXPECT_EQ(term::ref("n@h", 1, {1, 2, 3}).to_string(), "#Ref<n@h.3.2.1>");
  std::ostringstream os;
  os << term::list({A("x")});
  EXPECT_EQ(os.str(), "[x]");
}

// ---- round trips and exact bytes -------------------------------------------------------

TEST(TermCodec, RoundTripsEveryKind) {
  for (const term& t : sample_terms()) {
    const std::string wire = encode(t);
    ASSERT_EQ(static_cast<unsigned char>(wire.at(0)), 131U);
    const auto r = try_decode(wire);
    ASSERT_TRUE(r) << t.to_string().substr(0, 200) << ": " << r.error;
    EXPECT_EQ(*r.value, t) << t.to_string().substr(0, 200);
    EXPECT_EQ(r.used, wire.size());
    EXPECT_EQ(decode(wire), t);
  }
}

TEST(TermCodec, ExactEncodings) {
  struct c {
    term t;
    std::string wire;
  };
  const std::string nonode = "nonode@nohost";
  const std::vector<c> cases = {
      {A("ok"), bytes({131, 119, 2, 111, 107})},
      {term(1), bytes({131, 97, 1})},
      {term(255), bytes({131, 97, 255})},
      {term(256), bytes({131, 98, 0, 0, 1, 0})},
      {term(-1), bytes({131, 98, 255, 255, 255, 255})},
      {term(2147483648LL), bytes({131, 110, 4, 0, 0, 0, 0, 128})},
      {term(-2147483649LL), bytes({131, 110, 4, 1, 1, 0, 0, 128})},
      {term(std::numeric_limits<std::int64_t>::min()),
       bytes({131, 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 128})},
      {term::big(false, std::string(8, '\0') + "\x01"),
       bytes({131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})},
      {term(1.5), bytes({131, 70, 63, 248, 0, 0, 0, 0, 0, 0})},
      {term(-0.0), bytes({131, 70, 128, 0, 0, 0, 0, 0, 0, 0})},
      {term::binary("hi"), bytes({131, 109, 0, 0, 0, 2, 104, 105})},
      {term::list({1, 2, 3}), bytes({131, 107, 0, 3, 1, 2, 3})},
      {term::improper_list({1, 2}, 3), bytes({131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 97, 3})},
      {term::list({1000}), bytes({131, 108, 0, 0, 0, 1, 98, 0, 0, 3, 232, 106})},
      {term(), bytes({131, 106})},
      {term::tuple({}), bytes({131, 104, 0})},
      {term::tuple({A("ok"), 1}), bytes({131, 104, 2, 119, 2, 111, 107, 97, 1})},
      {term::map({{A("a"), 1}}), bytes({131, 116, 0, 0, 0, 1, 119, 1, 97, 97, 1})},
      {term::pid(nonode, 9, 0, 0),
       cat({bytes({131, 88, 119, 13}), nonode, bytes({0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0})})},
      {term::ref(nonode, 0, {0x151e, 0xf7bc0002U, 0x220e2ea4}),
       cat({bytes({131, 90, 0, 3, 119, 13}), nonode,
            bytes({0, 0, 0, 0, 0, 0, 21, 30, 247, 188, 0, 2, 34, 14, 46, 164})})},
      {A("\xc3\xa9"), bytes({131, 119, 2, 195, 169})},
  };
  for (const auto& [t, wire] : cases) {
    EXPECT_EQ(encode(t), wire) << t;
    EXPECT_EQ(decode(wire), t) << t;
  }
  // OTP 25's term_to_binary(ok) uses ATOM_EXT; OTP 26's uses SMALL_ATOM_UTF8_EXT.
  EXPECT_EQ(decode(bytes({131, 100, 0, 2, 111, 107})), A("ok"));
  EXPECT_EQ(decode(bytes({131, 119, 2, 111, 107})), A("ok"));
}

TEST(TermCodec, DecodesLegacyTags) {
  for (const auto& c : legacy_cases()) {
    const auto r = try_decode(c.wire);
    ASSERT_TRUE(r) << c.name << ": " << r.error;
    EXPECT_EQ(*r.value, c.expect) << c.name;
    expect_stable(*r.value, c.name);
  }
}

TEST(TermCodec, OptionsVersionByteAndTrailing) {
  const term t = term::tuple({A("a"), 1});
  const std::string bare = encode(t, encode_options{.version_byte = false});
  EXPECT_EQ(bare, encode(t).substr(1));
  EXPECT_EQ(decode(bare, decode_options{.version_byte = false}), t);
  EXPECT_THROW((void)decode(bare), term_decode_error);

  const std::string two = encode(t) + encode(A("b"));
  EXPECT_THROW((void)decode(two), term_decode_error);  // trailing bytes
  std::size_t used = 0;
  EXPECT_EQ(decode(two, decode_options{.allow_trailing = true}, &used), t);
  EXPECT_EQ(used, encode(t).size());
  EXPECT_EQ(decode(std::string_view(two).substr(used)), A("b"));

  std::string out = "prefix";
  coproc::encode_append(out, A("x"));
  EXPECT_EQ(out, "prefix" + encode(A("x")));
  EXPECT_THROW(coproc::encode_append(out, term(std::numeric_limits<double>::infinity())),
               coproc::term_encode_error);
  EXPECT_EQ(out, "prefix" + encode(A("x")));  // unchanged on failure
}

TEST(TermCodec, EncodeRejectsWhatErlangCannotRead) {
  using coproc::term_encode_error;
  EXPECT_THROW((void)encode(term(std::numeric_limits<double>::quiet_NaN())), term_encode_error);
  EXPECT_THROW((void)encode(term(-std::numeric_limits<double>::infinity())), term_encode_error);
  EXPECT_THROW((void)encode(A("\xff")), term_encode_error);
  EXPECT_THROW((void)encode(A("\xed\xa0\x80")), term_encode_error);  // surrogate
  EXPECT_THROW((void)encode(term::atom(std::string(256, 'a'))), term_encode_error);
  EXPECT_THROW((void)encode(term::pid("\xc0\x80", 1, 1, 1)), term_encode_error);  // overlong
  EXPECT_THROW((void)encode(term::ref("a", 1, {})), term_encode_error);
  EXPECT_THROW((void)encode(term::ref("a", 1, {1, 2, 3, 4, 5, 6})), term_encode_error);
}

// ---- hostile input --------------------------------------------------------------------

TEST(TermCodecHostile, EveryTruncationFails) {
  std::size_t checked = 0;
  for (const std::string& wire : valid_encodings()) {
    ASSERT_TRUE(try_decode(wire)) << "corpus entry must decode";
    std::vector<std::size_t> lengths;
    if (wire.size() <= 4096) {
      for (std::size_t n = 0; n < wire.size(); ++n) lengths.push_back(n);
    } else {  // large entries: the head, the tail and a spread in between
      for (std::size_t n = 0; n < 600; ++n) lengths.push_back(n);
      for (std::size_t n = wire.size() - 600; n < wire.size(); ++n) lengths.push_back(n);
      for (std::size_t n = 600; n < wire.size() - 600; n += 997) lengths.push_back(n);
    }
    for (const std::size_t n : lengths) {
      const auto r = try_decode(std::string_view(wire).substr(0, n));
      ASSERT_FALSE(r) << "prefix of " << n << "/" << wire.size() << " bytes decoded";
      ASSERT_FALSE(r.error.empty());
      ASSERT_LE(r.error_offset, n);
      ++checked;
    }
  }
  EXPECT_GT(checked, 1000U);
  try {
    (void)decode(bytes({131, 98, 0, 0}));
    FAIL() << "no exception";
  } catch (const term_decode_error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    EXPECT_EQ(e.offset(), 2U);
  }
}

TEST(TermCodecHostile, HugeLengthsFailBeforeAllocating) {
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"LIST_EXT 2^32-1", bytes({131, 108, 255, 255, 255, 255, 97, 1, 97, 2})},
      {"LIST_EXT n, n bytes, no tail", bytes({131, 108, 0, 0, 0, 3, 106, 106, 106})},
      {"LARGE_TUPLE_EXT 2^32-1", bytes({131, 105, 255, 255, 255, 255, 106, 106})},
      {"SMALL_TUPLE_EXT 255", bytes({131, 104, 255, 106, 106})},
      {"MAP_EXT 2^32-1", bytes({131, 116, 255, 255, 255, 255, 106, 106})},
      {"MAP_EXT n, n bytes", bytes({131, 116, 0, 0, 0, 2, 97, 1, 97, 2})},
      {"BINARY_EXT 2^32-1", bytes({131, 109, 255, 255, 255, 255, 1, 2, 3})},
      {"LARGE_BIG_EXT 2^32-1", bytes({131, 111, 255, 255, 255, 255, 0, 1, 2, 3})},
      {"SMALL_BIG_EXT 255", bytes({131, 110, 255, 0, 1, 2, 3})},
      {"STRING_EXT 65535", bytes({131, 107, 255, 255, 1, 2, 3})},
      {"ATOM_EXT 65535", bytes({131, 100, 255, 255, 'a'})},
      {"ATOM_UTF8_EXT 65535", bytes({131, 118, 255, 255, 'a'})},
      {"NEWER_REFERENCE_EXT 65535 ids",
       bytes({131, 90, 255, 255, 119, 1, 'a', 0, 0, 0, 0, 1, 2, 3, 4})},
      {"NEW_REFERENCE_EXT 5 ids, 1 present", bytes({131, 114, 0, 5, 119, 1, 'a', 0, 1, 2, 3, 4})},
      {"nested LIST_EXT", bytes({131, 108, 0, 0, 0, 1, 108, 255, 255, 255, 255, 106})},
  };
  for (const auto& [name, wire] : cases) {
    g_largest.store(0);
    g_watch.store(true);
    const auto r = try_decode(wire);
    g_watch.store(false);
    EXPECT_FALSE(r) << name;
    EXPECT_LT(g_largest.load(), 1024U) << name << " allocated " << g_largest.load() << " bytes";
  }
  // A real 2^32-element claim inside a 10-byte buffer names the problem.
  const auto r = try_decode(bytes({131, 108, 255, 255, 255, 255, 97, 1, 97, 2}));
  EXPECT_NE(r.error.find("claims 4294967296 subterms"), std::string::npos) << r.error;
}

TEST(TermCodecHostile, NestedClaimsShareTheInput) {
  // 200 nested tuples each claim 5000 elements, followed by 5000 nils: every claim alone
  // fits in what is left, but they cannot all hold at once - the second must fail before
  // reserving, so the total allocated stays proportional to the input.
  std::string wire(1, static_cast<char>(131));
  for (int i = 0; i < 200; ++i) wire += bytes({105, 0, 0, 0x13, 0x88});  // 5000
  wire += std::string(5000, static_cast<char>(106));
  g_total.store(0);
  g_watch.store(true);
  const auto r = try_decode(wire);
  g_watch.store(false);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error.find("owed to enclosing terms"), std::string::npos) << r.error;
  EXPECT_EQ(r.error_offset, 6U);  // the second tuple
  EXPECT_LT(g_total.load(), 128 * wire.size()) << "allocated " << g_total.load() << " bytes";

  // The accounting rejects nothing valid: a tuple of lists of tuples, exactly full.
  std::vector<term> outer;
  outer.reserve(50);
  for (int i = 0; i < 50; ++i) {
    std::vector<term> inner;
    inner.reserve(20);
    for (int j = 0; j < 20; ++j)
      inner.push_back(term::tuple({term::nil(), term::list({term::nil()})}));
    outer.push_back(term::improper_list(std::move(inner), term::map({{term::nil(), term::nil()}})));
  }
  const term t = term::tuple(std::move(outer));
  EXPECT_EQ(decode(encode(t)), t);
}

TEST(TermCodecHostile, NestingDepthIsLimited) {
  const std::string leaf = bytes({106});
  EXPECT_TRUE(try_decode(nested_tuples(255, leaf)));  // the nil is at level 256
  const auto deep = try_decode(nested_tuples(256, leaf));
  ASSERT_FALSE(deep);
  EXPECT_NE(deep.error.find("nesting deeper than 256"), std::string::npos) << deep.error;
  // Far deeper input fails the same way, without exhausting the stack.
  EXPECT_FALSE(try_decode(nested_tuples(1000000, leaf)));
  std::string lists(1, static_cast<char>(131));
  for (int i = 0; i < 100000; ++i) lists += bytes({108, 0, 0, 0, 1});
  EXPECT_FALSE(try_decode(lists));
  std::string tails(1, static_cast<char>(131));  // [1|[1|[1|...]]] through tails
  for (int i = 0; i < 100000; ++i) tails += bytes({108, 0, 0, 0, 1, 97, 1});
  EXPECT_FALSE(try_decode(tails + bytes({106})));
  std::string maps(1, static_cast<char>(131));  // #{#{#{... => 1} => 1} => 1}
  for (int i = 0; i < 100000; ++i) maps += bytes({116, 0, 0, 0, 1});
  EXPECT_FALSE(try_decode(maps));
  // The limit is an option, and the encoder has the same one.
  EXPECT_FALSE(try_decode(nested_tuples(10, leaf), decode_options{.max_depth = 10}));
  EXPECT_TRUE(try_decode(nested_tuples(9, leaf), decode_options{.max_depth = 10}));
  term t;
  for (int i = 0; i < 255; ++i) t = term::tuple({t});
  EXPECT_NO_THROW((void)encode(t));
  t = term::tuple({t});
  EXPECT_THROW((void)encode(t), coproc::term_encode_error);
}

TEST(TermCodecHostile, UnknownAndUnsupportedTags) {
  const std::vector<int> supported = {70,  88,  90,  97,  98,  99,  100, 101, 103, 104, 105,
                                      106, 107, 108, 109, 110, 111, 114, 115, 116, 118, 119};
  for (int tag = 0; tag < 256; ++tag) {
    std::string wire = bytes({131, tag});
    wire += std::string(40, '\0');
    const auto r = try_decode(wire, decode_options{.allow_trailing = true});
    if (std::find(supported.begin(), supported.end(), tag) != supported.end()) continue;
    ASSERT_FALSE(r) << "tag " << tag;
    EXPECT_TRUE(r.error.find("unknown tag") != std::string::npos ||
                r.error.find("unsupported") != std::string::npos)
        << r.error;
  }
  const auto z = try_decode(bytes({131, 80, 0, 0, 0, 10, 120, 156, 1, 2}));
  EXPECT_NE(z.error.find("compressed"), std::string::npos) << z.error;
  EXPECT_FALSE(try_decode(bytes({131, 77, 0, 0, 0, 1, 3, 0xe0})));  // bit string
}

TEST(TermCodecHostile, MalformedValues) {
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"empty", ""},
      {"version only", bytes({131})},
      {"bad version", bytes({130, 97, 1})},
      {"trailing byte", bytes({131, 97, 1, 0})},
      {"NaN", bytes({131, 70, 127, 248, 0, 0, 0, 0, 0, 0})},
      {"infinity", bytes({131, 70, 255, 240, 0, 0, 0, 0, 0, 0})},
      {"FLOAT_EXT garbage", cat({bytes({131, 99}), "1.5xyz", std::string(25, '\0')})},
      {"FLOAT_EXT inf", cat({bytes({131, 99}), "inf", std::string(28, '\0')})},
      {"FLOAT_EXT empty", cat({bytes({131, 99}), std::string(31, '\0')})},
      {"FLOAT_EXT junk after NUL", cat({bytes({131, 99}), "1.5", std::string(27, '\0'), "x"})},
      {"big sign 2", bytes({131, 110, 1, 2, 5})},
      {"bad UTF-8 atom", bytes({131, 119, 1, 255})},
      {"overlong UTF-8 atom", bytes({131, 119, 2, 0xc0, 0x80})},
      {"surrogate atom", bytes({131, 119, 3, 0xed, 0xa0, 0x80})},
      {"truncated UTF-8 atom", bytes({131, 119, 1, 0xc3})},
      {"above U+10FFFF", bytes({131, 119, 4, 0xf4, 0x90, 0x80, 0x80})},
      {"duplicate map keys", bytes({131, 116, 0, 0, 0, 2, 97, 1, 97, 1, 97, 1, 97, 2})},
      {"duplicate map keys in other encodings",
       bytes({131, 116, 0, 0, 0, 2, 100, 0, 1, 'a', 106, 119, 1, 'a', 106})},
      {"reference with 0 ids", bytes({131, 90, 0, 0, 119, 1, 'a', 0, 0, 0, 0})},
      {"reference with 6 ids",
       cat({bytes({131, 90, 0, 6, 119, 1, 'a', 0, 0, 0, 0}), std::string(24, '\0')})},
      {"pid node not an atom", bytes({131, 88, 97, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0})},
      {"ref node not an atom", bytes({131, 101, 106, 0, 0, 0, 1, 0})},
      {"atom cache ref", bytes({131, 82, 0})},
  };
  for (const auto& [name, wire] : cases) {
    const auto r = try_decode(wire);
    EXPECT_FALSE(r) << name;
    EXPECT_FALSE(r.error.empty()) << name;
    EXPECT_THROW((void)decode(wire), term_decode_error) << name;
  }
  // Atom length limits are in characters: 255 four-byte characters are fine, 256 are not.
  std::string a255;
  for (int i = 0; i < 255; ++i) a255 += "\xf0\x9f\x98\x80";
  EXPECT_TRUE(try_decode(cat({bytes({131, 118, 3, 252}), a255})));
  EXPECT_FALSE(try_decode(cat({bytes({131, 118, 4, 0}), a255, "\xf0\x9f\x98\x80"})));
  EXPECT_FALSE(try_decode(cat({bytes({131, 100, 1, 0}), std::string(256, 'a')})));
  EXPECT_TRUE(try_decode(cat({bytes({131, 100, 0, 255}), std::string(255, 'a')})));
}

TEST(TermCodecHostile, RandomMutationsNeverMisbehave) {
  std::mt19937_64 rng(20240611);
  std::vector<std::string> corpus;
  for (std::string& w : valid_encodings()) {
    if (w.size() <= 2048) corpus.push_back(std::move(w));
  }
  const int interesting[] = {0, 1, 0x7f, 0x80, 0xff, 97, 104, 106, 107, 108, 116, 131};
  int decoded = 0;
  int failed = 0;
  for (int iter = 0; iter < 30000; ++iter) {
    std::string w = corpus[rng() % corpus.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !w.empty(); ++e) {
      const std::size_t at = rng() % w.size();
      switch (rng() % 5) {
        case 0:
          w[at] = static_cast<char>(rng());
          break;
        case 1:
          w[at] = static_cast<char>(interesting[rng() % std::size(interesting)]);
          break;
        case 2:
          w.erase(at, 1 + rng() % 4);
          break;
        case 3:
          w.insert(at, 1, static_cast<char>(rng()));
          break;
        default:
          w.insert(at, corpus[rng() % corpus.size()].substr(1, 16));
          break;
      }
    }
    try {
      const term t = decode(w);
      ++decoded;
      expect_stable(t, "mutation " + std::to_string(iter));
      (void)t.to_string();
    } catch (const term_decode_error&) {
      ++failed;
    } catch (const std::exception& e) {
      FAIL() << "unexpected exception: " << e.what();
    }
    if (HasFailure()) return;
  }
  EXPECT_GT(decoded, 100);
  EXPECT_GT(failed, 100);
}

// ---- property test against a real Erlang node ------------------------------------------

struct command_result {
  int status = -1;  // exit status, or -1 if it did not exit normally
  std::string output;
};

command_result run(const std::string& cmd) {
  command_result r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int st = ::pclose(p);
  if (st != -1 && WIFEXITED(st)) r.status = WEXITSTATUS(st);
  return r;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_file(const std::filesystem::path& p, std::string_view s) {
  std::ofstream out(p, std::ios::binary);
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
}

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "coproc_term_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

bool has_pid_or_ref(const term& t) {
  switch (t.kind()) {
    case coproc::term_kind::pid:
    case coproc::term_kind::reference:
      return true;
    case coproc::term_kind::list:
      if (has_pid_or_ref(t.tail())) return true;
      [[fallthrough]];
    case coproc::term_kind::tuple:
      return std::any_of(t.elements().begin(), t.elements().end(), has_pid_or_ref);
    case coproc::term_kind::map:
      return std::any_of(t.map_entries().begin(), t.map_entries().end(), [](const auto& kv) {
        return has_pid_or_ref(kv.first) || has_pid_or_ref(kv.second);
      });
    default:
      return false;
  }
}

// Erlang expressions, one term each.
const char* const erlang_terms[] = {
    "ok",
    "'hello world'",
    "''",
    "'h\xc3\xa9llo'",
    "'\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e'",
    "list_to_atom(lists:duplicate(255, 16#1F600))",
    "[true, false, 'it\\'s', 'Caps', 'receive']",
    "[0, 255, 256, -1, 2147483647, -2147483648, 2147483648, -2147483649]",
    "[9223372036854775807, -9223372036854775808, 18446744073709551616, -(1 bsl 200)]",
    "1 bsl 2100",
    "-(1 bsl 4000) + 12345",
    "[3.14, -0.0, 1.0e300, 5.0e-324, -2.5e-10, 123456789.0, 1.0e15, 0.1]",
    "<<>>",
    "<<\"hi\">>",
    "<<0, 1, 2, 255>>",
    "list_to_binary(lists:seq(0, 255))",
    "binary:copy(<<\"x\">>, 100000)",
    "\"hello\\nworld\\t\\\"q\\\"\"",
    "[]",
    "[1, 2, 3]",
    "[1000, 2000, -5]",
    "[a | b]",
    "[1, 2 | 3]",
    "[[], [[]], \"\", [\"nested\", [<<\"deep\">>]]]",
    "lists:seq(1, 70000)",
    "lists:duplicate(70000, 7)",
    "{}",
    "{ok, <<\"hi\">>, [1, 2]}",
    "list_to_tuple(lists:seq(1, 300))",
    "lists:foldl(fun(_, A) -> {A} end, leaf, lists:seq(1, 200))",
    "#{}",
    "#{a => 1, <<\"b\">> => [2], {c} => #{d => e}, 1 => x, 1.0 => y}",
    "maps:from_list([{I, I * I} || I <- lists:seq(1, 100)])",
    "self()",
    "list_to_pid(\"<0.4242.7>\")",
    "make_ref()",
    "{self(), make_ref(), [make_ref()]}",
    "binary_to_term(<<131,88,100,0,7,\"a@b.com\",0,0,0,1,0,0,0,2,18,52,86,120>>)",
    "binary_to_term(<<131,90,0,3,100,0,7,\"a@b.com\",18,52,86,120,0,0,0,1,0,0,0,2,0,0,0,3>>)",
    "{[{nested, [{deep, #{k => [1.5, \"str\", <<\"bin\">>]}}]}], 'caf\xc3\xa9'}",
};

// The generator and checker are fixed Erlang programs (no single quotes: they are passed
// in single quotes to the shell); the work directory comes as the plain argument.
constexpr const char* erl_generate = R"ERL(
[D] = init:get_plain_arguments(),
try
  {ok, B} = file:read_file(D ++ "/terms.txt"),
  {ok, Toks, _} = erl_scan:string(unicode:characters_to_list(B, utf8)),
  {ok, Exprs} = erl_parse:parse_exprs(Toks),
  {value, Ts, _} = erl_eval:exprs(Exprs, []),
  W = fun(I, Ext, Bin) -> ok = file:write_file(D ++ "/" ++ integer_to_list(I) ++ Ext, Bin) end,
  lists:foldl(fun(T, I) ->
                  W(I, ".erl", term_to_binary(T)),
                  W(I, ".v2", term_to_binary(T, [{minor_version, 2}])),
                  I + 1
              end, 0, Ts),
  io:format("generated ~b~n", [length(Ts)]),
  halt(0)
catch C:R:S -> io:format("erl failed: ~p:~p~n~p~n", [C, R, S]), halt(3)
end
)ERL";

constexpr const char* erl_check = R"ERL(
[D] = init:get_plain_arguments(),
try
  {ok, Names} = file:list_dir(D),
  N = length([F || F <- Names, lists:suffix(".ours", F)]),
  Path = fun(I, Ext) -> D ++ "/" ++ integer_to_list(I) ++ Ext end,
  Check = fun(I) ->
    {ok, OrigBin} = file:read_file(Path(I, ".erl")),
    {ok, OursBin} = file:read_file(Path(I, ".ours")),
    Orig = binary_to_term(OrigBin),
    R1 = try binary_to_term(OursBin) =:= Orig of
           true -> [];
           false -> [{I, ours_differs, binary_to_term(OursBin)}]
         catch _:E1 -> [{I, ours_rejected, E1}]
         end,
    R2 = case file:read_file(Path(I, ".txt")) of
           {ok, Txt} ->
             try
               {ok, Tk, _} = erl_scan:string(unicode:characters_to_list(<<Txt/binary, ".">>, utf8)),
               {ok, Es} = erl_parse:parse_exprs(Tk),
               {value, V, _} = erl_eval:exprs(Es, []),
               V =:= Orig
             of
               true -> [];
               false -> [{I, to_string_differs}]
             catch _:E2 -> [{I, to_string_unreadable, E2}]
             end;
           {error, enoent} -> []
         end,
    R1 ++ R2
  end,
  Bad = lists:append([Check(I) || I <- lists:seq(0, N - 1)]),
  io:format("checked ~b~n", [N]),
  [io:format("FAIL ~P~n", [X, 12]) || X <- Bad],
  halt(case Bad of [] -> 0; _ -> 1 end)
catch C:R:S -> io:format("erl failed: ~p:~p~n~p~n", [C, R, S]), halt(3)
end
)ERL";

std::string erl_command(const char* program, const std::filesystem::path& dir) {
  return "timeout 30 erl -noshell -eval '" + std::string(program) + "' -extra '" + dir.string() +
         "'";
}

TEST(TermCodecErlang, RoundTripThroughRealErlang) {
  ASSERT_EQ(run("command -v erl").status, 0)
      << "erl is not on PATH: this test needs Erlang/OTP (Debian: apt-get install -y erlang-nox)";
  ASSERT_EQ(run("command -v timeout").status, 0) << "timeout (coreutils) is not on PATH";
  temp_dir dir;
  ASSERT_FALSE(dir.path.empty()) << "mkdtemp failed";

  const std::size_t count = std::size(erlang_terms);
  std::string list = "[\n";
  for (std::size_t i = 0; i < count; ++i) {
    list += erlang_terms[i];
    list += i + 1 < count ? ",\n" : "\n";
  }
  list += "].\n";
  write_file(dir.path / "terms.txt", list);

  const auto gen = run(erl_command(erl_generate, dir.path));
  ASSERT_EQ(gen.status, 0) << "erl term generation failed (status " << gen.status
                           << ", 124 = timed out):\n"
                           << gen.output;
  ASSERT_NE(gen.output.find("generated " + std::to_string(count)), std::string::npos) << gen.output;

  for (std::size_t i = 0; i < count; ++i) {
    SCOPED_TRACE(erlang_terms[i]);
    const auto base = dir.path / std::to_string(i);
    const std::string erl_bytes = read_file(base.string() + ".erl");
    const std::string v2_bytes = read_file(base.string() + ".v2");
    ASSERT_FALSE(erl_bytes.empty());
    const auto r = try_decode(erl_bytes);
    ASSERT_TRUE(r) << r.error;
    const auto r2 = try_decode(v2_bytes);
    ASSERT_TRUE(r2) << r2.error;
    EXPECT_EQ(*r.value, *r2.value) << "term_to_binary/1 and minor_version 2 decode differently";
    const std::string ours = encode(*r.value);
    // OTP 26's default (minor_version 2) is what encode writes, byte for byte.
    EXPECT_EQ(ours, v2_bytes) << r.value->to_string().substr(0, 300);
    EXPECT_EQ(decode(ours), *r.value);
    write_file(base.string() + ".ours", ours);
    if (!has_pid_or_ref(*r.value)) write_file(base.string() + ".txt", r.value->to_string());
  }

  const auto check = run(erl_command(erl_check, dir.path));
  EXPECT_EQ(check.status, 0) << "erl check failed (status " << check.status
                             << ", 124 = timed out):\n"
                             << check.output;
  EXPECT_NE(check.output.find("checked " + std::to_string(count)), std::string::npos)
      << check.output;
}

}  // namespace

TEST(TermCodecHostile, UnsupportedTypesAreToldApartFromMalformedInput) {
  // A fun or a port is well formed Erlang that term cannot hold (the distribution layer
  // drops such a message); a truncated term or an unknown tag is malformed (it ends the
  // connection).
  const std::string export_fun("\x83\x71\x64\x00\x01m\x64\x00\x01"
                               "f\x61\x01",
                               11);
  const decode_result fun = try_decode(export_fun);
  EXPECT_FALSE(fun);
  EXPECT_TRUE(fun.unsupported) << fun.error;
  for (const std::string& bad : {std::string("\x83\x68\x02\x64\x00", 5),
                                 std::string("\x83\x6d\x00\x00\x10\x00"
                                             "abc",
                                             9),
                                 std::string("\x83\xee", 2)}) {
    const decode_result r = try_decode(bad);
    EXPECT_FALSE(r);
    EXPECT_FALSE(r.unsupported) << r.error;
  }
  try {
    (void)decode(export_fun);
    ADD_FAILURE() << "decoded a fun";
  } catch (const term_decode_error& e) {
    EXPECT_TRUE(e.unsupported());
  }
}
