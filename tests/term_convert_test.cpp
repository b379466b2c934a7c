// coproc::to_term / from_term: the C++ <-> Erlang term mapping. Round trips for every
// mapped type, what from_term refuses (out-of-range integers, 1 vs 1.0, lists that are no
// strings, improper lists, arity and tag mismatches), exit reasons, a user specialization,
// and the bytes of encode(to_term(v)) against what Erlang's term_to_binary gives.
#include <coproc/detail/etf_writer.hpp>
#include <coproc/link.hpp>
#include <coproc/term.hpp>
#include <coproc/term_codec.hpp>
#include <coproc/term_convert.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <map>
#include <new>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "alloc_hook.hpp"

// ---- allocation count: operator new calls on this thread while armed -----------------

namespace {
thread_local bool t_counting = false;
thread_local std::size_t t_allocations = 0;

}  // namespace

void on_allocation(std::size_t /*n*/) noexcept {
  if (t_counting) ++t_allocations;
}

namespace {

using coproc::atom;
using coproc::exit_reason;
using coproc::from_term;
using coproc::term;
using coproc::to_term;

// The operator new calls f makes.
template <class F>
std::size_t allocations_in(F&& f) {
  t_allocations = 0;
  t_counting = true;
  f();
  t_counting = false;
  return t_allocations;
}

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (const int b : v) s.push_back(static_cast<char>(b));
  return s;
}

term A(const char* name) {
  return term::atom(name);
}

// to_term(v) is expected, and from_term gives v back.
template <class T>
void expect_round_trip(const T& v, const term& expected) {
  const term t = to_term(v);
  EXPECT_EQ(t, expected) << t;
  const std::optional<T> back = from_term<T>(t);
  ASSERT_TRUE(back.has_value()) << t;
  EXPECT_TRUE(*back == v) << t;
}

}  // namespace

// ---- which types convert ----------------------------------------------------------------

namespace {
struct not_mapped {};
}  // namespace

static_assert(coproc::is_term_convertible_v<term>);
static_assert(coproc::is_term_convertible_v<atom<"ok">>);
static_assert(coproc::is_term_convertible_v<bool>);
static_assert(coproc::is_term_convertible_v<char>);
static_assert(coproc::is_term_convertible_v<std::uint64_t>);
static_assert(coproc::is_term_convertible_v<float>);
static_assert(coproc::is_term_convertible_v<std::string>);
static_assert(coproc::is_term_convertible_v<std::vector<std::tuple<atom<"k">, std::string>>>);
static_assert(coproc::is_term_convertible_v<std::pair<int, std::map<std::string, double>>>);
static_assert(coproc::is_term_convertible_v<std::unordered_map<int, std::vector<bool>>>);
static_assert(coproc::is_term_convertible_v<exit_reason>);
static_assert(coproc::is_term_convertible_v<std::tuple<>>);
static_assert(!coproc::is_term_convertible_v<not_mapped>);
static_assert(!coproc::is_term_convertible_v<std::optional<int>>);
static_assert(!coproc::is_term_convertible_v<long double>);
static_assert(!coproc::is_term_convertible_v<const char*>);
static_assert(!coproc::is_term_convertible_v<const int>);
static_assert(!coproc::is_term_convertible_v<std::vector<not_mapped>>);
static_assert(!coproc::is_term_convertible_v<std::tuple<int, not_mapped>>);
static_assert(!coproc::is_term_convertible_v<std::map<not_mapped, int>>);

// ---- scalars ----------------------------------------------------------------------------

TEST(TermConvert, ATermConvertsToItselfAndAnyTermMatches) {
  const term t = term::tuple({A("x"), term::list({1, 2}), term::binary("b")});
  expect_round_trip(t, t);
  EXPECT_EQ(from_term<term>(term::nil()), term::nil());
}

TEST(TermConvert, AnAtomTypeIsThatAtomAndMatchesOnlyIt) {
  expect_round_trip(atom<"ok">{}, A("ok"));
  expect_round_trip(atom<"h\xc3\xa9llo">{}, A("h\xc3\xa9llo"));
  EXPECT_FALSE(from_term<atom<"ok">>(A("error")));
  EXPECT_FALSE(from_term<atom<"ok">>(term::binary("ok")));
  EXPECT_FALSE(from_term<atom<"ok">>(term::string("ok")));
}

