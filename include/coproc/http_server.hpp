// coproc/http_server.hpp - serving HTTP/1.1 on one connection, as a process body.
//
//   process acceptor(std::uint16_t port) {
//     auto l = tcp_listener::bind(socket_address::any_v4(port), {.reuse_port = true});
//     for (;;) spawn(serve_http<hello>, co_await l.accept(), hello{}, http_server_options{});
//   }
//   struct hello {
//     http_response operator()(const http_request& r) { return {200, "text/plain", "hi"}; }
//   };
//
// A handler is a callable taking const http_request& and returning http_response, or
// subroutine<http_response> when it must co_await (call other processes, receive, ...).
// serve_http handles keep-alive and pipelining, answers bad requests with the parser's
// status and closes, answers 408 to a request not complete within request_timeout (a
// slow sender cannot hold the connection), and closes an idle connection after
// idle_timeout. A handler that throws gets a 500 and a close; the server goes on.
#pragma once

#include <chrono>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include "coproc/http.hpp"
#include "coproc/process.hpp"
#include "coproc/subroutine.hpp"
#include "coproc/tcp.hpp"

namespace coproc {

struct http_response {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
};

struct http_server_options {
  http_limits limits;
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds idle_timeout{30'000};
  std::chrono::milliseconds write_timeout{10'000};
};

// The bytes of a response (status line, Content-Length, Connection: close if closing).
std::string format_http_response(const http_response& r, bool keep_alive);

template <class Handler>
process serve_http(tcp_stream s, Handler handler, http_server_options opts) {
  const http_parser parser(opts.limits);
  std::string buf;
  char chunk[16 * 1024];
  try {
    auto started = std::chrono::steady_clock::now();
    for (;;) {
      http_parse_result r = parser.parse(buf);
      if (r.status == http_status::incomplete) {
        const auto limit =
            buf.empty() ? std::chrono::nanoseconds(opts.idle_timeout)
                        : opts.request_timeout - (std::chrono::steady_clock::now() - started);
        if (limit <= std::chrono::nanoseconds::zero()) {
          // Named, not a temporary inside co_await: GCC 12 mishandles the destruction of
          // brace-initialised temporaries in a co_await full-expression.
          const std::string bytes =
              format_http_response(http_response{408, "text/plain", "request timeout\n"}, false);
          co_await s.write_all(bytes, opts.write_timeout);
          co_return;
        }
        std::size_t n = 0;
        try {
          n = co_await s.read_some(chunk, limit);
        } catch (const std::system_error& e) {
          if (e.code() != std::errc::timed_out || buf.empty()) throw;
          n = SIZE_MAX;  // timed out mid-request: answer 408 below
        }
        if (n == SIZE_MAX) continue;
        if (n == 0) co_return;
        if (buf.empty()) started = std::chrono::steady_clock::now();
        buf.append(chunk, n);
        continue;
      }
      if (r.status != http_status::complete) {
        const int code = static_cast<int>(r.status);
        const std::string bytes = format_http_response(
            http_response{code, "text/plain", std::string(http_reason(code)) + "\n"}, false);
        co_await s.write_all(bytes, opts.write_timeout);
        co_return;
      }
      buf.erase(0, r.consumed);
      started = std::chrono::steady_clock::now();
      http_response out;
      bool failed = false;
      try {
        if constexpr (std::is_same_v<std::invoke_result_t<Handler&, const http_request&>,
                                     subroutine<http_response>>) {
          out = co_await handler(r.request);
        } else {
          out = handler(r.request);
        }
      } catch (const std::exception&) {
        failed = true;
      }
      if (failed) {
        const std::string bytes =
            format_http_response(http_response{500, "text/plain", "internal error\n"}, false);
        co_await s.write_all(bytes, opts.write_timeout);
        co_return;
      }
      const bool keep = r.request.keep_alive;
      if (r.request.method == "HEAD") out.body.clear();
      const std::string bytes = format_http_response(out, keep);
      co_await s.write_all(bytes, opts.write_timeout);
      if (!keep) co_return;
    }
  } catch (const std::system_error&) {
    // Reset, timeout or a closed peer: this connection ends, the server goes on.
  }
}

}  // namespace coproc
