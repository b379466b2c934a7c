// HTTP/1.1 keep-alive hello server, Boost.Asio C++20 coroutines: see common.hpp
// for the setup (an io_context and an SO_REUSEPORT acceptor per core, a coroutine
// per connection). Hand-written like a fast small server: read into a buffer,
// answer every complete request in it ("\r\n\r\n"-terminated; GET / -> 200
// "Hello, World!", anything else 404) and write the answers of one read with one
// write, so pipelined requests cost one write per batch. The answer has the
// headers coproc's examples/http_hello sends (Date, Server, Content-Type,
// Content-Length), with Server: asio; Date is formatted once a second per thread.
// Request bodies are not read (GET only); "Connection: close" closes after the answer.
//   http PORT [THREADS]
#include "common.hpp"

#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view body = "Hello, World!";

struct answers {
  std::time_t second = 0;
  std::string ok, not_found;
  void refresh() {
    const std::time_t now = std::time(nullptr);
    if (now == second) return;
    second = now;
    std::tm tm;
    gmtime_r(&now, &tm);
    char date[64];
    std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    auto make = [&](const char* status, std::string_view b) {
      std::string r = "HTTP/1.1 ";
      r += status;
      r += "\r\nDate: ";
      r += date;
      r += "\r\nServer: asio\r\nContent-Type: text/plain\r\nContent-Length: ";
      r += std::to_string(b.size());
      r += "\r\n\r\n";
      r += b;
      return r;
    };
    ok = make("200 OK", body);
    not_found = make("404 Not Found", "Not Found");
  }
};
thread_local answers cached;

bool has_close(std::string_view head) {
  // Case-insensitive search for a "Connection: close" header line.
  for (std::size_t p = head.find("\r\n"); p != std::string_view::npos;
       p = head.find("\r\n", p + 2)) {
    std::string_view line = head.substr(p + 2, head.find("\r\n", p + 2) - (p + 2));
    constexpr std::string_view name = "connection:";
    if (line.size() < name.size() || strncasecmp(line.data(), name.data(), name.size()) != 0)
      continue;
    line.remove_prefix(name.size());
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.size() >= 5 && strncasecmp(line.data(), "close", 5) == 0) return true;
  }
  return false;
}

awaitable<void> session(tcp::socket s) {
  constexpr std::size_t cap = 16384;
  auto in = std::make_unique<char[]>(cap);
  std::size_t used = 0;
  std::string out;
  try {
    for (;;) {
      used += co_await s.async_read_some(asio::buffer(in.get() + used, cap - used), use_awaitable);
      cached.refresh();
      out.clear();
      std::string_view data(in.get(), used);
      std::size_t start = 0;
      bool close = false;
      for (;;) {
        const std::size_t end = data.find("\r\n\r\n", start);
        if (end == std::string_view::npos) break;
        const std::string_view head = data.substr(start, end + 2 - start);
        const bool root = head.starts_with("GET / ") || head.starts_with("HEAD / ");
        out += root ? cached.ok : cached.not_found;
        start = end + 4;
        if (head.find(" HTTP/1.0\r\n") != std::string_view::npos || has_close(head)) {
          close = true;
          break;
        }
      }
      if (start > 0) {
        std::memmove(in.get(), in.get() + start, used - start);
        used -= start;
      } else if (used == cap) {
        co_return;  // a request head larger than the buffer
      }
      if (!out.empty()) co_await asio::async_write(s, asio::buffer(out), use_awaitable);
      if (close) co_return;
    }
  } catch (const boost::system::system_error&) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  return serve(argc, argv, "http", session);
}