TEST(TermConvert, BoolIsTheAtomsTrueAndFalse) {
  expect_round_trip(true, A("true"));
  expect_round_trip(false, A("false"));
  EXPECT_FALSE(from_term<bool>(A("yes")));
  EXPECT_FALSE(from_term<bool>(term(1)));
  EXPECT_FALSE(from_term<bool>(term::nil()));
}

template <class I>
class TermConvertIntegers : public ::testing::Test {};
using integer_types =
    ::testing::Types<char, signed char, unsigned char, short, unsigned short, int, unsigned, long,
                     unsigned long, long long, unsigned long long, wchar_t, char16_t, char32_t>;
TYPED_TEST_SUITE(TermConvertIntegers, integer_types);

TYPED_TEST(TermConvertIntegers, EveryValueOfTheTypeRoundTrips) {
  using I = TypeParam;
  for (const I v : {std::numeric_limits<I>::min(), I{0}, I{1}, std::numeric_limits<I>::max()}) {
    const term t = to_term(v);
    EXPECT_TRUE(t.is_integer()) << t;
    const auto back = from_term<I>(t);
    ASSERT_TRUE(back.has_value()) << t;
    EXPECT_EQ(*back, v);
  }
}

TYPED_TEST(TermConvertIntegers, ValuesJustOutsideTheTypeDoNotWrap) {
  using I = TypeParam;
  using L = std::numeric_limits<I>;
  // One below the minimum and one above the maximum, where a wider integer exists.
  if constexpr (std::is_signed_v<I> && sizeof(I) < 8) {
    EXPECT_FALSE(from_term<I>(term(static_cast<std::int64_t>(L::min()) - 1)));
  }
  if constexpr (std::is_unsigned_v<I>) {
    EXPECT_FALSE(from_term<I>(term(-1)));
  }
  if constexpr (sizeof(I) < 8) {
    EXPECT_FALSE(from_term<I>(term(static_cast<std::int64_t>(L::max()) + 1)));
  }
  EXPECT_FALSE(from_term<I>(term::big(false, std::string(8, '\0') + '\x01')));  // 2^64
  EXPECT_FALSE(from_term<I>(term::big(true, std::string(8, '\xff'))));          // -(2^64-1)
  EXPECT_FALSE(from_term<I>(term(1.0)));
  EXPECT_FALSE(from_term<I>(A("one")));
}

TEST(TermConvert, IntegersOutsideTheTargetRangeAreRejected) {
  EXPECT_FALSE(from_term<std::uint8_t>(term(300)));
  EXPECT_EQ(from_term<std::uint8_t>(term(255)), 255);
  EXPECT_FALSE(from_term<unsigned>(term(-1)));
  EXPECT_FALSE(from_term<std::uint64_t>(term(-1)));
  EXPECT_FALSE(from_term<signed char>(term(128)));
  EXPECT_EQ(from_term<signed char>(term(-128)), -128);
  EXPECT_FALSE(from_term<int>(term(std::int64_t{1} << 31)));
  // A bignum: outside int64 (2^63) and below it (-2^63 - 1).
  EXPECT_FALSE(from_term<std::int64_t>(term(std::uint64_t{1} << 63)));
  EXPECT_FALSE(from_term<std::int64_t>(term::big(true, bytes({1, 0, 0, 0, 0, 0, 0, 0x80}))));
  EXPECT_EQ(from_term<std::int64_t>(term::big(true, bytes({0, 0, 0, 0, 0, 0, 0, 0x80}))),
            std::numeric_limits<std::int64_t>::min());
}

TEST(TermConvert, Uint64AboveInt64MaxComesBackFromItsBignum) {
  const std::uint64_t big = std::numeric_limits<std::uint64_t>::max() - 5;
  const term t = to_term(big);
  EXPECT_TRUE(t.is_bignum());
  EXPECT_EQ(from_term<std::uint64_t>(t), big);
  EXPECT_EQ(from_term<std::uint64_t>(term::big(false, std::string(8, '\xff'))),
            std::numeric_limits<std::uint64_t>::max());
}

