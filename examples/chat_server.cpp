// examples/chat_server.cpp - line-based TCP chat: each client is a process, a room
// process fans messages out. Active mode (once) gives flow control per client.
//   build/release/examples/chat_server [port]    (default 7001); then: telnet 127.0.0.1 7001
#include <coproc/coproc.hpp>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

using namespace coproc;
using namespace std::chrono_literals;

namespace {

// The room: (join, pid), (leave, pid), (say, pid, line) -> (line, text) to every member.
process room() {
  std::set<pid> members;
  for (;;) {
    co_await receive(
        [&](atom<"join">, pid who) {
          members.insert(who);
          monitor(who);  // a client that crashes leaves too
        },
        [&](atom<"leave">, pid who) { members.erase(who); },
        [&](atom<"DOWN">, monitor_ref, pid who, exit_reason) { members.erase(who); },
        [&](atom<"say">, pid from, std::string text) {
          for (const pid& m : members) {
            if (m != from) send(m, atom<"line">{}, text);
          }
        });
  }
}

process client(tcp_stream s, pid chat) {
  const std::string name = s.peer().to_string();
  send(chat, atom<"join">{}, self());
  co_await s.write_all("welcome, " + name + "\r\n", 5s);
  set_active(s, active_mode::once);
  std::string pending;
  bool open = true;
  while (open) {
    auto out = co_await receive(
        [&](atom<"tcp">, socket_id, std::string data) {
          pending += data;
          for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
            std::string line = pending.substr(0, nl);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            pending.erase(0, nl + 1);
            send(chat, atom<"say">{}, self(), name + ": " + line + "\r\n");
          }
          if (pending.size() > 4096) pending.clear();  // a line without end: drop it
          set_active(s, active_mode::once);
          return std::string();
        },
        [&](atom<"line">, std::string text) { return text; },
        [&](atom<"tcp_closed">, socket_id) {
          open = false;
          return std::string();
        },
        [&](atom<"tcp_error">, socket_id, std::error_code) {
          open = false;
          return std::string();
        });
    if (!out.empty()) co_await s.write_all(out, 5s);
  }
  send(chat, atom<"leave">{}, self());
}

process chat_server(std::uint16_t port) {
  pid chat = spawn(room);
  auto listener = tcp_listener::bind(socket_address::any_v4(port), {.multishot = true});
  std::printf("chat server on %s\n", listener.local().to_string().c_str());
  std::fflush(stdout);
  for (;;) {
    tcp_stream s = co_await listener.accept();  // named: see the README's g++ 12 pitfall
    spawn(client, std::move(s), chat);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7001);
  return coproc::run([port]() -> process { co_await chat_server(port); });
}
