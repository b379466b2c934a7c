// lib/time/timer_heap.hpp - one core's pending deadlines.
//
// A binary min-heap of {deadline, node}. Each node records its heap index, so a timer
// whose receive matched is removed in O(log n) and can never fire later. The nodes
// live in their owners (receive awaiters, send_after records); the heap allocates only
// its vector. Owner-core only.
#pragma once

#include <cstdint>
#include <vector>

#include "coproc/detail/pcb.hpp"

namespace coproc::detail {

class timer_heap {
 public:
  [[nodiscard]] bool empty() const noexcept { return heap_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return heap_.size(); }
  [[nodiscard]] std::int64_t next_deadline() const noexcept { return heap_.front().deadline; }

  void push(timer_node* t);
  void remove(timer_node* t) noexcept;
  // Removes and returns the earliest node if it is due at `now`, else nullptr.
  timer_node* pop_due(std::int64_t now) noexcept;
  // Empties the heap, returning the nodes so the caller can dispose of them.
  std::vector<timer_node*> take_all() noexcept;

 private:
  struct entry {
    std::int64_t deadline;
    timer_node* node;
  };
  void place(std::size_t i, entry e) noexcept {
    heap_[i] = e;
    e.node->heap_index = static_cast<std::uint32_t>(i);
  }
  void sift_up(std::size_t i, entry e) noexcept;
  void sift_down(std::size_t i, entry e) noexcept;

  std::vector<entry> heap_;
};

}  // namespace coproc::detail
