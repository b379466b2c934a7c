// Per-pair ordering: messages from one sender to one receiver arrive in the order they
// were sent, also across cores, and none is lost (DESIGN.md, "Ordering").
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include <coproc/coproc.hpp>

#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;

namespace {

const int kPerSender = static_cast<int>(coproc_test::scaled(200'000, 20'000));

struct order_result {
  std::vector<int> next;   // per sender: the sequence number expected next
  long total = 0;          // messages received
  long out_of_order = 0;   // a sequence number that was not the one expected
  long bad_sender = 0;     // a sender id out of range
  bool timed_out = false;  // a message did not come within the timeout
  long extra = 0;          // messages after the expected total
};

// Receives senders * per_sender messages {sender, seq} and checks per-sender order.
process check_order(order_result& r, int senders, int per_sender) {
  r.next.assign(static_cast<std::size_t>(senders), 0);
  const long expected = static_cast<long>(senders) * per_sender;
  while (r.total < expected) {
    bool got = co_await receive(
        [&r, senders](int s, int seq) {
          if (s < 0 || s >= senders) {
            ++r.bad_sender;
            return true;
          }
          auto& next = r.next[static_cast<std::size_t>(s)];
          if (seq != next) ++r.out_of_order;
          next = seq + 1;
          ++r.total;
          return true;
        },
        after(20s, [] { return false; }));
    if (!got) {
      r.timed_out = true;
      co_return;
    }
  }
  // Nothing more may come: every message was counted exactly once.
  for (;;) {
    bool more = co_await receive([](int, int) { return true; }, after(20ms, [] { return false; }));
    if (!more) break;
    ++r.extra;
  }
}

// Sends per_sender messages {id, 0..per_sender-1}, yielding every `burst` sends
// (burst == 0: never yields, the whole stream in one go).
process sender(pid to, int id, int per_sender, int burst) {
  for (int i = 0; i < per_sender; ++i) {
    send(to, id, i);
    if (burst > 0 && (i + 1) % burst == 0) co_await yield();
  }
}

void expect_in_order(const order_result& r, int senders, int per_sender) {
  EXPECT_FALSE(r.timed_out) << "received only " << r.total << " messages";
  EXPECT_EQ(r.total, static_cast<long>(senders) * per_sender);
  EXPECT_EQ(r.out_of_order, 0);
  EXPECT_EQ(r.bad_sender, 0);
  EXPECT_EQ(r.extra, 0);
  for (int s = 0; s < senders && s < static_cast<int>(r.next.size()); ++s) {
    EXPECT_EQ(r.next[static_cast<std::size_t>(s)], per_sender) << "sender " << s;
  }
}

}  // namespace

TEST(PerPairOrdering, MessagesFromSendersOnAnotherCoreArriveInSendOrder) {
  constexpr int kSenders = 3;
  order_result r;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        // One sender bursts its whole stream, the others yield now and then, so the
        // receiving core sees full queues, spills and trickles interleaved.
        spawn_on(1, sender, me, 0, kPerSender, 0);
        spawn_on(1, sender, me, 1, kPerSender, 100);
        spawn_on(1, sender, me, 2, kPerSender, 1000);
        co_await check_order(r, kSenders, kPerSender);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  expect_in_order(r, kSenders, kPerSender);
}

TEST(PerPairOrdering, MessagesFromSendersOnEveryCoreArriveInSendOrder) {
  constexpr int kSenders = 4;
  const int per_sender = kPerSender / 2;
  order_result r;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        spawn_on(0, sender, me, 0, per_sender, 10);  // same core as the receiver
        spawn_on(1, sender, me, 1, per_sender, 0);
        spawn_on(2, sender, me, 2, per_sender, 7);
        spawn_on(3, sender, me, 3, per_sender, 500);
        co_await check_order(r, kSenders, per_sender);
      },
      options{.cores = 4});
  EXPECT_EQ(rc, 0);
  expect_in_order(r, kSenders, per_sender);
}

TEST(PerPairOrdering, MessagesToAReceiverOnAnotherCoreArriveInSendOrder) {
  // The receiver is the one away from core 0; the main process and a sibling send.
  constexpr int kSenders = 2;
  order_result r;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        const pid receiver = spawn_on(1, [&r, me]() -> process {
          co_await check_order(r, kSenders, kPerSender);
          send(me, atom<"done">{});
        });
        spawn_on(0, sender, receiver, 1, kPerSender, 0);
        for (int i = 0; i < kPerSender; ++i) {
          send(receiver, 0, i);
          if ((i + 1) % 333 == 0) co_await yield();
        }
        bool done =
            co_await receive([](atom<"done">) { return true; }, after(30s, [] { return false; }));
        EXPECT_TRUE(done);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  expect_in_order(r, kSenders, kPerSender);
}

