// Uses only the installed headers and library: spawn, send, receive with a timeout.
#include <coproc/coproc.hpp>
#include <cstdio>

using namespace coproc;
using namespace std::chrono_literals;

int main() {
  return coproc::run([]() -> process {
    pid echo = spawn([]() -> process {
      auto [from, text] = co_await receive<std::tuple<pid, std::string>>();
      send(from, text + "!");
    });
    send(echo, self(), "installed");
    std::string reply = co_await receive([](std::string s) { return s; },
                                         after(5s, [] { return std::string("timeout"); }));
    std::printf("consumer: %s\n", reply.c_str());
    if (reply != "installed!") throw std::runtime_error("unexpected reply");
  }, options{.cores = 2});
}
