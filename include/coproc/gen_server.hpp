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
// Placement: start_server puts the server on the caller's core (its constructor runs
// there, as the server); start_server_on(core, ...) puts it on a given core.
//
// start_server returns once the state is built (see start_server_with).
#pragma once

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string_view>
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
  // What the request was, for the report of a server that crashed handling it.
  [[nodiscard]] virtual std::string_view describe() const noexcept = 0;
};

template <class State, class... Req>
struct call_request final : server_request<State> {
  std::tuple<Req...> args;
  explicit call_request(Req... a) : args(std::move(a)...) {}
  [[nodiscard]] std::string_view describe() const noexcept override {
    return type_name<std::tuple<atom<"$gen_call">, Req...>>();
  }
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
  [[nodiscard]] std::string_view describe() const noexcept override {
    return type_name<std::tuple<atom<"$gen_cast">, Req...>>();
  }
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

// A server's state, built by start_server before the server first runs.
template <class State>
struct server_box {
  std::optional<State> state;  // empty: its constructor threw, start_server has thrown
};

// OTP's gen_server logs its own abnormal end, once, with the last message it handled
// (see coproc/crash_report.hpp).
void report_server_crash(std::string_view last, const exit_reason& why) noexcept;

template <class State, class... P>
auto next_request(State& state, std::string_view& last, message_types<P...> /*payloads*/) {
  return receive(
      [&state, &last](atom<"$gen_call">, call_from from,
                      std::unique_ptr<server_request<State>> req) {
        last = req->describe();
        req->run(state, &from);
      },
      [&state, &last](atom<"$gen_cast">, std::unique_ptr<server_request<State>> req) {
        last = req->describe();
        req->run(state, nullptr);
      },
      info_clause<State, P>{&state}...,
      [&state, &last](message m) {
        last = m.type_name();
        if constexpr (requires { state.handle_info(std::move(m)); }) {
          state.handle_info(std::move(m));
        } else {
          (void)state;  // no catch-all: the message is dropped
        }
      });
}

template <class State>
process server_loop(std::unique_ptr<server_box<State>> box) {
  if (!box->state) co_return;
  State& state = *box->state;
  std::string_view last = "none";
  try {
    for (;;) co_await next_request(state, last, info_payloads<State>{});
  } catch (const process_exit& x) {
    if (x.reason().is_crash()) report_server_crash(last, x.reason());
    throw;
  } catch (const std::exception& e) {
    // Reported here, so it ends as by exit(reason): not a second time as a crash.
    exit_reason why = exit_reason::exception(e.what());
    report_server_crash(last, why);
    throw process_exit(std::move(why));
  }
}

// Spawns the server and builds State(args...) before returning. In a process, the
// server is spawned on the caller's core and its constructor runs as the server (self()
// is the server's pid, link()/trap_exit() act for it), as OTP's init/1 does; outside a
// process the constructor runs on the caller's thread. A constructor that throws makes
// the call throw, and the server ends without running (unlinked first).
template <class State, class... A>
pid start_server_with(bool link, int core, A&&... args) {
  auto box = std::make_unique<server_box<State>>();
  server_box<State>* b = box.get();
  pcb* caller = t_current;
  if (caller != nullptr && core >= 0 && static_cast<unsigned>(core) != caller->self.core) {
    // Another core: the state is built here, on the caller's thread, before the server
    // can run there (so self() in the constructor is the caller).
    b->state.emplace(std::forward<A>(args)...);
    const spawn_options opts{.core = core, .link = link};
    return spawn_with(opts, server_loop<State>, std::move(box));
  }
  if (caller == nullptr) {
    b->state.emplace(std::forward<A>(args)...);
    const spawn_options opts{.core = core};
    return spawn_with(opts, server_loop<State>, std::move(box));
  }
  const pid p = spawn_with({.core = static_cast<int>(caller->self.core), .link = link},
                           server_loop<State>, std::move(box));
  if (!p) return p;           // the runtime is stopping: nothing was started
  pcb* sp = just_spawned(p);  // it cannot run, nor free `b`, before we return
  try {
    running_as as_server(sp);
    b->state.emplace(std::forward<A>(args)...);
  } catch (...) {
    if (link) drop_spawn_link(caller, sp);
    throw;
  }
  return p;
}

}  // namespace detail

// Spawns a server whose state is State(args...), built before this returns.
template <class State, class... A>
server<State> start_server(A&&... args) {
  return {detail::start_server_with<State>(false, -1, std::forward<A>(args)...)};
}
// The same, linked to the calling process (for supervisors).
template <class State, class... A>
server<State> start_link_server(A&&... args) {
  return {detail::start_server_with<State>(true, -1, std::forward<A>(args)...)};
}
// start_server and start_link_server on a given core (0 <= core < options.cores). The
// state is built before they return too; on a core other than the caller's, it is built
// on the caller's thread (self() in the constructor is then the caller, not the server).
template <class State, class... A>
server<State> start_server_on(unsigned core, A&&... args) {
  return {detail::start_server_with<State>(false, static_cast<int>(core),
                                           std::forward<A>(args)...)};
}
template <class State, class... A>
server<State> start_link_server_on(unsigned core, A&&... args) {
  return {detail::start_server_with<State>(true, static_cast<int>(core),
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
