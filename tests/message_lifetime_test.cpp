// Who owns a message, and when it is destroyed: move-only payloads, messages a process
// never took (freed when it exits, or with the runtime), messages to the dead.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <coproc/coproc.hpp>

#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using coproc_test::tracked;

TEST(MessageLifetime, AMoveOnlyMessageIsDeliveredAndDestroyedExactlyOnce) {
  using T = tracked<1>;
  T::counts.reset();
  int value = 0;
  long live_while_held = -1;
  long live_after_reset = -1;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), std::make_unique<T>(7));
        auto p = co_await receive<std::unique_ptr<T>>();
        value = p ? p->value : -1;
        live_while_held = T::counts.live();
        p.reset();
        live_after_reset = T::counts.live();
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(value, 7);
  EXPECT_EQ(live_while_held, 1);
  EXPECT_EQ(live_after_reset, 0);
  EXPECT_EQ(T::counts.constructed.load(), 1);
  EXPECT_EQ(T::counts.destroyed.load(), 1);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(MessageLifetime, AMoveOnlyMessageTakenByAClauseIsFreedWhenTheClauseReturns) {
  using T = tracked<2>;
  T::counts.reset();
  long live_in_clause = -1;
  long live_after = -1;
  int seen = 0;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), std::make_unique<T>(1), std::string("tag"));
        co_await receive(
            [&](const std::unique_ptr<T>& p, const std::string& tag) {
              seen = p->value;
              live_in_clause = T::counts.live();
              EXPECT_EQ(tag, "tag");
            },
            after(1s, [] { ADD_FAILURE() << "timed out"; }));
        live_after = T::counts.live();
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(live_in_clause, 1);
  EXPECT_EQ(live_after, 0);
  EXPECT_EQ(T::counts.constructed.load(), 1);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(MessageLifetime, AMessageTakenByACatchAllClauseIsDestroyedExactlyOnce) {
  using T = tracked<3>;
  T::counts.reset();
  long live_after = -1;
  int rc = coproc::run(
      [&]() -> process {
        send(self(), T{5});
        co_await receive([](const message& m) { EXPECT_TRUE(m.is<T>()); },
                         after(1s, [] { ADD_FAILURE() << "timed out"; }));
        live_after = T::counts.live();
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(live_after, 0);
  EXPECT_EQ(T::counts.live(), 0);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(MessageLifetime, AReceivedMessageCanBeForwardedUnchanged) {
  using T = tracked<4>;
  T::counts.reset();
  int forwarded_value = 0;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        const pid relay = spawn_on(0, [me]() -> process {
          co_await receive([me](message m) { send(me, std::move(m)); },
                           after(1s, [] { ADD_FAILURE() << "relay timed out"; }));
        });
        send(relay, T{9});
        forwarded_value = co_await receive([](const T& t) { return t.value; },
                                           after(1s, [] { return -1; }));
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(forwarded_value, 9);
  EXPECT_EQ(T::counts.live(), 0);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(MessageLifetime, MessagesLeftInAMailboxAreDestroyedWhenTheProcessExits) {
  using T = tracked<5>;
  T::counts.reset();
  long live_before_stop = -1;
  bool freed = false;
  int rc = coproc::run(
      [&]() -> process {
        const pid p = spawn_on(0, []() -> process {
          co_await receive([](atom<"stop">) {}, after(5s, [] { ADD_FAILURE() << "no stop"; }));
        });
        for (int i = 0; i < 5; ++i) send(p, T{i});
        send(p, std::make_unique<T>(99));
        co_await sleep_for(5ms);
        live_before_stop = T::counts.live();  // the waiting process holds them
        send(p, atom<"stop">{});
        // The runtime is still alive: only the process's exit can free them.
        co_await coproc_test::wait_until(freed, [] { return T::counts.live() == 0; }, 2s);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(live_before_stop, 6);
  EXPECT_TRUE(freed) << T::counts.live() << " messages still alive after the process exited";
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(MessageLifetime, MessagesLeftInAMailboxAreDestroyedWhenTheRuntimeIsDestroyed) {
  using T = tracked<6>;
  T::counts.reset();
  constexpr int kHolders = 10;
  constexpr int kEach = 20;
  long live_after_run = -1;
  {
    runtime rt{options{.cores = 2}};
    int rc = rt.run([&]() -> process {
      for (int h = 0; h < kHolders; ++h) {
        // Blocked forever on a message nobody sends; keeps every message it gets.
        const pid p = spawn_on(static_cast<unsigned>(h % 2), []() -> process {
          co_await receive([](atom<"never">) {});
        });
        for (int i = 0; i < kEach; ++i) send(p, T{i});
        send(p, std::make_unique<T>(h));
      }
      // Messages left in main's own mailbox too.
      send(self(), T{-1});
      send(self(), std::make_unique<T>(-2));
      co_await sleep_for(20ms);  // let the cross-core ones arrive
    });
    EXPECT_EQ(rc, 0);
    live_after_run = T::counts.live();
  }
  // While the runtime lived, the holders still owned their messages (main's two
  // were freed when main exited).
  EXPECT_EQ(live_after_run, kHolders * (kEach + 1));
  EXPECT_EQ(T::counts.live(), 0);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(MessageLifetime, AMessageSentToADeadProcessIsDestroyed) {
  using T = tracked<7>;
  T::counts.reset();
  bool dead = false;
  bool freed = false;
  int rc = coproc::run(
      [&]() -> process {
        const pid p = spawn_on(0, [] {});
        co_await coproc_test::wait_until(dead, [p] { return !alive(p); }, 2s);
        send(p, T{1});
        send(p, std::make_unique<T>(2));
        co_await coproc_test::wait_until(freed, [] { return T::counts.live() == 0; }, 2s);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(dead);
  EXPECT_TRUE(freed);
  EXPECT_EQ(T::counts.double_destroyed.load(), 0);
}

TEST(MessageLifetime, SendingMoveOnlyValuesLeavesTheSourceMovedFrom) {
  using T = tracked<8>;
  T::counts.reset();
  bool moved_from = false;
  int rc = coproc::run(
      [&]() -> process {
        auto up = std::make_unique<T>(3);
        send(self(), std::move(up));
        moved_from = (up == nullptr);  // NOLINT(bugprone-use-after-move)
        auto back = co_await receive<std::unique_ptr<T>>();
        EXPECT_EQ(back->value, 3);
      },
      options{.cores = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(moved_from);
  EXPECT_EQ(T::counts.constructed.load(), 1);
  EXPECT_EQ(T::counts.live(), 0);
}
