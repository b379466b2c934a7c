// coproc/clock.hpp - the runtime's clock, injectable for tests.
//
// By default timers run on std::chrono::steady_clock. A test can pass a manual_clock
// in options: time then stands still until the test calls advance(), which wakes
// every loop so that due timers fire. Timer tests run in microseconds, not seconds.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace coproc {

class manual_clock {
 public:
  // Nanoseconds since the clock was made.
  [[nodiscard]] std::int64_t now_ns() const noexcept {
    return now_.load(std::memory_order_acquire);
  }
  // Moves time forward and wakes the runtime's loops so due timers fire.
  void advance(std::chrono::nanoseconds d);

  // Used by the runtime: called on every advance().
  void on_advance(std::function<void()> wake);

 private:
  std::atomic<std::int64_t> now_{0};
  std::mutex mu_;
  std::function<void()> wake_;
};

}  // namespace coproc
