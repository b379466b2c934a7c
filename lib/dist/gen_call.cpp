// lib/dist/gen_call.cpp - gen_server:call towards other nodes (gen_call), and the answer
// to theirs (gen_reply), with process aliases as OTP 24+ uses them.
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "coproc/call.hpp"
#include "coproc/link.hpp"
#include "coproc/node.hpp"
#include "coproc/receive.hpp"
#include "lib/core/loop.hpp"
#include "lib/dist/node_state.hpp"

namespace coproc {

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
      node_->aliases[id_] = caller_->self;
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

// Both gen_call forms once the server is monitored: the alias exists before the request
// leaves, since the reply may come back before we wait for it.
template <class Server>
subroutine<term> call_monitored(Server server, monitor_ref mref, term request,
                                std::chrono::milliseconds timeout) {
  const call_alias alias(mref.id);
  const term tag = alias_tag(mref);
  send(server, term::tuple({term::atom("$gen_call"), term::tuple({to_term(self()), tag}),
                            std::move(request)}));
  co_return co_await await_gen_reply(tag, mref, timeout);
}

}  // namespace

subroutine<term> gen_call(pid server, term request, std::chrono::milliseconds timeout) {
  if (server.node == 0) {
    throw std::invalid_argument("coproc: gen_call is for processes on other nodes; use call<R>");
  }
  const monitor_ref mref = monitor(server);
  co_return co_await call_monitored(server, mref, std::move(request), timeout);
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
  co_return co_await call_monitored(server, mref, std::move(request), timeout);
}

}  // namespace coproc
