// coproc/detail/mailbox.hpp - a process's mailbox: its messages in arrival order, and
// Erlang's receive marker.
//
// One per process (pcb::mailbox). Owner: the process's home loop thread, for every
// member; nothing here is atomic. Messages from other cores reach the home loop through
// its inbound queues, and only the loop appends them (loop::deliver). A scoped_process's
// stand-in keeps one in its foreign_box, guarded by the box's mutex instead, since the
// foreign thread receives from it (coproc/scoped_process.hpp).
//
// Who does what:
//   delivery  (loop::deliver)            push_back, then offers the node to a waiting
//                                        receive (receive_wait::try_match)
//   receive   (coproc/receive.hpp)       scans from scan_start(kind), takes its match
//                                        with remove(), notes what it rejected with
//                                        mark_rejected(kind, last)
//   call      (lib/otp/call.cpp)         notes back() as the request goes out, scans
//                                        only after it, and erase_after_if() drops a
//                                        DOWN left behind by the call's monitor
//   demonitor (lib/otp/signals.cpp)      erase_after_if(nullptr, ...) for flush
//   teardown  (loop::teardown, shutdown) take_all(), then destroy_chain()
//   process_info / inspect               size()
//
// Invariants:
// - front()..back() is a nullptr-terminated singly linked list of size() nodes, in the
//   order delivery appended them; front() == nullptr iff back() == nullptr iff size()
//   == 0. A node leaves only through remove, erase_after_if or take_all, so the
//   messages left keep their relative order (a receive takes from anywhere).
// - The marker: if mark_ is set, it is a node of the list, and no node from front()
//   up to and including mark_ matches a receive of kind mark_kind_. Removing a node
//   before it keeps that true; removing mark_ itself clears it; push_back never
//   touches it. Only receives whose matching depends on types alone (no guards) set
//   it, since a guard may accept later what it rejects now.
#pragma once

#include <cstddef>

#include "coproc/message.hpp"

namespace coproc::detail {

class mailbox {
 public:
  mailbox() = default;
  mailbox(const mailbox&) = delete;  // the nodes belong to one process
  mailbox& operator=(const mailbox&) = delete;

  [[nodiscard]] message_node* front() const noexcept { return head_; }
  [[nodiscard]] message_node* back() const noexcept { return tail_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  void push_back(message_node* n) noexcept {
    n->next = nullptr;
    if (tail_ != nullptr) {
      tail_->next = n;
    } else {
      head_ = n;
    }
    tail_ = n;
    ++size_;
  }

  // Takes n out; prev is the node before it (nullptr when n is the front).
  void remove(message_node* prev, message_node* n) noexcept {
    if (prev != nullptr) {
      prev->next = n->next;
    } else {
      head_ = n->next;
    }
    if (tail_ == n) tail_ = prev;
    if (mark_ == n) mark_ = nullptr;
    --size_;
  }

  // Removes and destroys every node after `from` (nullptr: the whole mailbox) that
  // `pred` accepts; the others stay, in order.
  template <class Pred>
  void erase_after_if(message_node* from, Pred pred) noexcept {
    message_node* prev = from;
    for (message_node* n = from != nullptr ? from->next : head_; n != nullptr;) {
      message_node* next = n->next;
      if (pred(n)) {
        remove(prev, n);
        destroy(n);
      } else {
        prev = n;
      }
      n = next;
    }
  }

  // Empties the mailbox and hands its chain (nullptr-terminated) to the caller.
  [[nodiscard]] message_node* take_all() noexcept {
    message_node* chain = head_;
    head_ = tail_ = mark_ = nullptr;
    mark_kind_ = nullptr;
    size_ = 0;
    return chain;
  }

  // The last node a receive of `kind` has already rejected, or nullptr: such a
  // receive scans only what follows it, so junk is scanned once, not on every receive.
  [[nodiscard]] message_node* scan_start(const void* kind) const noexcept {
    return mark_kind_ == kind ? mark_ : nullptr;
  }
  // A receive of `kind` has rejected every node up to and including `last` (nullptr:
  // none).
  void mark_rejected(const void* kind, message_node* last) noexcept {
    mark_kind_ = kind;
    mark_ = last;
  }

 private:
  message_node* head_ = nullptr;
  message_node* tail_ = nullptr;
  std::size_t size_ = 0;
  const void* mark_kind_ = nullptr;
  message_node* mark_ = nullptr;
};

}  // namespace coproc::detail
