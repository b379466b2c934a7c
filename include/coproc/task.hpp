// coproc/task.hpp - Elixir's Task.async / Task.await.
//
//   auto t = async([] { return expensive(); });        // runs in a new process, linked
//   int v = co_await await(t, 5s);                      // its result, or its exception
//
//   auto u = async([srv]() -> subroutine<int> {         // a coroutine body may co_await:
//     co_return co_await call(srv, 1s, atom<"get">{});  // call, receive, sleep, do I/O
//   });
//
// The task runs f(args...) in a process linked to and monitored by the caller. f is a
// plain callable, or returns subroutine<T> (then the task's process runs that coroutine
// and its value is the result). A body returning `process` is rejected at compile time:
// a process has no value to give back (write subroutine<T>, or spawn it).
// The task is placed as spawn places a process (README "Placement"): on the caller's
// core unless that core is much busier than the others.
//
// The result, or the exception f threw, is sent back and await returns it or rethrows
// it there: an exception crosses to the awaiter instead of killing it through the link.
// If the task is killed before it answers, await throws call_error with the reason;
// after the timeout it throws call_timeout, and a result that comes later is dropped on
// delivery (the task's ref is an alias of the caller only until await returns, as for
// call()), so it never lands in the mailbox. Await a task once.
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
#include "coproc/subroutine.hpp"

namespace coproc {

template <class T>
struct task {
  pid worker;
  monitor_ref ref;          // the caller's monitor on the worker
  std::uint64_t alias = 0;  // the ref its result carries (dropped once await returns)
};

namespace detail {

// The result a task sends back. A reply_base, so that delivery drops it once the
// awaiter has stopped waiting for its ref.
template <class T>
struct task_result : reply_base {
  pid from;
  std::variant<std::conditional_t<std::is_void_v<T>, std::monostate, T>, std::exception_ptr> value;
};

// The value type of a task whose body returns R: T for subroutine<T>, else R.
template <class R>
struct task_value {
  using type = R;
  static constexpr bool coroutine = false;
};
template <class T>
struct task_value<subroutine<T>> {
  using type = T;
  static constexpr bool coroutine = true;
};

// A fresh ref, made an alias of the calling process, for one task's result
// (lib/otp/call.cpp). forget_call(ref) ends it.
std::uint64_t begin_task();

}  // namespace detail

template <class F, class... A>
[[nodiscard]] auto async(F&& f, A&&... args) {
  using R = std::invoke_result_t<std::decay_t<F>&, std::decay_t<A>&...>;
  static_assert(!std::is_same_v<R, process>,
                "coproc::async: the body returns `process`, which gives no value back; "
                "write it as a coroutine returning subroutine<T> (co_return the result), "
                "or use spawn() for a process");
  using T = typename detail::task_value<R>::type;
  using result = detail::task_result<T>;
  const pid caller = self();
  const std::uint64_t alias = detail::begin_task();
  auto body = [caller, alias](std::decay_t<F> fn, std::decay_t<A>... a) -> process {
    result r{{alias}, self(), std::exception_ptr{}};
    try {
      if constexpr (detail::task_value<R>::coroutine) {
        // Named first: GCC 12 mishandles temporaries inside a co_await expression.
        subroutine<T> sub = std::invoke(fn, a...);
        if constexpr (std::is_void_v<T>) {
          co_await sub;
          r.value.template emplace<0>();
        } else {
          T v = co_await sub;
          r.value.template emplace<0>(std::move(v));
        }
      } else if constexpr (std::is_void_v<T>) {
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
  pid worker;
  try {
    worker = detail::spawn_with({.link = true, .monitor = true, .monitor_id = &ref.id},
                                std::move(body), std::forward<F>(f), std::forward<A>(args)...);
  } catch (...) {
    detail::forget_call(alias);
    throw;
  }
  return task<T>{worker, ref, alias};
}

// co_await await(t, timeout): the task's result.
template <class T, class Rep, class Period>
auto await(const task<T>& t, std::chrono::duration<Rep, Period> timeout) {
  using result = detail::task_result<T>;
  const monitor_ref ref = t.ref;
  const std::uint64_t alias = t.alias;
  return receive(
      when([alias](const result& r) { return r.ref == alias; },
           [ref, alias](result r) -> T {
             detail::forget_call(alias);
             demonitor(ref, true);
             if (auto* e = std::get_if<std::exception_ptr>(&r.value)) std::rethrow_exception(*e);
             if constexpr (!std::is_void_v<T>) return std::move(std::get<0>(r.value));
           }),
      when([ref](atom<"DOWN">, monitor_ref m, pid, const exit_reason&) { return m == ref; },
           [alias](atom<"DOWN">, monitor_ref, pid, exit_reason why) -> T {
             detail::forget_call(alias);
             throw call_error(std::move(why));
           }),
      after(timeout, [ref, alias]() -> T {
        detail::forget_call(alias);
        demonitor(ref, true);
        throw call_timeout();
      }));
}

}  // namespace coproc
