// coproc/process.hpp - the return type of every process body.
//
//   process worker(int n) { auto x = co_await receive<int>(); ... co_return; }
//
// A process is a stackless coroutine. Its frame comes from the per-thread pool
// (detail/small_alloc.hpp), not from a global new per spawn. It starts suspended;
// spawn() hands it to a core. A process may also co_await another `process` value:
// that runs the callee as a subroutine of the same Erlang process (same pid, same
// mailbox), and an exception in the callee propagates to the caller.
#pragma once

#include <coroutine>
#include <exception>
#include <utility>

#include "coproc/detail/pcb.hpp"
#include "coproc/detail/small_alloc.hpp"

namespace coproc {

class [[nodiscard]] process {
 public:
  struct promise_type {
    detail::pcb* owner = nullptr;          // set when this is a process's outermost frame
    std::coroutine_handle<> continuation;  // set when awaited as a subroutine
    std::exception_ptr error;              // a subroutine's escaped exception

    process get_return_object() noexcept {
      return process{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }

    struct final_awaiter {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        promise_type& p = h.promise();
        if (p.continuation) return p.continuation;  // back to the awaiting frame
        if (p.owner != nullptr) p.owner->state = detail::proc_state::exiting;
        return std::noop_coroutine();  // back to the loop, which tears the process down
      }
      void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept {
      if (owner != nullptr) {
        detail::record_exit(owner, std::current_exception());
      } else {
        error = std::current_exception();
      }
    }

    static void* operator new(std::size_t n) { return detail::small_alloc(n); }
    static void operator delete(void* p, std::size_t n) noexcept { detail::small_free(p, n); }
  };

  using handle_type = std::coroutine_handle<promise_type>;

  process(process&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  process& operator=(process&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  process(const process&) = delete;
  process& operator=(const process&) = delete;
  ~process() {
    if (h_) h_.destroy();
  }

  // Gives up ownership of the frame (spawn does this).
  handle_type release() noexcept { return std::exchange(h_, {}); }

  // co_await sub(): run `sub` as a subroutine of the current process.
  bool await_ready() const noexcept { return !h_ || h_.done(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
    h_.promise().continuation = caller;
    return h_;
  }
  void await_resume() {
    if (h_ && h_.promise().error) std::rethrow_exception(h_.promise().error);
  }

 private:
  explicit process(handle_type h) noexcept : h_(h) {}
  handle_type h_;
};

}  // namespace coproc