TEST(TermConvert, CharTypesAreNumbersNotText) {
  expect_round_trip('a', term(97));
  expect_round_trip(static_cast<unsigned char>(200), term(200));
  expect_round_trip(u'\u00e9', term(0xe9));
  EXPECT_FALSE(from_term<char>(term::binary("a")));
  EXPECT_FALSE(from_term<char>(term::string("a")));
}

TEST(TermConvert, FloatsAndIntegersAreDifferentTerms) {
  expect_round_trip(1.5, term(1.5));
  expect_round_trip(-0.0, term(-0.0));
  expect_round_trip(1e300, term(1e300));
  expect_round_trip(2.5f, term(2.5));
  EXPECT_FALSE(from_term<double>(term(1)));
  EXPECT_FALSE(from_term<float>(term(1)));
  EXPECT_FALSE(from_term<int>(term(1.0)));
  EXPECT_FALSE(from_term<double>(term::big(false, std::string(9, '\x01'))));
  EXPECT_FALSE(from_term<double>(term::binary("1.0")));
}

TEST(TermConvert, AFloatTakesADoubleItsRangeHoldsRounded) {
  EXPECT_EQ(from_term<float>(term(0.1)), 0.1f);
  EXPECT_EQ(from_term<float>(term(1e-60)), 0.0f);  // below float's smallest: rounds to 0
  const double fmax = std::numeric_limits<float>::max();
  EXPECT_EQ(from_term<float>(term(fmax)), std::numeric_limits<float>::max());
  EXPECT_EQ(from_term<float>(term(-fmax)), -std::numeric_limits<float>::max());
  EXPECT_FALSE(from_term<float>(term(1e39)));
  EXPECT_FALSE(from_term<float>(term(-1e300)));
  // Erlang has no infinity, but a hand-built term may hold one: it is a float's value.
  const auto inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(from_term<float>(term(inf)), std::numeric_limits<float>::infinity());
}

// ---- strings ----------------------------------------------------------------------------

TEST(TermConvert, AStringIsABinary) {
  expect_round_trip(std::string("hi"), term::binary("hi"));
  expect_round_trip(std::string(), term::binary(""));
  const std::string raw = bytes({0, 1, 0xff, 0x80, 'z'});
  expect_round_trip(raw, term::binary(raw));
  EXPECT_EQ(to_term("literal"), term::binary("literal"));
  EXPECT_EQ(to_term(std::string_view("view")), term::binary("view"));
}

TEST(TermConvert, AStringAlsoTakesACharlistOfBytesAndNil) {
  EXPECT_EQ(from_term<std::string>(term::string("abc")), "abc");
  EXPECT_EQ(from_term<std::string>(term::list({104, 105})), "hi");
  EXPECT_EQ(from_term<std::string>(term::list({0, 255, 128})), bytes({0, 255, 128}));
  EXPECT_EQ(from_term<std::string>(term::nil()), "");
}

TEST(TermConvert, AListThatIsNoByteStringIsNotAString) {
  EXPECT_FALSE(from_term<std::string>(term::list({104, 256})));
  EXPECT_FALSE(from_term<std::string>(term::list({-1, 104})));
  EXPECT_FALSE(from_term<std::string>(term::list({104, term(105.0)})));
  EXPECT_FALSE(from_term<std::string>(term::list({A("a")})));
  EXPECT_FALSE(from_term<std::string>(term::improper_list({104, 105}, term(106))));
  EXPECT_FALSE(from_term<std::string>(A("abc")));
  EXPECT_FALSE(from_term<std::string>(term(97)));
  // Rejected before anything is allocated, however long the list.
  const term long_list = term::improper_list(std::vector<term>(100, term(65)), term(1));
  const term late_mismatch = [] {
    std::vector<term> e(100, term(65));
    e.back() = term(1000);
    return term::list(std::move(e));
  }();
  std::string out;
  EXPECT_EQ(allocations_in([&] {
              EXPECT_FALSE(from_term(long_list, out));
              EXPECT_FALSE(from_term(late_mismatch, out));
            }),
            0U);
}

// ---- lists, tuples, maps ----------------------------------------------------------------

