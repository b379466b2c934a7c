// lib/http/response.cpp - response bytes for serve_http, and the drain of a server.
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>

#include "coproc/http_server.hpp"
#include "lib/http/syntax.hpp"

namespace coproc {
namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// RFC 9110 §5.5: a field value is VCHAR, obs-text, SP and HTAB; CR, LF and NUL would let a
// value start a header of its own (or a body), which is header injection.
bool valid_field_value(std::string_view v) {
  return std::all_of(v.begin(), v.end(), detail::is_field_char);
}

bool owned_by_server(std::string_view name) {
  for (std::string_view owned : {"content-length", "transfer-encoding", "connection", "date"}) {
    if (equals_ignoring_case(name, owned)) return true;
  }
  return false;
}

bool valid_headers(const http_response& r) {
  if (r.content_type.empty() || !valid_field_value(r.content_type)) return false;
  for (const auto& [name, value] : r.headers) {
    if (name.empty() || owned_by_server(name)) return false;
    if (!std::all_of(name.begin(), name.end(), detail::is_tchar)) return false;
    if (!valid_field_value(value)) return false;
  }
  return true;
}

// "Date: Tue, 01 Dec 2026 21:36:24 GMT\r\n", made once a second per thread (RFC 9110
// §5.6.7 IMF-fixdate).
std::string_view date_line() {
  thread_local std::time_t made_for = 0;
  thread_local char line[64];
  thread_local std::size_t len = 0;
  const std::time_t now = std::time(nullptr);
  if (now != made_for || len == 0) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    len = std::strftime(line, sizeof line, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    made_for = now;
  }
  return {line, len};
}

void append_unchecked(std::string& out, const http_response& r, bool keep_alive, bool omit_body) {
  out.reserve(out.size() + 160 + r.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += http_reason(r.status);
  out += "\r\n";
  out += date_line();
  out += "Server: coproc\r\nContent-Type: ";
  out += r.content_type;
  out += "\r\n";
  for (const auto& [name, value] : r.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "Content-Length: ";
  out += std::to_string(r.body.size());
  out += keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
  if (!omit_body) out += r.body;
}

}  // namespace

bool append_http_response(std::string& out, const http_response& r, bool keep_alive,
                          bool omit_body) {
  if (r.status < 100 || r.status > 999 || !valid_headers(r)) return false;
  append_unchecked(out, r, keep_alive, omit_body);
  return true;
}

std::string format_http_response(const http_response& r, bool keep_alive) {
  std::string out;
  if (!append_http_response(out, r, keep_alive)) {
    throw std::invalid_argument(
        "coproc: http_response: a header name that is not a token, a value with CR/LF/NUL, "
        "or a header the server writes itself");
  }
  return out;
}

namespace detail {

void append_http_error(std::string& out, int status) {
  const http_response r{status, "text/plain", std::string(http_reason(status)) + "\n"};
  append_unchecked(out, r, false, false);
}

void append_http_answer(std::string& out, const http_response& r, bool keep_alive, bool omit_body) {
  if (!append_http_response(out, r, keep_alive, omit_body)) {
    const http_response failed{500, "text/plain", "internal error\n"};
    append_unchecked(out, failed, keep_alive, omit_body);
  }
}

}  // namespace detail

void http_drain::start() noexcept {
  // seq_cst, with enter_idle's: either the connection sees draining_, or we see it idle.
  draining_.store(true, std::memory_order_seq_cst);
  std::lock_guard lock(mu_);
  // A read waiting on an idle connection returns end of stream: it ends at once. One that
  // just left idle serves the request it read and then closes (draining() is true).
  for (connection* c : conns_) {
    if (c->idle.load(std::memory_order_seq_cst)) ::shutdown(c->fd, SHUT_RD);
  }
}

void http_drain::opened(connection* c) {
  {
    std::lock_guard lock(mu_);
    conns_.insert(c);
  }
  open_.fetch_add(1, std::memory_order_relaxed);
}

void http_drain::closed(connection* c) noexcept {
  {
    std::lock_guard lock(mu_);  // start() never shuts a descriptor that is closing
    conns_.erase(c);
  }
  open_.fetch_sub(1, std::memory_order_relaxed);
}

bool http_drain::enter_idle(connection& c) noexcept {
  c.idle.store(true, std::memory_order_seq_cst);  // pairs with start(): see there
  if (draining_.load(std::memory_order_seq_cst)) {
    c.idle.store(false, std::memory_order_relaxed);
    return false;
  }
  return true;
}

}  // namespace coproc
