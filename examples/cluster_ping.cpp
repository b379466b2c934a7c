// examples/cluster_ping.cpp - a coproc node that an iex (or erl) shell talks to.
//
//   cluster_ping [NAME@HOST] [COOKIE]      defaults: coproc@127.0.0.1, ~/.erlang.cookie
//
// It joins the cluster as a hidden node, registers a process `ping` and prints the iex
// commands to try. `ping` answers, in Elixir notation:
//   {:ping, from}          -> {:pong, "coproc@127.0.0.1"}     (this node's name, a binary)
//   {:echo, from, term}    -> {:echo, term}                    (any term, back unchanged)
//   {:add, from, a, b}     -> {:sum, a + b}                    (integers; {:error, :overflow}
//                                                              beyond 64 bits)
//   {:upcase, from, "hi"}  -> {:upcase, "HI"}                  (a binary; ASCII letters only)
//   {:hello, from}         -> {:hello_from_coproc, ping's pid}, and it monitors `from`:
//                             when that process ends it prints the DOWN reason (noconnection
//                             when the shell's node goes away, e.g. when you quit iex)
//   anything else          -> printed and ignored
//
// Step by step, with the system epmd (two terminals):
//   1. epmd -daemon                               # once; iex would start it too
//   2. build/release/examples/cluster_ping coproc@127.0.0.1 secret
//   3. iex --name shell@127.0.0.1 --cookie secret
//        iex> send({:ping, :"coproc@127.0.0.1"}, {:ping, self()})
//        {:ping, #PID<0.112.0>}
//        iex> flush()
//        {:pong, "coproc@127.0.0.1"}
//        :ok
//        iex> Node.list(:hidden)                  # coproc is a hidden node
//        [:"coproc@127.0.0.1"]
//   The first send connects (as any send to a node not yet connected does), so type
//   flush() on its own line: on the send's line it runs before the reply has arrived.
//   The node's host must match the shell's kind of name: a host with dots (127.0.0.1) for
//   `iex --name`, a short host (`cluster_ping coproc@$(hostname -s) secret`) for `--sname`.
//
// Or with a private epmd on another port, leaving the system one alone:
//   epmd -port 4400 &                             # every program below needs the same port:
//   export ERL_EPMD_PORT=4400                     # coproc and erl both read ERL_EPMD_PORT
//   build/release/examples/cluster_ping coproc@127.0.0.1 secret &
//   iex --name shell@127.0.0.1 --cookie secret --erl "-start_epmd false"
//
// Ctrl-C ends cluster_ping; the shell sees the connection go down (a monitor on `ping`
// gets {:DOWN, ref, :process, pid, :noconnection}).
#include <coproc/coproc.hpp>
#include <coproc/node.hpp>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace coproc;

namespace {

int g_exit_code = 0;  // 1 when the node could not start

// A pid as Erlang prints it, with its node: <shell@127.0.0.1.110.0>.
std::string show(const pid& p) {
  return to_term(p).to_string();
}

void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);  // visible at once, also when stdout is a pipe or a file
}

std::string upcase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

process ping_server() {
  for (;;) {
    co_await receive(
        [](atom<"ping">, pid from) { send(from, atom<"pong">{}, node::self_name()); },
        [](atom<"echo">, pid from, const term& t) { send(from, atom<"echo">{}, t); },
        [](atom<"add">, pid from, std::int64_t a, std::int64_t b) {
          std::int64_t sum = 0;
          if (__builtin_add_overflow(a, b, &sum)) {
            send(from, atom<"error">{}, atom<"overflow">{});
          } else {
            send(from, atom<"sum">{}, sum);
          }
        },
        [](atom<"upcase">, pid from, const std::string& text) {
          send(from, atom<"upcase">{}, upcase(text));
        },
        // The other direction: coproc sends first, and watches the shell process.
        [](atom<"hello">, pid from) {
          send(from, atom<"hello_from_coproc">{}, self());
          monitor(from);
          say("hello from " + show(from) + " on " + node::of(from) + "; monitoring it");
        },
        [](atom<"DOWN">, monitor_ref, pid who, const exit_reason& why) {
          say("DOWN: " + show(who) + " ended, reason: " + why.to_string());
        },
        [](const term& t) { say("ignored: " + t.to_string()); },
        [](const message& m) { say("ignored a local " + std::string(m.type_name())); });
  }
}

process main_process(node::options opts, bool cookie_given) {
  try {
    co_await node::start(opts);
  } catch (const std::exception& e) {
    std::fprintf(stderr,
                 "cluster_ping: %s\n"
                 "It needs a running epmd (`epmd -daemon`, or `epmd -port P &` and\n"
                 "ERL_EPMD_PORT=P exported for this program and the shell) and a cookie\n"
                 "(the second argument, or the contents of ~/.erlang.cookie).\n",
                 e.what());
    g_exit_code = 1;
    co_return;
  }
  const pid p = spawn(ping_server);
  register_name("ping", p);

  const std::string me = node::self_name();
  const std::string host = me.substr(me.find('@') + 1);
  const bool long_names = host.find('.') != std::string::npos;
  // The cookie is printed only when it was given on the command line (it is on the screen
  // already); one read from ~/.erlang.cookie is the shell's default too.
  const std::string cookie = cookie_given ? " --cookie " + *opts.cookie : "";
  const std::string to = "{:ping, :\"" + me + "\"}";
  say("node " + me + " is up; `ping` is " + show(p) + ". In another terminal:");
  say("");
  if (const char* port = std::getenv("ERL_EPMD_PORT")) {
    say("  export ERL_EPMD_PORT=" + std::string(port));
  }
  say("  iex " + std::string(long_names ? "--name" : "--sname") + " shell@" + host + cookie);
  say("");
  say("then, one line at a time (a reply takes a moment: flush() on the same line as the");
  say("send can run before it arrives):");
  say("");
  say("  send(" + to + ", {:ping, self()})");
  say("  flush()");
  say("  send(" + to + ", {:echo, self(), %{list: [1, 2.5, :three], text: \"olá\"}})");
  say("  send(" + to + ", {:add, self(), 40, 2})");
  say("  send(" + to + ", {:upcase, self(), \"hello\"})");
  say("  flush()");
  say("  send(" + to + ", {:hello, self()})");
  say("  flush()");
  say("  send(" + to + ", :anything_else)");
  say("  Node.list(:hidden)");
  say("");
  say("Process.exit(self(), :kill) in iex, or quitting iex, ends a process that said hello:");
  say("this node prints its DOWN. Ctrl-C here ends this node.");
  say("");

  // Runs until killed: this process waits for nothing that ever comes.
  co_await receive([](atom<"never">) {});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 3 ||
      (argc > 1 && (std::string_view(argv[1]) == "-h" || std::string_view(argv[1]) == "--help"))) {
    std::fprintf(stderr,
                 "usage: cluster_ping [NAME@HOST] [COOKIE]\n"
                 "  defaults: coproc@127.0.0.1 and the cookie in ~/.erlang.cookie\n");
    return 2;
  }
  node::options opts;
  opts.name = argc > 1 ? argv[1] : "coproc@127.0.0.1";
  if (argc > 2) opts.cookie = argv[2];
  const bool cookie_given = argc > 2;
  const int rc = coproc::run([opts, cookie_given] { return main_process(opts, cookie_given); },
                             options{.cores = 1});
  return rc != 0 ? rc : g_exit_code;
}
