// serve_http over loopback: keep-alive, pipelining, bad input, slow senders, handler errors.
#include <gtest/gtest.h>

#include <coproc/coproc.hpp>
#include <string>

using namespace coproc;
using namespace std::chrono_literals;

namespace {

struct app {
  http_response operator()(const http_request& r) {
    if (r.target == "/boom") throw std::runtime_error("handler failed");
    if (r.target == "/moved") {
      return {301, "text/plain", "", {{"Location", "/new"}, {"Set-Cookie", "a=b; HttpOnly"}}};
    }
    if (r.target == "/inject") return {200, "text/plain", "x", {{"X-Evil", "a\r\nSet-Cookie: x"}}};
    if (r.target == "/badname") return {200, "text/plain", "x", {{"Bad Name", "v"}}};
    if (r.target == "/framing") return {200, "text/plain", "x", {{"Content-Length", "0"}}};
    return {200, "text/plain", "you asked for " + r.target};
  }
};

http_server_options fast_options() {
  http_server_options o;
  o.request_timeout = 200ms;
  o.idle_timeout = 2s;
  o.limits.max_header_bytes = 1024;
  return o;
}

// Starts a one-connection server, sends `raw` (in pieces, with a pause between them),
// and returns everything the server wrote until it closed or 3 s passed.
std::string exchange(std::vector<std::string> pieces, std::chrono::milliseconds pause = 0ms) {
  std::string got;
  coproc::run(
      [&]() -> process {
        auto l = tcp_listener::bind(socket_address::loopback_v4(0));
        const auto at = l.local();
        spawn(
            [](tcp_listener l) -> process {
              tcp_stream s = co_await l.accept(5s);  // named: the g++ 12 pitfall
              co_await serve_http(std::move(s), app{}, fast_options());
            },
            std::move(l));
        tcp_stream c = co_await tcp_stream::connect(at, 5s);
        for (const auto& p : pieces) {
          co_await c.write_all(p, 5s);
          if (pause > 0ms) co_await sleep_for(pause);
        }
        c.shutdown_write();
        char buf[4096];
        try {
          while (std::size_t n = co_await c.read_some(buf, 3s)) got.append(buf, n);
        } catch (const std::system_error&) {
        }
      },
      options{.cores = 1});
  return got;
}

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (std::size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrderOnOneConnection) {
  const std::string got =
      exchange({"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
                "GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"});
  EXPECT_EQ(count(got, "HTTP/1.1 200 OK"), 3);
  const auto a = got.find("/a"), b = got.find("/b"), c = got.find("/c");
  EXPECT_TRUE(a < b && b < c) << got;
  EXPECT_NE(got.find("Connection: close"), std::string::npos);
}

TEST(HttpServer, ARequestSplitIntoManyWritesIsStillOneRequest) {
  const std::string got = exchange({"GE", "T /sp", "lit HTTP/1.1\r\nHo", "st: x\r\n", "\r\n"}, 5ms);
  EXPECT_NE(got.find("you asked for /split"), std::string::npos) << got;
}

TEST(HttpServer, ASlowSenderGets408AndTheConnectionIsClosedInBoundedTime) {
  std::string got;
  const auto t0 = std::chrono::steady_clock::now();
  coproc::run(
      [&]() -> process {
        auto l = tcp_listener::bind(socket_address::loopback_v4(0));
        const auto at = l.local();
        spawn(
            [](tcp_listener l) -> process {
              tcp_stream s = co_await l.accept(5s);  // named: the g++ 12 pitfall
              co_await serve_http(std::move(s), app{}, fast_options());
            },
            std::move(l));
        tcp_stream c = co_await tcp_stream::connect(at, 5s);
        co_await c.write_all(std::string_view("GET / HTTP/1.1\r\nHost: x\r\n"), 5s);  // never ends
        char buf[1024];
        try {
          while (std::size_t n = co_await c.read_some(buf, 3s)) got.append(buf, n);
        } catch (const std::system_error&) {
        }
      },
      options{.cores = 1});
  EXPECT_EQ(got.rfind("HTTP/1.1 408", 0), 0u) << got;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST(HttpServer, ASenderTricklingOneByteAtATimeStillGets408WithinTheRequestTimeout) {
  // Slowloris: every read brings a byte, but the request's clock runs from its first
  // byte, so it is answered 408 once request_timeout (200 ms) has passed.
  std::string got;
  std::chrono::steady_clock::duration took{};
  coproc::run(
      [&]() -> process {
        auto l = tcp_listener::bind(socket_address::loopback_v4(0));
        const auto at = l.local();
        spawn(
            [](tcp_listener l) -> process {
              tcp_stream s = co_await l.accept(5s);  // named: the g++ 12 pitfall
              co_await serve_http(std::move(s), app{}, fast_options());
            },
            std::move(l));
        tcp_stream c = co_await tcp_stream::connect(at, 5s);
        const auto t0 = std::chrono::steady_clock::now();
        spawn(
            [](tcp_stream* c) -> process {
              const std::string_view head = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";
              try {
                co_await c->write_all(head, 1s);
                for (int i = 0; i < 200; ++i) {  // 4 s at most: one byte every 20 ms
                  co_await sleep_for(20ms);
                  co_await c->write_all(std::string_view("a"), 1s);
                }
              } catch (const std::system_error&) {
                // The server closed: done.
              }
            },
            &c);
        char buf[1024];
        try {
          while (std::size_t n = co_await c.read_some(buf, 5s)) {
            got.append(buf, n);
            if (got.find("\r\n\r\n") != std::string::npos && took == took.zero()) {
              took = std::chrono::steady_clock::now() - t0;
            }
          }
        } catch (const std::system_error&) {
        }
        co_await sleep_for(30ms);  // the writer notices the close
      },
      options{.cores = 1});
  EXPECT_EQ(got.rfind("HTTP/1.1 408", 0), 0u) << got;
  EXPECT_GT(took, std::chrono::milliseconds(150));
  EXPECT_LT(took, std::chrono::milliseconds(1'500));
}

TEST(HttpServer, OversizedHeadersGet431AndAClose) {
  const std::string got =
      exchange({"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n"});
  EXPECT_EQ(got.rfind("HTTP/1.1 431", 0), 0u) << got;
  EXPECT_NE(got.find("Connection: close"), std::string::npos);
}

TEST(HttpServer, BadMethodsAndGarbageGetAnErrorStatusNotACrash) {
  EXPECT_EQ(exchange({"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n"}).rfind("HTTP/1.1 501", 0), 0u);
  EXPECT_EQ(exchange({"\x01\x02\x03 garbage\r\n\r\n"}).rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(exchange({"GET / HTTP/1.1\r\n\r\n"}).rfind("HTTP/1.1 400", 0), 0u);  // no Host
}

TEST(HttpServer, AHandlerThatThrowsGets500AndTheServerKeepsServing) {
  std::string first, second;
  coproc::run(
      [&]() -> process {
        auto l = tcp_listener::bind(socket_address::loopback_v4(0));
        const auto at = l.local();
        spawn(
            [](tcp_listener l) -> process {
              for (int i = 0; i < 2; ++i)
                spawn(serve_http<app>, co_await l.accept(5s), app{}, fast_options());
            },
            std::move(l));
        for (std::string* out : {&first, &second}) {
          tcp_stream c = co_await tcp_stream::connect(at, 5s);
          co_await c.write_all(
              std::string(out == &first ? "GET /boom" : "GET /ok") + " HTTP/1.1\r\nHost: x\r\n\r\n",
              5s);
          char buf[1024];
          std::size_t n = co_await c.read_some(buf, 3s);
          out->assign(buf, n);
        }
      },
      options{.cores = 2});
  EXPECT_EQ(first.rfind("HTTP/1.1 500", 0), 0u) << first;
  EXPECT_EQ(second.rfind("HTTP/1.1 200", 0), 0u) << second;
}

TEST(HttpServer, ResponseHeadersAreSentInOrder) {
  const std::string got = exchange({"GET /moved HTTP/1.1\r\nHost: x\r\n\r\n"});
  EXPECT_NE(got.find("HTTP/1.1 301 "), std::string::npos) << got;
  EXPECT_NE(got.find("\r\nLocation: /new\r\nSet-Cookie: a=b; HttpOnly\r\n"), std::string::npos)
      << got;
}

TEST(HttpServer, HeaderInjectionAndServerOwnedHeadersGetA500InsteadOfBeingSent) {
  for (const char* target : {"/inject", "/badname", "/framing"}) {
    const std::string got =
        exchange({std::string("GET ") + target + " HTTP/1.1\r\nHost: x\r\n\r\n"});
    EXPECT_EQ(got.rfind("HTTP/1.1 500 ", 0), 0U) << target << ": " << got;
    EXPECT_EQ(got.find("Set-Cookie"), std::string::npos) << got;
    EXPECT_EQ(got.find("Bad Name"), std::string::npos) << got;
  }
  EXPECT_THROW(format_http_response({200, "text/plain", "", {{"X", "a\nb"}}}, true),
               std::invalid_argument);
  EXPECT_THROW(format_http_response({200, "text/plain", "", {{"", "v"}}}, true),
               std::invalid_argument);
  EXPECT_THROW(format_http_response({200, "text/plain\r\nX: y", ""}, true), std::invalid_argument);
}

TEST(HttpServer, HeadGetsTheGetsContentLengthWithoutTheBody) {
  const std::string got = exchange({"HEAD /abc HTTP/1.1\r\nHost: x\r\n\r\n"});
  EXPECT_NE(got.find("Content-Length: 18\r\n"), std::string::npos) << got;  // "you asked for /abc"
  EXPECT_EQ(got.find("you asked for"), std::string::npos) << got;
}

TEST(HttpServer, PipelinedAnswersBeforeAnErrorAllArriveThanksToTheLingeringClose) {
  std::string many;
  for (int i = 0; i < 200; ++i) many += "GET /p HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int attempt = 0; attempt < 5; ++attempt) {
    const std::string got = exchange({many + "BAD\r\n\r\n"});
    EXPECT_EQ(count(got, "you asked for /p"), 200) << attempt;
    EXPECT_NE(got.find("HTTP/1.1 400 Bad Request\r\n"), std::string::npos) << attempt;
    EXPECT_NE(got.find("Connection: close\r\n"), std::string::npos) << attempt;
  }
}

TEST(HttpServer, ExpectContinueIsAnsweredBeforeTheBody) {
  const std::string got = exchange({"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                                    "Expect: 100-continue\r\n\r\n",
                                    "ok"},
                                   50ms);
  EXPECT_EQ(got.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 0), 0U) << got;
}
