// lib/core/runtime_impl.hpp - what all loops share.
#pragma once

#include <atomic>
#include <barrier>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "coproc/runtime.hpp"
#include "lib/core/cpus.hpp"
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
  // The CPUs the process may run on, read once at construction (lib/core/cpus.hpp): the
  // spin rule and pin_threads use them. Never empty, never changed.
  [[nodiscard]] const std::vector<int>& cpus() const noexcept { return cpus_; }
  // io_uring or epoll, chosen at construction for every loop (lib/io/choose_backend.hpp).
  [[nodiscard]] io_backend_kind backend() const noexcept { return backend_; }
  [[nodiscard]] bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }
  process_table& table() noexcept { return table_; }

  std::int64_t now_ns() const noexcept;
  // Reserves n process numbers (pid serials) [first, first + n).
  std::uint64_t reserve_numbers(std::uint64_t n) noexcept {
    return numbers_.fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t reserve_refs(std::uint64_t n) noexcept {
    return refs_.fetch_add(n, std::memory_order_relaxed);
  }
  unsigned round_robin() noexcept { return rr_.fetch_add(1, std::memory_order_relaxed) % cores(); }

  // run(): the main process.
  void begin_main();
  void finish_main(int rc);
  int wait_main();
  // A core cannot go on (its backend failed): run() returns non-zero at once, and the
  // runtime's destruction stops the rest. Any thread; the first failure is the one told.
  void fail(std::string_view why) noexcept;
  [[nodiscard]] bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }

  std::barrier<>& shutdown_barrier() noexcept { return *barrier_; }

  // Registered names (lib/otp/registry.cpp).
  void register_name(std::string name, const pid& p);
  bool unregister_name(std::string_view name);
  pid whereis(std::string_view name);
  // The name of p, if any, removed from the registry (p is ending).
  std::string forget(const pid& p);
  // The name of p, or "" (reports, process_info).
  std::string name_of(const pid& p);

 private:
  std::vector<int> cpus_ = usable_cpus();  // before opts_: its default core count uses it
  options opts_;
  process_table table_;
  io_backend_kind backend_ = io_backend_kind::io_uring;
  std::vector<std::unique_ptr<loop>> loops_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> numbers_{1};  // 0 is pid{}'s
  std::atomic<std::uint64_t> refs_{1};     // 0 is monitor_ref{}'s
  std::atomic<unsigned> rr_{0};
  std::unique_ptr<std::barrier<>> barrier_;
  std::int64_t clock_origin_ = 0;

  std::mutex names_mu_;
  std::unordered_map<std::string, pid> by_name_;
  std::unordered_map<pid, std::string> by_pid_;
  std::atomic<std::size_t> n_names_{0};

  std::mutex main_mu_;
  std::condition_variable main_cv_;
  bool main_running_ = false;
  int main_rc_ = 0;
  std::atomic<bool> failed_{false};
};

// The live runtime, for threads that are not loops. One at a time.
extern std::atomic<runtime_impl*> g_runtime;

// The runtime of the calling thread (its loop's, or the global one), or nullptr.
runtime_impl* current_runtime() noexcept;

}  // namespace coproc::detail
