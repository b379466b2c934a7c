// coproc/http_server.hpp - serving HTTP/1.1 on one connection, as a process body.
//
//   process acceptor(std::uint16_t port) {
//     auto l = tcp_listener::bind(socket_address::any_v4(port), {.reuse_port = true});
//     for (;;) {
//       tcp_stream s = co_await l.accept();
//       spawn(serve_http<hello>, std::move(s), hello{}, http_server_options{});
//     }
//   }
//   struct hello {
//     http_response operator()(const http_request& r) { return {200, "text/plain", "hi"}; }
//   };
//
// A handler is a callable taking const http_request& and returning http_response, or
// subroutine<http_response> when it must co_await (call other processes, receive, ...).
//
// What serve_http guarantees (RFC 9112 / RFC 9110):
// - Keep-alive and pipelining. Responses to pipelined requests that are already in the
//   buffer are gathered and leave in one write; they are written before the server waits
//   for more input.
// - A bad request gets the parser's status (400, 413, 414, 431, 501, 505; see http.hpp)
//   with `Connection: close`, then a lingering close (below). A request not complete
//   within request_timeout gets 408 (a slow sender cannot hold the connection); an idle
//   connection closes after idle_timeout. A handler that throws gets a 500 and a close;
//   the server goes on.
// - `Expect: 100-continue` is answered `100 Continue` as soon as the header section is
//   in (or with the final status at once, e.g. 413 for a body over the limit).
// - HEAD gets the GET's headers, Content-Length included, and no body.
// - Every response carries Date (RFC 9110 §6.6.1) and Server; Content-Length is always
//   the body's; the closing response carries `Connection: close`.
// - Lingering close: before closing a connection that may still carry unread input, the
//   server half-closes (shutdown write) and reads and drops what the client still sends,
//   for at most linger_timeout or linger_bytes, so the kernel never answers unread input
//   with a reset that would destroy responses already written.
// - Graceful shutdown: connections given an http_drain finish the request they are
//   serving when it starts, answer it with `Connection: close`, and end; connections idle
//   between requests end at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "coproc/http.hpp"
#include "coproc/process.hpp"
#include "coproc/subroutine.hpp"
#include "coproc/tcp.hpp"

namespace coproc {

struct http_response {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
  // Further header lines, in order: {"Location", "/new"}, {"Set-Cookie", "a=b"}, ...
  // Names must be tokens and values must not hold CR, LF or NUL (header injection);
  // Content-Length, Transfer-Encoding, Connection and Date belong to the server. A
  // response that breaks a rule is not sent: the client gets a 500 instead.
  std::vector<std::pair<std::string, std::string>> headers = {};
};

// Shared by an acceptor and the connections it serves, for a graceful shutdown:
//   auto drain = std::make_shared<http_drain>();   // give it to every serve_http
//   ... on SIGTERM: stop accepting, then
//   drain->start();
//   while (drain->open() > 0 && before the deadline) co_await sleep_for(10ms);
// Any thread may call start() and open().
class http_drain {
 public:
  // From now on every connection ends after the request it is serving; idle ones end now.
  void start() noexcept;
  [[nodiscard]] bool draining() const noexcept {
    return draining_.load(std::memory_order_acquire);  // pairs with start()'s store
  }
  // Connections still being served.
  [[nodiscard]] std::size_t open() const noexcept { return open_.load(std::memory_order_relaxed); }

  // Used by serve_http: each connection registers once, for its lifetime (one lock per
  // connection, not per request: the lock is shared by every core), and marks itself
  // idle while it waits for its next request.
  struct connection {
    int fd = -1;
    std::atomic<bool> idle{false};
  };
  void opened(connection* c);  // may throw std::bad_alloc
  void closed(connection* c) noexcept;
  // About to wait for the next request; false means the drain started, so it should end
  // instead of waiting.
  bool enter_idle(connection& c) noexcept;
  void leave_idle(connection& c) noexcept {
    c.idle.store(false, std::memory_order_relaxed);  // start() may still shut it: harmless
  }

