// coproc/spawn.hpp - spawn, spawn_on, self, alive and send.
//
// spawn(f, args...) copies (or moves) f and args into the new process, so nothing
// dangles into the caller's stack. f either returns `process` (a coroutine body) or is
// a plain callable that runs once and then exits.
//
// Placement (decided by benchmark, see README "Placement"): a process spawned from a
// process starts on its parent's core, so processes that talk to each other share a
// core and their messages cost no atomics. Every 256 spawns a core compares its run
// queue with the others'; while it has many more runnable processes than the least
// loaded core, its next spawns go there in a batch. A batch keeps neighbours (a ring,
// a subtree) together while the work still spreads to every core. spawn_on(core, ...)
// overrides placement.
#pragma once

#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "coproc/detail/clause.hpp"
#include "coproc/detail/pcb.hpp"
#include "coproc/message.hpp"
#include "coproc/pid.hpp"
#include "coproc/process.hpp"

namespace coproc {
namespace detail {

template <class List>
struct all_by_value;
template <class... A>
struct all_by_value<type_list<A...>> : std::bool_constant<(!std::is_reference_v<A> && ...)> {};

// Can f(args...) be called directly, with its frame as the only owner of everything?
// True for a function pointer or a capture-less lambda whose parameters are all by
// value: the coroutine frame then holds its own copies.
template <class F, class = void>
struct direct_spawn : std::false_type {};
template <class F>
struct direct_spawn<
    F, std::enable_if_t<std::is_pointer_v<F> && std::is_function_v<std::remove_pointer_t<F>>>>
    : all_by_value<typename signature<F>::args> {};
template <class F>
    struct direct_spawn < F,
    std::enable_if_t < std::is_class_v<F>&& std::is_empty_v<F>&& requires {
  &F::operator();
} >> : all_by_value<typename signature<F>::args>{};

template <class F, class... A>
process owning_frame(F f, A... args) {
  if constexpr (std::is_same_v<std::invoke_result_t<F&, A&&...>, process>) {
    co_await std::invoke(f, std::move(args)...);
  } else {
    std::invoke(f, std::move(args)...);
    co_return;
  }
}

template <class F, class... A>
process make_body(F&& f, A&&... args) {
  using Fd = std::decay_t<F>;
  if constexpr (direct_spawn<Fd>::value &&
                std::is_same_v<std::invoke_result_t<Fd&, A&&...>, process>) {
    return std::invoke(f, std::forward<A>(args)...);
  } else {
    return owning_frame<Fd, std::decay_t<A>...>(std::forward<F>(f), std::forward<A>(args)...);
  }
}

template <class F, class... A>
pid spawn_with(const spawn_options& opts, F&& f, A&&... args) {
  process body = make_body(std::forward<F>(f), std::forward<A>(args)...);
  auto h = body.release();
  try {
    return start_process(h, &h.promise().owner, opts);
  } catch (...) {
    h.destroy();
    throw;
  }
}

}  // namespace detail

// Starts a process running f(args...), placed by the runtime. Returns its pid.
template <class F, class... A>
pid spawn(F&& f, A&&... args) {
  return detail::spawn_with({}, std::forward<F>(f), std::forward<A>(args)...);
}

// Starts a process on a given core (0 <= core < options.cores).
template <class F, class... A>
pid spawn_on(unsigned core, F&& f, A&&... args) {
  return detail::spawn_with({.core = static_cast<int>(core)}, std::forward<F>(f),
                            std::forward<A>(args)...);
}

// The pid of the running process. Throws std::logic_error outside a process.
pid self();

// Process.alive?: true while the process has not exited. A snapshot: the answer for a
// process on another core may be stale by the time you act on it.
bool alive(const pid& p) noexcept;

// send(pid, values...): never blocks, never throws for a dead pid (the message is
// dropped, as in Erlang). Several values make one std::tuple message.
template <class... V>
void send(const pid& to, V&&... values) {
  static_assert(sizeof...(V) > 0, "send needs a message");
  if (to.node != 0) [[unlikely]] {
    detail::route_to_node(to, detail::make_message(std::forward<V>(values)...));
  } else {
    detail::route(to, detail::make_message(std::forward<V>(values)...));
  }
}

}  // namespace coproc