TEST(PerPairOrdering, MessagesFromForeignThreadsArriveInSendOrder) {
  constexpr int kThreads = 3;
  const int per_thread = kPerSender / 4;
  order_result r;
  {
    runtime rt{options{.cores = 2}};
    scoped_process me;
    const pid report = me.self();
    const pid receiver = spawn_on(1, [&r, report]() -> process {
      co_await check_order(r, kThreads, per_thread);
      send(report, atom<"done">{});
    });
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([receiver, t] {
        for (int i = 0; i < per_thread; ++i) send(receiver, t, i);
      });
    }
    for (auto& t : threads) t.join();
    auto done = me.receive_for<atom<"done">>(30s);
    EXPECT_TRUE(done.has_value());
  }
  expect_in_order(r, kThreads, per_thread);
}

// A core chains consecutive messages to one process on another core into one envelope
// (lib/core/loop.hpp). What the sender sends there next, a signal included, must still
// come after them: 1,000 messages and then an exit signal, all in one step, arrive as
// 1,000 messages in order and then the EXIT.
TEST(PerPairOrdering, MessagesThenAnExitSignalToAnotherCoreArriveInThatOrder) {
  constexpr int kMessages = 1000;
  std::vector<int> got;
  bool exit_last = false;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        const pid receiver = spawn_on(1, [&got, &exit_last, me]() -> process {
          trap_exit(true);
          send(me, atom<"ready">{});
          for (;;) {
            const bool more = co_await receive(
                [&got](int i) {
                  got.push_back(i);
                  return true;
                },
                [&exit_last, &got](atom<"EXIT">, pid, exit_reason why) {
                  exit_last = why == exit_reason::user("enough") &&
                              got.size() == static_cast<std::size_t>(kMessages);
                  return false;
                },
                after(10s, [] { return false; }));
            if (!more) break;
          }
          send(me, atom<"done">{});
        });
        co_await receive<atom<"ready">>();
        for (int i = 0; i < kMessages; ++i) send(receiver, i);
        coproc::exit(receiver, exit_reason::user("enough"));
        const bool done =
            co_await receive([](atom<"done">) { return true; }, after(10s, [] { return false; }));
        EXPECT_TRUE(done);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) ASSERT_EQ(got[static_cast<std::size_t>(i)], i);
  EXPECT_TRUE(exit_last);
}

// Sends that alternate between two processes on another core break the chains at
// every switch; each process still gets all of its messages, in order.
TEST(PerPairOrdering, SendsAlternatingBetweenTwoReceiversOnAnotherCoreStayInOrder) {
  constexpr int kEach = 5000;
  order_result a;
  order_result b;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        auto receiver = [me](order_result* r) -> process {
          co_await check_order(*r, 1, kEach);
          send(me, atom<"done">{});
        };
        const pid ra = spawn_on(1, receiver, &a);
        const pid rb = spawn_on(1, receiver, &b);
        // Runs of one to three sends to the same process, then a switch.
        int next_a = 0;
        int next_b = 0;
        for (unsigned k = 0; next_a < kEach || next_b < kEach; ++k) {
          const bool to_a = next_b == kEach || (next_a < kEach && (k * 7 % 5) < 3);
          if (to_a) {
            send(ra, 0, next_a++);
          } else {
            send(rb, 0, next_b++);
          }
        }
        for (int k = 0; k < 2; ++k) {
          const bool done =
              co_await receive([](atom<"done">) { return true; }, after(30s, [] { return false; }));
          EXPECT_TRUE(done);
        }
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  expect_in_order(a, 1, kEach);
  expect_in_order(b, 1, kEach);
}

// Hundreds of messages in one step to a process on another core that has already
// ended: dropped and freed (the sanitizer builds check the freeing), and the runtime
// goes on.
TEST(PerPairOrdering, AChainOfMessagesToAnEndedProcessOnAnotherCoreIsDropped) {
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        const pid gone = spawn_on(1, [me]() -> process {
          send(me, atom<"bye">{});
          co_return;
        });
        co_await receive<atom<"bye">>();
        while (alive(gone)) co_await yield();
        for (int i = 0; i < 700; ++i) send(gone, std::string(100, 'x'));
        const pid echo = spawn_on(1, []() -> process {
          auto from = co_await receive<pid>();
          send(from, atom<"pong">{});
        });
        send(echo, me);
        const bool pong =
            co_await receive([](atom<"pong">) { return true; }, after(10s, [] { return false; }));
        EXPECT_TRUE(pong);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
}
