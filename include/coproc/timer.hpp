// coproc/timer.hpp - Process.send_after and cancel_timer.
//
//   timer_ref t = send_after(100ms, pid, :tick);
//   bool was_pending = cancel_timer(t);
//
// The timer lives in the timer wheel of the calling core (core 0 when called from outside a
// process). cancel_timer may be called from any thread: it returns true if it stopped
// the message from being sent, false if the message was already sent (or cancelled).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "coproc/detail/pcb.hpp"
#include "coproc/message.hpp"
#include "coproc/pid.hpp"
#include "coproc/receive.hpp"

namespace coproc {
namespace detail {

struct delayed_send;
delayed_send* schedule_send(std::int64_t delay_ns, const pid& to, message_node* msg);
bool cancel_send(delayed_send* d) noexcept;
void retain(delayed_send* d) noexcept;
void release(delayed_send* d) noexcept;

}  // namespace detail

// A handle on a pending send_after. Copyable; holds the record alive, not the message.
class timer_ref {
 public:
  timer_ref() = default;
  explicit timer_ref(detail::delayed_send* d) noexcept : d_(d) {}
  timer_ref(const timer_ref& o) noexcept : d_(o.d_) {
    if (d_ != nullptr) detail::retain(d_);
  }
  timer_ref(timer_ref&& o) noexcept : d_(o.d_) { o.d_ = nullptr; }
  timer_ref& operator=(timer_ref o) noexcept {
    std::swap(d_, o.d_);
    return *this;
  }
  ~timer_ref() {
    if (d_ != nullptr) detail::release(d_);
  }
  [[nodiscard]] explicit operator bool() const noexcept { return d_ != nullptr; }

 private:
  friend bool cancel_timer(const timer_ref& t) noexcept;
  detail::delayed_send* d_ = nullptr;
};

// Sends values to `to` after `delay`, as send(to, values...) would.
template <class Rep, class Period, class... V>
timer_ref send_after(std::chrono::duration<Rep, Period> delay, const pid& to, V&&... values) {
  auto ns = detail::clamp_ns(delay).count();
  return timer_ref{detail::schedule_send(ns, to, detail::make_message(std::forward<V>(values)...))};
}

// Stops a pending send_after. True if the message will now never be sent.
inline bool cancel_timer(const timer_ref& t) noexcept {
  return t.d_ != nullptr && detail::cancel_send(t.d_);
}

}  // namespace coproc
