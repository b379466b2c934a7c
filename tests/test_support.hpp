// tests/test_support.hpp - small helpers shared by the behaviour tests.
//
//   coproc_test::scaled(normal, sanitized)  a count that shrinks under ASan/TSan
//   coproc_test::tracked<Tag>               a value type that counts its lifetimes
//   coproc_test::wait_until(pred, limit)    polls inside a process, bounded in time
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include <coproc/coproc.hpp>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define COPROC_TEST_SANITIZED 1
#else
#define COPROC_TEST_SANITIZED 0
#endif

namespace coproc_test {

inline constexpr bool sanitized = COPROC_TEST_SANITIZED != 0;

// `normal` in an optimised build, `small` under a sanitizer.
constexpr long scaled(long normal, long small) { return sanitized ? small : normal; }

// How many objects of one kind were made and destroyed, and how many were destroyed
// twice (a destructor that runs on an object that was already destroyed).
struct lifetime_counts {
  std::atomic<long> constructed{0};
  std::atomic<long> destroyed{0};
  std::atomic<long> double_destroyed{0};

  [[nodiscard]] long live() const { return constructed.load() - destroyed.load(); }
  void reset() {
    constructed = 0;
    destroyed = 0;
    double_destroyed = 0;
  }
};

// A value that counts its constructions (copies and moves included) and destructions.
// Each Tag has its own counters, so every test can use a fresh kind.
template <int Tag>
struct tracked {
  static constexpr std::uint32_t kAlive = 0xA11FEu;
  static constexpr std::uint32_t kDead = 0xDEADu;
  static inline lifetime_counts counts;

  int value = 0;
  std::uint32_t magic = kAlive;

  tracked() { counts.constructed.fetch_add(1); }
  explicit tracked(int v) : value(v) { counts.constructed.fetch_add(1); }
  tracked(const tracked& o) : value(o.value) { counts.constructed.fetch_add(1); }
  tracked(tracked&& o) noexcept : value(o.value) { counts.constructed.fetch_add(1); }
  tracked& operator=(const tracked& o) {
    value = o.value;
    return *this;
  }
  tracked& operator=(tracked&& o) noexcept {
    value = o.value;
    return *this;
  }
  ~tracked() {
    if (magic != kAlive) counts.double_destroyed.fetch_add(1);
    magic = kDead;
    counts.destroyed.fetch_add(1);
  }
};

// Inside a process: polls `pred` every millisecond until it holds or `limit` passes
// (real time). Returns whether it held. Use with co_await.
template <class Pred>
coproc::process wait_until(bool& result, Pred pred, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (pred()) {
      result = true;
      co_return;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      result = false;
      co_return;
    }
    co_await coproc::sleep_for(std::chrono::milliseconds(1));
  }
}

// Elapsed milliseconds since `t0` on the steady clock, as a double.
inline double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace coproc_test
