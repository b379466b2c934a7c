// coproc/task.hpp - Elixir's Task.async / Task.await.
//
//   auto t = async([] { return expensive(); });   // runs in a new process, linked
//   int v = co_await await(t, 5s);                 // its result, or its exception
//
// The task runs f(args...) (a plain callable) in a process linked to and monitored by
// the caller. Its result, or the exception it threw, is sent back and await returns
// it or rethrows it there: an exception crosses to the awaiter instead of killing it
// through the link. If the task is killed before it answers, await throws call_error
// with the reason; after the timeout it throws call_timeout. Await a task once.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <type_traits>
#include <utility>
#include <variant>

#include "coproc/call.hpp"
#include "coproc/link.hpp"
#include "coproc/receive.hpp"
#include "coproc/spawn.hpp"

namespace coproc {

template <class T>
struct task {
  pid worker;
  monitor_ref ref;
};

namespace detail {

template <class T>
struct task_result {
  pid from;
  std::variant<std::conditional_t<std::is_void_v<T>, std::monostate, T>, std::exception_ptr> value;
};

}  // namespace detail

template <class F, class... A>
auto async(F&& f, A&&... args) {
  using T = std::invoke_result_t<std::decay_t<F>&, std::decay_t<A>&...>;
  using result = detail::task_result<T>;
  const pid caller = self();
  auto body = [caller](std::decay_t<F> fn, std::decay_t<A>... a) {
    result r{self(), std::exception_ptr{}};
    try {
      if constexpr (std::is_void_v<T>) {
        std::invoke(fn, a...);
        r.value.template emplace<0>();
      } else {
        r.value.template emplace<0>(std::invoke(fn, a...));
      }
    } catch (...) {
      r.value = std::current_exception();
    }
    send(caller, std::move(r));
  };
  monitor_ref ref;
  pid worker = detail::spawn_with({.link = true, .monitor = true, .monitor_id = &ref.id},
                                  std::move(body), std::forward<F>(f), std::forward<A>(args)...);
  return task<T>{worker, ref};
}

// co_await await(t, timeout): the task's result.
template <class T, class Rep, class Period>
auto await(const task<T>& t, std::chrono::duration<Rep, Period> timeout) {
  using result = detail::task_result<T>;
  const pid worker = t.worker;
  const monitor_ref ref = t.ref;
  return receive(
      when([worker](const result& r) { return r.from == worker; },
           [ref](result r) -> T {
             demonitor(ref, true);
             if (auto* e = std::get_if<std::exception_ptr>(&r.value)) std::rethrow_exception(*e);
             if constexpr (!std::is_void_v<T>) return std::move(std::get<0>(r.value));
           }),
      when([ref](atom<"DOWN">, monitor_ref m, pid, const exit_reason&) { return m == ref; },
           [](atom<"DOWN">, monitor_ref, pid, exit_reason why) -> T {
             throw call_error(std::move(why));
           }),
      after(timeout, [ref]() -> T {
        demonitor(ref, true);
        throw call_timeout();
      }));
}

}  // namespace coproc
