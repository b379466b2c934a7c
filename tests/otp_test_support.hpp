// tests/otp_test_support.hpp - helpers for the OTP behaviour tests (links, monitors,
// calls, supervisors). Every wait here is bounded: a helper that times out returns
// std::nullopt (or false) so that the test fails instead of hanging.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <coproc/coproc.hpp>

#include "test_support.hpp"

namespace otp_test {

using namespace std::chrono_literals;

using opt_reason = std::optional<coproc::exit_reason>;

struct down_msg {
  coproc::monitor_ref ref;
  coproc::pid who;
  coproc::exit_reason reason;
};

struct exit_msg {
  coproc::pid from;
  coproc::exit_reason reason;
};

// co_await down_of(ref, d): the reason of the DOWN for `ref`, or nullopt after d.
inline auto down_of(coproc::monitor_ref ref, std::chrono::milliseconds d) {
  using namespace coproc;
  return receive(
      when([ref](atom<"DOWN">, const monitor_ref& m, const pid&, const exit_reason&) {
             return m == ref;
           },
           [](atom<"DOWN">, monitor_ref, pid, exit_reason r) { return opt_reason(std::move(r)); }),
      after(d, [] { return opt_reason(); }));
}

// co_await any_down(d): the first DOWN message, or nullopt after d.
inline auto any_down(std::chrono::milliseconds d) {
  using namespace coproc;
  return receive(
      [](atom<"DOWN">, monitor_ref m, pid p, exit_reason r) {
        return std::optional<down_msg>(down_msg{m, p, std::move(r)});
      },
      after(d, [] { return std::optional<down_msg>(); }));
}

// co_await exit_from(p, d): the reason of an EXIT message from p, or nullopt after d.
inline auto exit_from(coproc::pid from, std::chrono::milliseconds d) {
  using namespace coproc;
  return receive(
      when([from](atom<"EXIT">, const pid& p, const exit_reason&) { return p == from; },
           [](atom<"EXIT">, pid, exit_reason r) { return opt_reason(std::move(r)); }),
      after(d, [] { return opt_reason(); }));
}

// co_await any_exit(d): the first EXIT message, or nullopt after d.
inline auto any_exit(std::chrono::milliseconds d) {
  using namespace coproc;
  return receive(
      [](atom<"EXIT">, pid p, exit_reason r) {
        return std::optional<exit_msg>(exit_msg{p, std::move(r)});
      },
      after(d, [] { return std::optional<exit_msg>(); }));
}

// co_await next_message_type(d): the type name of the next message of any kind (which
// is consumed), or nullopt if none arrives within d. after(0ms) polls.
inline auto next_message_type(std::chrono::milliseconds d) {
  using namespace coproc;
  return receive([](const message& m) { return std::optional<std::string>(std::string(m.type_name())); },
                 after(d, [] { return std::optional<std::string>(); }));
}

// A process that does nothing until told atom<"stop"> (or a long idle time passes).
inline coproc::process idle() {
  using namespace coproc;
  co_await receive([](atom<"stop">) {}, after(60s, [] {}));
}

// Waits for atom<"go">, then throws std::runtime_error(text).
inline coproc::process crash_on_go(std::string text) {
  using namespace coproc;
  const bool go = co_await receive([](atom<"go">) { return true; }, after(30s, [] { return false; }));
  if (go) throw std::runtime_error(text);
}

// Counts processes alive: +1 when made, -1 when its frame is destroyed (as the process
// ends, however it ends).
struct live_guard {
  std::atomic<int>* n;
  explicit live_guard(std::atomic<int>* c) : n(c) { n->fetch_add(1); }
  live_guard(const live_guard&) = delete;
  live_guard& operator=(const live_guard&) = delete;
  ~live_guard() { n->fetch_sub(1); }
};

}  // namespace otp_test
