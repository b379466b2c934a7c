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
           "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",      // two spaces
           "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",  // extra token
           "GET nope HTTP/1.1\r\nHost: x\r\n\r\n",     // target form
           "GET / HTTX/1.1\r\nHost: x\r\n\r\n",        // protocol
           "GET / HTTP/1.1\r\nHost x\r\n\r\n",         // no colon
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
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"),
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
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", l),
            http_status::payload_too_large);
}

TEST(HttpParser, TruncatedInputIsNeverAnErrorOnlyIncomplete) {
  const std::string raw = "PUT /x HTTP/1.1\r\nHost: example\r\nContent-Length: 3\r\n\r\nabc";
  for (std::size_t n = 0; n < raw.size(); ++n) {
    const auto s = status_of(raw.substr(0, n));
    EXPECT_EQ(s, http_status::incomplete) << "prefix of " << n << " bytes";
  }
}
