// lib/core/runtime_impl.hpp - what all loops share.
#pragma once

#include <atomic>
#include <barrier>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "coproc/runtime.hpp"
#include "lib/core/loop.hpp"
#include "lib/core/process_table.hpp"

namespace coproc::detail {

class runtime_impl {
 public:
  explicit runtime_impl(const options& opts);
  ~runtime_impl();
  runtime_impl(const runtime_impl&) = delete;
  runtime_impl& operator=(const runtime_impl&) = delete;

  [[nodiscard]] unsigned cores() const noexcept { return static_cast<unsigned>(loops_.size()); }
  [[nodiscard]] loop& at(unsigned core) const noexcept { return *loops_[core]; }
  [[nodiscard]] const options& opts() const noexcept { return opts_; }
  [[nodiscard]] bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }
  process_table& table() noexcept { return table_; }

  std::int64_t now_ns() const noexcept;
  // Reserves n process numbers (pid serials) [first, first + n).
  std::uint64_t reserve_numbers(std::uint64_t n) noexcept {
    return numbers_.fetch_add(n, std::memory_order_relaxed);
  }
  unsigned round_robin() noexcept {
    return rr_.fetch_add(1, std::memory_order_relaxed) % cores();
  }

  // run(): the main process.
  void begin_main();
  void finish_main(int rc);
  int wait_main();

  std::barrier<>& shutdown_barrier() noexcept { return *barrier_; }

 private:
  options opts_;
  process_table table_;
  std::vector<std::unique_ptr<loop>> loops_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> numbers_{1};  // 0 is pid{}'s
  std::atomic<unsigned> rr_{0};
  std::unique_ptr<std::barrier<>> barrier_;
  std::int64_t clock_origin_ = 0;

  std::mutex main_mu_;
  std::condition_variable main_cv_;
  bool main_running_ = false;
  int main_rc_ = 0;
};

// The live runtime, for threads that are not loops. One at a time.
extern std::atomic<runtime_impl*> g_runtime;

// The runtime of the calling thread (its loop's, or the global one), or nullptr.
runtime_impl* current_runtime() noexcept;

}  // namespace coproc::detail
