// lib/dist/node.cpp - starting a node (epmd, the listener), the node table, and the
// hooks through which send, link, monitor and exit reach other nodes.
#include <netdb.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "coproc/link.hpp"
#include "coproc/node.hpp"
#include "coproc/receive.hpp"
#include "coproc/registry.hpp"
#include "coproc/spawn.hpp"
#include "coproc/term_codec.hpp"
#include "lib/core/loop.hpp"
#include "lib/core/runtime_impl.hpp"
#include "lib/dist/node_state.hpp"
#include "lib/dist/wire.hpp"
#include "lib/otp/signals.hpp"

namespace coproc {
namespace detail::dist {

std::mutex g_mu;
node_state* g_node = nullptr;
std::atomic<std::uint64_t> g_conns_generation{0};

namespace {

// Node states are kept until the program ends: pids may still name them.
std::vector<std::unique_ptr<node_state>>& graveyard() {
  static std::vector<std::unique_ptr<node_state>> g;
  return g;
}

// The node table. Entries are never removed or changed, so readers (every pid that is
// encoded) load a pointer without a lock; only adding an entry takes the mutex.
struct node_entry {
  std::string name;
  std::uint32_t creation;
};
struct node_table {
  std::mutex mu;
  std::vector<std::unique_ptr<node_entry>> owned;
  std::map<std::pair<std::string, std::uint32_t>, std::uint16_t> index;
  std::array<std::atomic<const node_entry*>, 65536> by_number{};  // [0]: this node
};
node_table& table() {
  static node_table t;
  return t;
}

// This node's name and creation, for encoding our pids; never freed once published.
const node_entry kNoNode{"nonode@nohost", 0};
std::atomic<const node_entry*> g_identity{&kNoNode};
std::vector<std::unique_ptr<node_entry>>& identities() {
  static std::vector<std::unique_ptr<node_entry>> v;  // guarded by g_mu
  return v;
}

// Erlang's serial field for our pid: core << 20 | serial mod 2^20 (see node.hpp).
constexpr std::uint32_t kSerialBits = 20;
constexpr std::uint64_t kSerialMask = (std::uint64_t{1} << kSerialBits) - 1;
// A pid for a process that cannot exist (a stale pid of ours, or of an older us).
constexpr std::uint64_t kDeadSerial = std::uint64_t{1} << 63;
// Remote pids keep Erlang's serial in the low 32 bits; this bit keeps serial non-zero.
constexpr std::uint64_t kRemoteSerial = std::uint64_t{1} << 32;

std::string own_name() {
  return g_identity.load(std::memory_order_acquire)->name;
}

const node_entry& own_identity() {
  return *g_identity.load(std::memory_order_acquire);
}

}  // namespace

namespace {
std::uint16_t lookup_or_add(const std::string& name, std::uint32_t creation) {
  node_table& t = table();
  std::lock_guard lock(t.mu);
  auto key = std::make_pair(name, creation);
  if (auto it = t.index.find(key); it != t.index.end()) return it->second;
  const std::size_t n = t.owned.size() + 1;
  if (n >= t.by_number.size()) throw std::length_error("coproc: too many remote nodes seen");
  t.owned.push_back(std::make_unique<node_entry>(node_entry{name, creation}));
  t.by_number[n].store(t.owned.back().get(), std::memory_order_release);
  t.index.emplace(std::move(key), static_cast<std::uint16_t>(n));
  return static_cast<std::uint16_t>(n);
}
}  // namespace

std::uint16_t node_number(const std::string& name, std::uint32_t creation) {
  // Entries never change, so the last answer on this thread stays right (no lock).
  thread_local struct {
    std::string name;
    std::uint32_t creation = 0;
    std::uint16_t number = 0;
  } last;
  if (last.number != 0 && last.creation == creation && last.name == name) return last.number;
  const std::uint16_t n = lookup_or_add(name, creation);
  last.name = name;
  last.creation = creation;
  last.number = n;
  return n;
}

std::pair<std::string, std::uint32_t> node_at(std::uint16_t number) {
  const node_entry* e =
      number != 0 ? table().by_number[number].load(std::memory_order_acquire) : nullptr;
  if (e == nullptr) return {"", 0};
  return {e->name, e->creation};
}

}  // namespace detail::dist

namespace detail::etf {
void pid(std::string& out, const coproc::pid& p) {
  using namespace detail::dist;
  const node_entry* node = nullptr;
  std::uint32_t serial = 0;
  if (p.node != 0) {
    node = table().by_number[p.node].load(std::memory_order_acquire);
    serial = static_cast<std::uint32_t>(p.serial);
  } else {
    node = g_identity.load(std::memory_order_acquire);
    serial = static_cast<std::uint32_t>((std::uint64_t{p.core} << kSerialBits) |
                                        (p.serial & kSerialMask));
  }
  if (node == nullptr) node = &kNoNode;
  u8(out, 88);  // NEW_PID_EXT
  atom(out, node->name);
  u32(out, p.index);
  u32(out, serial);
  u32(out, node->creation);
}
}  // namespace detail::etf

namespace detail::dist {

const std::string& node_name(std::uint16_t number) noexcept {
  static const std::string none;
  const node_entry* e =
      number != 0 ? table().by_number[number].load(std::memory_order_acquire) : nullptr;
  return e != nullptr ? e->name : none;
}

const exit_reason& noconnection() {
  static const exit_reason r{atom<"noconnection">{}};
  return r;
}

term pid_term(const pid& p) {
  if (p.node != 0) {
    auto [name, creation] = node_at(p.node);
    return term::pid(std::move(name), p.index, static_cast<std::uint32_t>(p.serial), creation);
  }
  const node_entry& me = own_identity();
  const auto serial =
      static_cast<std::uint32_t>((std::uint64_t{p.core} << kSerialBits) | (p.serial & kSerialMask));
  return term::pid(me.name, p.index, serial, me.creation);
}

bool pid_from(const term& t, pid& out) {
  if (!t.is_pid()) return false;
  const term::pid_t& e = t.as_pid();
  const node_entry& me = own_identity();
  const std::string& name = me.name;
  const std::uint32_t creation = me.creation;
  if (e.node == name && (e.creation == creation || name == "nonode@nohost")) {
    const auto core = static_cast<std::uint16_t>(e.serial >> kSerialBits);
    const std::uint64_t low = e.serial & kSerialMask;
    std::uint64_t serial = kDeadSerial | low;
    if (runtime_impl* rt = current_runtime(); rt != nullptr) {
      if (const slot* s = rt->table().find(e.id); s != nullptr) {
        const std::uint64_t live = s->serial.load(std::memory_order_acquire);
        if (live != 0 && (live & kSerialMask) == low) serial = live;
      }
    }
    out = pid{e.id, core, 0, serial};
    return true;
  }
  if (e.node == name) {  // an older incarnation of this node: names nobody now
    out = pid{e.id, 0, 0, kDeadSerial | e.serial};
    return true;
  }
  out = pid{e.id, 0, node_number(e.node, e.creation), kRemoteSerial | e.serial};
  return true;
}

term ref_term(std::uint64_t ref) {
  const node_entry& me = own_identity();
  return term::ref(me.name, me.creation,
                   {static_cast<std::uint32_t>(ref), static_cast<std::uint32_t>(ref >> 32), 0});
}

bool ref_from(const term& t, std::uint64_t& out) {
  if (!t.is_ref()) return false;
  const term::ref_t& r = t.as_ref();
  const node_entry& me = own_identity();
  const std::string& name = me.name;
  const std::uint32_t creation = me.creation;
  if (r.node != name || r.ids.size() != 3 || r.ids[2] != 0) return false;
  if (r.creation != creation && name != "nonode@nohost") return false;
  out = std::uint64_t{r.ids[0]} | (std::uint64_t{r.ids[1]} << 32);
  return out != 0;
}

std::string make_frame(const term& control, const term* message) {
  std::string f(4, '\0');
  f.push_back(static_cast<char>(112));  // pass-through: no distribution header
  encode_append(f, control);
  if (message != nullptr) encode_append(f, *message);
  const auto len = static_cast<std::uint32_t>(f.size() - 4);
  f[0] = static_cast<char>(len >> 24);
  f[1] = static_cast<char>(len >> 16);
  f[2] = static_cast<char>(len >> 8);
  f[3] = static_cast<char>(len);
  return f;
}

pid writer_for(const std::string& peer) {
  // The writer this thread used last, while nothing changed in the map: no lock.
  thread_local struct {
    std::uint64_t generation = ~std::uint64_t{0};
    std::string peer;
    pid writer;
  } last;
  const std::uint64_t generation = g_conns_generation.load(std::memory_order_acquire);
  if (last.generation == generation && last.peer == peer && alive(last.writer)) {
    return last.writer;
  }
  std::lock_guard lock(g_mu);
  node_state* st = g_node;
  if (st == nullptr || st->stopped || peer == st->name) return {};
  if (auto it = st->conns.find(peer); it != st->conns.end()) {
    last.generation = g_conns_generation.load(std::memory_order_relaxed);
    last.peer = peer;
    last.writer = it->second.writer;
    return it->second.writer;
  }
  // Connections go to the node's core: their two processes then share it with the acceptor.
  pid w = spawn_on(st->core_for(peer), outgoing_connection, st, peer);
  st->conns.emplace(peer, node_state::conn_entry{w, false});
  conns_changed();
  return w;
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
    const pid w = writer_for(peer);
    if (!w) {
      fail_item(item);
      return;
    }
    detail::route(w, make_message(std::move(item)));
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

// A pass-through frame: length, 112, then each term with its version byte.
std::string frame_start() {
  std::string f(4, '\0');
  f.push_back(static_cast<char>(112));
  f.push_back(static_cast<char>(131));
  return f;
}

void frame_finish(std::string& f) {
  const auto len = static_cast<std::uint32_t>(f.size() - 4);
  f[0] = static_cast<char>(len >> 24);
  f[1] = static_cast<char>(len >> 16);
  f[2] = static_cast<char>(len >> 8);
  f[3] = static_cast<char>(len);
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
  std::string f = frame_start();
  const pid from = current_sender();
  etf::tuple_header(f, 3);
  if (from) {
    etf::integer(f, 22);
    etf::pid(f, from);
  } else {
    etf::integer(f, 2);
    etf::atom(f, "");
  }
  etf::pid(f, to);
  f.push_back(static_cast<char>(131));
  n->type->encode(n, f);
  frame_finish(f);
  return f;
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
  const pid stand_in{0, 0, node_number(to.node, 0), kRemoteSerial};
  const std::uint64_t ref = add_watching(stand_in);
  submit(to.node, out_item{out_item::monitor, to.name, current_sender(), stand_in, ref, {}});
  return monitor_ref{ref};
}

void monitor_fired(const pid& watcher, std::uint64_t ref, const pid& who,
                   const exit_reason& reason) noexcept {
  submit(peer_of(watcher), out_item{out_item::monitor_exit, {}, who, watcher, ref, reason});
}

void runtime_ended() noexcept {
  std::lock_guard lock(g_mu);
  if (g_node != nullptr) g_node->stopped = true;
  g_node = nullptr;
  conns_changed();
  g_identity.store(&kNoNode, std::memory_order_release);
}

std::int64_t ns_left(std::int64_t deadline_ns) {
  const std::int64_t left = deadline_ns - now_ns();
  if (left <= 0) throw unreachable_error("coproc: node setup timed out");
  return left;
}

namespace {

// Reads from s until `parse` says ok (or throws on an error / end of stream).
template <class Parse>
subroutine<void> read_until(tcp_stream& s, std::string& buf, std::int64_t deadline, Parse parse,
                            const char* what) {
  for (;;) {
    std::size_t used = 0;
    std::string error;
    const stream_parse st = parse(std::string_view(buf), used, error);
    if (st == stream_parse::ok) {
      buf.erase(0, used);
      co_return;
    }
    if (st == stream_parse::error) throw node_error(std::string("coproc: ") + what + ": " + error);
    char chunk[512];
    const std::size_t n = co_await s.read_some(chunk, std::chrono::nanoseconds(ns_left(deadline)));
    if (n == 0) throw node_error(std::string("coproc: ") + what + ": epmd closed the connection");
    buf.append(chunk, n);
  }
}

std::string read_cookie_file() {
  const char* home = std::getenv("HOME");
  if (home == nullptr) return {};
  std::ifstream in(std::string(home) + "/.erlang.cookie");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string c = ss.str();
  while (!c.empty() && (c.back() == '\n' || c.back() == '\r' || c.back() == ' ')) c.pop_back();
  return c;
}

std::uint16_t default_epmd_port() {
  if (const char* e = std::getenv("ERL_EPMD_PORT"); e != nullptr && *e != '\0') {
    const long v = std::strtol(e, nullptr, 10);
    if (v > 0 && v < 65536) return static_cast<std::uint16_t>(v);
  }
  return 4369;
}

process epmd_link(tcp_stream s) {
  // The registration lives as long as this connection: wait until told to stop.
  co_await receive([](atom<"stop">) {});
  s.close();
}

// Stands in for Erlang's net_kernel, which net_adm:ping calls ({is_auth, Node}); a node
// that got through the handshake is authenticated, so the answer is yes. Other requests
// are dropped.
process net_kernel() {
  for (;;) {
    co_await receive([](const term& m) {
      if (!m.is_tuple(3) || !m[0].is_atom("$gen_call") || !m[1].is_tuple(2)) return;
      if (!m[2].is_tuple(2) || !m[2][0].is_atom("is_auth")) return;
      pid from;
      if (pid_from(m[1][0], from)) gen_reply({from, m[1][1]}, term::atom("yes"));
    });
  }
}

process acceptor(node_state* st, tcp_listener l) {
  for (;;) {
    tcp_stream s = co_await l.accept();
    spawn_on(st->next_core(), incoming_connection, st, std::move(s));
  }
}

}  // namespace

// Resolves "host" for an outgoing connection: a numeric address, else the system
// resolver (blocking, but it is only asked once per connection attempt).
socket_address resolve(const std::string& host, std::uint16_t port) {
  try {
    return socket_address::parse(host, port);
  } catch (const std::invalid_argument&) {
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
    throw unreachable_error("coproc: cannot resolve host '" + host + "'");
  }
  socket_address a = socket_address::from_native(res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return socket_address::parse(a.to_string().substr(0, a.to_string().rfind(':')), port);
}

subroutine<std::uint16_t> epmd_port_of(const node_state& st, const std::string& peer,
                                       std::int64_t deadline) {
  const auto at = peer.find('@');
  const std::string alive = peer.substr(0, at);
  const std::string host = peer.substr(at + 1);
  const socket_address addr = resolve(host, st.epmd_port);
  tcp_stream s = co_await tcp_stream::connect(addr, std::chrono::nanoseconds(ns_left(deadline)));
  const std::string req = build_port_please2_req(alive);
  co_await s.write_all(req, std::chrono::nanoseconds(ns_left(deadline)));
  std::string buf;
  port2_resp resp;
  co_await read_until(
      s, buf, deadline,
      [&](std::string_view b, std::size_t& used, std::string& err) {
        return parse_port2_resp(b, resp, used, err);
      },
      "epmd lookup");
  if (resp.result != 0) {
    throw unreachable_error("coproc: no node '" + alive + "' is registered with epmd on " + host);
  }
  co_return resp.port;
}

}  // namespace detail::dist

namespace node {

subroutine<void> start(options opts) {
  using namespace detail::dist;
  const auto at = opts.name.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == opts.name.size() ||
      opts.name.find('@', at + 1) != std::string::npos || opts.name.size() > 255) {
    throw node_error("coproc: a node name is alive@host, got '" + opts.name + "'");
  }
  auto st = std::make_unique<node_state>();
  st->name = opts.name;
  st->alive = opts.name.substr(0, at);
  st->host = opts.name.substr(at + 1);
  st->cookie = opts.cookie ? *opts.cookie : read_cookie_file();
  if (st->cookie.empty()) {
    throw node_error("coproc: no cookie: set node::options::cookie or create ~/.erlang.cookie");
  }
  st->epmd_port = opts.epmd_port != 0 ? opts.epmd_port : default_epmd_port();
  st->flags = mandatory_flags_25 | flag_dist_monitor | flag_dist_monitor_name | flag_send_sender |
              flag_unlink_id | flag_v4_nc | flag_alias;
  {
    std::lock_guard lock(g_mu);
    if (g_node != nullptr && !g_node->stopped) {
      throw node_error("coproc: a node is already started here: " + g_node->name);
    }
  }
  const unsigned cores = static_cast<unsigned>(runtime_stats().size());
  if (opts.core >= cores) opts.core = 0;
  st->opts = opts;
  st->cores = cores;

  tcp_listener listener = tcp_listener::bind(socket_address::any_v4(opts.port));
  st->port = listener.local().port();

  const std::int64_t deadline =
      detail::now_ns() + std::chrono::nanoseconds(opts.setup_timeout).count();
  tcp_stream epmd;
  try {
    epmd = co_await tcp_stream::connect(socket_address::loopback_v4(st->epmd_port),
                                        std::chrono::nanoseconds(ns_left(deadline)));
  } catch (const std::system_error& e) {
    throw node_error("coproc: cannot reach epmd on 127.0.0.1:" + std::to_string(st->epmd_port) +
                     ": " + e.what());
  }
  co_await epmd.write_all(build_alive2_req(st->port, true, st->alive),
                          std::chrono::nanoseconds(ns_left(deadline)));
  std::string buf;
  alive2_resp resp{};
  co_await read_until(
      epmd, buf, deadline,
      [&](std::string_view b, std::size_t& used, std::string& err) {
        return parse_alive2_resp(b, resp, used, err);
      },
      "epmd registration");
  if (resp.result != 0) {
    throw node_error("coproc: epmd refused to register '" + st->alive + "' (result " +
                     std::to_string(resp.result) + "): is the name taken?");
  }
  st->creation = resp.creation;

  node_state* raw = st.get();
  {
    std::lock_guard lock(g_mu);
    if (g_node != nullptr && !g_node->stopped) {
      throw node_error("coproc: a node is already started here: " + g_node->name);
    }
    graveyard().push_back(std::move(st));
    g_node = raw;
    conns_changed();
    identities().push_back(std::make_unique<node_entry>(node_entry{raw->name, raw->creation}));
    g_identity.store(identities().back().get(), std::memory_order_release);
  }
  raw->epmd_link = spawn_on(opts.core, epmd_link, std::move(epmd));
  raw->acceptor = spawn_on(opts.core, acceptor, raw, std::move(listener));
  raw->net_kernel = spawn_on(opts.core, net_kernel);
  if (!whereis("net_kernel")) register_name("net_kernel", raw->net_kernel);
}

void stop() {
  using namespace detail::dist;
  std::vector<pid> writers;
  node_state* st = nullptr;
  {
    std::lock_guard lock(g_mu);
    st = g_node;
    if (st == nullptr) return;
    st->stopped = true;
    g_node = nullptr;
    conns_changed();
    g_identity.store(&kNoNode, std::memory_order_release);
    for (auto& [name, e] : st->conns) writers.push_back(e.writer);
  }
  for (const pid& w : writers) send(w, out_item{out_item::disconnect, {}, {}, {}, 0, {}});
  send(st->epmd_link, atom<"stop">{});
  exit(st->acceptor, exit_reason::shutdown());
  exit(st->net_kernel, exit_reason::shutdown());
}

std::string self_name() {
  return detail::dist::own_name();
}

bool started() noexcept {
  std::lock_guard lock(detail::dist::g_mu);
  return detail::dist::g_node != nullptr && !detail::dist::g_node->stopped;
}

std::vector<std::string> connected() {
  std::vector<std::string> out;
  std::lock_guard lock(detail::dist::g_mu);
  if (detail::dist::g_node == nullptr) return out;
  for (const auto& [name, e] : detail::dist::g_node->conns) {
    if (e.up) out.push_back(name);
  }
  return out;
}

subroutine<bool> ping(std::string peer) {
  using namespace detail::dist;
  std::chrono::milliseconds wait{0};
  {
    std::lock_guard lock(g_mu);
    if (g_node == nullptr) co_return false;
    if (peer == g_node->name) co_return true;
    wait = g_node->opts.setup_timeout + std::chrono::seconds(1);
  }
  submit(peer, out_item{out_item::notify, peer, self(), {}, 0, {}});
  co_return co_await receive(
      when([&](atom<"$node_up">, const std::string& n) { return n == peer; },
           [](atom<"$node_up">, const std::string&) { return true; }),
      when([&](atom<"$node_down">, const std::string& n) { return n == peer; },
           [](atom<"$node_down">, const std::string&) { return false; }),
      after(wait, [] { return false; }));
}

bool disconnect(const std::string& peer) {
  const pid w = [&] {
    std::lock_guard lock(detail::dist::g_mu);
    if (detail::dist::g_node == nullptr) return pid{};
    auto it = detail::dist::g_node->conns.find(peer);
    return it != detail::dist::g_node->conns.end() ? it->second.writer : pid{};
  }();
  if (!w) return false;
  send(w, detail::dist::out_item{detail::dist::out_item::disconnect, {}, {}, {}, 0, {}});
  return true;
}

std::uint16_t listen_port() {
  std::lock_guard lock(detail::dist::g_mu);
  return detail::dist::g_node != nullptr ? detail::dist::g_node->port : 0;
}

std::string of(const pid& p) {
  return p.node != 0 ? detail::dist::node_at(p.node).first : detail::dist::own_name();
}

}  // namespace node

bad_reply::bad_reply(term reply, std::string_view wanted)
    : std::runtime_error("coproc: gen_call's reply " + reply.to_string() + " is not a " +
                         std::string(wanted)),
      reply_(std::move(reply)) {}

namespace {

// gen:call's tag since OTP 24: [alias | Mref], the monitor's ref as the caller's alias.
term alias_tag(const monitor_ref& mref) {
  return term::improper_list({term::atom("alias")}, to_term(mref));
}

// A gen_call's alias, as gen:call's [alias | Mref]: while the call waits, an ALIAS_SEND
// to Mref reaches the caller (node_state::aliases) and its delivery is a reply to this
// call (the caller's aliases); once the call is over, a late reply is dropped.
class call_alias {
 public:
  explicit call_alias(std::uint64_t id) : id_(id), caller_(detail::t_current) {
    {
      std::lock_guard lock(detail::dist::g_mu);
      node_ = detail::dist::g_node;  // node states are never freed
    }
    if (node_ != nullptr) {
      std::lock_guard lock(node_->alias_mu);
      node_->aliases[id_] = self();
    }
    detail::add_alias(id_);
  }
  call_alias(const call_alias&) = delete;
  call_alias& operator=(const call_alias&) = delete;
  ~call_alias() {
    if (node_ != nullptr) {
      std::lock_guard lock(node_->alias_mu);
      node_->aliases.erase(id_);
    }
    // A killed caller's frame goes with its process (and its aliases) outside any resume.
    if (detail::t_current == caller_) detail::forget_call(id_);
  }

