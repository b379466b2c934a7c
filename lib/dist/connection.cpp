// lib/dist/connection.cpp - one connection to a peer node: the handshake (both sides),
// the writer and the reader (see lib/dist/node_state.hpp for who does what).
//
// Simultaneous connects are resolved as OTP's dist_util does: when A, with its own
// attempt to B pending, receives B's attempt, A answers `ok_simultaneous` and takes B's
// connection if B's name is greater than A's, and `nok` otherwise (B does the mirror
// image, so exactly one connection survives). The pending writer that loses hands what
// is queued in its mailbox to the winner (backlog_item ... backlog_end), and the winner
// writes that backlog before anything sent to it directly, so one sender's messages
// keep their order.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <span>
#include <system_error>

#include "coproc/io_error.hpp"
#include "coproc/link.hpp"
#include "coproc/log.hpp"
#include "coproc/receive.hpp"
#include "coproc/registry.hpp"
#include "coproc/spawn.hpp"
#include "coproc/term_codec.hpp"
#include "coproc/term_convert.hpp"
#include "lib/core/runtime_impl.hpp"
#include "lib/dist/frame.hpp"
#include "lib/dist/node_state.hpp"
#include "lib/dist/wire.hpp"
#include "lib/otp/signals.hpp"

namespace coproc::detail::dist {
namespace {

using std::chrono::nanoseconds;

// Control message operations (the first element of the control tuple).
enum op_code : std::int64_t {
  op_link = 1,
  op_send = 2,
  op_exit = 3,
  op_unlink = 4,
  op_reg_send = 6,
  op_exit2 = 8,
  op_send_tt = 12,
  op_exit_tt = 13,
  op_reg_send_tt = 16,
  op_exit2_tt = 18,
  op_monitor_p = 19,
  op_demonitor_p = 20,
  op_monitor_p_exit = 21,
  op_send_sender = 22,
  op_send_sender_tt = 23,
  op_payload_exit = 24,
  op_payload_exit_tt = 25,
  op_payload_exit2 = 26,
  op_payload_exit2_tt = 27,
  op_payload_monitor_p_exit = 28,
  op_alias_send = 33,
  op_alias_send_tt = 34,
  op_unlink_id = 35,
  op_unlink_id_ack = 36,
};

term op(op_code o) {
  return term::integer(o);
}

exit_reason reason_from(const term& t) {
  if (auto r = from_term<exit_reason>(t)) return *r;
  return exit_reason::user(t.to_string());
}

void check_flags(const std::string& peer, std::uint64_t flags) {
  if ((flags & mandatory_flags_25) != mandatory_flags_25 &&
      (flags & flag_mandatory_25_digest) == 0) {
    throw node_error("coproc: node " + peer +
                     " lacks capabilities OTP 25 makes mandatory; refusing it");
  }
}

// ---- handshake ------------------------------------------------------------------------

subroutine<std::string> read_handshake(tcp_stream& s, std::int64_t deadline) {
  std::array<char, 2> len{};
  co_await s.read_exact(len, nanoseconds(ns_left(deadline)));
  const std::size_t n = (static_cast<std::size_t>(static_cast<std::uint8_t>(len[0])) << 8) |
                        static_cast<std::uint8_t>(len[1]);
  std::string body(n, '\0');
  if (n > 0) {
    std::span<char> dst(body.data(), body.size());
    co_await s.read_exact(dst, nanoseconds(ns_left(deadline)));
  }
  co_return body;
}

subroutine<void> write_handshake(tcp_stream& s, std::string body, std::int64_t deadline) {
  const std::string framed = frame16(body);
  co_await s.write_all(framed, nanoseconds(ns_left(deadline)));
}

// The initiating side: epmd lookup, connect, send_name ... challenge_ack.
subroutine<void> client_handshake(conn_state& c, std::int64_t deadline) {
  node_state& st = *c.node;
  const std::uint16_t port = co_await epmd_port_of(st, c.peer, deadline);
  const socket_address addr = resolve(c.peer.substr(c.peer.find('@') + 1), port);
  c.stream = co_await tcp_stream::connect(addr, nanoseconds(ns_left(deadline)));

  const name_msg hello{st.flags, st.creation, st.name};
  co_await write_handshake(c.stream, build(hello), deadline);
  std::string error;
  std::string body = co_await read_handshake(c.stream, deadline);
  const auto status = parse_status(body, error);
  if (!status) throw node_error("coproc: handshake with " + c.peer + ": " + error);
  if (status->status == "alive") {
    // The peer still holds a connection from an earlier us; we have none, so it is stale.
    const status_msg yes{"true"};
    co_await write_handshake(c.stream, build(yes), deadline);
  } else if (status->status != "ok" && status->status != "ok_simultaneous") {
    throw node_error("coproc: " + c.peer + " refused the connection (" + status->status + ")");
  }
  body = co_await read_handshake(c.stream, deadline);
  const auto challenge = parse_challenge(body, error);
  if (!challenge) throw node_error("coproc: handshake with " + c.peer + ": " + error);
  if (challenge->name != c.peer) {
    throw node_error("coproc: connected to " + c.peer + " but it says it is " + challenge->name);
  }
  check_flags(c.peer, challenge->flags);
  c.peer_flags = challenge->flags;

  const std::uint32_t mine = st.random32();
  const challenge_reply_msg reply{mine, handshake_digest(challenge->challenge, st.cookie)};
  co_await write_handshake(c.stream, build(reply), deadline);
  try {
    body = co_await read_handshake(c.stream, deadline);
  } catch (const std::system_error&) {
    throw node_error("coproc: " + c.peer +
                     " closed the connection after our challenge reply: the cookies differ");
  }
  const auto ack = parse_challenge_ack(body, error);
  if (!ack) throw node_error("coproc: handshake with " + c.peer + ": " + error);
  if (ack->digest != handshake_digest(mine, st.cookie)) {
    throw node_error("coproc: " + c.peer + " answered our challenge wrongly: the cookies differ");
  }
}

// ---- after a failed or finished connection ---------------------------------------------

// Takes this writer out of the node's map; returns who now holds the peer's entry (the
// winner of a simultaneous connect), or pid{}.
pid leave_map(const conn_state& c) {
  std::lock_guard lock(g_mu);
  node_state* st = c.node;
  auto it = st->conns.find(c.peer);
  if (it == st->conns.end()) return {};
  if (it->second.writer == c.writer) {
    st->conns.erase(it);
    conns_changed();
    return {};
  }
  return it->second.writer;
}

// Empties the mailbox: each item goes to `successor` (in order) or is answered with
// noconnection. The short final wait catches items that were routed to us before we
// left the map but are still on their way from another core.
subroutine<void> drain(pid successor) {
  auto take = [&](out_item& item) {
    if (successor) {
      route(successor, make_message(backlog_item{std::move(item)}));
    } else {
      fail_item(item);
    }
  };
  for (;;) {
    const bool more = co_await receive(
        [&](out_item& item) {
          take(item);
          return true;
        },
        [&](backlog_item& b) {
          take(b.item);
          return true;
        },
        [](backlog_end) { return true; },
        after(std::chrono::milliseconds(20), [] { return false; }));
    if (!more) break;
  }
  if (successor) route(successor, make_message(backlog_end{}));
}

// The connection is down: everything that watched across it learns it, with noconnection.
// Out of memory, one notification is lost, not the runtime (as everywhere signals go).
void fan_out_down(conn_state& c) noexcept {
  for (const auto& link : c.links) {
    try {
      post_signal(link.first,
                  new signal_rec{signal_rec::exit, true, link.second, 0, noconnection()});
    } catch (...) {
    }
  }
  for (const auto& out : c.out_monitors) {
    try {
      post_signal(out.second.watcher, new signal_rec{signal_rec::down, false, out.second.target,
                                                     out.first, noconnection()});
    } catch (...) {
    }
  }
  for (const auto& in : c.in_monitors) {
    try {
      post_signal(in.second.local,
                  new signal_rec{signal_rec::demonitor, false, in.second.watcher, in.first, {}});
    } catch (...) {
    }
  }
  c.links.clear();
  c.out_monitors.clear();
  c.in_monitors.clear();
  c.in_by_eref.clear();
}

// ---- the writer --------------------------------------------------------------------------

term reason_term(const exit_reason& r) {
  return to_term(r);
}

// Turns one item into bytes in `batch` (and keeps the link/monitor books).
// What MONITOR_P and DEMONITOR_P name for one of our monitors: the pid, or the name.
term monitored(const conn_state::out_monitor& m) {
  return m.name.empty() ? pid_term(m.target) : term::atom(m.name);
}

void write_item(conn_state& c, out_item& item, std::string& batch) {
  switch (item.kind) {
    case out_item::frame:
      if (batch.empty()) {
        batch = std::move(item.bytes);  // the usual single frame: no copy
      } else {
        batch += item.bytes;
      }
      return;
    case out_item::link:
      c.links.insert({item.local, item.remote});
      batch += make_frame(term::tuple({op(op_link), pid_term(item.local), pid_term(item.remote)}),
                          nullptr);
      return;
    case out_item::unlink: {
      c.links.erase({item.local, item.remote});
      const std::uint64_t id = c.node->unlink_ids.fetch_add(1, std::memory_order_relaxed);
      batch += make_frame(
          term::tuple({op(op_unlink_id), id, pid_term(item.local), pid_term(item.remote)}),
          nullptr);
      return;
    }
    case out_item::exit_link:
      c.links.erase({item.local, item.remote});
      batch += make_frame(term::tuple({op(op_exit), pid_term(item.local), pid_term(item.remote),
                                       reason_term(item.reason)}),
                          nullptr);
      return;
    case out_item::exit2: {
      // exit(pid, reason) from outside a process: the writer stands in as the sender.
      const pid from = item.local ? item.local : c.writer;
      batch += make_frame(term::tuple({op(op_exit2), pid_term(from), pid_term(item.remote),
                                       reason_term(item.reason)}),
                          nullptr);
      return;
    }
    case out_item::monitor: {
      // By name as gen:call monitors {Name, Node}: the peer answers MONITOR_P_EXIT with
      // noproc at once when nobody there has the name.
      const auto& m = c.out_monitors[item.ref] = {item.local, item.remote, item.bytes};
      batch += make_frame(
          term::tuple({op(op_monitor_p), pid_term(item.local), monitored(m), ref_term(item.ref)}),
          nullptr);
      return;
    }
    case out_item::demonitor: {
      auto it = c.out_monitors.find(item.ref);
      if (it == c.out_monitors.end()) return;     // already fired or never made
      const term target = monitored(it->second);  // DEMONITOR_P names what MONITOR_P named
      c.out_monitors.erase(it);
      batch += make_frame(
          term::tuple({op(op_demonitor_p), pid_term(item.local), target, ref_term(item.ref)}),
          nullptr);
      return;
    }
    case out_item::monitor_exit: {
      auto it = c.in_monitors.find(item.ref);
      if (it == c.in_monitors.end()) return;  // demonitored meanwhile
      batch += make_frame(
          term::tuple({op(op_monitor_p_exit), it->second.target, pid_term(it->second.watcher),
                       it->second.eref, reason_term(item.reason)}),
          nullptr);
      if (it->second.eref.is_ref()) c.in_by_eref.erase(it->second.eref.as_ref().ids);
      c.in_monitors.erase(it);
      return;
    }
    case out_item::disconnect:
      c.down = true;
      if (c.down_reason.empty()) c.down_reason = "disconnected";
      return;
    case out_item::notify:
      route(item.local, make_message(atom<"$node_up">{}, item.bytes));
      return;
    case out_item::alias_send: {
      // gen_reply: to the caller's alias when its node has aliases (OTP 24+), which drops
      // the reply if the call has given up; else to the caller, as OTP 23 replies.
      const term alias = item.message[0].tail();
      const pid from = item.local ? item.local : c.writer;
      const term control =
          (c.peer_flags & flag_alias) != 0
              ? term::tuple({op(op_alias_send), pid_term(from), alias})
              : term::tuple({op(op_send_sender), pid_term(from), pid_term(item.remote)});
      batch += make_frame(control, &item.message);
      return;
    }
  }
}

process reader(std::shared_ptr<conn_state> c);

// Runs an established connection until it goes down, then tears it down.
subroutine<void> run_connection(std::shared_ptr<conn_state> c, pid displaced) {
  node_state* st = c->node;
  {
    std::lock_guard lock(g_mu);
    if (auto it = st->conns.find(c->peer);
        it != st->conns.end() && it->second.writer == c->writer) {
      it->second.up = true;
    } else {
      c->down = true;  // the node stopped, or the entry was taken over meanwhile
      c->down_reason = "superseded";
    }
  }
  c->reader = spawn_on(self().core, reader, c);
  const auto tick = std::chrono::duration_cast<nanoseconds>(st->opts.net_ticktime) / 4;
  const auto write_timeout = std::chrono::duration_cast<nanoseconds>(st->opts.net_ticktime);
  std::string batch;
  // A large batch (a big message) is handed to the write as it is, with no copy; a small
  // one is copied, so that batch keeps its capacity for the next turn's frames.
  constexpr std::size_t kHandOver = std::size_t{64} * 1024;
  auto flush = [&]() -> subroutine<void> {
    if (!batch.empty()) {
      try {
        if (batch.size() >= kHandOver) {
          co_await c->stream.write_all(std::move(batch), write_timeout);
          batch = std::string();  // moved from: made empty on purpose
        } else {
          co_await c->stream.write_all(batch, write_timeout);
        }
      } catch (const std::system_error& e) {
        c->down = true;
        c->down_reason = std::string("write failed: ") + e.what();
      }
      batch.clear();
      c->last_write_ns = now_ns();
    }
  };

  // A connection that won a simultaneous connect first writes what the loser had queued.
  while (displaced && !c->down) {
    const bool more = co_await receive(
        [&](backlog_item& b) {
          write_item(*c, b.item, batch);
          return true;
        },
        [](backlog_end) { return false; }, after(st->opts.setup_timeout, [] { return false; }));
    if (!more) break;
  }
  co_await flush();

  c->last_write_ns = now_ns();
  while (!c->down) {
    co_await receive([&](out_item& item) { write_item(*c, item, batch); },
                     [&](backlog_item& b) { write_item(*c, b.item, batch); }, [](backlog_end) {},
                     after(tick, [] {}));
    // Gather what else is queued into one write (pipelined sends cost one syscall).
    for (int i = 0; i < 4096 && batch.size() < (std::size_t{1} << 20) && !c->down; ++i) {
      const bool more = co_await receive(
          [&](out_item& item) {
            write_item(*c, item, batch);
            return true;
          },
          after(std::chrono::milliseconds(0), [] { return false; }));
      if (!more) break;
    }
    if (batch.empty() && now_ns() - c->last_write_ns >= tick.count()) batch = tick_frame();
    co_await flush();
  }

  // Down: leave the map first, so new sends start a new connection.
  (void)leave_map(*c);
  exit(c->reader, exit_reason::shutdown());
  c->stream.close();
  fan_out_down(*c);
  co_await drain(pid{});
}

// ---- the reader --------------------------------------------------------------------------

bool local_pid(const term& t, pid& out) {
  return pid_from(t, out) && out.node == 0;
}

void deliver(const term& to, std::optional<term> msg) {
  pid p;
  if (msg && local_pid(to, p)) route(p, make_message(std::move(*msg)));
}

// ALIAS_SEND to one of our gen_calls' aliases: into the caller's mailbox as a reply to
// that call, dropped if the call is over (here, when the alias is gone, or at delivery).
// A message to any other reference is dropped, as Erlang drops one to an inactive alias.
void deliver_to_alias(node_state& st, const term& alias, std::optional<term> msg) {
  std::uint64_t id = 0;
  if (!msg || !ref_from(alias, id)) return;
  pid caller;
  {
    std::lock_guard lock(st.alias_mu);
    const auto it = st.aliases.find(id);
    if (it == st.aliases.end()) return;
    caller = it->second;
  }
  alias_message m;
  m.ref = id;
  m.message = std::move(*msg);
  route(caller, make_message(std::move(m)));
}

void deliver_named(const term& name, std::optional<term> msg) {
  if (msg && name.is_atom()) {
    const pid p = whereis(name.atom_name());
    if (p) route(p, make_message(std::move(*msg)));
  }
}

void handle_frame(conn_state& c, std::string_view body) {
  if (body.empty() || static_cast<std::uint8_t>(body[0]) != 112) {
    throw node_error("coproc: frame from " + c.peer + " is not a pass-through frame");
  }
  body.remove_prefix(1);
  std::size_t used = 0;
  term ctl;
  try {
    ctl = decode(body, {.allow_trailing = true}, &used);
  } catch (const term_decode_error& e) {
    throw node_error("coproc: bad control message from " + c.peer + ": " + e.what());
  }
  const std::string_view rest = body.substr(used);
  if (!ctl.is_tuple() || ctl.size() == 0 || !ctl[0].is_integer() || !ctl[0].fits_int64()) {
    throw node_error("coproc: bad control message from " + c.peer + ": " + ctl.to_string());
  }
  const std::int64_t operation = ctl[0].as_int();
  // As Erlang does, a frame that breaks the protocol ends the connection: a payload that
  // does not decode, an operation we did not negotiate, a field of the wrong type. Only
  // a well-formed message we cannot represent (a fun, a port) is dropped, and the
  // connection stays.
  auto bad = [&](const char* what) {
    throw node_error("coproc: " + std::string(what) + " from " + c.peer + ": " + ctl.to_string());
  };
  auto payload = [&]() -> std::optional<term> {
    decode_result r = try_decode(rest);
    if (r) return std::move(*r.value);
    if (r.unsupported) return std::nullopt;
    throw node_error("coproc: malformed message from " + c.peer + " (" + ctl.to_string() +
                     "): " + r.error);
  };
  // Field checks: a pid, a pid or a registered name, a reference.
  auto need_pid = [&](const term& t) {
    if (!t.is_pid()) bad("a control message with a non-pid where a pid belongs");
  };
  auto need_name = [&](const term& t) {
    if (!t.is_atom()) bad("a send to a name that is not an atom");
  };
  auto need_ref = [&](const term& t) {
    if (!t.is_ref()) bad("a monitor message with a non-reference where its reference belongs");
  };
  auto arity = [&](std::size_t n) {
    if (ctl.size() != n) {
      throw node_error("coproc: control message with a wrong arity from " + c.peer + ": " +
                       ctl.to_string());
    }
  };
  auto exit_in = [&](const term& from, const term& to, const exit_reason& reason, bool link) {
    pid remote;
    pid local;
    if (!pid_from(from, remote) || !local_pid(to, local)) return;
    if (link) c.links.erase({local, remote});
    post_signal(local, new signal_rec{signal_rec::exit, link, remote, 0, reason});
  };
  auto monitor_down = [&](const term& ref, const exit_reason& reason) {
    std::uint64_t id = 0;
    if (!ref_from(ref, id)) return;
    auto it = c.out_monitors.find(id);
    if (it == c.out_monitors.end()) return;
    post_signal(it->second.watcher,
                new signal_rec{signal_rec::down, false, it->second.target, id, reason});
    c.out_monitors.erase(it);
  };

  switch (operation) {
    case op_send:
    case op_send_sender:
      arity(3);
      need_pid(ctl[2]);
      deliver(ctl[2], payload());
      break;
    case op_send_tt:
    case op_send_sender_tt:
      arity(4);
      need_pid(ctl[2]);
      deliver(ctl[2], payload());
      break;
    case op_reg_send:
      arity(4);
      need_pid(ctl[1]);
      need_name(ctl[3]);
      deliver_named(ctl[3], payload());
      break;
    case op_reg_send_tt:
      arity(5);
      need_pid(ctl[1]);
      need_name(ctl[3]);
      deliver_named(ctl[3], payload());
      break;
    case op_alias_send:
    case op_alias_send_tt:
      arity(operation == op_alias_send ? 3 : 4);
      need_pid(ctl[1]);
      if (!ctl[2].is_ref()) bad("an alias send to a non-reference");
      deliver_to_alias(*c.node, ctl[2], payload());
      break;
    case op_link: {
      arity(3);
      need_pid(ctl[1]);
      need_pid(ctl[2]);
      pid remote;
      pid local;
      if (!pid_from(ctl[1], remote) || !local_pid(ctl[2], local)) break;
      c.links.insert({local, remote});
      post_signal(local, new signal_rec{signal_rec::link, false, remote, 0, {}});
      break;
    }
    case op_unlink:
    case op_unlink_id: {
      const std::size_t base = operation == op_unlink ? 1 : 2;
      arity(base + 2);
      need_pid(ctl[base]);
      need_pid(ctl[base + 1]);
      pid remote;
      pid local;
      if (!pid_from(ctl[base], remote) || !local_pid(ctl[base + 1], local)) break;
      c.links.erase({local, remote});
      post_signal(local, new signal_rec{signal_rec::unlink, false, remote, 0, {}});
      if (operation == op_unlink_id) {
        route(c.writer,
              make_message(out_item{
                  out_item::frame,
                  make_frame(term::tuple({op(op_unlink_id_ack), ctl[1], ctl[3], ctl[2]}), nullptr),
                  {},
                  {},
                  0,
                  {}}));
      }
      break;
    }
    case op_unlink_id_ack:
      break;
    case op_exit:
      arity(4);
      need_pid(ctl[1]);
      need_pid(ctl[2]);
      exit_in(ctl[1], ctl[2], reason_from(ctl[3]), true);
      break;
    case op_exit_tt:
      arity(5);
      need_pid(ctl[1]);
      need_pid(ctl[2]);
      exit_in(ctl[1], ctl[2], reason_from(ctl[4]), true);
      break;
    case op_payload_exit:
    case op_payload_exit_tt:
    case op_payload_exit2:
    case op_payload_exit2_tt: {
      arity(operation == op_payload_exit || operation == op_payload_exit2 ? 3 : 4);
      need_pid(ctl[1]);
      need_pid(ctl[2]);
      const auto r = payload();
      const bool link = operation == op_payload_exit || operation == op_payload_exit_tt;
      exit_in(ctl[1], ctl[2], r ? reason_from(*r) : exit_reason::user("unknown"), link);
      break;
    }
    case op_exit2:
      arity(4);
      need_pid(ctl[1]);
      need_pid(ctl[2]);
      exit_in(ctl[1], ctl[2], reason_from(ctl[3]), false);
      break;
    case op_exit2_tt:
      arity(5);
      need_pid(ctl[1]);
      need_pid(ctl[2]);
      exit_in(ctl[1], ctl[2], reason_from(ctl[4]), false);
      break;
    case op_monitor_p: {
      arity(4);
      need_pid(ctl[1]);
      if (!ctl[2].is_pid() && !ctl[2].is_atom()) bad("a monitor of something not a pid or name");
      need_ref(ctl[3]);
      pid watcher;
      if (!pid_from(ctl[1], watcher)) break;
      pid target;
      if (ctl[2].is_atom()) {
        target = whereis(ctl[2].atom_name());
      } else {
        (void)local_pid(ctl[2], target);
      }
      const std::uint64_t ref = current_runtime()->reserve_refs(1);
      c.in_monitors[ref] = {ctl[3], watcher, ctl[2], target};
      c.in_by_eref[ctl[3].as_ref().ids] = ref;
      if (target) {
        post_signal(target, new signal_rec{signal_rec::monitor, false, watcher, ref, {}});
      } else {
        route(c.writer, make_message(out_item{
                            out_item::monitor_exit, {}, {}, watcher, ref, exit_reason::noproc()}));
      }
      break;
    }
    case op_demonitor_p: {
      arity(4);
      need_pid(ctl[1]);
      need_ref(ctl[3]);
      auto it = c.in_by_eref.find(ctl[3].as_ref().ids);
      if (it == c.in_by_eref.end()) break;
      if (auto m = c.in_monitors.find(it->second); m != c.in_monitors.end()) {
        if (m->second.local) {
          post_signal(
              m->second.local,
              new signal_rec{signal_rec::demonitor, false, m->second.watcher, m->first, {}});
        }
        c.in_monitors.erase(m);
      }
      c.in_by_eref.erase(it);
      break;
    }
    case op_monitor_p_exit:
      arity(5);
      need_pid(ctl[2]);
      need_ref(ctl[3]);
      monitor_down(ctl[3], reason_from(ctl[4]));
      break;
    case op_payload_monitor_p_exit: {
      arity(4);
      need_pid(ctl[2]);
      need_ref(ctl[3]);
      const auto r = payload();
      monitor_down(ctl[3], r ? reason_from(*r) : exit_reason::user("unknown"));
      break;
    }
    default:
      bad("an operation this connection did not negotiate");  // group leaders, spawn
                                                              // requests
  }
}

// The reader's bytes: what has arrived and is not yet taken as frames, at [start_, end_).
// Room is added without zero-filling it (std::string::resize would write every byte
// of a 64 KiB chunk per read), and made once for the whole of a large frame whose size
// the header has told.
class frame_bytes {
 public:
  [[nodiscard]] std::string_view bytes() const noexcept {
    return {data_.get() + start_, end_ - start_};
  }
  // Room for at least n more bytes after the unread ones.
  std::span<char> room(std::size_t n) {
    if (cap_ - end_ < n) {
      const std::size_t live = end_ - start_;
      if (start_ > 0 && cap_ - live >= n) {
        std::memmove(data_.get(), data_.get() + start_, live);
      } else {
        const std::size_t cap = std::max(cap_ * 2, live + n);
        auto fresh = std::make_unique_for_overwrite<char[]>(cap);
        if (live > 0) std::memcpy(fresh.get(), data_.get() + start_, live);
        data_ = std::move(fresh);
        cap_ = cap;
      }
      start_ = 0;
      end_ = live;
    }
    return {data_.get() + end_, cap_ - end_};
  }
  void filled(std::size_t n) noexcept { end_ += n; }
  void consume(std::size_t n) noexcept {
    start_ += n;
    if (start_ != end_) return;
    start_ = end_ = 0;
    if (cap_ > kKeep) {  // a rare huge frame's room is not kept for the connection's life
      data_.reset();
      cap_ = 0;
    }
  }

