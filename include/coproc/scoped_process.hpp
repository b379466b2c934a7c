// coproc/scoped_process.hpp - a pid for code outside any process.
//
// main(), a test or a foreign thread makes a scoped_process to talk to processes:
// it has a real pid that processes can send to, and a blocking, selective receive
// with the same clauses as co_await receive(...). (CAF calls this scoped_actor.)
//
//   coproc::runtime rt;
//   coproc::scoped_process me;
//   auto p = spawn(echo);
//   send(p, me.self(), 42);
//   int v = me.receive<int>();
//   auto r = me.receive([](int v) { return v; }, after(1s, [] { return -1; }));
//
// Its messages are routed through core 0's loop into a mutex-guarded mailbox; this
// path is for glue code, not hot paths. Destroy it before the runtime. One thread at
// a time may receive on it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>

#include "coproc/pid.hpp"
#include "coproc/receive.hpp"

namespace coproc {
namespace detail {

struct foreign_box {
  std::mutex mu;
  std::condition_variable arrived;
  mailbox messages;  // guarded by mu (a foreign thread reads it, the loops append)
};

pid open_foreign(foreign_box* box);
void close_foreign(const pid& p, foreign_box* box) noexcept;

}  // namespace detail

class scoped_process {
 public:
  // Needs a live runtime; throws std::logic_error otherwise.
  scoped_process();
  ~scoped_process();
  scoped_process(const scoped_process&) = delete;
  scoped_process& operator=(const scoped_process&) = delete;

  [[nodiscard]] pid self() const noexcept { return pid_; }
  [[nodiscard]] std::size_t mailbox_size() const;

  // Blocking selective receive: clauses..., optionally after(d, fn) last.
  template <class... A>
  auto receive(A&&... args) {
    auto awaiter = coproc::receive(std::forward<A>(args)...);
    return blocking_receive(awaiter);
  }
  // The first message that is exactly one T.
  template <class T>
  T receive() {
    return receive(detail::take_exactly<T>{});
  }
  // As receive<T>(), or std::nullopt after d.
  template <class T, class Rep, class Period>
  std::optional<T> receive_for(std::chrono::duration<Rep, Period> d) {
    return receive([](T v) { return std::optional<T>(std::move(v)); },
                   after(d, [] { return std::optional<T>(); }));
  }

 private:
  template <class Awaiter>
  typename Awaiter::result_type blocking_receive(Awaiter& a) {
    std::unique_lock lock(box_->mu);
    // With after(): the deadline, saturated so that after(hours::max()) waits "forever".
    const auto now = std::chrono::steady_clock::now();
    const auto room = std::chrono::steady_clock::time_point::max() - now;
    const auto deadline =
        a.timeout() >= room ? std::chrono::steady_clock::time_point::max() : now + a.timeout();
    detail::message_node* prev = nullptr;  // last node already tested
    for (;;) {
      detail::message_node* n = prev != nullptr ? prev->next : box_->messages.front();
      for (; n != nullptr; prev = n, n = n->next) {
        int i = a.clauses().match(n);
        if (i < 0) continue;
        box_->messages.remove(prev, n);
        lock.unlock();
        return a.clauses().template run<typename Awaiter::result_type>(i, n);
      }
      if constexpr (Awaiter::has_after) {
        if (deadline == std::chrono::steady_clock::time_point::max()) {
          box_->arrived.wait(lock);
        } else if (a.timeout().count() <= 0 ||
                   box_->arrived.wait_until(lock, deadline) == std::cv_status::timeout) {
          // One last look at what arrived with the timeout, then give up.
          if (std::chrono::steady_clock::now() >= deadline &&
              (prev != nullptr ? prev->next : box_->messages.front()) == nullptr) {
            lock.unlock();
            return a.on_timeout();
          }
        }
      } else {
        box_->arrived.wait(lock);
      }
    }
  }

  detail::foreign_box* box_;
  pid pid_;
};

}  // namespace coproc
