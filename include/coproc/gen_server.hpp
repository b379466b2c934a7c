// coproc/gen_server.hpp - a server is a small struct; the loop is written once.
//
//   struct counter {
//     int n = 0;
//     explicit counter(int start) : n(start) {}          // init
//     int handle_call(atom<"get">) { return n; }          // call -> reply
//     void handle_cast(atom<"add">, int by) { n += by; }  // cast -> no reply
//     void handle_info(message m) {}                      // anything else (optional)
//   };
//   server<counter> c = start_server<counter>(10);
//   cast(c, atom<"add">{}, 5);
//   int v = co_await call(c, 1s, atom<"get">{});          // 15
//
// Requests are checked at compile time: call(c, ...) compiles only if
// counter::handle_call accepts those arguments, and its result type is the reply type,
// call_reply_t<counter, atom<"get">> (a void handler replies atom<"ok">). The state
// lives in the server process; a handler that throws crashes the server (callers get
// call_error), and a handler may end it with coproc::exit(reason).
//
// Deferred replies (Erlang's {noreply, State} and gen_server:reply/2 later): a
// handle_call whose last parameter is reply_to<R> and which returns noreply does not
// answer; it keeps the handle and calls reply(handle, value) when it can, from any
// later handler (or hands it to another process). The caller's reply type is R:
//     noreply handle_call(atom<"wait">, reply_to<int> from) { waiting.push_back(from); return {}; }
//     void handle_cast(atom<"done">, int v) { for (auto& w : waiting) reply(w, v); }
// Such a handler must be a plain member function taking its requests by value, so
// that R can be read from its signature.
//
// Messages that are neither calls nor casts go to handle_info. Typed overloads are
// chosen by the message's types exactly as receive clauses are (DESIGN.md):
//     using info_messages = message_types<atom<"tick">, std::tuple<atom<"add">, int>>;
//     void handle_info(atom<"tick">);                             // send(pid, atom<"tick">{})
//     void handle_info(atom<"add">, int n);                        // send(pid, atom<"add">{}, 5)
//     void handle_info(atom<"DOWN">, monitor_ref, pid, exit_reason);  // needs no listing
//     void handle_info(const message& m);  // optional catch-all for the rest
// C++ cannot list a function's overloads, so State names the payload types it handles
// in `info_messages` (one value as itself, several as std::tuple). DOWN and EXIT
// messages need no listing: a handle_info taking their values is found by itself. A
// message that no typed overload takes goes to the catch-all if there is one, and is
// dropped otherwise (an Erlang gen_server without handle_info logs and drops it).
//
// Placement: start_server places the server as spawn does (on the caller's core unless
// it is much busier than the others); start_server_on(core, ...) puts it on a core.
#pragma once

#include <chrono>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include "coproc/call.hpp"
#include "coproc/link.hpp"
#include "coproc/process.hpp"
#include "coproc/receive.hpp"
#include "coproc/spawn.hpp"

namespace coproc {

// A pid that is known to run a gen_server of State.
template <class State>
struct server {
  pid id;
  [[nodiscard]] explicit operator bool() const noexcept { return static_cast<bool>(id); }
  friend bool operator==(const server&, const server&) noexcept = default;
};

// handle_call's "I will answer later" (see above).
struct noreply {};

// The pending call a deferred handle_call keeps; reply(handle, value) answers it.
// Copyable; answering twice, or after the caller gave up, sends a reply that is dropped.
template <class R>
class reply_to {
 public:
  reply_to() = default;
  explicit reply_to(const call_from& from) noexcept : from_(from) {}
  // The caller and the call's ref, as call.hpp's reply(call_from, value) takes them.
  [[nodiscard]] const call_from& from() const noexcept { return from_; }
  [[nodiscard]] pid caller() const noexcept { return from_.caller; }
  [[nodiscard]] explicit operator bool() const noexcept { return static_cast<bool>(from_.caller); }