 private:
  std::uint64_t id_;
  detail::pcb* caller_;
  detail::dist::node_state* node_ = nullptr;
};

// Waits for {Tag, Reply} (or the monitor's DOWN); see gen_call in coproc/node.hpp. The
// reply comes to the alias (OTP 24+) or, from older code, to the caller's pid.
subroutine<term> await_gen_reply(term tag, monitor_ref mref, std::chrono::milliseconds timeout) {
  std::optional<term> reply;
  std::optional<exit_reason> down;
  const auto is_reply = [&tag](const term& t) { return t.is_tuple(2) && t[0] == tag; };
  co_await receive(
      when([&](const detail::dist::alias_message& m) { return is_reply(m.message); },
           [&](const detail::dist::alias_message& m) { reply = m.message[1]; }),
      when([&](const term& t) { return is_reply(t); }, [&](const term& t) { reply = t[1]; }),
      when([&](atom<"DOWN">, monitor_ref r, const pid&, const exit_reason&) { return r == mref; },
           [&](atom<"DOWN">, monitor_ref, const pid&, const exit_reason& why) { down = why; }),
      after(timeout, [] {}));
  if (mref) demonitor(mref, true);
  if (reply) co_return std::move(*reply);
  if (down) throw call_error(*down);
  throw call_timeout();
}

}  // namespace

subroutine<term> gen_call(pid server, term request, std::chrono::milliseconds timeout) {
  if (server.node == 0) {
    throw std::invalid_argument("coproc: gen_call is for processes on other nodes; use call<R>");
  }
  const monitor_ref mref = monitor(server);
  const call_alias alias(mref.id);
  const term tag = alias_tag(mref);
  send(server, term::tuple({term::atom("$gen_call"), term::tuple({to_term(self()), tag}),
                            std::move(request)}));
  co_return co_await await_gen_reply(tag, mref, timeout);
}

void gen_reply(const std::tuple<pid, term>& from, term reply) {
  const auto& [caller, tag] = from;
  term message = term::tuple({tag, std::move(reply)});
  // [alias | Ref]: a one-element list whose tail is a reference (a proper list's is nil).
  const bool to_alias = caller.node != 0 && tag.is_list() && !tag.is_nil() && tag.size() == 1 &&
                        tag[0].is_atom("alias") && tag.tail().is_ref();
  if (to_alias) {
    detail::dist::alias_send_out(caller, std::move(message));
  } else {
    send(caller, std::move(message));
  }
}

subroutine<term> gen_call(remote_name server, term request, std::chrono::milliseconds timeout) {
  const monitor_ref mref = detail::dist::monitor_name(server);
  const call_alias alias(mref.id);
  const term tag = alias_tag(mref);
  send(server, term::tuple({term::atom("$gen_call"), term::tuple({to_term(self()), tag}),
                            std::move(request)}));
  co_return co_await await_gen_reply(tag, mref, timeout);
}

namespace detail {

term pid_to_term(const pid& p) {
  return dist::pid_term(p);
}
bool pid_from_term(const term& t, pid& out) {
  return dist::pid_from(t, out);
}
term ref_to_term(std::uint64_t ref) {
  return dist::ref_term(ref);
}
bool ref_from_term(const term& t, std::uint64_t& out) {
  return dist::ref_from(t, out);
}

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
    frame = dist::frame_start();
    etf::tuple_header(frame, 4);
    etf::integer(frame, 6);
    etf::pid(frame, sender);
    etf::atom(frame, "");
    encode_append(frame, term::atom(to.name), {.version_byte = false});  // checks the name
    frame.push_back(static_cast<char>(131));
    n->type->encode(n, frame);
    dist::frame_finish(frame);
  } catch (...) {
    destroy(n);
    throw;
  }
  destroy(n);
  dist::submit(to.node, dist::out_item{dist::out_item::frame, std::move(frame), {}, {}, 0, {}});
}

}  // namespace detail
}  // namespace coproc
