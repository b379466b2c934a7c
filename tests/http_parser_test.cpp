// The strict HTTP/1.1 request parser: good requests, every class of bad input, limits.
#include <gtest/gtest.h>

#include <coproc/http.hpp>
#include <string>

using namespace coproc;

namespace {
http_status status_of(const std::string& raw, http_limits limits = {}) {
  return http_parser(limits).parse(raw).status;
}
}  // namespace

TEST(HttpParser, ParsesASimpleGetWithHeaders) {
  const std::string raw = "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Thing:  v  \r\n\r\n";
  auto r = http_parser().parse(raw);
  ASSERT_EQ(r.status, http_status::complete);
  EXPECT_EQ(r.consumed, raw.size());
  EXPECT_EQ(r.request.method, "GET");
  EXPECT_EQ(r.request.target, "/a?b=1");
  ASSERT_NE(r.request.header("x-thing"), nullptr);
  EXPECT_EQ(*r.request.header("x-thing"), "v");
  EXPECT_TRUE(r.request.keep_alive);
}

TEST(HttpParser, ReportsIncompleteUntilTheHeaderSectionAndBodyAreIn) {
  const std::string raw = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  for (std::size_t n = 0; n < raw.size(); ++n) {
    EXPECT_EQ(status_of(raw.substr(0, n)), http_status::incomplete) << n;
  }
  auto r = http_parser().parse(raw);
  ASSERT_EQ(r.status, http_status::complete);
  EXPECT_EQ(r.request.body, "hello");
}

TEST(HttpParser, ReturnsTheFirstOfPipelinedRequestsAndHowMuchItUsed) {
  const std::string one = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string two = "GET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  auto r = http_parser().parse(one + two);
  ASSERT_EQ(r.status, http_status::complete);
  EXPECT_EQ(r.consumed, one.size());
  auto r2 = http_parser().parse(two);
  ASSERT_EQ(r2.status, http_status::complete);
  EXPECT_EQ(r2.request.target, "/2");
  EXPECT_FALSE(r2.request.keep_alive);
}

TEST(HttpParser, Http10ClosesUnlessKeepAliveIsAsked) {
  EXPECT_FALSE(http_parser().parse("GET / HTTP/1.0\r\n\r\n").request.keep_alive);
  EXPECT_TRUE(
      http_parser().parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").request.keep_alive);
}

TEST(HttpParser, MalformedRequestsAreBadRequests) {
  for (const char* raw : {
           "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",        // two spaces
           "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",   // extra token
           "GET nope HTTP/1.1\r\nHost: x\r\n\r\n",      // target form
           "GET / HTTX/1.1\r\nHost: x\r\n\r\n",         // protocol
           "GET / HTTP/1.1\r\nHost x\r\n\r\n",          // no colon
           "GET / HTTP/1.1\r\n: v\r\nHost: x\r\n\r\n",  // empty name
           "GET / HTTP/1.1\r\nBad Name: v\r\nHost: x\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",  // obsolete folding
           "GET / HTTP/1.1\nHost: x\n\n",                   // bare LF
           "GET / HTTP/1.1\r\n\r\n",                        // HTTP/1.1 without Host
           "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
           "GE\x01T / HTTP/1.1\r\nHost: x\r\n\r\n",
       }) {
    EXPECT_EQ(status_of(raw), http_status::bad_request) << raw;
  }
}

TEST(HttpParser, UnknownMethodsAndTransferCodingsAreNotImplemented) {
  EXPECT_EQ(status_of("BREW / HTTP/1.1\r\nHost: x\r\n\r\n"), http_status::not_implemented);
  EXPECT_EQ(status_of("get / HTTP/1.1\r\nHost: x\r\n\r\n"), http_status::not_implemented);
  // Chunked is parsed now (see the Chunked tests); any other coding is still 501.
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"),
            http_status::not_implemented);
  EXPECT_EQ(status_of("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), http_status::version_not_supported);
}

TEST(HttpParser, LimitsGive414And431And413WithoutReadingFurther) {
  http_limits l;
  l.max_request_line = 64;
  l.max_header_bytes = 256;
  l.max_headers = 4;
  l.max_body = 10;
  // A request line that never ends is refused as soon as it passes the limit.
  EXPECT_EQ(status_of("GET /" + std::string(100, 'a'), l), http_status::uri_too_long);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(300, 'v'), l),
            http_status::header_fields_too_large);
  std::string many = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 5; ++i) many += "H" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(status_of(many + "\r\n", l), http_status::header_fields_too_large);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", l),
            http_status::payload_too_large);
  EXPECT_EQ(
      status_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", l),
      http_status::payload_too_large);
}

