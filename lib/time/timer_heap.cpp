#include "timer_heap.hpp"

namespace coproc::detail {

void timer_heap::push(timer_node* t) {
  heap_.push_back({t->deadline, t});
  sift_up(heap_.size() - 1, heap_.back());
}

void timer_heap::remove(timer_node* t) noexcept {
  const std::size_t i = t->heap_index;
  t->heap_index = timer_node::npos;
  const entry last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;  // it was the last entry
  if (i > 0 && last.deadline < heap_[(i - 1) / 2].deadline) {
    sift_up(i, last);
  } else {
    sift_down(i, last);
  }
}

timer_node* timer_heap::pop_due(std::int64_t now) noexcept {
  if (heap_.empty() || heap_.front().deadline > now) return nullptr;
  timer_node* t = heap_.front().node;
  remove(t);
  return t;
}

std::vector<timer_node*> timer_heap::take_all() noexcept {
  std::vector<timer_node*> out;
  out.reserve(heap_.size());
  for (const entry& e : heap_) {
    e.node->heap_index = timer_node::npos;
    out.push_back(e.node);
  }
  heap_.clear();
  return out;
}

void timer_heap::sift_up(std::size_t i, entry e) noexcept {
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (heap_[parent].deadline <= e.deadline) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, e);
}

void timer_heap::sift_down(std::size_t i, entry e) noexcept {
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1].deadline < heap_[child].deadline) ++child;
    if (e.deadline <= heap_[child].deadline) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, e);
}

}  // namespace coproc::detail