 private:
  call_from from_;
};

// Answers a deferred call with a value of its reply type R.
template <class R, class V>
void reply(const reply_to<R>& to, V&& value) {
  reply(to.from(), R(std::forward<V>(value)));
}

// The payload types a State's typed handle_info overloads take (see above).
template <class... Payloads>
struct message_types {};

namespace detail {

// R, when State::handle_call(Req..., reply_to<R>) is the one deferred handler for Req.
template <class State, class... Req>
struct deferred_probe {
  template <class R>
  static R of(noreply (State::*)(Req..., reply_to<R>));
};
template <class State, class... Req>
concept deferred_call = requires {
  deferred_probe<State, Req...>::of(&State::handle_call);
};

template <class State, class... Req>
struct call_reply {
  using type = stored_t<decltype(std::declval<State&>().handle_call(std::declval<Req>()...))>;
  static_assert(!std::is_same_v<type, noreply>,
                "a handle_call that returns noreply takes reply_to<R> by value as its last "
                "parameter, and is a plain member function (not a template), so that R is "
                "known");
};
template <class State, class... Req>
requires deferred_call<State, Req...>
struct call_reply<State, Req...> {
  using type = decltype(deferred_probe<State, Req...>::of(&State::handle_call));
};
template <class State, class... Req>
requires(!deferred_call<State, Req...> &&
         std::is_void_v<decltype(std::declval<State&>().handle_call(
             std::declval<Req>()...))>) struct call_reply<State, Req...> {
  using type = atom<"ok">;
};

}  // namespace detail

// The type co_await call(srv, timeout, request...) gives for a server<State>:
// handle_call's result, atom<"ok"> for a void handler, R for a deferred one.
template <class State, class... Req>
using call_reply_t = typename detail::call_reply<State, std::decay_t<Req>...>::type;

namespace detail {

template <class State>
struct server_request {
  virtual ~server_request() = default;
  virtual void run(State& state, const call_from* from) = 0;
};

template <class State, class... Req>
struct call_request final : server_request<State> {
  std::tuple<Req...> args;
  explicit call_request(Req... a) : args(std::move(a)...) {}
  void run(State& state, const call_from* from) override {
    if constexpr (deferred_call<State, Req...>) {
      using R = call_reply_t<State, Req...>;
      std::apply([&](auto&... a) { state.handle_call(std::move(a)..., reply_to<R>(*from)); }, args);
    } else if constexpr (std::is_void_v<decltype(state.handle_call(std::declval<Req>()...))>) {
      std::apply([&](auto&... a) { state.handle_call(std::move(a)...); }, args);
      reply(*from, atom<"ok">{});
    } else {
      reply(*from,
            std::apply([&](auto&... a) { return state.handle_call(std::move(a)...); }, args));
    }
  }
};

template <class State, class... Req>
struct cast_request final : server_request<State> {
  std::tuple<Req...> args;
  explicit cast_request(Req... a) : args(std::move(a)...) {}
  void run(State& state, const call_from* /*from*/) override {
    std::apply([&](auto&... a) { state.handle_cast(std::move(a)...); }, args);
  }
};

// A receive clause that hands one info payload to State::handle_info.
template <class State, class P>
struct info_clause {
  static_assert(
      requires(State & s, P v) { s.handle_info(std::move(v)); },
      "a type listed in info_messages has no handle_info overload taking it");
  State* state;
  void operator()(P v) const { state->handle_info(std::move(v)); }
};
template <class State, class... E>
struct info_clause<State, std::tuple<E...>> {
  static_assert(
      requires(State & s, E... e) { s.handle_info(std::move(e)...); },
      "a type listed in info_messages has no handle_info overload taking its values");
  State* state;
  void operator()(E... e) const { state->handle_info(std::move(e)...); }
};

template <class State>
struct listed_info {
  using type = message_types<>;
};
template <class State>
requires requires {
  typename State::info_messages;
}
struct listed_info<State> {
  using type = typename State::info_messages;
};

using down_payload = std::tuple<atom<"DOWN">, monitor_ref, pid, exit_reason>;
using exit_payload = std::tuple<atom<"EXIT">, pid, exit_reason>;

template <class List, class P, bool Add>
struct append_if {
  using type = List;
};
template <class... Ps, class P>
struct append_if<message_types<Ps...>, P, true> {
  using type = message_types<Ps..., P>;
};

template <class State>
inline constexpr bool takes_down = requires(State& s, atom<"DOWN"> a, monitor_ref m, pid p,
                                            exit_reason r) {
  s.handle_info(a, m, p, std::move(r));
};
template <class State>
inline constexpr bool takes_exit = requires(State& s, atom<"EXIT"> a, pid p, exit_reason r) {
  s.handle_info(a, p, std::move(r));
};

// Every payload State's typed handle_info takes: its list, plus DOWN and EXIT when an
// overload takes them.
template <class State>
using info_payloads = typename append_if<
    typename append_if<typename listed_info<State>::type, down_payload, takes_down<State>>::type,
    exit_payload, takes_exit<State>>::type;

template <class State, class... P>
auto next_request(State& state, message_types<P...> /*payloads*/) {
  return receive([&state](atom<"$gen_call">, call_from from,
                          std::unique_ptr<server_request<State>> req) { req->run(state, &from); },
                 [&state](atom<"$gen_cast">, std::unique_ptr<server_request<State>> req) {
                   req->run(state, nullptr);
                 },
                 info_clause<State, P>{&state}...,
                 [&state](message m) {
                   if constexpr (requires { state.handle_info(std::move(m)); }) {
                     state.handle_info(std::move(m));
                   } else {
                     (void)state;  // no catch-all: the message is dropped
                   }
                 });
}

template <class State, class... A>
process server_loop(A... args) {
  State state(std::move(args)...);
  for (;;) co_await next_request(state, info_payloads<State>{});
}

}  // namespace detail

// Spawns a server whose state is State(args...).
template <class State, class... A>
server<State> start_server(A&&... args) {
  return {spawn(detail::server_loop<State, std::decay_t<A>...>, std::forward<A>(args)...)};
}
// The same, linked to the calling process (for supervisors).
template <class State, class... A>
server<State> start_link_server(A&&... args) {
  return {spawn_link(detail::server_loop<State, std::decay_t<A>...>, std::forward<A>(args)...)};
}
// start_server and start_link_server on a given core (0 <= core < options.cores).
template <class State, class... A>
server<State> start_server_on(unsigned core, A&&... args) {
  return {spawn_on(core, detail::server_loop<State, std::decay_t<A>...>, std::forward<A>(args)...)};
}
template <class State, class... A>
server<State> start_link_server_on(unsigned core, A&&... args) {
  return {spawn_link_on(core, detail::server_loop<State, std::decay_t<A>...>,
                        std::forward<A>(args)...)};
}

// co_await call(srv, timeout, request...): State::handle_call(request...)'s result.
template <class State, class Rep, class Period, class... Req>
auto call(const server<State>& srv, std::chrono::duration<Rep, Period> timeout, Req&&... request) {
  std::unique_ptr<detail::server_request<State>> req =
      std::make_unique<detail::call_request<State, std::decay_t<Req>...>>(
          std::forward<Req>(request)...);
  return coproc::call<call_reply_t<State, Req...>>(srv.id, timeout, std::move(req));
}

// cast(srv, request...): State::handle_cast(request...) in the server; returns at once.
template <class State, class... Req>
void cast(const server<State>& srv, Req&&... request) {
  std::unique_ptr<detail::server_request<State>> req =
      std::make_unique<detail::cast_request<State, std::decay_t<Req>...>>(
          std::forward<Req>(request)...);
  send(srv.id, atom<"$gen_cast">{}, std::move(req));
}

}  // namespace coproc