TEST(HttpParser, TruncatedInputIsNeverAnErrorOnlyIncomplete) {
  const std::string raw = "PUT /x HTTP/1.1\r\nHost: example\r\nContent-Length: 3\r\n\r\nabc";
  for (std::size_t n = 0; n < raw.size(); ++n) {
    const auto s = status_of(raw.substr(0, n));
    EXPECT_EQ(s, http_status::incomplete) << "prefix of " << n << " bytes";
  }
}

namespace {
const char* const kHead = "POST /up HTTP/1.1\r\nHost: x\r\n";

std::string chunked(const std::string& chunks) {
  return std::string(kHead) + "Transfer-Encoding: chunked\r\n\r\n" + chunks;
}
}  // namespace

// ---- Host (RFC 9112 §3.2) ----

TEST(HttpParser, HostIsRecordedAsSent) {
  auto r = http_parser().parse("GET / HTTP/1.1\r\nHost: Example.com:8080\r\n\r\n");
  ASSERT_EQ(r.status, http_status::complete);
  EXPECT_EQ(r.request.host, "Example.com:8080");
  ASSERT_NE(r.request.header("host"), nullptr);
  EXPECT_EQ(*r.request.header("host"), "Example.com:8080");
  // HTTP/1.0 may leave Host out.
  auto r10 = http_parser().parse("GET / HTTP/1.0\r\n\r\n");
  ASSERT_EQ(r10.status, http_status::complete);
  EXPECT_EQ(r10.request.host, "");
}

