// lib/time/timer_wheel.hpp - one core's pending deadlines: a hierarchical timing wheel.
//
// Six levels of 64 slots over ticks of 1 ms. A slot of level L spans 64^L ticks, so
// level 0 holds the current block of 64 ms tick by tick, level 1 the rest of the
// current 4.1 s block in 64 ms slots, and so on up to level 5 (2.2 years); deadlines
// beyond that wait in an overflow list. As in Tokio's wheel, a node goes to the level
// of the highest 6-bit digit in which its tick differs from the wheel's position
// `elapsed_`, into the slot named by its own digit there.
//
// Invariants (owner core only, like everything of a loop):
// - Nodes keep their exact deadlines; slots only bucket them. No node is returned by
//   pop_due(now) before now >= its deadline. A level-0 slot is handed out whole once
//   its tick has passed; during its own tick it gives out its head while the head is
//   due, which is exact when the slot is in deadline order. It is, unless a node was
//   armed with an earlier deadline than the slot's tail and later than its head (a bit
//   in `unsorted_[0]`): such a slot waits for its tick's end. One core arming one timeout
//   arms in increasing order, so the common slot is sorted.
// - elapsed_ never passes the tick of a `now` that pop_due or catch_up saw, nor the
//   start of an occupied slot; it moves only forward.
// - A level-L node (L > 0) agrees with elapsed_ in every digit above L and has the
//   greater digit L; a level-0 node is in elapsed_'s block of 64 at or after it. So
//   the lowest occupied level holds the earliest nodes, and in it the lowest occupied
//   slot (one count-trailing-zeros on the level's occupancy mask).
// - When elapsed_ reaches the start of an occupied slot of level L > 0, the slot is
//   either handed out as it stands or cascaded. A slot in deadline order (no bit in
//   `unsorted_[L]`) is spliced whole into `run_` when run_ is empty: pop_due then gives
//   out run_'s head while it is due and earlier than the rest of the wheel, so nodes
//   armed in increasing order (one core re-arming one timeout, as a server's processes
//   do) never move: a slot of 50,000 such nodes costs one splice, not 50,000 cache-
//   missing re-files in one turn (a pause of about 2 ms every 64 ms that showed as
//   lateness). Any other slot is cascaded: its nodes move to lower levels. A node
//   moves at most five times, and most timeouts (receives matched in time) are
//   cancelled before they ever move.
// - run_ is in deadline order and its nodes' ticks are >= elapsed_'s at the splice;
//   every slot of the wheel then starts after them or at elapsed_ and later, so
//   pop_due compares run_'s head with the earliest slot (ties within a tick go by
//   deadline when that slot is sorted).
// - A node armed with a deadline whose tick is below elapsed_ is due at once: it goes
//   to `due_`, which pop_due empties first. So does every node of a level-0 slot whose
//   tick has passed, in one splice.
//
// - `pending_` holds receive timeouts armed by a delay rather than a deadline
//   (push_after): the node's `deadline` holds the delay until settle(now) turns it into
//   now + delay and files it. The loop settles with a clock read taken after the arms,
//   so the deadline is never earlier than the arm plus the delay; one read serves every
//   receive that suspended since the last one instead of a read per receive (about a
//   sixth of an expiry's cost). next_deadline and pop_due see only settled nodes: the
//   caller settles first. size() counts pending nodes too.
//
// Costs: push and remove are O(1): a few links and a bit in a mask; remove writes only
// the node and its two neighbours; push reads the deadline of its slot's tail (the
// node armed just before it there, in cache). next_deadline looks at one mask per
// level.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "coproc/detail/pcb.hpp"

namespace coproc::detail {

class timer_wheel {
 public:
  static constexpr int kLevels = 6;
  static constexpr int kSlotBits = 6;
  static constexpr unsigned kSlots = 1U << kSlotBits;
  static constexpr std::int64_t kTickNs = 1'000'000;  // the resolution of the slots

