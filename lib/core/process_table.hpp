// lib/core/process_table.hpp - pid -> process, shared by all cores.
//
// A slot holds the serial of the process that owns it (0 when free) and its pcb.
// Slots never move: the table is a directory of fixed-size chunks, allocated on first
// use and freed with the table, so any thread may look a slot up without a lock.
//
// Who writes what: the spawning thread fills `proc` and then publishes `serial` with a
// release store; the process's home core clears `serial` when the process exits. Any
// thread may load `serial` (acquire) to ask alive(); only the home core reads `proc`,
// after checking the serial. Free indices are kept per core (in the loop), not here.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>

namespace coproc::detail {

struct pcb;

struct slot {
  std::atomic<std::uint64_t> serial{0};
  pcb* proc = nullptr;
};

class process_table {
 public:
  static constexpr unsigned kChunkBits = 12;
  static constexpr std::uint32_t kChunkSize = 1U << kChunkBits;
  static constexpr std::uint32_t kMaxChunks = 1U << 16;  // 268M processes

  process_table() : dir_(new std::atomic<slot*>[kMaxChunks]) {
    for (std::uint32_t i = 0; i < kMaxChunks; ++i)
      dir_[i].store(nullptr, std::memory_order_relaxed);
  }
  ~process_table() {
    for (std::uint32_t i = 0; i < kMaxChunks; ++i) delete[] dir_[i].load(std::memory_order_relaxed);
  }
  process_table(const process_table&) = delete;
  process_table& operator=(const process_table&) = delete;

  // The slot for `index`, or nullptr if no process ever had that index.
  slot* find(std::uint32_t index) const noexcept {
    const std::uint32_t c = index >> kChunkBits;
    if (c >= kMaxChunks) return nullptr;
    // acquire: pairs with the release in ensure_chunk, so the chunk's contents are seen.
    slot* chunk = dir_[c].load(std::memory_order_acquire);
    return chunk != nullptr ? &chunk[index & (kChunkSize - 1)] : nullptr;
  }

  // Reserves `n` never-used indices [first, first + n) and makes their slots exist.
  std::uint32_t reserve_fresh(std::uint32_t n) {
    const std::uint32_t first = next_fresh_.fetch_add(n, std::memory_order_relaxed);
    if (static_cast<std::uint64_t>(first) + n > std::uint64_t{kMaxChunks} * kChunkSize) {
      throw std::length_error("coproc: process table is full");
    }
    for (std::uint32_t c = first >> kChunkBits; c <= (first + n - 1) >> kChunkBits; ++c) {
      ensure_chunk(c);
    }
    return first;
  }

 private:
  void ensure_chunk(std::uint32_t c) {
    if (dir_[c].load(std::memory_order_acquire) != nullptr) return;
    auto* fresh = new slot[kChunkSize];
    slot* expected = nullptr;
    // acq_rel: publish the zeroed chunk, or see the one another thread published.
    if (!dir_[c].compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) {
      delete[] fresh;
    }
  }

  std::unique_ptr<std::atomic<slot*>[]> dir_;
  std::atomic<std::uint32_t> next_fresh_{1};  // index 0 is never used, so pid{} is never alive
};

}  // namespace coproc::detail
