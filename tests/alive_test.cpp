// alive(pid): true while the process has not exited.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <coproc/coproc.hpp>

#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;

TEST(Alive, IsFalseAfterAPlainCallableSpawnHasFinished) {
  bool ran = false;
  bool dead = false;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        const pid p = spawn_on(0, [me] { send(me, atom<"ran">{}); });
        ran = (co_await receive_for<atom<"ran">>(2s)).has_value();
        co_await coproc_test::wait_until(dead, [p] { return !alive(p); }, 2s);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(ran);
  EXPECT_TRUE(dead);
}

TEST(Alive, IsFalseAfterACoroutineProcessReturned) {
  bool dead = false;
  int rc = coproc::run(
      [&]() -> process {
        const pid p = spawn_on(0, []() -> process {
          co_await sleep_for(1ms);
          co_return;
        });
        co_await coproc_test::wait_until(dead, [p] { return !alive(p); }, 2s);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(dead);
}

TEST(Alive, IsTrueWhileBlockedInReceiveAndFalseOnceItEnds) {
  bool while_blocked = false;
  bool dead = false;
  int rc = coproc::run(
      [&]() -> process {
        const pid p = spawn_on(0, []() -> process {
          co_await receive([](atom<"stop">) {}, after(5s, [] { ADD_FAILURE() << "no stop"; }));
        });
        co_await sleep_for(20ms);  // it is now blocked in receive
        while_blocked = alive(p);
        send(p, atom<"stop">{});
        co_await coproc_test::wait_until(dead, [p] { return !alive(p); }, 2s);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(while_blocked);
  EXPECT_TRUE(dead);
}

TEST(Alive, IsTrueForTheCallingProcessAndForOneThatIsSleeping) {
  bool me_alive = false;
  bool sleeper_alive = false;
  int rc = coproc::run(
      [&]() -> process {
        me_alive = alive(self());
        const pid p = spawn_on(0, []() -> process { co_await sleep_for(200ms); });
        co_await sleep_for(10ms);
        sleeper_alive = alive(p);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(me_alive);
  EXPECT_TRUE(sleeper_alive);
}

TEST(Alive, AForeignThreadSeesTheSameAnswer) {
  std::atomic<bool> blocked_alive{false};
  std::atomic<bool> dead{false};
  {
    runtime rt{options{.cores = 2}};
    scoped_process me;
    const pid report = me.self();
    const pid p = spawn_on(1, [report]() -> process {
      send(report, atom<"ready">{});
      co_await receive([](atom<"stop">) {}, after(5s, [] {}));
    });
    EXPECT_TRUE(me.receive_for<atom<"ready">>(2s).has_value());
    std::thread t([&] {
      blocked_alive = alive(p);
      send(p, atom<"stop">{});
      const auto deadline = std::chrono::steady_clock::now() + 2s;
      while (alive(p) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(1ms);
      }
      dead = !alive(p);
    });
    t.join();
  }
  EXPECT_TRUE(blocked_alive.load());
  EXPECT_TRUE(dead.load());
}

TEST(Alive, IsFalseOnceTheRuntimeIsGone) {
  pid p{};
  {
    runtime rt{options{.cores = 1}};
    int rc = rt.run([&]() -> process {
      p = spawn_on(0, []() -> process { co_await receive([](atom<"never">) {}); });
      co_return;
    });
    EXPECT_EQ(rc, 0);
    EXPECT_TRUE(alive(p));  // still blocked, and the runtime still exists
  }
  EXPECT_FALSE(alive(p));
}
