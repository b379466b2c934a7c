// coproc/node.hpp - this program as a node of an Erlang/Elixir cluster (Erlang distribution).
//
//   node::options opts{.name = "coproc@127.0.0.1", .cookie = "secret"};
//   co_await node::start(opts);          // (a named options: g++ 12 mishandles brace
//                                        //  temporaries inside co_await expressions)
//   register_name("echo", self());
//   send(remote_name{"shell", "iex@127.0.0.1"}, atom<"hello">{}, self());   // {shell, Node} ! ...
//   co_await receive([](atom<"ok">, std::string s) { ... });  // {ok, <<"...">>} from Erlang
//
// A started node is a *hidden* node (like a C node or erl -hidden): Erlang nodes talk to
// it when asked to, but do not pull it into their global name space. It registers its
// name and listening port with the local epmd (ALIVE2, the connection kept open while the
// node lives) and speaks distribution version 6 (OTP 23 and later) on coproc sockets,
// as client and as server. Connections are made on demand: the first send, link or
// monitor towards a node connects to it (epmd PORT_PLEASE2, then the cookie handshake);
// messages sent meanwhile wait, in order, and are dropped if the connection cannot be made
// (as in Erlang, where a send never fails). Every connection is its own pair of processes
// (a writer and a reader, on one core; connections are spread over the cores), so a peer
// that sends garbage or goes silent loses its own connection and nothing else.
//
// Pids: a pid names a local process (node == 0) or a process of another node (node != 0,
// an index into this program's table of node names; index and serial then carry Erlang's
// pid number and serial). send(), link(), monitor() and exit() take either, and a pid
// received in a message (or as the `From` of an Erlang send) can be replied to directly.
// Our own pids travel as NEW_PID_EXT with ID = the process index and Serial = core << 20
// | (our serial mod 2^20): a pid that comes back names the same process, or a dead one if
// its slot has been reused 2^20 times since (Erlang's own pids wrap around too).
//
// Messages: an outgoing message is written in the External Term Format on the sender's
// core, as term_traits maps it (coproc/term_convert.hpp, coproc/detail/etf_writer.hpp):
// several values make a tuple, std::string is a binary, atom<"x"> is the atom x, a
// std::vector a list. A message from another node arrives as a coproc::term; a receive
// clause with C++ parameter types takes it when from_term converts it, so
// `[](atom<"ok">, std::string s)` matches {ok, <<"hi">>} and `[](const term& t)` matches
// anything. Messages from one sender to one receiver keep their order across nodes.
// Sending a value with no term_traits to another node throws std::invalid_argument.
//
// Failure: link/monitor across nodes use LINK, UNLINK_ID, EXIT, EXIT2, MONITOR_P,
// DEMONITOR_P and MONITOR_P_EXIT. When a connection goes down (closed, a bad frame, or no
// data for net_ticktime), every monitor on that node's processes gets DOWN with reason
// `noconnection` and every link an exit signal with it. Exit reasons map as
// term_traits<exit_reason> says: normal, shutdown, kill, killed and noproc are atoms.
//
// Security: the cookie is taken from options::cookie, else from ~/.erlang.cookie; it is
// never printed or logged. A handshake frame is at most 64 KiB, a distribution frame at
// most options::max_frame bytes (larger closes that connection); a malformed frame or
// term closes that connection only.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coproc/call.hpp"
#include "coproc/message.hpp"
#include "coproc/pid.hpp"
#include "coproc/subroutine.hpp"
#include "coproc/term.hpp"
#include "coproc/term_convert.hpp"