TEST(TermConvert, AVectorIsAProperList) {
  expect_round_trip(std::vector<int>{1, 2, 3}, term::list({1, 2, 3}));
  expect_round_trip(std::vector<int>{}, term::nil());
  expect_round_trip(std::vector<bool>{true, false}, term::list({A("true"), A("false")}));
  expect_round_trip(std::vector<std::vector<double>>{{1.5}, {}},
                    term::list({term::list({1.5}), term::nil()}));
  EXPECT_FALSE(from_term<std::vector<int>>(term::improper_list({1, 2}, term(3))));
  EXPECT_FALSE(from_term<std::vector<int>>(term::list({1, A("two")})));
  EXPECT_FALSE(from_term<std::vector<int>>(term::tuple({1, 2})));
}

TEST(TermConvert, AByteVectorIsAListNotABinary) {
  expect_round_trip(std::vector<std::uint8_t>{1, 255}, term::list({1, 255}));
  EXPECT_FALSE(from_term<std::vector<std::uint8_t>>(term::binary("ab")));
  EXPECT_EQ(from_term<std::vector<std::uint8_t>>(term::string("ab")),
            (std::vector<std::uint8_t>{'a', 'b'}));
}

TEST(TermConvert, TuplesAndPairsAreTuplesOfTheSameArity) {
  expect_round_trip(std::tuple{1, std::string("x"), 2.5}, term::tuple({1, term::binary("x"), 2.5}));
  expect_round_trip(std::tuple<>{}, term::tuple({}));
  expect_round_trip(std::pair{atom<"k">{}, -7}, term::tuple({A("k"), -7}));
  using two = std::tuple<int, int>;
  EXPECT_FALSE(from_term<two>(term::tuple({1})));
  EXPECT_FALSE(from_term<two>(term::tuple({1, 2, 3})));
  EXPECT_FALSE(from_term<two>(term::list({1, 2})));
  EXPECT_FALSE(from_term<two>(term::tuple({1, term(2.0)})));
  EXPECT_FALSE((from_term<std::pair<int, int>>(term::tuple({1, 2, 3}))));
}

TEST(TermConvert, AMessageTupleIsMatchedByItsAtomsBeforeAnythingIsConverted) {
  using clause = std::tuple<std::string, atom<"ok">, std::vector<int>>;
  const std::string long_text(100, 'x');  // beyond the small-string buffer
  const term wrong_tag = term::tuple({term::binary(long_text), A("error"), term::list({1, 2})});
  const term wrong_arity = term::tuple({term::binary(long_text), A("ok")});
  const term right = term::tuple({term::binary(long_text), A("ok"), term::list({1, 2})});
  clause out;
  EXPECT_EQ(allocations_in([&] {
              EXPECT_FALSE(from_term(wrong_tag, out));
              EXPECT_FALSE(from_term(wrong_arity, out));
              EXPECT_FALSE(from_term(term::binary(""), out));
            }),
            0U);
  EXPECT_TRUE(std::get<0>(out).empty());
  ASSERT_TRUE(from_term(right, out));
  EXPECT_EQ(std::get<0>(out), long_text);
  EXPECT_EQ(std::get<2>(out), (std::vector<int>{1, 2}));
}

TEST(TermConvert, ATermNoLongerNeededGivesItsBinariesAwayWithoutACopy) {
  const std::string big(1 << 20, 'b');
  term t = term::tuple({A("echo"), term::binary(big), term::list({term::binary(big)})});
  const char* first = t[1].as_binary().data();
  const char* nested = t[2][0].as_binary().data();
  using message = std::tuple<atom<"echo">, std::string, std::vector<std::string>>;
  const std::optional<message> v = from_term<message>(std::move(t));
  ASSERT_TRUE(v);
  EXPECT_EQ(std::get<1>(*v), big);
  EXPECT_EQ(std::get<1>(*v).data(), first);  // the same bytes, moved
  ASSERT_EQ(std::get<2>(*v).size(), 1U);
  EXPECT_EQ(std::get<2>(*v)[0].data(), nested);
  // What has no bytes to give (a charlist) converts as from a const term.
  std::string s;
  EXPECT_TRUE(from_term(term::string("abc"), s));
  EXPECT_EQ(s, "abc");
  EXPECT_FALSE(from_term(term::list({300}), s));
  // A mismatch found late leaves the term's binaries where they were.
  term wrong = term::tuple({A("echo"), term::binary(big), term::atom("not a list")});
  EXPECT_FALSE(from_term<message>(std::move(wrong)));
}

