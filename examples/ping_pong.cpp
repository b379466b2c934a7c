// examples/ping_pong.cpp - two processes on two cores bounce a counter, with atoms,
// tuples, selective receive and a timeout.
#include <coproc/coproc.hpp>
#include <iostream>

using namespace coproc;
using namespace std::chrono_literals;

process pong() {
  for (;;) {
    bool more = co_await receive(
        [](atom<"ping">, pid from, int n) {
          send(from, atom<"pong">{}, n);
          return true;
        },
        [](atom<"stop">) { return false; });
    if (!more) co_return;
  }
}

process ping(int rounds) {
  pid p = spawn_on(1, pong);
  for (int i = 0; i < rounds; ++i) {
    send(p, atom<"ping">{}, self(), i);
    int n = co_await receive([](atom<"pong">, int n) { return n; }, after(1s, [] { return -1; }));
    if (n != i) throw std::runtime_error("lost a pong");
  }
  send(p, atom<"stop">{});
  std::cout << "ping-pong: " << rounds << " round trips between core 0 and core 1" << std::endl;
}

int main() {
  return coproc::run([] { return ping(100000); }, options{.cores = 2});
}