namespace coproc {

// Why starting a node or connecting to one failed (the text says which step).
class node_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// {Name, Node}: a registered name on another node (or on this one).
struct remote_name {
  std::string name;
  std::string node;
};

namespace node {

struct options {
  std::string name;                       // "alive@host": -name (host with dots) or -sname style
  std::optional<std::string> cookie;      // default: the contents of ~/.erlang.cookie
  std::chrono::seconds net_ticktime{60};  // a peer silent this long is down; ticks every 1/4
  std::uint16_t port = 0;                 // listening port (0: any free port)
  std::uint16_t epmd_port = 0;            // 0: $ERL_EPMD_PORT, else 4369
  std::chrono::milliseconds setup_timeout{7000};  // connect + handshake (net_setuptime)
  std::size_t max_frame = std::size_t{64} << 20;  // bytes; a larger frame closes the connection
  // Bytes queued towards one peer past which a sending process is held back (Erlang's
  // dist_buf_busy_limit, 1 MiB): it finishes what it is doing, and at its next
  // suspension (a receive, a sleep, I/O, yield) it waits until the connection's writer
  // has taken the queue down to half. A peer that stops reading then costs about this
  // much memory (plus one write batch of at most 1 MiB and the socket buffers), not
  // everything the senders produce. Links, monitors and exit signals are counted, but
  // only processes are held back (never a foreign thread).
  std::size_t dist_buf_busy_limit = std::size_t{1} << 20;
  unsigned core = 0;  // core of the acceptor and the epmd link (connections spread over all)
};

// Publishes this program as node opts.name and starts accepting connections. Await it
// from a process. Throws node_error (bad name, no cookie, epmd refused or unreachable, a
// node already started) or std::system_error.
subroutine<void> start(options opts);

// Closes every connection (monitors and links on them fire with noconnection), leaves
// epmd. Safe to call when no node runs. The runtime's end does this too.
void stop();

// This node's name, or "nonode@nohost" when none is started.
std::string self_name();
// True between start() and stop().
bool started() noexcept;
// The nodes this node has a connection up with (Erlang's nodes(connected)).
std::vector<std::string> connected();
// net_adm:ping: connects if needed; true when the node answered the handshake.
subroutine<bool> ping(std::string node);
// Closes the connection to `node`, as erlang:disconnect_node/1 does.
bool disconnect(const std::string& node);

// The port this node accepts distribution connections on (0 when none is started).
std::uint16_t listen_port();

// The node a pid lives on (this node's name for a local pid).
std::string of(const pid& p);

}  // namespace node

// gen_server:call/3 towards a process on another node (an Erlang or Elixir GenServer, or
// a coproc process that answers '$gen_call'): sends {'$gen_call', {self(), Tag}, Request}
// and returns Reply from {Tag, Reply}. The server is monitored while we wait: throws
// call_error with its exit reason (noproc, noconnection, ...) and call_timeout when the
// timeout passes. Tag is [alias | Ref], as gen:call's since OTP 24: the monitor's ref is
// an alias of the caller while it waits, so a reply that comes after the timeout is
// dropped instead of landing in the mailbox. For local servers use call<R>
// (coproc/call.hpp); a local pid here throws std::invalid_argument.
subroutine<term> gen_call(pid server, term request,
                          std::chrono::milliseconds timeout = std::chrono::seconds(5));
// The same for {Name, Node}, monitored by name as gen:call does: a name nobody has there
// throws call_error(noproc) at once, and a server that dies meanwhile call_error with its
// reason.
subroutine<term> gen_call(remote_name server, term request,
                          std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Answers a gen_server:call that came from another node, as GenServer.reply/2 does:
//   co_await receive([](atom<"$gen_call">, const std::tuple<pid, term>& from, atom<"ping">) {
//     gen_reply(from, atom<"pong">{});
//   });
// sends {Tag, Reply}: to the caller's alias when Tag is [alias | Ref] (OTP 24+ callers),
// so a caller that has given up (a GenServer.call that timed out) never sees it; to the
// caller's pid otherwise.
void gen_reply(const std::tuple<pid, term>& from, term reply);
template <class V>
requires(!std::same_as<std::decay_t<V>, term> &&
         term_convertible<std::decay_t<V>>) void gen_reply(const std::tuple<pid, term>& from,
                                                           const V& reply) {
  gen_reply(from, to_term(reply));
}

// The reply of gen_call<R> did not convert to R (the rules of coproc/term_convert.hpp):
// the server answered, with something else. reply() is what it sent. The call is over
// (its monitor taken back, nothing left in the mailbox), as with call_error.
class bad_reply : public std::runtime_error {
 public:
  bad_reply(term reply, std::string_view wanted);
  [[nodiscard]] const term& reply() const noexcept { return reply_; }

 private:
  term reply_;
};

// gen_call<R>: the same call, its reply converted to R as a receive clause with a
// parameter of type R converts a message (R default-constructible), e.g.
//   const remote_name kv{"kv", "app@host"};               // named: g++ 12 pitfall
//   const std::int64_t n = co_await gen_call<std::int64_t>(kv, term::atom("count"));
//   auto apps = co_await gen_call<std::vector<std::tuple<term, std::string, std::string>>>(
//       controller, term::atom("which_applications"));   // [{kernel, "ERTS  CXC ...", "8.5"}]
// A reply that does not convert throws bad_reply at once instead of waiting for the
// timeout: the tag matched, so it is this call's answer. gen_call<term> is gen_call.
template <class Server>
concept gen_call_target = std::same_as<Server, pid> || std::same_as<Server, remote_name>;

template <term_convertible R, gen_call_target Server>
subroutine<R> gen_call(Server server, term request,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const term reply = co_await gen_call(server, std::move(request), timeout);
  R out{};
  if (!from_term(reply, out)) throw bad_reply(reply, detail::type_name<R>());
  co_return out;
}

namespace detail {
// {Name, Node} ! n. Throws std::invalid_argument for a payload type that has no
// term_traits; the message is freed either way.
void send_to_name(const remote_name& to, message_node* n);
}  // namespace detail

// {Name, Node} ! Message. Dropped when Node cannot be reached or nobody there has Name.
template <class... V>
void send(const remote_name& to, V&&... values) {
  static_assert(sizeof...(V) > 0, "send needs a message");
  detail::send_to_name(to, detail::make_message(std::forward<V>(values)...));
}

}  // namespace coproc
