// lib/dist/identity.cpp - who we are and whom we have seen: this node's name and
// creation, the table that gives every other node a 16-bit number, the started node's
// state, and pids and references to and from their Erlang terms.
#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "coproc/detail/etf_writer.hpp"
#include "coproc/node.hpp"
#include "lib/core/runtime_impl.hpp"
#include "lib/dist/node_state.hpp"

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

std::string own_name() {
  return g_identity.load(std::memory_order_acquire)->name;
}

pid stand_in(const std::string& node) {
  return pid{0, 0, node_number(node, 0), kRemoteSerial};
}

node_state* adopt_node(std::unique_ptr<node_state> st) {
  node_state* raw = st.get();
  std::lock_guard lock(g_mu);
  if (g_node != nullptr && !g_node->stopped) {
    throw node_error("coproc: a node is already started here: " + g_node->name);
  }
  graveyard().push_back(std::move(st));
  g_node = raw;
  conns_changed();
  identities().push_back(std::make_unique<node_entry>(node_entry{raw->name, raw->creation}));
  g_identity.store(identities().back().get(), std::memory_order_release);
  return raw;
}

void forget_identity() noexcept {
  g_identity.store(&kNoNode, std::memory_order_release);
}

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

void runtime_ended() noexcept {
  std::lock_guard lock(g_mu);
  if (g_node != nullptr) g_node->stopped = true;
  g_node = nullptr;
  conns_changed();
  forget_identity();
}

}  // namespace detail::dist

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

}  // namespace detail
}  // namespace coproc