TEST(TermConvert, ConvertsToAnswersAsFromTermWithoutBuildingTheValue) {
  const std::string long_text(1 << 16, 'x');
  const std::vector<term> terms = {
      term::binary(long_text),
      term::nil(),
      term::string("abc"),
      term::list({1, 256}),
      term::list({term::binary(long_text), term::binary("y")}),
      term::improper_list({1}, 2),
      A("ok"),
      term::tuple({A("ok"), term::binary(long_text), term::list({1, 2})}),
      term::tuple({A("error"), term::binary(long_text), term::list({1, 2})}),
      term::tuple({A("ok"), 7, term::list({1, 2})}),
      term::tuple({A("ok"), term::binary(long_text)}),
  };
  using tagged = std::tuple<atom<"ok">, std::string, std::vector<int>>;
  for (const term& t : terms) {
    EXPECT_EQ(converts_to<std::string>(t), from_term<std::string>(t).has_value()) << t;
    EXPECT_EQ(converts_to<std::vector<std::string>>(t),
              from_term<std::vector<std::string>>(t).has_value())
        << t;
    EXPECT_EQ(converts_to<tagged>(t), from_term<tagged>(t).has_value()) << t;
    EXPECT_EQ(converts_to<term>(t), true) << t;
    EXPECT_EQ(allocations_in([&] {
                (void)converts_to<std::string>(t);
                (void)converts_to<std::vector<std::string>>(t);
                (void)converts_to<tagged>(t);
                (void)converts_to<term>(t);
              }),
              0U)
        << t;
  }
}

TEST(TermConvert, AListOfTaggedPairsNests) {
  using entry = std::tuple<atom<"k">, std::string>;
  const std::vector<entry> v{entry{atom<"k">{}, "a"}, entry{atom<"k">{}, "bc"}};
  expect_round_trip(v, term::list({term::tuple({A("k"), term::binary("a")}),
                                   term::tuple({A("k"), term::binary("bc")})}));
  // Erlang would send [{k, "a"}]: the charlist form matches too.
  const auto from_erlang =
      from_term<std::vector<entry>>(term::list({term::tuple({A("k"), term::string("a")})}));
  ASSERT_TRUE(from_erlang.has_value());
  EXPECT_EQ(std::get<1>(from_erlang->at(0)), "a");
  EXPECT_FALSE(from_term<std::vector<entry>>(
      term::list({term::tuple({A("k"), term::binary("a")}), term::tuple({A("j"), term::nil()})})));
}

TEST(TermConvert, MapsRoundTrip) {
  const std::map<std::string, int> m{{"a", 1}, {"b", 2}};
  expect_round_trip(m, term::map({{term::binary("b"), 2}, {term::binary("a"), 1}}));
  const std::unordered_map<int, std::vector<int>> u{{1, {}}, {2, {3, 4}}};
  expect_round_trip(u, term::map({{1, term::nil()}, {2, term::list({3, 4})}}));
  expect_round_trip(std::map<int, int>{}, term::map({}));
}

TEST(TermConvert, AMapWhoseKeysOrValuesDoNotConvertDoesNotMatch) {
  using M = std::map<std::string, int>;
  EXPECT_FALSE(from_term<M>(term::map({{A("a"), 1}})));
  EXPECT_FALSE(from_term<M>(term::map({{term::binary("a"), 1}, {term::binary("b"), 1.5}})));
  EXPECT_FALSE(from_term<M>(term::list({term::tuple({term::binary("a"), 1})})));
  // <<"a">> and "a" are distinct Erlang keys but one std::string: neither value is dropped.
  EXPECT_FALSE(from_term<M>(term::map({{term::binary("a"), 1}, {term::string("a"), 2}})));
}

// ---- exit reasons -----------------------------------------------------------------------

TEST(TermConvert, ExitReasonKindsAreAtoms) {
  expect_round_trip(exit_reason::normal(), A("normal"));
  expect_round_trip(exit_reason::shutdown(), A("shutdown"));
  expect_round_trip(exit_reason::kill(), A("kill"));
  expect_round_trip(exit_reason::killed(), A("killed"));
  expect_round_trip(exit_reason::noproc(), A("noproc"));
  expect_round_trip(exit_reason(atom<"bad_input">{}), A("bad_input"));
}

