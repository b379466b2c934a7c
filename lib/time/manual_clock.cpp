#include <utility>

#include "coproc/clock.hpp"

namespace coproc {

void manual_clock::advance(std::chrono::nanoseconds d) {
  now_.fetch_add(d.count(), std::memory_order_acq_rel);
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    wake = wake_;
  }
  if (wake) wake();
}

void manual_clock::on_advance(std::function<void()> wake) {
  std::lock_guard lock(mu_);
  wake_ = std::move(wake);
}

}  // namespace coproc
