// lib/time/send_after.cpp - send_after records and cancel_timer.
//
// A delayed_send is shared by the timer wheel of the core that armed it and by every
// timer_ref to it (an atomic count). Its state moves once, pending -> fired or
// pending -> cancelled, by compare-exchange, so cancel_timer from any thread answers
// exactly whether the message will be sent. Only the home core touches the message.
#include <algorithm>
#include <atomic>
#include <stdexcept>

#include "coproc/receive.hpp"
#include "coproc/timer.hpp"
#include "lib/core/loop.hpp"
#include "lib/core/runtime_impl.hpp"

namespace coproc::detail {

struct delayed_send {
  enum : int { pending, fired, cancelled };
  timer_node timer;  // first member: the wheel hands us back this address
  pid to;
  message_node* msg = nullptr;
  loop* home = nullptr;
  std::atomic<int> state{pending};
  std::atomic<int> refs{2};  // the wheel's and the first timer_ref's
};

namespace {

delayed_send* from_timer(timer_node* t) noexcept {
  return reinterpret_cast<delayed_send*>(t);
}

void on_fire(timer_node* t) noexcept {
  delayed_send* d = from_timer(t);
  int expected = delayed_send::pending;
  // acq_rel: decides the race with a cancel_timer on another thread.
  if (d->state.compare_exchange_strong(expected, delayed_send::fired, std::memory_order_acq_rel)) {
    route(d->to, std::exchange(d->msg, nullptr));
  } else {
    destroy(std::exchange(d->msg, nullptr));
  }
  release(d);
}

void on_discard(timer_node* t) noexcept {
  delayed_send* d = from_timer(t);
  if (d->msg != nullptr) destroy(std::exchange(d->msg, nullptr));
  release(d);
}

}  // namespace

void arm_delayed(loop& l, delayed_send* d) noexcept {
  d->timer.fire = &on_fire;
  d->timer.discard = &on_discard;
  timer_wheel& wheel = l.timers();
  if (wheel.empty()) wheel.catch_up(l.rt().now_ns());  // as arm_timer does
  wheel.push(&d->timer);
}

delayed_send* schedule_send(std::int64_t delay_ns, const pid& to, message_node* msg) {
  runtime_impl* rt = current_runtime();
  if (rt == nullptr) {
    destroy(msg);
    throw std::logic_error("coproc: send_after needs a running coproc::runtime");
  }
  auto* d = new delayed_send;
  d->to = to;
  d->msg = msg;
  d->timer.deadline = deadline_after(rt->now_ns(), std::max<std::int64_t>(0, delay_ns));
  d->home = t_loop != nullptr ? t_loop : &rt->at(0);
  if (t_loop != nullptr) {
    arm_delayed(*t_loop, d);
  } else {
    rt->at(0).post_foreign(envelope{envelope::arm_send, 0, 0, d});
  }
  return d;
}

bool cancel_send(delayed_send* d) noexcept {
  int expected = delayed_send::pending;
  if (!d->state.compare_exchange_strong(expected, delayed_send::cancelled,
                                        std::memory_order_acq_rel)) {
    return false;
  }
  // On the home core we can drop it from the wheel now; elsewhere it is dropped when due.
  if (t_loop != nullptr && t_loop == d->home && d->timer.armed()) {
    t_loop->timers().remove(&d->timer);
    on_discard(&d->timer);
  }
  return true;
}

void retain(delayed_send* d) noexcept {
  d->refs.fetch_add(1, std::memory_order_relaxed);
}

void release(delayed_send* d) noexcept {
  // acq_rel: the last owner must see every other owner's writes before deleting.
  if (d->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    if (d->msg != nullptr) destroy(d->msg);
    delete d;
  }
}

}  // namespace coproc::detail
