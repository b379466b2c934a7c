// tests/dist/dist_peer.cpp - a coproc node for the cluster tests: another OS process that
// the test (or an Erlang node) talks to.
//   dist_peer NAME@HOST COOKIE [PEER]      (epmd port from $ERL_EPMD_PORT)
// It registers `echo`: {From, Msg} -> From ! {echo, Msg, self()}; a gen_server:call of an
// integer N is answered N + 1 (gen_reply); `stop` ends the program.
// It prints READY once published and exits with 0 after `stop`. Given PEER, it then
// sends to PEER's echo every 20 ms until one answers and prints PEERED (two peers started
// at once that way connect to each other simultaneously).
#include <coproc/coproc.hpp>
#include <coproc/node.hpp>
#include <cstdio>
#include <string>
#include <tuple>

using namespace coproc;

process echo_server() {
  register_name("echo", self());
  for (;;) {
    bool stop = false;
    co_await receive(
        [](const pid& from, const term& msg) { send(from, atom<"echo">{}, msg, self()); },
        [](atom<"$gen_call">, const std::tuple<pid, term>& from, std::int64_t n) {
          gen_reply(from, n + 1);
        },
        [&](atom<"stop">) { stop = true; }, [](const message&) {});
    if (stop) co_return;
  }
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: dist_peer NAME@HOST COOKIE\n");
    return 2;
  }
  const std::string name = argv[1];
  const std::string cookie = argv[2];
  const std::string peer = argc > 3 ? argv[3] : "";
  return run([name, cookie, peer]() -> process {
    node::options opts;
    opts.name = name;
    opts.cookie = cookie;
    co_await node::start(opts);
    (void)spawn_monitor(echo_server);
    std::printf("READY %s\n", node::self_name().c_str());
    std::fflush(stdout);
    for (bool peered = peer.empty(); !peered;) {
      send(remote_name{"echo", peer}, self(), atom<"hi">{});
      peered = co_await receive([](atom<"echo">, const term&, const pid&) { return true; },
                                after(std::chrono::milliseconds(20), [] { return false; }));
      if (peered) {
        std::printf("PEERED %s\n", peer.c_str());
        std::fflush(stdout);
      }
    }
    co_await receive([](atom<"DOWN">, monitor_ref, pid, exit_reason) {});
    node::stop();
  });
}
