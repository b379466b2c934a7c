// Plain-callable processes, and the API's answers to misuse: spawn_on a core that
// does not exist, self() outside a process, a second runtime, no runtime at all.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include <coproc/coproc.hpp>

#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using coproc_test::tracked;

TEST(PlainCallable, RunsOnceAndThenExits) {
  std::atomic<int> runs{0};
  bool dead = false;
  int got = 0;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        const pid p = spawn_on(1, [&runs, me](int a, int b) {
          runs.fetch_add(1);
          send(me, a + b);
        }, 2, 3);
        got = co_await receive([](int v) { return v; }, after(2s, [] { return -1; }));
        co_await coproc_test::wait_until(dead, [p] { return !alive(p); }, 2s);
        co_await sleep_for(10ms);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, 5);
  EXPECT_TRUE(dead);
  EXPECT_EQ(runs.load(), 1);
}

TEST(PlainCallable, CanBeAFunctionPointer) {
  static std::atomic<int> calls{0};
  calls = 0;
  struct fn {
    static void body(pid to, int v) {
      calls.fetch_add(1);
      send(to, v * 3);
    }
  };
  int got = 0;
  int rc = coproc::run(
      [&]() -> process {
        spawn(&fn::body, self(), 4);
        got = co_await receive([](int v) { return v; }, after(2s, [] { return -1; }));
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, 12);
  EXPECT_EQ(calls.load(), 1);
}

TEST(PlainCallable, CanSelfAndSpawnFromInside) {
  bool self_matches = false;
  int got = 0;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        pid spawned = spawn_on(0, [me] {
          send(me, self());
          spawn_on(1, [me] { send(me, 9); });
        });
        pid reported = co_await receive([](pid p) { return p; }, after(2s, [] { return pid{}; }));
        self_matches = (reported == spawned);
        got = co_await receive([](int v) { return v; }, after(2s, [] { return -1; }));
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(self_matches);
  EXPECT_EQ(got, 9);
}

TEST(SpawnOn, AnInvalidCoreThrowsOutOfRange) {
  using T = tracked<70>;
  T::counts.reset();
  bool threw_inside = false;
  int rc = coproc::run(
      [&]() -> process {
        try {
          spawn_on(2, [t = T{1}] {});
        } catch (const std::out_of_range&) {
          threw_inside = true;
        }
        EXPECT_THROW(spawn_on(1000, []() -> process { co_return; }), std::out_of_range);
        co_return;
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(threw_inside);
  EXPECT_EQ(T::counts.live(), 0);  // the refused process's captures were freed
  {
    runtime rt{options{.cores = 1}};
    EXPECT_THROW(spawn_on(1, [] {}), std::out_of_range);  // from outside a process
  }
}

TEST(SpawnOn, PlacesTheProcessOnThatCore) {
  unsigned seen[3] = {99, 99, 99};
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        for (unsigned c = 0; c < 3; ++c) {
          const pid p = spawn_on(c, [me, c] { send(me, c, static_cast<unsigned>(self().core)); });
          EXPECT_EQ(p.core, c);
        }
        for (int i = 0; i < 3; ++i) {
          co_await receive([&](unsigned c, unsigned core) { seen[c] = core; },
                           after(2s, [] { ADD_FAILURE() << "timed out"; }));
        }
      },
      options{.cores = 3});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(seen[0], 0U);
  EXPECT_EQ(seen[1], 1U);
  EXPECT_EQ(seen[2], 2U);
}

TEST(Self, OutsideAProcessThrowsLogicError) {
  EXPECT_THROW(self(), std::logic_error);
  runtime rt{options{.cores = 1}};
  EXPECT_THROW(self(), std::logic_error);  // a runtime exists, but this is not a process
  std::atomic<bool> threw{false};
  std::thread t([&] {
    try {
      (void)self();
    } catch (const std::logic_error&) {
      threw = true;
    }
  });
  t.join();
  EXPECT_TRUE(threw.load());
}

TEST(Runtime, ASecondConcurrentRuntimeThrowsLogicError) {
  {
    runtime first{options{.cores = 1}};
    EXPECT_THROW(runtime second{options{.cores = 1}}, std::logic_error);
    EXPECT_THROW(coproc::run([] {}, options{.cores = 1}), std::logic_error);
    // The first one is unharmed.
    int rc = first.run([]() -> process {
      send(self(), 1);
      auto v = co_await receive_for<int>(1s);
      EXPECT_EQ(v, std::optional<int>(1));
    });
    EXPECT_EQ(rc, 0);
  }
  // Once it is gone, another may be made.
  EXPECT_NO_THROW({ runtime again{options{.cores = 1}}; });
}

TEST(Runtime, RunFromInsideAProcessThrowsLogicError) {
  bool threw = false;
  {
    runtime rt{options{.cores = 1}};
    int rc = rt.run([&]() -> process {
      try {
        rt.run([] {});
      } catch (const std::logic_error&) {
        threw = true;
      }
      co_return;
    });
    EXPECT_EQ(rc, 0);
  }
  EXPECT_TRUE(threw);
}

TEST(Runtime, ReportsItsCoreCount) {
  {
    runtime rt{options{.cores = 3}};
    EXPECT_EQ(rt.cores(), 3U);
  }
  {
    runtime rt{options{}};
    EXPECT_EQ(rt.cores(), std::max(1U, std::thread::hardware_concurrency()));
  }
}

TEST(NoRuntime, SpawnAndSendAfterThrowLogicErrorAndSendIsSilent) {
  EXPECT_THROW(spawn([] {}), std::logic_error);
  EXPECT_THROW(spawn_on(0, [] {}), std::logic_error);
  EXPECT_THROW(send_after(1ms, pid{1, 0, 0, 1 << 10}, 1), std::logic_error);
  EXPECT_NO_THROW(send(pid{1, 0, 0, 1 << 10}, 1));
  EXPECT_FALSE(alive(pid{1, 0, 0, 1 << 10}));
}