 private:
  std::mutex mu_;  // conns_
  std::unordered_set<connection*> conns_;
  std::atomic<bool> draining_{false};
  std::atomic<std::size_t> open_{0};
};

struct http_server_options {
  http_limits limits{};
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds idle_timeout{30'000};
  std::chrono::milliseconds write_timeout{10'000};
  // Lingering close: how long, and how many bytes, to read and drop after a half-close.
  std::chrono::milliseconds linger_timeout{2'000};
  std::size_t linger_bytes = std::size_t{64} * 1024;
  // Responses gathered from pipelined requests are written once they reach this size.
  std::size_t max_gathered_bytes = std::size_t{64} * 1024;
  std::shared_ptr<http_drain> drain = nullptr;
};

// Appends the bytes of a response to out: status line, Date, Server, Content-Type,
// r.headers, Content-Length, `Connection: close` when closing, then the body unless
// omit_body (HEAD). Returns false, and appends nothing, if r.headers breaks a rule above.
bool append_http_response(std::string& out, const http_response& r, bool keep_alive,
                          bool omit_body = false);
// The bytes of a response; throws std::invalid_argument if r.headers breaks a rule.
std::string format_http_response(const http_response& r, bool keep_alive);

namespace detail {
// serve_http's non-template parts (lib/http/response.cpp).
void append_http_error(std::string& out, int status);  // with Connection: close
void append_http_answer(std::string& out, const http_response& r, bool keep_alive,
                        bool omit_body);  // a 500 if r is invalid
// Registers the connection in opts.drain for the lifetime of a serve_http frame (before
// the stream, a parameter, closes its descriptor).
struct drain_guard {
  std::shared_ptr<http_drain> drain;
  http_drain::connection conn;
  drain_guard(std::shared_ptr<http_drain> d, int fd) : drain(std::move(d)) {
    conn.fd = fd;
    if (drain) drain->opened(&conn);
  }
  drain_guard(const drain_guard&) = delete;
  drain_guard& operator=(const drain_guard&) = delete;
  ~drain_guard() {
    if (drain) drain->closed(&conn);
  }
};
}  // namespace detail

template <class Handler>
process serve_http(tcp_stream s, Handler handler, http_server_options opts) {
  const http_parser parser(opts.limits);
  detail::drain_guard counted(opts.drain, s.native_handle());
  std::string buf;  // bytes read and not yet parsed
  std::string out;  // responses made and not yet written
  char chunk[16 * 1024];
  bool linger = false;  // close with a lingering close (the client may still send)
  try {
    // When the request now being read was first seen incomplete (for request_timeout).
    // Read lazily: a request that arrives whole in one read costs no clock read.
    std::optional<std::chrono::steady_clock::time_point> started;
    bool continue_sent = false;
    for (;;) {
      http_parse_result r = parser.parse(buf);
      if (r.status == http_status::incomplete) {
        if (!out.empty()) {  // every answer so far leaves before we wait for more input
          co_await s.write_all(out, opts.write_timeout);
          out.clear();
        }
        if (r.expect_continue && !continue_sent) {
          continue_sent = true;
          const std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
          co_await s.write_all(go_on, opts.write_timeout);
        }
        const bool idle = buf.empty();
        if (!idle && !started) started = std::chrono::steady_clock::now();
        const auto limit =
            idle ? std::chrono::nanoseconds(opts.idle_timeout)
                 : opts.request_timeout - (std::chrono::steady_clock::now() - *started);
        if (limit <= std::chrono::nanoseconds::zero()) {
          detail::append_http_error(out, 408);
          linger = true;
          break;
        }
        if (idle && opts.drain && !opts.drain->enter_idle(counted.conn)) break;
        std::size_t n = 0;
        bool timed_out = false;
        try {
          n = co_await s.read_some(chunk, limit);
        } catch (const std::system_error& e) {
          if (idle && opts.drain) opts.drain->leave_idle(counted.conn);
          if (e.code() != std::errc::timed_out || idle) throw;
          timed_out = true;  // mid-request: answer 408 on the next round
        }
        if (timed_out) continue;
        if (idle && opts.drain) opts.drain->leave_idle(counted.conn);
        if (n == 0) break;  // the client is done sending: nothing to linger for
        buf.append(chunk, n);
        continue;
      }
      if (r.status != http_status::complete) {
        detail::append_http_error(out, static_cast<int>(r.status));
        linger = true;
        break;
      }
      buf.erase(0, r.consumed);
      continue_sent = false;
      started.reset();
      http_response answer;
      bool failed = false;
      try {
        if constexpr (std::is_same_v<std::invoke_result_t<Handler&, const http_request&>,
                                     subroutine<http_response>>) {
          answer = co_await handler(r.request);
        } else {
          answer = handler(r.request);
        }
      } catch (const std::exception&) {
        failed = true;
      }
      if (failed) {
        detail::append_http_error(out, 500);
        linger = true;
        break;
      }
      const bool keep = r.request.keep_alive && !(opts.drain && opts.drain->draining());
      detail::append_http_answer(out, answer, keep, r.request.method == "HEAD");
      if (!keep) {
        linger = true;
        break;
      }
      if (out.size() >= opts.max_gathered_bytes) {
        co_await s.write_all(out, opts.write_timeout);
        out.clear();
      }
    }
    if (!out.empty()) co_await s.write_all(out, opts.write_timeout);
    if (linger) {
      // Half-close, then drop what the client still sends until it closes too (bounded),
      // so that unread input never makes the kernel reset the answers written above.
      s.shutdown_write();
      const auto until = std::chrono::steady_clock::now() + opts.linger_timeout;
      std::size_t dropped = 0;
      while (dropped < opts.linger_bytes) {
        const auto left = until - std::chrono::steady_clock::now();
        if (left <= std::chrono::nanoseconds::zero()) break;
        const std::size_t n = co_await s.read_some(chunk, left);
        if (n == 0) break;
        dropped += n;
      }
    }
  } catch (const std::system_error&) {
    // Reset, timeout or a closed peer: this connection ends, the server goes on.
  }
}

}  // namespace coproc