 private:
  static constexpr std::size_t kKeep = std::size_t{16} << 20;
  std::unique_ptr<char[]> data_;
  std::size_t cap_ = 0;
  std::size_t start_ = 0;
  std::size_t end_ = 0;
};

process reader(std::shared_ptr<conn_state> c) {
  const node_state& st = *c->node;
  const auto silence = std::chrono::duration_cast<nanoseconds>(st.opts.net_ticktime);
  frame_bytes buf;
  constexpr std::size_t kChunk = std::size_t{64} * 1024;
  // One read asks for at most this much: a one-shot read has a buffer of its own of the
  // size asked (see tcp_stream::read_some), which a 64 MiB frame should not get.
  constexpr std::size_t kMaxRead = std::size_t{1} << 20;
  std::size_t pending_frame = 0;  // the size of the partial frame at the front, once known
  std::string why;
  std::exception_ptr broken;
  try {
    for (;;) {
      // Read straight onto the end of the buffer (one copy, from the operation's own).
      const std::size_t have = buf.bytes().size();
      const std::size_t missing = pending_frame > have ? pending_frame - have : 0;
      std::span<char> room = buf.room(std::max(kChunk, missing));
      room = room.first(std::min(room.size(), std::max(kChunk, std::min(missing, kMaxRead))));
      const std::size_t n = co_await c->stream.read_some(room, silence);
      if (n == 0) {
        why = "closed by " + c->peer;
        break;
      }
      buf.filled(n);
      for (;;) {
        std::string_view body;
        std::size_t used = 0;
        const frame_status fs = next_frame(buf.bytes(), st.opts.max_frame, body, used);
        if (fs == frame_status::need_more) {
          pending_frame = used;
          break;
        }
        if (fs == frame_status::too_large) {
          throw node_error("coproc: a frame from " + c->peer + " exceeds max_frame");
        }
        if (fs == frame_status::frame) handle_frame(*c, body);
        buf.consume(used);
      }
    }
  } catch (const std::system_error& e) {
    why = e.code() == std::errc::timed_out ? "net_tick_timeout: " + c->peer + " went silent"
                                           : std::string(e.what());
  } catch (const std::exception& e) {
    // A protocol violation (bad frame, bad term): reported as this process's crash, so
    // the reason is in the log; a closed or silent peer is not an error of ours.
    broken = std::current_exception();
    why = e.what();
  }
  if (c->down_reason.empty()) c->down_reason = why;
  route(c->writer, make_message(out_item{out_item::disconnect, {}, {}, {}, 0, {}}));
  if (broken) std::rethrow_exception(broken);
}

std::string peer_address(const tcp_stream& s) {
  try {
    return s.peer().to_string();
  } catch (const std::exception&) {
    return "an unknown address";
  }
}

std::string peer_ip(const tcp_stream& s) {
  try {
    return s.peer().ip();
  } catch (const std::exception&) {
    return "an unknown address";
  }
}

// A failed incoming handshake: one warning per peer IP per kReportEvery, which says how
// many more failed meanwhile, instead of a crash report per connection.
void report_handshake_failure(node_state& st, const std::string& ip, std::exception_ptr e) {
  std::string what = "coproc: a handshake failed";
  try {
    std::rethrow_exception(std::move(e));
  } catch (const std::exception& x) {
    what = x.what();
  } catch (...) {
  }
  const auto now = std::chrono::steady_clock::now();
  std::uint64_t unreported = 0;
  {
    std::lock_guard lock(st.report_mu);
    auto it = st.handshake_failures.find(ip);
    if (it != st.handshake_failures.end() && now - it->second.last < node_state::kReportEvery) {
      ++it->second.since;
      return;
    }
    if (it == st.handshake_failures.end()) {
      if (st.handshake_failures.size() >= node_state::kMaxReported) {
        std::erase_if(st.handshake_failures, [&](const auto& kv) {
          return now - kv.second.last >= node_state::kReportEvery;
        });
        if (st.handshake_failures.size() >= node_state::kMaxReported) st.handshake_failures.clear();
      }
      it = st.handshake_failures.emplace(ip, node_state::failure_count{}).first;
    }
    unreported = it->second.since;
    it->second = {now, 0};
  }
  if (unreported > 0) {
    what += " (and " + std::to_string(unreported) + " more failed handshakes from " + ip +
            " since the last report)";
  }
  coproc::detail::log(log_level::warning, what);
}

}  // namespace

// ---- the two ways a connection starts ------------------------------------------------------

process outgoing_connection(node_state* st, std::string peer) {
  auto c = std::make_shared<conn_state>();
  c->node = st;
  c->peer = std::move(peer);
  c->writer = self();
  const std::int64_t deadline =
      now_ns() + std::chrono::duration_cast<nanoseconds>(st->opts.setup_timeout).count();
  std::exception_ptr failed;
  bool unreachable = false;
  try {
    co_await client_handshake(*c, deadline);
  } catch (const unreachable_error&) {
    unreachable = true;
  } catch (const std::system_error&) {
    unreachable = true;  // refused, reset or timed out while connecting
  } catch (...) {
    failed = std::current_exception();
  }
  if (failed || unreachable) {
    c->stream.close();
    const pid successor = leave_map(*c);
    co_await drain(successor);
    // A wrong cookie or a broken peer is reported as this process's crash; an
    // unreachable node, or a simultaneous connect we lost, is not an error.
    if (failed && !successor) std::rethrow_exception(failed);
    co_return;
  }
  co_await run_connection(c, pid{});
}

process incoming_connection(node_state* st, tcp_stream s) {
  auto c = std::make_shared<conn_state>();
  c->node = st;
  c->stream = std::move(s);
  c->writer = self();
  const std::int64_t deadline =
      now_ns() + std::chrono::duration_cast<nanoseconds>(st->opts.setup_timeout).count();
  pid displaced;
  bool registered = false;
  bool abandoned = false;
  std::exception_ptr failed;
  try {
    std::string error;
    std::string body = co_await read_handshake(c->stream, deadline);
    const auto hello = parse_name(body, error);
    if (!hello)
      throw node_error("coproc: bad handshake from " + peer_address(c->stream) + ": " + error);
    c->peer = hello->name;
    check_flags(c->peer, hello->flags);
    c->peer_flags = hello->flags;

    std::string status;
    pid old_up;
    {
      std::lock_guard lock(g_mu);
      if (g_node != st || st->stopped) throw node_error("coproc: node stopped");
      auto it = st->conns.find(c->peer);
      if (c->peer == st->name) {
        status = "not_allowed";
      } else if (it == st->conns.end()) {
        st->conns.emplace(c->peer, node_state::conn_entry{self(), false, new_budget(*st)});
        conns_changed();
        registered = true;
        status = "ok";
      } else if (!it->second.up) {
        if (c->peer > st->name) {
          status = "ok_simultaneous";
          displaced = it->second.writer;
          it->second.writer = self();
          conns_changed();
          registered = true;
        } else {
          status = "nok";
        }
      } else {
        status = "alive";
        old_up = it->second.writer;
      }
    }
    const status_msg answer{status};
    co_await write_handshake(c->stream, build(answer), deadline);
    if (status == "nok" || status == "not_allowed") co_return;
    if (status == "alive") {
      body = co_await read_handshake(c->stream, deadline);
      const auto go_on = parse_status(body, error);
      if (!go_on || go_on->status != "true") co_return;
      {
        std::lock_guard lock(g_mu);
        auto it = st->conns.find(c->peer);
        if (it == st->conns.end()) {
          st->conns.emplace(c->peer, node_state::conn_entry{self(), false, new_budget(*st)});
        } else {
          it->second = {self(), false, new_budget(*st)};
        }
        conns_changed();
        registered = true;
      }
      send(old_up, out_item{out_item::disconnect, {}, {}, {}, 0, {}});
    }

    const std::uint32_t mine = st->random32();
    const challenge_msg challenge{st->flags, mine, st->creation, st->name};
    co_await write_handshake(c->stream, build(challenge), deadline);
    body = co_await read_handshake(c->stream, deadline);
    const auto reply = parse_challenge_reply(body, error);
    if (!reply) throw node_error("coproc: handshake from " + c->peer + ": " + error);
    if (reply->digest != handshake_digest(mine, st->cookie)) {
      throw node_error("coproc: connection attempt from node " + c->peer +
                       " rejected: the cookies differ");
    }
    const challenge_ack_msg ack{handshake_digest(reply->challenge, st->cookie)};
    co_await write_handshake(c->stream, build(ack), deadline);
  } catch (const std::system_error& e) {
    // A handshake that never finishes is worth a report (a stuck or hostile peer); one
    // the peer just abandoned (closed, reset) is not.
    if (e.code() == std::errc::timed_out) {
      failed = std::make_exception_ptr(node_error(
          "coproc: a handshake from " + (c->peer.empty() ? peer_address(c->stream) : c->peer) +
          " did not finish within setup_timeout"));
    } else {
      abandoned = true;
    }
  } catch (...) {
    failed = std::current_exception();
  }
  if (failed || abandoned) {
    const std::string ip = peer_ip(c->stream);
    c->stream.close();
    if (registered) {
      (void)leave_map(*c);
      co_await drain(pid{});
    }
    if (failed) report_handshake_failure(*st, ip, failed);
    co_return;
  }
  co_await run_connection(c, displaced);
}

}  // namespace coproc::detail::dist