TEST(TermConvert, AnExceptionIsATupleWithItsText) {
  expect_round_trip(exit_reason::exception("boom"),
                    term::tuple({A("exception"), term::binary("boom")}));
}

TEST(TermConvert, AUserReasonIsAnAtomWhenItCanBeOneElseABinary) {
  expect_round_trip(exit_reason::user("timeout"), A("timeout"));
  const std::string longest(255, 'z');
  expect_round_trip(exit_reason::user(longest), term::atom(longest));
  std::string accents;  // 255 characters in 510 bytes
  for (int i = 0; i < 255; ++i) accents += "\xc3\xa9";
  expect_round_trip(exit_reason::user(accents), term::atom(accents));
  const std::string too_long(256, 'z');
  expect_round_trip(exit_reason::user(too_long), term::binary(too_long));
  expect_round_trip(exit_reason::user("\xff"), term::binary("\xff"));
  expect_round_trip(exit_reason::user("\xed\xa0\x80"), term::binary("\xed\xa0\x80"));  // surrogate
  // Erlang cannot tell user("normal") from normal: it comes back as the kind.
  EXPECT_EQ(from_term<exit_reason>(to_term(exit_reason::user("normal"))), exit_reason::normal());
}

TEST(TermConvert, AnyTermIsAnExitReason) {
  EXPECT_EQ(from_term<exit_reason>(A("killed")), exit_reason::killed());
  EXPECT_EQ(from_term<exit_reason>(A("whatever")), exit_reason::user("whatever"));
  EXPECT_EQ(from_term<exit_reason>(term::binary("text")), exit_reason::user("text"));
  // Any other term is a structured reason holding it, and goes back as that term.
  const term badarg = term::tuple({A("badarg"), 1});
  EXPECT_EQ(from_term<exit_reason>(badarg), exit_reason(badarg));
  EXPECT_EQ(from_term<exit_reason>(badarg)->to_string(), "{badarg,1}");
  expect_round_trip(exit_reason(badarg), badarg);
  // {exception, Text} with a text that is no binary is some other reason.
  const term odd = term::tuple({A("exception"), term::string("x")});
  EXPECT_EQ(from_term<exit_reason>(odd), exit_reason(odd));
  EXPECT_EQ(from_term<exit_reason>(odd)->what(), exit_reason::kind::structured);
}

// ---- a user type ------------------------------------------------------------------------

namespace {
struct point {
  int x = 0;
  int y = 0;
  friend bool operator==(const point&, const point&) = default;
};
}  // namespace

// point <-> {point, X, Y}
template <>
struct coproc::term_traits<point> {
  static term to_term(const point& p) { return term::tuple({term::atom("point"), p.x, p.y}); }
  static bool from_term(const term& t, point& p) {
    return t.is_tuple(3) && t[0].is_atom("point") && coproc::from_term(t[1], p.x) &&
           coproc::from_term(t[2], p.y);
  }
};

static_assert(coproc::is_term_convertible_v<point>);
static_assert(coproc::is_term_convertible_v<std::vector<point>>);

TEST(TermConvert, AUserSpecializationComposesWithTheStandardOnes) {
  expect_round_trip(point{3, -4}, term::tuple({A("point"), 3, -4}));
  expect_round_trip(std::map<std::string, point>{{"o", {}}},
                    term::map({{term::binary("o"), term::tuple({A("point"), 0, 0})}}));
  EXPECT_FALSE(from_term<point>(term::tuple({A("point"), 3, 4.0})));
  EXPECT_FALSE(from_term<point>(term::tuple({A("pixel"), 3, 4})));
}

// ---- the bytes Erlang reads -------------------------------------------------------------

