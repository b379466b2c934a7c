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
// call or a cast. start_server returns once the state is built (see start_server_with).
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
  [[nodiscard]] std::string_view describe() const noexcept override {
    return type_name<std::tuple<atom<"$gen_cast">, Req...>>();
  }
  void run(State& state, const call_from* /*from*/) override {
    std::apply([&](auto&... a) { state.handle_cast(std::move(a)...); }, args);
  }
};

// A server's state, built by start_server before the server first runs.
template <class State>
struct server_box {
  std::optional<State> state;  // empty: its constructor threw, start_server has thrown
};

// OTP's gen_server logs its own abnormal end, once, with the last message it handled
// (see coproc/crash_report.hpp).
void report_server_crash(std::string_view last, const exit_reason& why) noexcept;

template <class State>
process server_loop(std::unique_ptr<server_box<State>> box) {
  if (!box->state) co_return;
  State& state = *box->state;
  std::string_view last = "none";
  try {
    for (;;) {
      co_await receive(
          [&](atom<"$gen_call">, call_from from, std::unique_ptr<server_request<State>> req) {
            last = req->describe();
            req->run(state, &from);
          },
          [&](atom<"$gen_cast">, std::unique_ptr<server_request<State>> req) {
            last = req->describe();
            req->run(state, nullptr);
          },
          [&](message m) {
            last = m.type_name();
            if constexpr (requires { state.handle_info(std::move(m)); }) {
              state.handle_info(std::move(m));
            }
          });
    }
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
pid start_server_with(bool link, A&&... args) {
  auto box = std::make_unique<server_box<State>>();
  server_box<State>* b = box.get();
  pcb* caller = t_current;
  if (caller == nullptr) {
    b->state.emplace(std::forward<A>(args)...);
    return spawn_with({}, server_loop<State>, std::move(box));
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
  return {detail::start_server_with<State>(false, std::forward<A>(args)...)};
}
// The same, linked to the calling process (for supervisors).
template <class State, class... A>
server<State> start_link_server(A&&... args) {
  return {detail::start_server_with<State>(true, std::forward<A>(args)...)};
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
