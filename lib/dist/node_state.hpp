// lib/dist/node_state.hpp - what the distribution layer keeps: the started node, its
// connections, and the table that gives other nodes' pids a 16-bit node number.
//
// A connection to a peer is two processes on one core (cores are shared out among
// connections): the *writer*, which is the
// connection's name in `node_state::conns` (every send, link and monitor towards that
// peer becomes an out_item in its mailbox, so one sender's items stay in order), and
// the *reader*, which reads frames and acts on them. Being on one core they never run
// at the same time, so they share conn_state without locks. The writer also runs the
// handshake, so items that arrive while the connection is being set up simply wait in
// its mailbox.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "coproc/exit_reason.hpp"
#include "coproc/message.hpp"
#include "coproc/node.hpp"
#include "coproc/pid.hpp"
#include "coproc/tcp.hpp"
#include "coproc/term.hpp"

namespace coproc::detail {
struct signal_rec;
}

namespace coproc::detail::dist {

// The bytes queued towards one peer and not yet taken by its writer, and the senders
// held back meanwhile: Erlang's dist_buf_busy_limit. A sender that queues past `limit`
// is parked (lib/core: it runs on until it next suspends, then waits) until the writer
// has taken the queue down to half the limit, so a peer that stops reading cannot make
// the writer's mailbox grow without bound. One per connection entry; its tickets ride
// in the items, so whatever ends an item (written, failed, dropped with a dead writer's
// mailbox) gives its bytes back.
//
// Parking races with draining; both sides are seq_cst (a Dekker pair: the sender
// publishes `any_parked` then reads `queued`, the writer lowers `queued` then reads
// `any_parked`), so either the sender sees the drain and does not park, or the writer
// sees the sender and unparks it.
struct out_budget {
  explicit out_budget(std::size_t l) noexcept : limit(l) {}
  const std::size_t limit;
  std::atomic<std::size_t> queued{0};
  std::atomic<bool> any_parked{false};
  std::mutex mu;            // parked
  std::vector<pid> parked;  // senders waiting for the queue to drain

