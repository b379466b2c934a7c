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
// counter::handle_call accepts those arguments, and its result type is the reply type
// (a void handler replies atom<"ok">). The state lives in the server process; a handler
// that throws crashes the server (callers get call_error), and a handler may end it with
// coproc::exit(reason). handle_info, if present, gets every message that is not a
// call or a cast.
#pragma once

#include <chrono>
#include <memory>
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
    using R =
        decltype(std::apply([&](auto&... a) { return state.handle_call(std::move(a)...); }, args));
    if constexpr (std::is_void_v<R>) {
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

template <class State, class... A>
process server_loop(A... args) {
  State state(std::move(args)...);
  for (;;) {
    co_await receive([&](atom<"$gen_call">, call_from from,
                         std::unique_ptr<server_request<State>> req) { req->run(state, &from); },
                     [&](atom<"$gen_cast">, std::unique_ptr<server_request<State>> req) {
                       req->run(state, nullptr);
                     },
                     [&](message m) {
                       if constexpr (requires { state.handle_info(std::move(m)); }) {
                         state.handle_info(std::move(m));
                       }
                     });
  }
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

// co_await call(srv, timeout, request...): State::handle_call(request...)'s result.
template <class State, class Rep, class Period, class... Req>
auto call(const server<State>& srv, std::chrono::duration<Rep, Period> timeout, Req&&... request) {
  using R = decltype(std::declval<State&>().handle_call(std::declval<std::decay_t<Req>>()...));
  std::unique_ptr<detail::server_request<State>> req =
      std::make_unique<detail::call_request<State, std::decay_t<Req>...>>(
          std::forward<Req>(request)...);
  if constexpr (std::is_void_v<R>) {
    return coproc::call<atom<"ok">>(srv.id, timeout, std::move(req));
  } else {
    return coproc::call<detail::stored_t<R>>(srv.id, timeout, std::move(req));
  }
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
