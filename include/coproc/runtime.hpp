// coproc/runtime.hpp - the VM: one event loop per core.
//
//   int main() { return coproc::run([]() -> process { ...; co_return; }); }
//
// A runtime starts `cores` loop threads, each with its own I/O backend (an io_uring
// ring, or epoll where io_uring is blocked: see io_backend_kind), run queue and timer
// wheel. run(main_fn) spawns main_fn on core 0 and returns when it ends: 0
// for a normal exit, 1 when it ended by an exception. Other processes keep running
// until the runtime is destroyed, which stops every process left (destroying their
// frames, so their destructors run), frees every queued message and joins the threads.
//
// One runtime may exist at a time in a program (sends from foreign threads find it
// without a handle); constructing a second one throws std::logic_error.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "coproc/clock.hpp"
#include "coproc/process.hpp"
#include "coproc/receive.hpp"
#include "coproc/spawn.hpp"
#include "coproc/subroutine.hpp"

namespace coproc {

// How the loops talk to the kernel for sockets and sleep.
//   automatic - io_uring when the kernel allows it, else epoll: a seccomp profile that
//               denies io_uring (Docker Engine 25+, containerd 2.0, Podman), the
//               kernel.io_uring_disabled sysctl, ENOSYS, or ENOMEM from the locked-memory
//               limit. The runtime then logs one line naming the backend and the reason.
//               The environment variable COPROC_BACKEND (io_uring, epoll, auto) chooses
//               when options.backend is automatic.
//   io_uring  - only io_uring: a runtime that cannot have it fails to start.
//   epoll     - readiness I/O (epoll_wait, eventfd, non-blocking syscalls).
// Both give the same semantics: timeouts, cancellation when a process dies, active mode,
// multishot-style accept queues, half-close, end of stream and error codes.
enum class io_backend_kind : std::uint8_t { automatic, io_uring, epoll };
// "auto", "io_uring" or "epoll".
[[nodiscard]] const char* backend_name(io_backend_kind kind) noexcept;

struct options {
  // Number of cores (event loops). 0 means COPROC_CORES from the environment if set,
  // else one per CPU this process may run on (its affinity mask: a container's
  // --cpuset-cpus or taskset, not every CPU of the host).
  unsigned cores = 0;
  // An idle loop polls its queues this long before it sleeps in the ring, so a
  // chatty peer on another core does not pay a kernel wakeup per message. Spinning
  // is skipped when there are more loops than usable CPUs, with one loop (no peer
  // could send it anything a spin would catch sooner), and while the kernel runs
  // every other loop on this loop's CPU (a busy machine): they could not run meanwhile.
  std::chrono::microseconds spin = std::chrono::microseconds{50};
  // Pin loop i to the i-th CPU of the affinity mask (mod their number).
  bool pin_threads = false;
  // Timers run on this clock when set (tests); steady_clock otherwise.
  manual_clock* clock = nullptr;
  // io_uring when it works, else epoll (see io_backend_kind).
  io_backend_kind backend = io_backend_kind::automatic;
};

// Counters of one core, for /stats pages and benchmarks. Read without stopping it.
struct core_stats {
  std::uint64_t processes = 0;  // live processes on this core
  std::uint64_t spawned = 0;    // processes started here since the runtime began
  std::uint64_t messages = 0;   // messages delivered into mailboxes here
  std::uint64_t wakeups = 0;    // times the loop was woken from sleep in the ring
  std::uint64_t sleeps = 0;     // times the loop went to sleep (naps with spills included)
  std::uint64_t spins = 0;      // times an idle loop polled (options::spin) before sleeping
  io_backend_kind backend = io_backend_kind::io_uring;  // what this core's I/O runs on
};

namespace detail {
class runtime_impl;
}

class runtime {
 public:
  explicit runtime(options opts = {});
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  // Spawns main_fn(args...) on core 0 and blocks until it ends. 0 = normal exit.
  template <class F, class... A>
  int run(F&& main_fn, A&&... args) {
    process body = detail::make_body(std::forward<F>(main_fn), std::forward<A>(args)...);
    auto h = body.release();
    return run_main(h, &h.promise().owner);
  }

  [[nodiscard]] unsigned cores() const noexcept;
  [[nodiscard]] core_stats stats(unsigned core) const noexcept;
  // io_uring or epoll: what the loops run on (never automatic).
  [[nodiscard]] io_backend_kind backend() const noexcept;

 private:
  int run_main(std::coroutine_handle<> frame, detail::pcb** owner_field);
  std::unique_ptr<detail::runtime_impl> impl_;
};

// The counters of every core of the running runtime (empty when there is none).
std::vector<core_stats> runtime_stats();

// The processes with the longest mailboxes, across all cores, longest first:
//   auto top = co_await top_mailboxes(5, 1s);   // std::vector<mailbox_info>
// Each core answers from its own loop (it walks its process list), so this costs one
// message per core and never stops a core.
struct mailbox_info {
  pid who;
  std::size_t length = 0;
};
namespace detail {
void request_top_mailboxes(std::size_t n, const pid& reply_to);
}
inline auto top_mailboxes(std::size_t n, std::chrono::milliseconds timeout);

namespace detail {
// Logs why a runtime could not start (the kernel refused a ring, an eventfd...).
void report_start_failure(const std::system_error& e) noexcept;
}  // namespace detail

// A runtime, one run(main_fn), and its destruction. If the kernel refuses what a runtime
// needs (no descriptors, io_uring forced with options.backend but blocked, an invalid
// COPROC_BACKEND), it logs one error saying so and returns 1, instead of throwing out of
// main. (With the default options a blocked io_uring is not a failure: epoll runs.) Invalid options
// still throw (std::invalid_argument), and so does a second runtime (std::logic_error). runtime's
// constructor itself throws.
template <class F>
int run(F&& main_fn, options opts = {}) {
  std::optional<runtime> rt;
  try {
    rt.emplace(opts);
  } catch (const std::system_error& e) {
    detail::report_start_failure(e);
    return 1;
  }
  return rt->run(std::forward<F>(main_fn));
}

}  // namespace coproc

namespace coproc {
inline auto top_mailboxes(std::size_t n, std::chrono::milliseconds timeout) {
  return [](std::size_t n,
            std::chrono::milliseconds timeout) -> subroutine<std::vector<mailbox_info>> {
    const std::size_t cores = runtime_stats().size();
    detail::request_top_mailboxes(n, self());
    std::vector<mailbox_info> all;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (std::size_t i = 0; i < cores; ++i) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      bool got = co_await receive(
          [&](atom<"$top_mailboxes">, std::vector<mailbox_info> part) {
            all.insert(all.end(), part.begin(), part.end());
            return true;
          },
          after(left, [] { return false; }));
      if (!got) break;
    }
    std::sort(all.begin(), all.end(),
              [](const mailbox_info& a, const mailbox_info& b) { return a.length > b.length; });
    if (all.size() > n) all.resize(n);
    co_return all;
  }(n, timeout);
}
}  // namespace coproc
