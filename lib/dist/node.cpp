// lib/dist/node.cpp - starting and stopping a node: the listener and its acceptor, the
// registration with epmd (and epmd lookups for outgoing connections), the stand-in
// net_kernel, and the node:: functions of coproc/node.hpp.
#include <netdb.h>
#include <sys/socket.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "coproc/node.hpp"
#include "coproc/receive.hpp"
#include "coproc/registry.hpp"
#include "coproc/runtime.hpp"
#include "coproc/spawn.hpp"
#include "lib/core/loop.hpp"
#include "lib/dist/node_state.hpp"
#include "lib/dist/wire.hpp"

namespace coproc {
namespace detail::dist {

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

  node_state* raw = adopt_node(std::move(st));
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
    forget_identity();
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

}  // namespace coproc