  timer_wheel() noexcept;
  timer_wheel(const timer_wheel&) = delete;  // the lists point at their heads
  timer_wheel& operator=(const timer_wheel&) = delete;

  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  // The earliest time at which pop_due can return a node: a due node's deadline, the
  // end of an unsorted level-0 slot, or the start of a slot to cascade. Not empty(),
  // nothing pending (settle first).
  [[nodiscard]] std::int64_t next_deadline() const noexcept;

  // Tells an empty wheel the time, so that the next deadlines land in low levels. A
  // wheel with nodes learns the time from pop_due.
  void catch_up(std::int64_t now) noexcept;
  // Arms t at t->deadline. O(1), never allocates.
  void push(timer_node* t) noexcept;
  // Arms t `delay` ns (> 0) after the `now` of the next settle. O(1).
  void push_after(timer_node* t, std::int64_t delay) noexcept;
  [[nodiscard]] bool has_pending() const noexcept { return !list_empty(pending_); }
  // Files every node armed by push_after at now + its delay, in arming order. `now` must
  // have been read after those arms.
  void settle(std::int64_t now) noexcept;
  // Disarms t, which must be armed in this wheel (pending or not). O(1).
  void remove(timer_node* t) noexcept;
  // Removes and returns a node whose deadline is at or before `now`, or nullptr when
  // none is due. Nodes armed with a tick already behind the wheel come first, in the
  // order of arming; then earlier ticks first; within one tick, a sorted slot gives
  // deadline order and an unsorted one the order of arming.
  timer_node* pop_due(std::int64_t now) noexcept;
  // Empties the wheel, returning the nodes so the caller can dispose of them.
  std::vector<timer_node*> take_all();

 private:
  static std::int64_t tick_of(std::int64_t ns) noexcept { return ns <= 0 ? 0 : ns / kTickNs; }
  static std::int64_t ns_of(std::int64_t tick) noexcept;
  static timer_node* node_of(timer_link* l) noexcept { return reinterpret_cast<timer_node*>(l); }
  static bool list_empty(const timer_link& head) noexcept { return head.next == &head; }

  // Files t, counted in size_ already: in due_ if its tick has passed, else in place().
  void file(timer_node* t) noexcept;
  // Files t (whose deadline's tick is `when` >= elapsed_) in its level and slot.
  void place(timer_node* t, std::int64_t when) noexcept;
  // head was a slot's list head and its list is now empty: clears the slot's bits.
  void slot_emptied(timer_link* head) noexcept;
  // Moves every node of `from` to the tail of `to`, emptying `from`.
  static void splice(timer_link& from, timer_link& to) noexcept;
  // Re-files every node of `from` relative to the current elapsed_.
  void cascade(timer_link& from) noexcept;
  // elapsed_ has reached slot s of `level` >= 1: hands it to run_ or cascades it.
  void open_slot(int level, unsigned s) noexcept;
  // The start tick of the occupied slot `s` of level `level` >= 1.
  [[nodiscard]] std::int64_t slot_start(int level, unsigned s) const noexcept;
  // The tick at which the overflow list is looked at again: the next top-level block.
  [[nodiscard]] std::int64_t overflow_start() const noexcept;

  // The tick of the earliest slot of the wheel proper (not due_, not run_): the first
  // level-0 slot, else the start of the first slot above, else the overflow's.
  [[nodiscard]] std::int64_t first_slot_tick() const noexcept;

  timer_link slots_[kLevels][kSlots];
  timer_link due_;
  timer_link run_;  // a sorted slot of level > 0 whose start has come, given out from its head
  timer_link overflow_;
  timer_link pending_;  // armed by push_after, not yet settled: deadline holds the delay
  std::uint64_t occupied_[kLevels] = {};  // bit s: slots_[level][s] is not empty
  std::uint64_t unsorted_[kLevels] = {};  // bit s: slots_[level][s] is not in deadline order
  std::int64_t elapsed_ = 0;              // the wheel's position, in ticks
  std::size_t size_ = 0;
};

}  // namespace coproc::detail
