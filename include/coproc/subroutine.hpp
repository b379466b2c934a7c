// coproc/subroutine.hpp - a coroutine that returns a value inside the calling process.
//
//   subroutine<int> ask(pid server) {
//     send(server, self(), atom<"get">{});
//     co_return co_await receive<int>();
//   }
//   process client(pid s) { int v = co_await ask(s); ... }
//
// It runs as part of the process that awaits it (same pid, same mailbox), so it may
// receive, sleep and do I/O. An exception in it propagates to the awaiter. It starts
// when awaited, and must be awaited (it cannot be spawned; spawn a `process` instead).
// subroutine<void> returns nothing (co_return;).
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

#include "coproc/detail/small_alloc.hpp"

namespace coproc {

namespace detail {
// The value a subroutine hands back: std::optional<T>, or nothing for void.
template <class T>
struct subroutine_result {
  std::optional<T> value;
  template <class V>
  void return_value(V&& v) {
    value.emplace(std::forward<V>(v));
  }
  T take() { return std::move(*value); }
};
template <>
struct subroutine_result<void> {
  void return_void() noexcept {}
  void take() noexcept {}
};
}  // namespace detail

template <class T>
class [[nodiscard]] subroutine {
 public:
  struct promise_type : detail::subroutine_result<T> {
    std::coroutine_handle<> continuation;
    std::exception_ptr error;

    subroutine get_return_object() noexcept {
      return subroutine{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct final_awaiter {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        return h.promise().continuation;
      }
      void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }
    void unhandled_exception() noexcept { error = std::current_exception(); }
    static void* operator new(std::size_t n) { return detail::small_alloc(n); }
    static void operator delete(void* p, std::size_t n) noexcept { detail::small_free(p, n); }
  };

  subroutine(subroutine&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  subroutine(const subroutine&) = delete;
  subroutine& operator=(const subroutine&) = delete;
  subroutine& operator=(subroutine&&) = delete;
  ~subroutine() {
    if (h_) h_.destroy();
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
    h_.promise().continuation = caller;
    return h_;
  }
  T await_resume() {
    if (h_.promise().error) std::rethrow_exception(h_.promise().error);
    return h_.promise().take();
  }

 private:
  explicit subroutine(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

}  // namespace coproc
