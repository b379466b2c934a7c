// coproc/call.hpp - request/reply with a timeout, as gen_server:call and reply.
//
//   // client                                          // server (any process)
//   int v = co_await call<int>(srv, 1s, atom<"get">{}); co_await receive(
//                                                         [](atom<"$gen_call">, call_from from,
//                                                            atom<"get">) { reply(from, 42); });
//
// call() monitors the server, sends (atom<"$gen_call">, call_from, request...) and
// waits for the reply:
//  - a dead server, or one that dies before replying, throws call_error at once (the
//    monitor's DOWN), with the reason, e.g. noproc;
//  - no reply within the timeout throws call_timeout; a reply that comes later is
//    dropped when it is delivered (the call's ref is no longer an alias of the caller),
//    so it never lands in the mailbox as junk;
//  - only messages that arrived after the request are scanned, so a call costs the same
//    with 10,000 unrelated messages queued as with none (Erlang's ref trick).
// The reply type is matched exactly: reply(from, 42) answers call<int>, not call<long>.
// co_await the call directly; do not receive in between.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>

#include "coproc/exit_reason.hpp"
#include "coproc/link.hpp"
#include "coproc/receive.hpp"
#include "coproc/spawn.hpp"

namespace coproc {

// Where a reply goes: the caller and the call's ref.
struct call_from {
  pid caller;
  std::uint64_t ref = 0;
};

// The server died (or was never alive) before replying.
class call_error : public std::runtime_error {
 public:
  explicit call_error(exit_reason r)
      : std::runtime_error("coproc: call failed, the server exited: " + r.to_string()),
        reason_(std::move(r)) {}
  [[nodiscard]] const exit_reason& reason() const noexcept { return reason_; }

 private:
  exit_reason reason_;
};

// No reply within the timeout.
class call_timeout : public std::runtime_error {
 public:
  call_timeout() : std::runtime_error("coproc: call timed out") {}
};

template <class R>
struct reply_box : detail::reply_base {
  R value;
};

// Answers a call. `value` must have exactly the type the caller asked for.
template <class V>
void reply(const call_from& to, V&& value) {
  using R = detail::stored_t<V>;
  send(to.caller, reply_box<R>{{to.ref}, R(std::forward<V>(value))});
}

namespace detail {
// The caller's side of a call's ref (lib/otp/call.cpp).
std::uint64_t begin_call(const pid& server, message_node** mark);
void end_call(std::uint64_t ref) noexcept;     // demonitor + flush, and drop the alias
void forget_call(std::uint64_t ref) noexcept;  // the server died: drop the alias
void add_alias(std::uint64_t ref);             // make ref an alias of the caller (gen_call)
}  // namespace detail

// co_await call<R>(server, timeout, request...): the reply, of type R.
template <class R, class Rep, class Period, class... Req>
auto call(const pid& server, std::chrono::duration<Rep, Period> timeout, Req&&... request) {
  detail::message_node* mark = nullptr;
  const std::uint64_t ref = detail::begin_call(server, &mark);
  send(server, atom<"$gen_call">{}, call_from{self(), ref}, std::forward<Req>(request)...);
  return receive(when([ref](const reply_box<R>& r) { return r.ref == ref; },
                      [ref](reply_box<R> r) -> R {
                        detail::end_call(ref);
                        return std::move(r.value);
                      }),
                 when([ref](atom<"DOWN">, monitor_ref m, pid,
                            const exit_reason&) { return m.id == ref; },
                      [ref](atom<"DOWN">, monitor_ref, pid, exit_reason why) -> R {
                        detail::forget_call(ref);
                        throw call_error(std::move(why));
                      }),
                 after(timeout,
                       [ref]() -> R {
                         detail::end_call(ref);
                         throw call_timeout();
                       }))
      .start_after(mark);
}

// cast(server, request...): sends (atom<"$gen_cast">, request...) and returns at once.
template <class... Req>
void cast(const pid& server, Req&&... request) {
  send(server, atom<"$gen_cast">{}, std::forward<Req>(request)...);
}

}  // namespace coproc
