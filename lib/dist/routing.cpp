// lib/dist/routing.cpp - how send, link, monitor and exit reach other nodes: the hooks
// the core calls for pids with node != 0, and the connection writer each item goes to.
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "coproc/detail/etf_writer.hpp"
#include "coproc/link.hpp"
#include "coproc/node.hpp"
#include "coproc/registry.hpp"
#include "coproc/spawn.hpp"
#include "coproc/term_codec.hpp"
#include "lib/core/loop.hpp"
#include "lib/dist/frame.hpp"
#include "lib/dist/node_state.hpp"
#include "lib/otp/signals.hpp"

namespace coproc {
namespace detail::dist {

writer_ref writer_for(const std::string& peer) {
  // The writer this thread used last, while nothing changed in the map: no lock.
  thread_local struct {
    std::uint64_t generation = ~std::uint64_t{0};
    std::string peer;
    writer_ref ref;
  } last;
  const std::uint64_t generation = g_conns_generation.load(std::memory_order_acquire);
  if (last.generation == generation && last.peer == peer && alive(last.ref.writer)) {
    return last.ref;
  }
  std::lock_guard lock(g_mu);
  node_state* st = g_node;
  if (st == nullptr || st->stopped || peer == st->name) return {};
  auto it = st->conns.find(peer);
  if (it == st->conns.end()) {
    // Connections go to the node's core: their two processes then share it with the
    // acceptor.
    const pid w = spawn_on(st->core_for(peer), outgoing_connection, st, peer);
    it = st->conns.emplace(peer, node_state::conn_entry{w, false, new_budget(*st)}).first;
    conns_changed();
  }
  last.generation = g_conns_generation.load(std::memory_order_relaxed);
  last.peer = peer;
  last.ref = {it->second.writer, it->second.budget};
  return last.ref;
}

void out_budget::hold_back_sender(const pid& writer) noexcept {
  pcb* self = t_current;
  // Never the writer itself (it is what drains the queue), nor a thread that is no process.
  if (self == nullptr || t_loop == nullptr || self->self == writer) return;
  try {
    std::lock_guard lock(mu);
    parked.push_back(self->self);
    any_parked.store(true);            // seq_cst: before the read of queued (see out_budget)
    if (queued.load() <= limit / 2) {  // drained meanwhile: go on
      parked.pop_back();
      any_parked.store(!parked.empty());
      return;
    }
    loop::park(self);
  } catch (...) {
    // Out of memory for the list: this sender is not held back.
  }
}

void out_budget::give_back(std::size_t bytes) noexcept {
  const std::size_t left = queued.fetch_sub(bytes) - bytes;  // seq_cst: see out_budget
  if (left > limit / 2 || !any_parked.load()) return;
  std::vector<pid> go_on;
  {
    std::lock_guard lock(mu);
    if (queued.load() > limit / 2) return;
    go_on.swap(parked);
    any_parked.store(false);
  }
  for (const pid& p : go_on) unpark_process(p);
}

void fail_item(const out_item& item) noexcept {
  try {
    switch (item.kind) {
      case out_item::link:
        post_signal(item.local,
                    new signal_rec{signal_rec::exit, true, item.remote, 0, noconnection()});
        break;
      case out_item::monitor:
        post_signal(item.local,
                    new signal_rec{signal_rec::down, false, item.remote, item.ref, noconnection()});
        break;
      case out_item::notify:
        detail::route(item.local, make_message(atom<"$node_down">{}, item.bytes));
        break;
      default:
        break;
    }
  } catch (...) {
  }
}

void submit(const std::string& peer, out_item item) noexcept {
  try {
    const writer_ref w = writer_for(peer);
    if (!w.writer) {
      fail_item(item);
      return;
    }
    // What the item costs the writer's mailbox: its bytes, and a fixed part for the rest.
    constexpr std::size_t kItemOverhead = 128;
    item.ticket = budget_ticket(w.budget, item.bytes.size() + kItemOverhead);
    detail::route(w.writer, make_message(std::move(item)));
    if (w.budget->queued.load(std::memory_order_relaxed) > w.budget->limit) {
      w.budget->hold_back_sender(w.writer);
    }
  } catch (...) {
    fail_item(item);
  }
}

namespace {

const std::string& peer_of(const pid& p) {
  return node_name(p.node);
}

pid current_sender() noexcept {
  return t_current != nullptr ? t_current->self : pid{};
}

void require_encodable(const message_node* n) {
  if (n->type->encode == nullptr) {
    throw std::invalid_argument("coproc: a message of type " + std::string(n->type->name) +
                                " cannot be sent to another node (no coproc::term_traits)");
  }
}

// SEND_SENDER {22, From, To} (SEND {2, '', To} from outside a process) and the message,
// written straight from the C++ values (coproc/detail/etf_writer.hpp).
std::string send_frame(const pid& to, message_node* n) {
  require_encodable(n);
  frame_builder f;
  const pid from = current_sender();
  etf::tuple_header(f.out(), 3);
  if (from) {
    etf::integer(f.out(), 22);
    etf::pid(f.out(), from);
  } else {
    etf::integer(f.out(), 2);
    etf::atom(f.out(), "");
  }
  etf::pid(f.out(), to);
  f.begin_message();
  n->type->encode(n, f.out());
  return std::move(f).finish();
}

}  // namespace

void alias_send_out(const pid& caller, term message) {
  out_item item{out_item::alias_send, {}, current_sender(), caller, 0, {}};
  item.message = std::move(message);
  submit(peer_of(caller), std::move(item));
}

void send_out(const pid& to, message_node* n) noexcept {
  try {
    std::string frame = send_frame(to, n);
    destroy(n);
    submit(peer_of(to), out_item{out_item::frame, std::move(frame), {}, to, 0, {}});
  } catch (...) {
    destroy(n);
  }
}

void signal_out(const pid& to, signal_rec* s) noexcept {
  std::unique_ptr<signal_rec> owned(s);
  out_item item;
  item.local = s->from;
  item.remote = to;
  item.ref = s->ref;
  switch (s->kind) {
    case signal_rec::link:
      item.kind = out_item::link;
      break;
    case signal_rec::unlink:
      item.kind = out_item::unlink;
      break;
    case signal_rec::exit:
      item.kind = s->from_link ? out_item::exit_link : out_item::exit2;
      item.reason = s->reason;
      break;
    case signal_rec::monitor:
      item.kind = out_item::monitor;
      break;
    case signal_rec::demonitor:
      item.kind = out_item::demonitor;
      break;
    case signal_rec::down:  // a remote watcher's DOWN goes by monitor_fired
      item.kind = out_item::monitor_exit;
      item.reason = s->reason;
      break;
  }
  submit(peer_of(to), std::move(item));
}

monitor_ref monitor_name(const remote_name& to) {
  if (to.node == node::self_name()) return monitor(whereis(to.name));
  // The stand-in routes the monitor's demonitor (and the DOWN's sender) to that node.
  const pid node_stand_in = stand_in(to.node);
  const std::uint64_t ref = add_watching(node_stand_in);
  submit(to.node, out_item{out_item::monitor, to.name, current_sender(), node_stand_in, ref, {}});
  return monitor_ref{ref};
}

void monitor_fired(const pid& watcher, std::uint64_t ref, const pid& who,
                   const exit_reason& reason) noexcept {
  submit(peer_of(watcher), out_item{out_item::monitor_exit, {}, who, watcher, ref, reason});
}

}  // namespace detail::dist

namespace detail {

void route_to_node(const pid& to, message_node* n) {
  std::string frame;
  try {
    frame = dist::send_frame(to, n);
  } catch (...) {
    destroy(n);
    throw;
  }
  destroy(n);
  dist::submit(dist::peer_of(to),
               dist::out_item{dist::out_item::frame, std::move(frame), {}, to, 0, {}});
}

void send_to_name(const remote_name& to, message_node* n) {
  if (to.node == node::self_name()) {
    route(whereis(to.name), n);
    return;
  }
  std::string frame;
  try {
    dist::require_encodable(n);
    const pid from = dist::current_sender();
    // REG_SEND needs a sender; from outside a process the node's acceptor stands in.
    pid sender = from;
    if (!sender) {
      std::lock_guard lock(dist::g_mu);
      if (dist::g_node != nullptr) sender = dist::g_node->acceptor;
    }
    dist::frame_builder f;
    etf::tuple_header(f.out(), 4);
    etf::integer(f.out(), 6);
    etf::pid(f.out(), sender);
    etf::atom(f.out(), "");
    encode_append(f.out(), term::atom(to.name), {.version_byte = false});  // checks the name
    f.begin_message();
    n->type->encode(n, f.out());
    frame = std::move(f).finish();
  } catch (...) {
    destroy(n);
    throw;
  }
  destroy(n);
  dist::submit(to.node, dist::out_item{dist::out_item::frame, std::move(frame), {}, {}, 0, {}});
}

}  // namespace detail
}  // namespace coproc