TEST(HttpParser, TwoHostLinesAreABadRequestInAnyVersion) {
  // RFC 9112 §3.2: "more than one Host header field line" -> 400.
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), http_status::bad_request);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: y\r\nhost: b\r\n\r\n"),
            http_status::bad_request);
  EXPECT_EQ(status_of("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), http_status::bad_request);
}

TEST(HttpParser, ValidHostValuesAreAccepted) {
  for (const char* host : {
           "example.com", "example.com:80", "EXAMPLE.com:", "127.0.0.1", "127.0.0.1:8080", "[::1]",
           "[::1]:443", "[2001:db8::7]", "[2001:db8:0:0:0:0:0:7]", "[::ffff:192.0.2.1]:80",
           "[v1.fe80::a+en1]", "xn--bcher-kva.example",
           "a%2Db.example",  // pct-encoded
           "a!$&'()*+,;=b",  // sub-delims
           "under_score~tilde",
           "",     // RFC 9112 §3.2: empty when the target URI has no authority
           ":80",  // uri-host may be an empty reg-name
       }) {
    const std::string raw = "GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n";
    auto r = http_parser().parse(raw);
    EXPECT_EQ(r.status, http_status::complete) << host;
    EXPECT_EQ(r.request.host, host);
  }
}

TEST(HttpParser, InvalidHostValuesAreBadRequests) {
  for (const char* host : {
           "exa mple.com",
           "example.com/",
           "user@example.com",
           "example.com?",
           "example.com#",
           "ex%zzample",
           "ex%4",
           "example.com%",
           "example.com:8o",
           "example.com:80:81",
           "example.com:-1",
           "[::1",
           "::1",
           "[::1]x",
           "[::1]:x",
           "[1:2:3:4:5:6:7:8:9]",
           "[1:2:3:4:5:6:7]",
           "[1::2::3]",
           "[12345::]",
           "[::1.2.3.256]",
           "[::01.2.3.4]",
           "[g::]",
           "[v.x]",
           "[vz.x]",
           "[]",
           "a\"b",
           "a<b",
           "a\\b",
           "a{b",
           "a|b",
       }) {
    const std::string raw = "GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n";
    EXPECT_EQ(status_of(raw), http_status::bad_request) << host;
  }
  // An invalid Host is refused in HTTP/1.0 too (RFC 9112 §3.2: "any request message").
  EXPECT_EQ(status_of("GET / HTTP/1.0\r\nHost: a b\r\n\r\n"), http_status::bad_request);
}

// ---- request-target forms (RFC 9112 §3.2) ----

TEST(HttpParser, AbsoluteFormGivesTheOriginFormAndTheAuthorityAsHost) {
  auto r = http_parser().parse(
      "GET http://Example.com:8080/path?q HTTP/1.1\r\nHost: other.example\r\n\r\n");
  ASSERT_EQ(r.status, http_status::complete);
  EXPECT_EQ(r.request.target, "/path?q");
  // RFC 9112 §3.2.2: the server MUST ignore the Host header and use the target's authority.
  EXPECT_EQ(r.request.host, "Example.com:8080");
  ASSERT_NE(r.request.header("host"), nullptr);
  EXPECT_EQ(*r.request.header("host"), "Example.com:8080");
  std::size_t host_entries = 0;
  for (const auto& [k, v] : r.request.headers) host_entries += k == "host" ? 1 : 0;
  EXPECT_EQ(host_entries, 1U);
}

TEST(HttpParser, AbsoluteFormSchemesAndEmptyPaths) {
  struct Case {
    const char* target;
    const char* origin;
    const char* host;
  };
  for (const Case& c : {
           Case{"http://a", "/", "a"},
           Case{"HTTPS://a:443", "/", "a:443"},
           Case{"hTtP://a?x=1", "/?x=1", "a"},  // RFC 9112 §3.2.1: "/" for an empty path
           Case{"http://[::1]:8/p/q", "/p/q", "[::1]:8"},
           Case{"http://a/", "/", "a"},
       }) {
    auto r = http_parser().parse("GET " + std::string(c.target) + " HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_EQ(r.status, http_status::complete) << c.target;
    EXPECT_EQ(r.request.target, c.origin) << c.target;
    EXPECT_EQ(r.request.host, c.host) << c.target;
  }
  // HTTP/1.0 needs no Host header; the host comes from the target.
  auto r = http_parser().parse("GET http://b.example/x HTTP/1.0\r\n\r\n");
  ASSERT_EQ(r.status, http_status::complete);
  EXPECT_EQ(r.request.host, "b.example");
  EXPECT_EQ(r.request.target, "/x");
}

TEST(HttpParser, AbsoluteFormStillNeedsOneValidHostHeaderInHttp11) {
  // RFC 9112 §3.2: a 1.1 request without Host is 400 whatever its target.
  EXPECT_EQ(status_of("GET http://a/ HTTP/1.1\r\n\r\n"), http_status::bad_request);
  EXPECT_EQ(status_of("GET http://a/ HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
            http_status::bad_request);
  EXPECT_EQ(status_of("GET http://a/ HTTP/1.1\r\nHost: a b\r\n\r\n"), http_status::bad_request);
}

TEST(HttpParser, BadAbsoluteFormTargetsAreBadRequests) {
  for (const char* target : {
           "ftp://a/",
           "htp://a/",
           "http:/a/",
           "http//a/",
           "://a/",
           "http://",  // RFC 9110 §4.2.1: an empty host is invalid
           "http:///p",
           "http://:80/",
           "http://u@a/",  // RFC 9110 §4.2.4: no userinfo
           "http://a:x/",
           "http://a%zz/",
           "http://[::1/",
           "http://a/#frag",  // no fragment
           "http://a#",
           "a.example:80",  // authority-form is for CONNECT, not served
           "mailto:x",
       }) {
    EXPECT_EQ(status_of("GET " + std::string(target) + " HTTP/1.1\r\nHost: a\r\n\r\n"),
              http_status::bad_request)
        << target;
  }
}

TEST(HttpParser, AsteriskFormIsForOptionsOnly) {
  auto r = http_parser().parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(r.status, http_status::complete);
  EXPECT_EQ(r.request.target, "*");
  EXPECT_EQ(status_of("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), http_status::bad_request);
  EXPECT_EQ(status_of("POST * HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"),
            http_status::bad_request);
  EXPECT_EQ(status_of("OPTIONS ** HTTP/1.1\r\nHost: a\r\n\r\n"), http_status::bad_request);
}

// ---- Connection (RFC 9112 §9.3, RFC 9110 §7.6.1) ----

TEST(HttpParser, ConnectionCloseTokenAnywhereCloses) {
  auto keep = [](const std::string& raw) {
    auto r = http_parser().parse(raw);
    EXPECT_EQ(r.status, http_status::complete) << raw;
    return r.request.keep_alive;
  };
  EXPECT_FALSE(keep("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.1\r\nHost: x\r\nConnection: close, keep-alive\r\n\r\n"));
  EXPECT_FALSE(
      keep("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_FALSE(
      keep("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nConnection: CLOSE\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade,,  Close \r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nConnection: close\r\n\r\n"));
}

TEST(HttpParser, ConnectionOptionsAreTokensNotSubstrings) {
  auto keep = [](const std::string& raw) {
    auto r = http_parser().parse(raw);
    EXPECT_EQ(r.status, http_status::complete) << raw;
    return r.request.keep_alive;
  };
  EXPECT_TRUE(keep("GET / HTTP/1.1\r\nHost: x\r\nConnection: closed\r\n\r\n"));
  EXPECT_TRUE(keep("GET / HTTP/1.1\r\nHost: x\r\nConnection: xclose\r\n\r\n"));
  EXPECT_TRUE(keep("GET / HTTP/1.1\r\nHost: x\r\nConnection: close-ish, upgrade\r\n\r\n"));
  EXPECT_TRUE(keep("GET / HTTP/1.0\r\nConnection: KEEP-ALIVE\r\n\r\n"));
  EXPECT_TRUE(keep("GET / HTTP/1.0\r\nConnection: upgrade, keep-alive\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.0\r\nConnection: keep-alives\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.0\r\nConnection: not-keep-alive\r\n\r\n"));
}

// ---- Expect: 100-continue (RFC 9110 §10.1.1) ----

TEST(HttpParser, ExpectContinueIsSetOnceTheHeadersAreInAndTheBodyIsNot) {
  const std::string head =
      "PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n";
  const std::string raw = head + "hello";
  for (std::size_t n = 0; n < raw.size(); ++n) {
    auto r = http_parser().parse(raw.substr(0, n));
    ASSERT_EQ(r.status, http_status::incomplete) << n;
    EXPECT_EQ(r.expect_continue, n >= head.size()) << n;
    if (n >= head.size()) {
      EXPECT_EQ(r.request.method, "PUT");
      EXPECT_EQ(r.request.target, "/f");
    }
  }
  auto r = http_parser().parse(raw);
  ASSERT_EQ(r.status, http_status::complete);
  EXPECT_FALSE(r.expect_continue);
  EXPECT_EQ(r.request.body, "hello");
}

TEST(HttpParser, ExpectContinueForChunkedBodiesAndInAList) {
  const std::string head =
      "POST / HTTP/1.1\r\nHost: x\r\nExpect: foo, 100-continue\r\nTransfer-Encoding: chunked\r\n"
      "\r\n";
  EXPECT_TRUE(http_parser().parse(head).expect_continue);
  EXPECT_TRUE(http_parser().parse(head + "5\r\nab").expect_continue);
  auto r = http_parser().parse(head + "5\r\nabcde\r\n0\r\n\r\n");
  ASSERT_EQ(r.status, http_status::complete);
  EXPECT_FALSE(r.expect_continue);
}

TEST(HttpParser, ExpectContinueIsNotSetWhenThereIsNothingToWaitFor) {
  auto expect = [](const std::string& raw) { return http_parser().parse(raw).expect_continue; };
  // No body, or an empty one: the request is complete at once.
  EXPECT_FALSE(expect("GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n"));
  EXPECT_FALSE(
      expect("PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n"));
  // The header section is not all in yet.
  EXPECT_FALSE(
      expect("PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n"));
  // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request MUST be ignored.
  EXPECT_FALSE(expect("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
  // Not that token.
  EXPECT_FALSE(
      expect("PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continues\r\nContent-Length: 3\r\n\r\n"));
  EXPECT_FALSE(expect("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n"));
  // An invalid header section is an error, not a reason to continue.
  EXPECT_FALSE(
      expect("PUT / HTTP/1.1\r\nHost: a b\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
}

TEST(HttpParser, ExpectContinueWithATooLargeBodyIs413AtOnce) {
  http_limits l;
  l.max_body = 10;
  auto r = http_parser(l).parse(
      "PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n");
  EXPECT_EQ(r.status, http_status::payload_too_large);
  EXPECT_FALSE(r.expect_continue);
}

// ---- Chunked request bodies (RFC 9112 §7.1) ----

TEST(HttpParser, DecodesAChunkedBody) {
  const std::string raw =
      chunked("5\r\nhello\r\n1;name=value;flag\r\n \r\nA\r\n0123456789\r\n0\r\n\r\n");
  auto r = http_parser().parse(raw + "GET /next HTTP/1.1\r\n");
  ASSERT_EQ(r.status, http_status::complete);
  EXPECT_EQ(r.request.body, "hello 0123456789");
  EXPECT_EQ(r.consumed, raw.size());
  EXPECT_TRUE(r.request.keep_alive);
  // An empty chunked body is just the last chunk.
  auto e = http_parser().parse(chunked("0\r\n\r\n"));
  ASSERT_EQ(e.status, http_status::complete);
  EXPECT_EQ(e.request.body, "");
}

TEST(HttpParser, ChunkedCodingIsCaseInsensitiveAndMaySpanLines) {
  for (const char* te : {
           "Transfer-Encoding: CHUNKED\r\n",
           "Transfer-Encoding: Chunked \r\n",
           "Transfer-Encoding: ,chunked\r\n",  // RFC 9110 §5.6.1: empty elements are ignored
           "transfer-encoding: chunked\r\nTransfer-Encoding:\r\n",
       }) {
    auto r = http_parser().parse(std::string(kHead) + te + "\r\n3\r\nabc\r\n0\r\n\r\n");
    ASSERT_EQ(r.status, http_status::complete) << te;
    EXPECT_EQ(r.request.body, "abc") << te;
  }
}

TEST(HttpParser, ChunkExtensionsAreCheckedAndIgnored) {
  for (const char* size_line : {
           "3;a", "3;a=b", "3 ; a = b", "3\t;a=\"quoted; \\\"value\\\"\"", "3;a;b=c;d=\"\"",
           "003;x=y",  // leading zeros are hex digits
       }) {
    auto r = http_parser().parse(chunked(std::string(size_line) + "\r\nabc\r\n0;end\r\n\r\n"));
    ASSERT_EQ(r.status, http_status::complete) << size_line;
    EXPECT_EQ(r.request.body, "abc") << size_line;
  }
  for (const char* size_line : {
           "3;",
           "3;=b",
           "3;a=",
           "3;a=\"open",
           "3;a=b c",
           "3 ",
           "3;a ",
           "3,a",
           "3;a=\"\x01\"",
           "3;a@=b",
       }) {
    EXPECT_EQ(status_of(chunked(std::string(size_line) + "\r\nabc\r\n0\r\n\r\n")),
              http_status::bad_request)
        << size_line;
  }
}

TEST(HttpParser, TrailersAreCheckedAndDiscarded) {
  auto r = http_parser().parse(chunked("3\r\nabc\r\n0\r\nX-Sum: 1\r\nContent-Length: 99\r\n\r\n"));
  ASSERT_EQ(r.status, http_status::complete);
  EXPECT_EQ(r.request.body, "abc");
  EXPECT_EQ(r.request.header("x-sum"), nullptr);  // RFC 9112 §7.1.2: not merged into headers
  EXPECT_EQ(r.request.header("content-length"), nullptr);
  for (const char* trailer :
       {"Bad Name: v\r\n", ": v\r\n", "NoColon\r\n", "X: a\x01\r\n", " folded\r\n", "X: v\n"}) {
    EXPECT_EQ(status_of(chunked("0\r\n" + std::string(trailer) + "\r\n")), http_status::bad_request)
        << trailer;
  }
}

TEST(HttpParser, BadChunkSizesAreBadRequests) {
  for (const char* chunks : {
           "\r\nabc\r\n0\r\n\r\n",     // empty size
           "g\r\nabc\r\n0\r\n\r\n",    // not hex
           "0x3\r\nabc\r\n0\r\n\r\n",  // no 0x prefix in HTTP
           "+3\r\nabc\r\n0\r\n\r\n",   // a sign
           "-3\r\nabc\r\n0\r\n\r\n",   //
           " 3\r\nabc\r\n0\r\n\r\n",   // space before the size
           "3\nabc\r\n0\r\n\r\n",      // bare LF
           "3\rabc\r\n0\r\n\r\n",      // bare CR
           "3\r\nabcd\r\n0\r\n\r\n",   // data longer than its size
           "3\r\nabc0\r\n\r\n",        // no CRLF after the data
           "3\r\nabc\n0\r\n\r\n",      //
           "3\r\nabc\r\n0\r\n\n",      // bare LF at the end
       }) {
    EXPECT_EQ(status_of(chunked(chunks)), http_status::bad_request) << chunks;
  }
  // A chunk-size line (extensions included) is bounded at 4 KiB.
  EXPECT_EQ(status_of(chunked("3;a=" + std::string(5000, 'b'))), http_status::bad_request);
  EXPECT_EQ(status_of(chunked("3;a=" + std::string(4000, 'b') + "\r\nabc\r\n0\r\n\r\n")),
            http_status::complete);
}

TEST(HttpParser, BadDataCrlfIsSeenBeforeTheRestArrives) {
  EXPECT_EQ(status_of(chunked("3\r\nabcX")), http_status::bad_request);
  EXPECT_EQ(status_of(chunked("3\r\nabc\r")), http_status::incomplete);
  EXPECT_EQ(status_of(chunked("3\r\nabc\rX")), http_status::bad_request);
}

TEST(HttpParser, ChunkedBodiesOverMaxBodyAre413) {
  http_limits l;
  l.max_body = 10;
  EXPECT_EQ(status_of(chunked("a\r\n0123456789\r\n0\r\n\r\n"), l), http_status::complete);
  // Known from the size line, before the data comes.
  EXPECT_EQ(status_of(chunked("b\r\n"), l), http_status::payload_too_large);
  EXPECT_EQ(status_of(chunked("6\r\n012345\r\n5\r\n"), l), http_status::payload_too_large);
  // A size that overflows any integer.
  EXPECT_EQ(status_of(chunked("fffffffffffffffffffffffffff\r\n")), http_status::payload_too_large);
  EXPECT_EQ(status_of(chunked("00000000000000000000000000001\r\nx\r\n0\r\n\r\n")),
            http_status::complete);
}

TEST(HttpParser, ChunkFramingIsBoundedSoIsTheNumberOfChunks) {
  http_limits l;
  l.max_header_bytes = 256;
  l.max_body = 1024;
  // Each 1-byte chunk costs 5 bytes of framing ("1\r\n" + "\r\n"); the budget is
  // max_header_bytes (256), including the last chunk and the final CRLF (5 bytes).
  auto body_of = [](int chunks) {
    std::string s;
    for (int i = 0; i < chunks; ++i) s += "1\r\nx\r\n";
    return s + "0\r\n\r\n";
  };
  EXPECT_EQ(status_of(chunked(body_of(50)), l), http_status::complete);  // 255 bytes
  EXPECT_EQ(status_of(chunked(body_of(51)), l), http_status::payload_too_large);
  // Trailers count against the same budget: past it, 431.
  EXPECT_EQ(status_of(chunked("0\r\nX: " + std::string(300, 'v') + "\r\n\r\n"), l),
            http_status::header_fields_too_large);
}

TEST(HttpParser, TrailerFieldsAreCountedAgainstMaxHeaders) {
  http_limits l;
  l.max_headers = 4;
  std::string trailers;
  for (int i = 0; i < 4; ++i) trailers += "T" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(status_of(chunked("0\r\n" + trailers + "\r\n"), l), http_status::complete);
  EXPECT_EQ(status_of(chunked("0\r\n" + trailers + "T4: v\r\n\r\n"), l),
            http_status::header_fields_too_large);
}

TEST(HttpParser, ChunkedIsIncompleteUntilTheTrailersEnd) {
  const std::string raw = chunked("5;x=1\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n");
  for (std::size_t n = 0; n < raw.size(); ++n) {
    EXPECT_EQ(status_of(raw.substr(0, n)), http_status::incomplete) << n;
  }
  auto r = http_parser().parse(raw);
  ASSERT_EQ(r.status, http_status::complete);
  EXPECT_EQ(r.request.body, "hello0123456789abcdef");
  EXPECT_EQ(r.consumed, raw.size());
}

TEST(HttpParser, TransferEncodingFramingErrors) {
  auto with = [](const std::string& headers) {
    return status_of("POST / HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n0\r\n\r\n");
  };
  // RFC 9112 §6.1: both Content-Length and Transfer-Encoding is a smuggling vector; rejected.
  EXPECT_EQ(with("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), http_status::bad_request);
  EXPECT_EQ(with("Content-Length: 0\r\nTransfer-Encoding: chunked\r\n"), http_status::bad_request);
  // RFC 9112 §6.3: chunked not the final coding -> 400.
  EXPECT_EQ(with("Transfer-Encoding: chunked, gzip\r\n"), http_status::bad_request);
  EXPECT_EQ(with("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n"),
            http_status::bad_request);
  // RFC 9112 §7: chunked MUST NOT be applied more than once.
  EXPECT_EQ(with("Transfer-Encoding: chunked, chunked\r\n"), http_status::bad_request);
  EXPECT_EQ(with("Transfer-Encoding: chunked;p=1\r\n"), http_status::bad_request);
  EXPECT_EQ(with("Transfer-Encoding: chun ked\r\n"), http_status::bad_request);
  EXPECT_EQ(with("Transfer-Encoding:\r\n"), http_status::bad_request);  // no coding at all
  EXPECT_EQ(with("Transfer-Encoding: \"chunked\"\r\n"), http_status::bad_request);
  // Other codings are not implemented (RFC 9112 §6.1: 501).
  EXPECT_EQ(with("Transfer-Encoding: gzip, chunked\r\n"), http_status::not_implemented);
  EXPECT_EQ(with("Transfer-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n"),
            http_status::not_implemented);
  // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
  EXPECT_EQ(status_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            http_status::bad_request);
}

TEST(HttpParser, TheChunkSizeLineLimitIs4KiBExactly) {
  const std::string ext4096 = "3;a=" + std::string(4096 - 4, 'b');  // 4096 bytes before CRLF
  EXPECT_EQ(status_of(chunked(ext4096 + "\r\nabc\r\n0\r\n\r\n")), http_status::complete);
  EXPECT_EQ(status_of(chunked(ext4096 + "b\r\nabc\r\n0\r\n\r\n")), http_status::bad_request);
}

TEST(HttpParser, AFullSizeChunkedBodyInManyChunks) {
  // Default limits: max_body 1 MiB in 256 chunks of 4 KiB (256 * 9 bytes of framing).
  std::string chunks;
  std::string expected;
  for (int i = 0; i < 256; ++i) {
    const std::string data(4096, static_cast<char>('a' + i % 26));
    chunks += "1000\r\n" + data + "\r\n";
    expected += data;
  }
  const std::string raw = chunked(chunks + "0\r\n\r\n");
  auto r = http_parser().parse(raw);
  ASSERT_EQ(r.status, http_status::complete);
  EXPECT_EQ(r.request.body, expected);
  EXPECT_EQ(r.consumed, raw.size());
  // One byte more of data is over max_body.
  EXPECT_EQ(status_of(chunked(chunks + "1\r\nx\r\n0\r\n\r\n")), http_status::payload_too_large);
}

TEST(HttpParser, AHugeChunkSizeUnderAnUnboundedMaxBodyWaitsWithoutOverflow) {
  http_limits l;
  l.max_body = static_cast<std::size_t>(-1);
  const std::string size_line = std::string(sizeof(std::size_t) * 2, 'f');  // SIZE_MAX
  EXPECT_EQ(status_of(chunked(size_line + "\r\nabc"), l), http_status::incomplete);
  EXPECT_EQ(status_of(chunked(size_line + "0\r\nabc"), l), http_status::payload_too_large);
}