// Expected bytes from OTP: term_to_binary(T, [{minor_version, 2}]) (OTP 26's default).
TEST(TermConvert, EncodedBytesEqualErlangsTermToBinary) {
  // {ok, <<"hi">>, [1,2]}
  EXPECT_EQ(coproc::encode(to_term(std::tuple{coproc::ok, std::string("hi"), std::vector{1, 2}})),
            bytes({131, 104, 3, 119, 2, 111, 107, 109, 0, 0, 0, 2, 104, 105, 107, 0, 2, 1, 2}));
  // [{a, <<"x">>}, {b, <<"yz">>}]
  EXPECT_EQ(coproc::encode(
                to_term(std::vector<std::tuple<term, std::string>>{{A("a"), "x"}, {A("b"), "yz"}})),
            bytes({131, 108, 0,   0, 0,   2, 104, 2,   119, 1, 97, 109, 0,   0,   0,
                   1,   120, 104, 2, 119, 1, 98,  109, 0,   0, 0,  2,   121, 122, 106}));
  // #{<<"a">> => 1}
  EXPECT_EQ(coproc::encode(to_term(std::map<std::string, int>{{"a", 1}})),
            bytes({131, 116, 0, 0, 0, 1, 109, 0, 0, 0, 1, 97, 97, 1}));
  // {exception, <<"boom">>}
  EXPECT_EQ(coproc::encode(to_term(exit_reason::exception("boom"))),
            bytes({131, 104, 2,   119, 9, 101, 120, 99, 101, 112, 116, 105,
                   111, 110, 109, 0,   0, 0,   4,   98, 111, 111, 109}));
  // {-1, 300, 4294967296, 18446744073709551615, 2.5, true}
  EXPECT_EQ(
      coproc::encode(to_term(std::tuple{-1, std::uint16_t{300}, std::int64_t{1} << 32,
                                        std::numeric_limits<std::uint64_t>::max(), 2.5f, true})),
      bytes({131, 104, 6, 98, 255, 255, 255, 255, 98,  0,   0,   1,   44,  110, 5,   0,
             0,   0,   0, 0,  1,   110, 8,   0,   255, 255, 255, 255, 255, 255, 255, 255,
             70,  64,  4, 0,  0,   0,   0,   0,   0,   119, 4,   116, 114, 117, 101}));
  // [] and {}
  EXPECT_EQ(coproc::encode(to_term(std::vector<int>{})), bytes({131, 106}));
  EXPECT_EQ(coproc::encode(to_term(std::tuple<>{})), bytes({131, 104, 0}));
}

// ---- the direct writer used for messages to other nodes -------------------------------

// What etf::value writes decodes to exactly the term to_term gives.
template <class T>
void expect_direct_matches(const T& v) {
  std::string direct(1, static_cast<char>(131));
  coproc::detail::etf::value(direct, v);
  EXPECT_EQ(coproc::decode(direct), to_term(v)) << to_term(v).to_string();
}

TEST(TermConvert, DirectEncodingDecodesToTheSameTerm) {
  expect_direct_matches(coproc::ok);
  expect_direct_matches(true);
  for (std::int64_t i :
       {std::int64_t{0}, std::int64_t{255}, std::int64_t{256}, std::int64_t{-1},
        std::int64_t{INT32_MAX}, std::int64_t{INT32_MIN}, std::int64_t{INT32_MAX} + 1,
        std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}) {
    expect_direct_matches(i);
  }
  expect_direct_matches(std::numeric_limits<std::uint64_t>::max());
  expect_direct_matches(std::uint8_t{200});
  expect_direct_matches(2.5);
  expect_direct_matches(-0.0);
  expect_direct_matches(1.5f);
  expect_direct_matches(std::string("bytes\0and more", 14));
  expect_direct_matches(std::string());
  expect_direct_matches(std::vector<int>{});
  expect_direct_matches(std::vector<int>{1, 2, 300, -4});
  expect_direct_matches(std::vector<std::string>{"a", "bc"});
  expect_direct_matches(std::tuple{coproc::ok, std::string("hi"), std::vector{1, 2}});
  expect_direct_matches(std::tuple<>{});
  expect_direct_matches(std::pair{1, std::string("x")});
  expect_direct_matches(std::map<std::string, int>{{"a", 1}, {"b", 2}});  // via to_term
  expect_direct_matches(exit_reason::exception("boom"));
  expect_direct_matches(term::tuple({term::atom("x"), term::list({1, 2}), term::binary("b")}));
  expect_direct_matches(coproc::pid{});  // no node started: nonode@nohost
  expect_direct_matches(coproc::monitor_ref{42});
  std::string too_big(1, static_cast<char>(131));
  EXPECT_THROW(coproc::detail::etf::value(too_big, std::nan("")), coproc::term_encode_error);
}
