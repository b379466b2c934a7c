// Destroying a runtime stops every process left, runs their destructors, frees every
// queued message and leaks nothing (LSan checks the sanitizer build).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include <coproc/coproc.hpp>

#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using coproc_test::tracked;

namespace {

std::atomic<long> g_made{0};
std::atomic<long> g_gone{0};

// An RAII local: counts the processes that reached it and the frames destroyed since.
struct guard {
  guard() { g_made.fetch_add(1, std::memory_order_relaxed); }
  ~guard() { g_gone.fetch_add(1, std::memory_order_relaxed); }
  guard(const guard&) = delete;
  guard& operator=(const guard&) = delete;
};

process blocked_forever() {
  guard g;
  co_await receive([](atom<"never">) {});
}

process sleeping_forever() {
  guard g;
  co_await sleep_for(1h);
}

process yielding_forever() {
  guard g;
  for (;;) co_await yield();
}

}  // namespace

TEST(Shutdown, DestroyingARuntimeWithManyBlockedProcessesLeaksNothing) {
  const long kProcesses = coproc_test::scaled(200'000, 20'000);
  using T = tracked<50>;
  T::counts.reset();
  g_made = 0;
  g_gone = 0;
  bool all_blocked = false;
  long gone_after_run = -1;
  {
    runtime rt{options{.cores = 2}};
    int rc = rt.run([&]() -> process {
      for (long i = 0; i < kProcesses; ++i) {
        const pid p = spawn_on(static_cast<unsigned>(i % 2), blocked_forever);
        if (i % 64 == 0) send(p, T{static_cast<int>(i)});  // a message it never takes
      }
      co_await coproc_test::wait_until(
          all_blocked, [&] { return g_made.load() == kProcesses; }, 60s);
    });
    EXPECT_EQ(rc, 0);
    gone_after_run = g_gone.load();
  }
  EXPECT_TRUE(all_blocked) << g_made.load() << " of " << kProcesses << " started";
  EXPECT_EQ(gone_after_run, 0);  // nothing was stopped while the runtime lived
  EXPECT_EQ(g_gone.load(), kProcesses);
  EXPECT_EQ(T::counts.live(), 0);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(Shutdown, SleepingAndBusyProcessesAreStoppedToo) {
  g_made = 0;
  g_gone = 0;
  bool started = false;
  constexpr long kEach = 100;
  {
    runtime rt{options{.cores = 2}};
    int rc = rt.run([&]() -> process {
      for (long i = 0; i < kEach; ++i) {
        spawn_on(static_cast<unsigned>(i % 2), sleeping_forever);
        spawn_on(static_cast<unsigned>(i % 2), yielding_forever);
      }
      co_await coproc_test::wait_until(started, [&] { return g_made.load() == 2 * kEach; }, 10s);
    });
    EXPECT_EQ(rc, 0);
  }
  EXPECT_TRUE(started);
  EXPECT_EQ(g_gone.load(), 2 * kEach);
}

TEST(Shutdown, MessagesInFlightBetweenCoresAreFreed) {
  using T = tracked<51>;
  T::counts.reset();
  {
    runtime rt{options{.cores = 2}};
    int rc = rt.run([&]() -> process {
      // Two processes on different cores flood each other until the runtime dies.
      const pid a = spawn_on(0, []() -> process {
        const pid peer = co_await receive<pid>();
        for (int i = 0;; ++i) {
          send(peer, T{i});
          send(peer, std::make_unique<T>(i));
          if (i % 64 == 0) co_await yield();
        }
      });
      const pid b = spawn_on(1, []() -> process {
        const pid peer = co_await receive<pid>();
        for (int i = 0;; ++i) {
          send(peer, T{i});
          if (i % 16 == 0) co_await receive([](const T&) {}, after(0ms, [] {}));
          if (i % 64 == 0) co_await yield();
        }
      });
      send(a, b);
      send(b, a);
      co_await sleep_for(30ms);
    });
    EXPECT_EQ(rc, 0);
  }
  EXPECT_EQ(T::counts.live(), 0);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(Shutdown, SpawnsStillInFlightAreDestroyedToo) {
  g_made = 0;
  g_gone = 0;
  using T = tracked<52>;
  T::counts.reset();
  {
    runtime rt{options{.cores = 2}};
    int rc = rt.run([&]() -> process {
      // Spawned onto core 1 and returned at once: some may not have started when the
      // runtime goes down; their captured arguments must be freed all the same.
      for (int i = 0; i < 2000; ++i) {
        spawn_on(1, [t = T{i}]() -> process {
          guard g;
          co_await receive([](atom<"never">) {});
        });
      }
      co_return;
    });
    EXPECT_EQ(rc, 0);
  }
  EXPECT_EQ(T::counts.live(), 0);
  EXPECT_EQ(g_gone.load(), g_made.load());
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(Shutdown, RuntimesCanBeCreatedOneAfterAnother) {
  for (int i = 0; i < 5; ++i) {
    int got = 0;
    int rc = coproc::run(
        [&]() -> process {
          const pid me = self();
          spawn_on(1, [me, i] { send(me, i); });
          got = co_await receive([](int v) { return v; }, after(2s, [] { return -1; }));
        },
        options{.cores = 2});
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(got, i);
  }
}