  // After the calling process queued past the limit: parks it, unless the queue has
  // drained meanwhile. Not a process (a foreign thread, a timer), or `writer`: nothing.
  void hold_back_sender(const pid& writer) noexcept;
  // The writer (or whoever ends an item) gives `bytes` back; below half the limit, the
  // parked senders go on.
  void give_back(std::size_t bytes) noexcept;
};

// A claim on an out_budget for one item's bytes; returned when the item ends.
class budget_ticket {
 public:
  budget_ticket() = default;
  budget_ticket(std::shared_ptr<out_budget> b, std::size_t bytes) noexcept
      : budget_(std::move(b)), bytes_(bytes) {
    budget_->queued.fetch_add(bytes_);  // seq_cst: see out_budget
  }
  budget_ticket(budget_ticket&& o) noexcept
      : budget_(std::move(o.budget_)), bytes_(std::exchange(o.bytes_, 0)) {}
  budget_ticket& operator=(budget_ticket&& o) noexcept {
    if (this != &o) {
      release();
      budget_ = std::move(o.budget_);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  budget_ticket(const budget_ticket&) = delete;
  budget_ticket& operator=(const budget_ticket&) = delete;
  ~budget_ticket() { release(); }

 private:
  void release() noexcept {
    if (budget_) budget_->give_back(bytes_);
    budget_.reset();
  }
  std::shared_ptr<out_budget> budget_;
  std::size_t bytes_ = 0;
};

// What a sender hands to a connection's writer.
struct out_item {
  enum kind_t : std::uint8_t {
    frame,         // bytes: a complete frame (SEND / REG_SEND), built by the sender
    link,          // local links to remote
    unlink,        // local unlinks remote
    exit_link,     // local ended (or is gone): its link to remote fires with reason
    exit2,         // exit(remote, reason) from local
    monitor,       // local (watcher) monitors remote with ref; by the registered name
                   // `bytes` when that is not empty (remote is then a stand-in)
    demonitor,     // local drops monitor ref on remote
    monitor_exit,  // local process `local` ended; remote watcher with our ref gets DOWN
    disconnect,    // close the connection (disconnect_node, a newer connection, stop)
    notify,        // tell `local` ($node_up, peer) once the connection is up (ping)
    alias_send,    // `message` ({[alias | Ref], Reply}, from gen_reply) to the alias Ref,
                   // or to `remote` (the caller) when the peer has no aliases
  };
  kind_t kind = frame;
  std::string bytes;
  pid local;
  pid remote;
  std::uint64_t ref = 0;
  exit_reason reason;
  term message{};          // alias_send only
  budget_ticket ticket{};  // its bytes in the connection's out_budget (set by submit)
};

// Simultaneous connect: the attempt that lost hands its queued items to the winner.
struct backlog_item {
  out_item item;
};
struct backlog_end {};

struct node_state;

// The peer cannot be reached (not in its epmd, no route, setup timed out). Like Erlang,
// we do not log these: monitors and links get noconnection, ping() says false. A wrong
// cookie or a protocol violation is a node_error and is reported.
class unreachable_error : public node_error {
 public:
  using node_error::node_error;
};

// One connection's shared state (see the file comment).
struct conn_state {
  node_state* node = nullptr;
  std::string peer;  // the peer's node name
  tcp_stream stream;
  pid writer;
  pid reader;
  bool down = false;
  std::string down_reason;
  std::int64_t last_write_ns = 0;
  std::uint64_t peer_flags = 0;  // the capabilities the peer offered in its handshake

  // What must fire when the connection drops.
  std::set<std::pair<pid, pid>> links;  // (local, remote)
  struct in_monitor {                   // a remote process watches a local one
    term eref;                          // the peer's reference
    pid watcher;                        // remote
    term target;                        // as the peer named it: a pid or a registered name
    pid local;
  };
  std::unordered_map<std::uint64_t, in_monitor> in_monitors;  // by our ref
  std::map<std::vector<std::uint32_t>, std::uint64_t> in_by_eref;
  struct out_monitor {
    pid watcher;       // local
    pid target;        // remote (for a name: a stand-in pid of that node, index 0)
    std::string name;  // monitored by registered name (MONITOR_P with an atom), else empty
  };
  std::unordered_map<std::uint64_t, out_monitor> out_monitors;  // by our ref
};

// What an ALIAS_SEND to one of our gen_calls' aliases becomes in the caller's mailbox: a
// reply (reply_base), so delivery drops it once the call has given up (timed out or
// failed), as Erlang drops a message to an alias that is no longer active.
struct alias_message : reply_base {
  term message;
};

struct node_state {
  node::options opts;
  std::string name;  // alive@host
  std::string alive;
  std::string host;
  std::string cookie;  // never printed
  std::uint32_t creation = 0;
  std::uint64_t flags = 0;
  std::uint16_t port = 0;
  std::uint16_t epmd_port = 4369;
  pid acceptor;
  pid epmd_link;
  pid net_kernel;
  bool stopped = false;
  std::atomic<std::uint64_t> unlink_ids{1};

  struct conn_entry {
    pid writer;
    bool up = false;
    std::shared_ptr<out_budget> budget;  // what senders have queued for this writer
  };
  std::unordered_map<std::string, conn_entry> conns;  // guarded by g_mu

  // Connections are spread over the cores (a connection's two processes share one):
  // an outgoing one by the peer's name, an accepted one round robin.
  unsigned cores = 1;
  std::atomic<unsigned> rr{0};
  [[nodiscard]] unsigned core_for(const std::string& peer) const noexcept {
    return static_cast<unsigned>(std::hash<std::string>{}(peer) % cores);
  }
  unsigned next_core() noexcept { return rr.fetch_add(1, std::memory_order_relaxed) % cores; }

  // Failed incoming handshakes, by peer IP: each IP is reported at most once per
  // kReportEvery, with a count of the failures it had since (anyone who can reach the
  // port could otherwise flood the log). Guarded by report_mu; at most kMaxReported IPs.
  struct failure_count {
    std::chrono::steady_clock::time_point last;
    std::uint64_t since = 0;  // failures not reported since `last`
  };
  static constexpr std::size_t kMaxReported = 1024;
  static constexpr std::chrono::seconds kReportEvery{10};
  std::mutex report_mu;
  std::unordered_map<std::string, failure_count> handshake_failures;

  // The aliases of our gen_calls in progress (the monitor ref's id, as gen:call's
  // [alias | Mref]), and their callers: where an incoming ALIAS_SEND goes. Guarded by
  // alias_mu; an entry lives while its call waits.
  std::mutex alias_mu;
  std::unordered_map<std::uint64_t, pid> aliases;

  std::mutex rng_mu;
  std::mt19937 rng{std::random_device{}()};
  std::uint32_t random32() {
    std::lock_guard lock(rng_mu);
    return static_cast<std::uint32_t>(rng());
  }
};

inline std::shared_ptr<out_budget> new_budget(const node_state& st) {
  return std::make_shared<out_budget>(st.opts.dist_buf_busy_limit);
}

// Guards the current node pointer and its conns map.
extern std::mutex g_mu;
// Bumped (under g_mu) whenever g_node or a conns entry changes: senders cache the writer
// they last used per thread and revalidate it with this (see writer_for).
extern std::atomic<std::uint64_t> g_conns_generation;
inline void conns_changed() noexcept {
  g_conns_generation.fetch_add(1, std::memory_order_release);
}
// The started node, or nullptr. Node states are never freed while the program runs (a
// pid may still point at one's name), so a pointer read under g_mu stays valid.
extern node_state* g_node;

// This node's name ("nonode@nohost" while none is started).
std::string own_name();
// Makes st the started node (kept until the program ends) and its name and creation ours;
// throws node_error if another node is started.
node_state* adopt_node(std::unique_ptr<node_state> st);
// Our pids and references name no node from here on (stop, or the runtime's end).
void forget_identity() noexcept;
// A pid that stands for node `node` itself (index 0): monitors by name are held on it.
pid stand_in(const std::string& node);

// The node table: a 16-bit number for each (node name, creation) this program has seen.
std::uint16_t node_number(const std::string& name, std::uint32_t creation);
std::pair<std::string, std::uint32_t> node_at(std::uint16_t number);
// The name of node `number` ("" for none); entries live as long as the program.
const std::string& node_name(std::uint16_t number) noexcept;

// The exit reason of everything cut off by a lost connection.
const exit_reason& noconnection();

// pid <-> Erlang pid term, with this node's name and creation.
term pid_term(const pid& p);
bool pid_from(const term& t, pid& out);
term ref_term(std::uint64_t ref);
bool ref_from(const term& t, std::uint64_t& out);

// The writer for `peer`, starting a connection if there is none, and the budget of what
// is queued for it. writer is pid{} when no node runs.
struct writer_ref {
  pid writer;
  std::shared_ptr<out_budget> budget;
};
writer_ref writer_for(const std::string& peer);
// Hands an item to peer's connection; with no node running (or no way to reach the peer),
// link and monitor items are answered with noconnection at once.
void submit(const std::string& peer, out_item item) noexcept;
// Answers an item that can no longer reach its peer (noconnection).
void fail_item(const out_item& item) noexcept;
// gen_reply's {[alias | Ref], Reply} to `caller`'s node, for the alias Ref there.
void alias_send_out(const pid& caller, term message);

// The two halves of a connection (lib/dist/connection.cpp).
process outgoing_connection(node_state* st, std::string peer);
process incoming_connection(node_state* st, tcp_stream s);

// Resolves a host name (numeric, else the system resolver) with a port.
socket_address resolve(const std::string& host, std::uint16_t port);
// Asks epmd on peer's host for its distribution port.
subroutine<std::uint16_t> epmd_port_of(const node_state& st, const std::string& peer,
                                       std::int64_t deadline);
std::int64_t ns_left(std::int64_t deadline_ns);

// Hooks called by the core (runtime.cpp, signals.cpp) for pids with node != 0.
void send_out(const pid& to, message_node* n) noexcept;
void signal_out(const pid& to, signal_rec* s) noexcept;
void monitor_fired(const pid& watcher, std::uint64_t ref, const pid& who,
                   const exit_reason& reason) noexcept;
// Monitors {Name, Node} for the running process, as gen:call does (MONITOR_P with the
// name): a name nobody has there gives DOWN noproc at once, an unreachable node
// noconnection. The DOWN's pid is a stand-in for that node.
monitor_ref monitor_name(const remote_name& to);
// The runtime is ending: forget the node (its processes are gone).
void runtime_ended() noexcept;

}  // namespace coproc::detail::dist
