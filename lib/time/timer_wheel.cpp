#include "lib/time/timer_wheel.hpp"

#include <algorithm>
#include <bit>
#include <climits>
#include <iterator>

namespace coproc::detail {

namespace {

constexpr std::uint64_t bit(unsigned s) noexcept {
  return std::uint64_t{1} << s;
}

void link_self(timer_link& head) noexcept {
  head.prev = head.next = &head;
}

void append(timer_link& head, timer_link* l) noexcept {
  l->prev = head.prev;
  l->next = &head;
  head.prev->next = l;
  head.prev = l;
}

void prepend(timer_link& head, timer_link* l) noexcept {
  l->prev = &head;
  l->next = head.next;
  head.next->prev = l;
  head.next = l;
}

}  // namespace

timer_wheel::timer_wheel() noexcept {
  for (auto& level : slots_) {
    for (timer_link& head : level) link_self(head);
  }
  link_self(due_);
  link_self(run_);
  link_self(overflow_);
  link_self(pending_);
}

std::int64_t timer_wheel::ns_of(std::int64_t tick) noexcept {
  return tick > INT64_MAX / kTickNs ? INT64_MAX : tick * kTickNs;
}

std::int64_t timer_wheel::slot_start(int level, unsigned s) const noexcept {
  const int shift = kSlotBits * level;
  const auto above = static_cast<std::uint64_t>(elapsed_) >> (shift + kSlotBits)
                                                                 << (shift + kSlotBits);
  return static_cast<std::int64_t>(above | (std::uint64_t{s} << shift));
}

std::int64_t timer_wheel::overflow_start() const noexcept {
  constexpr int top = kSlotBits * kLevels;
  return static_cast<std::int64_t>(((static_cast<std::uint64_t>(elapsed_) >> top) + 1) << top);
}

void timer_wheel::catch_up(std::int64_t now) noexcept {
  if (size_ == 0) elapsed_ = std::max(elapsed_, tick_of(now));
}

void timer_wheel::push(timer_node* t) noexcept {
  ++size_;
  file(t);
}

void timer_wheel::file(timer_node* t) noexcept {
  const std::int64_t when = tick_of(t->deadline);
  if (when < elapsed_) {
    append(due_, &t->link);  // its tick has passed: due at the next pop_due
  } else {
    place(t, when);
  }
}

void timer_wheel::push_after(timer_node* t, std::int64_t delay) noexcept {
  ++size_;
  t->deadline = delay;
  append(pending_, &t->link);
}

void timer_wheel::settle(std::int64_t now) noexcept {
  if (list_empty(pending_)) return;
  // As catch_up does for an empty wheel: the new deadlines land in low levels.
  if (list_empty(due_) && list_empty(run_) && first_slot_tick() == INT64_MAX) {
    elapsed_ = std::max(elapsed_, tick_of(now));
  }
  timer_link* l = pending_.next;
  link_self(pending_);
  while (l != &pending_) {
    timer_link* next = l->next;
    timer_node* t = node_of(l);
    t->deadline = deadline_after(now, t->deadline);
    file(t);
    l = next;
  }
}

void timer_wheel::place(timer_node* t, std::int64_t when) noexcept {
  const std::uint64_t differ =
      (static_cast<std::uint64_t>(when) ^ static_cast<std::uint64_t>(elapsed_)) | (kSlots - 1);
  const int level = (63 - std::countl_zero(differ)) / kSlotBits;
  if (level >= kLevels) {
    append(overflow_, &t->link);
    return;
  }
  const auto s =
      static_cast<unsigned>(static_cast<std::uint64_t>(when) >> (kSlotBits * level)) & (kSlots - 1);
  timer_link& head = slots_[level][s];
  if (!list_empty(head) && node_of(head.prev)->deadline > t->deadline) {
    // Before the tail: still in order at the front, else the slot is out of order.
    if (node_of(head.next)->deadline >= t->deadline) {
      prepend(head, &t->link);
      return;
    }
    unsorted_[level] |= bit(s);
  }
  append(head, &t->link);
  occupied_[level] |= bit(s);
}

void timer_wheel::slot_emptied(timer_link* head) noexcept {
  const auto off =
      reinterpret_cast<std::uintptr_t>(head) - reinterpret_cast<std::uintptr_t>(&slots_[0][0]);
  if (off >= sizeof(slots_)) return;  // due_, run_, overflow_ or pending_: no bits
  const std::size_t index = off / sizeof(timer_link);
  const auto s = static_cast<unsigned>(index % kSlots);
  occupied_[index / kSlots] &= ~bit(s);
  unsorted_[index / kSlots] &= ~bit(s);
}

void timer_wheel::remove(timer_node* t) noexcept {
  timer_link* prev = t->link.prev;
  timer_link* next = t->link.next;
  prev->next = next;
  next->prev = prev;
  t->link.prev = t->link.next = nullptr;
  --size_;
  // Only a list head is its own neighbour's neighbour on both sides: the list is empty.
  if (prev == next) slot_emptied(prev);
}

void timer_wheel::splice(timer_link& from, timer_link& to) noexcept {
  if (list_empty(from)) return;
  from.next->prev = to.prev;
  to.prev->next = from.next;
  from.prev->next = &to;
  to.prev = from.prev;
  link_self(from);
}

void timer_wheel::open_slot(int level, unsigned s) noexcept {
  timer_link& head = slots_[level][s];
  occupied_[level] &= ~bit(s);
  const bool sorted = (unsorted_[level] & bit(s)) == 0;
  unsorted_[level] &= ~bit(s);
  if (sorted && list_empty(run_)) {
    splice(head, run_);
  } else {
    cascade(head);
  }
}

std::int64_t timer_wheel::first_slot_tick() const noexcept {
  if (occupied_[0] != 0) {
    return (elapsed_ & ~std::int64_t{kSlots - 1}) | std::countr_zero(occupied_[0]);
  }
  for (int level = 1; level < kLevels; ++level) {
    if (occupied_[level] != 0) {
      return slot_start(level, static_cast<unsigned>(std::countr_zero(occupied_[level])));
    }
  }
  return list_empty(overflow_) ? INT64_MAX : overflow_start();
}

void timer_wheel::cascade(timer_link& from) noexcept {
  timer_link* l = from.next;
  link_self(from);
  while (l != &from) {
    timer_link* next = l->next;
    __builtin_prefetch(next->next);
    timer_node* t = node_of(l);
    place(t, tick_of(t->deadline));  // its tick is >= elapsed_: never due_
    l = next;
  }
}

std::int64_t timer_wheel::next_deadline() const noexcept {
  if (!list_empty(due_)) return ns_of(elapsed_);  // at or before any now seen
  std::int64_t slots = INT64_MAX;
  if (occupied_[0] != 0) {
    const auto s = static_cast<unsigned>(std::countr_zero(occupied_[0]));
    const std::int64_t tick = (elapsed_ & ~std::int64_t{kSlots - 1}) | s;
    slots = (unsorted_[0] & bit(s)) != 0 ? ns_of(tick + 1) : node_of(slots_[0][s].next)->deadline;
  } else {
    slots = ns_of(first_slot_tick());
  }
  return list_empty(run_) ? slots : std::min(slots, node_of(run_.next)->deadline);
}

timer_node* timer_wheel::pop_due(std::int64_t now) noexcept {
  const std::int64_t now_tick = tick_of(now);
  for (;;) {
    if (!list_empty(due_)) {
      timer_link* l = due_.next;
      __builtin_prefetch(l->next);  // the next one out, while the caller fires this one
      timer_node* t = node_of(l);
      remove(t);
      return t;
    }
    if (size_ == 0) {
      elapsed_ = std::max(elapsed_, now_tick);
      return nullptr;
    }
    if (!list_empty(run_)) {
      timer_node* r = node_of(run_.next);
      const std::int64_t run_tick = tick_of(r->deadline);
      const std::int64_t slot_tick = first_slot_tick();
      // run_'s head goes first when its tick is earlier, or in the same tick of a
      // level-0 slot when it is due no later than that slot's head (an unsorted slot
      // waits for its tick's end anyway).
      bool first = run_tick < slot_tick;
      if (run_tick == slot_tick && occupied_[0] != 0) {
        const auto s = static_cast<unsigned>(std::countr_zero(occupied_[0]));
        first = (unsorted_[0] & bit(s)) != 0 || r->deadline <= node_of(slots_[0][s].next)->deadline;
      }
      if (first) {
        elapsed_ = std::max(elapsed_, std::min(run_tick, now_tick));
        if (r->deadline > now) return nullptr;
        __builtin_prefetch(r->link.next);  // the next one out, while the caller fires this one
        remove(r);
        return r;
      }
    }
    if (occupied_[0] != 0) {
      const auto s = static_cast<unsigned>(std::countr_zero(occupied_[0]));
      const std::int64_t tick = (elapsed_ & ~std::int64_t{kSlots - 1}) | s;
      timer_link& head = slots_[0][s];
      if (tick < now_tick) {  // the slot's whole tick has passed: all of it is due
        elapsed_ = tick;
        splice(head, due_);
        occupied_[0] &= ~bit(s);
        unsorted_[0] &= ~bit(s);
        continue;
      }
      elapsed_ = std::max(elapsed_, std::min(tick, now_tick));
      if (tick > now_tick || (unsorted_[0] & bit(s)) != 0) return nullptr;
      timer_node* t = node_of(head.next);  // the current tick, in deadline order
      if (t->deadline > now) return nullptr;
      __builtin_prefetch(t->link.next);  // the next one out, while the caller fires this one
      remove(t);
      return t;
    }
    int level = 1;
    while (level < kLevels && occupied_[level] == 0) ++level;
    if (level < kLevels) {
      const auto s = static_cast<unsigned>(std::countr_zero(occupied_[level]));
      const std::int64_t start = slot_start(level, s);
      if (start > now_tick) {
        elapsed_ = std::max(elapsed_, now_tick);
        return nullptr;
      }
      elapsed_ = start;
      open_slot(level, s);
    } else {
      const std::int64_t start = overflow_start();
      if (start > now_tick) {
        elapsed_ = std::max(elapsed_, now_tick);
        return nullptr;
      }
      elapsed_ = start;
      cascade(overflow_);  // what is still beyond the top level comes back here
    }
  }
}

std::vector<timer_node*> timer_wheel::take_all() {
  std::vector<timer_node*> out;
  out.reserve(size_);
  auto drain = [&out](timer_link& head) {
    for (timer_link* l = head.next; l != &head;) {
      timer_link* next = l->next;
      l->prev = l->next = nullptr;
      out.push_back(node_of(l));
      l = next;
    }
    link_self(head);
  };
  drain(due_);
  drain(run_);
  for (auto& level : slots_) {
    for (timer_link& head : level) drain(head);
  }
  drain(overflow_);
  drain(pending_);
  std::fill(std::begin(occupied_), std::end(occupied_), 0);
  std::fill(std::begin(unsorted_), std::end(unsorted_), 0);
  size_ = 0;
  return out;
}

}  // namespace coproc::detail
