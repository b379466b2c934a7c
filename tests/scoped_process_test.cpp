// scoped_process: code outside any process (a test, a foreign thread) sends, and
// receives blocking with a timeout and the same selective clauses.
#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <coproc/coproc.hpp>

#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using coproc_test::ms_since;
using coproc_test::tracked;

namespace {

using clock_type = std::chrono::steady_clock;

// Answers {from, n} with n * 2 until told to stop (or idle for 10s).
process doubler() {
  for (;;) {
    bool stop = co_await receive([](pid from, int n) { send(from, n * 2); return false; },
                                 [](atom<"stop">) { return true; },
                                 after(10s, [] { return true; }));
    if (stop) co_return;
  }
}

// Waits until `me` holds n messages (they are routed through core 0), bounded.
bool wait_for_mailbox(const scoped_process& me, std::size_t n) {
  const auto deadline = clock_type::now() + 2s;
  while (me.mailbox_size() < n) {
    if (clock_type::now() >= deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

}  // namespace

TEST(ScopedProcess, AForeignThreadSendsToAProcessAndReceivesTheReply) {
  std::optional<int> reply;
  pid thread_pid{};
  {
    runtime rt{options{.cores = 2}};
    const pid server = spawn_on(1, doubler);
    std::thread t([&] {
      scoped_process me;
      thread_pid = me.self();
      send(server, me.self(), 21);
      reply = me.receive_for<int>(2s);
    });
    t.join();
    send(server, atom<"stop">{});
  }
  EXPECT_TRUE(static_cast<bool>(thread_pid));
  EXPECT_EQ(reply, std::optional<int>(42));
}

TEST(ScopedProcess, ManyForeignThreadsEachGetTheirOwnReplies) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 200;
  std::atomic<int> wrong{0};
  std::atomic<int> missing{0};
  {
    runtime rt{options{.cores = 2}};
    const pid s0 = spawn_on(0, doubler);
    const pid s1 = spawn_on(1, doubler);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        scoped_process me;
        for (int i = 0; i < kRounds; ++i) {
          const int n = t * 100'000 + i;
          send((i % 2 == 0) ? s0 : s1, me.self(), n);
          auto r = me.receive_for<int>(2s);
          if (!r) {
            ++missing;
          } else if (*r != 2 * n) {
            ++wrong;
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    send(s0, atom<"stop">{});
    send(s1, atom<"stop">{});
  }
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(missing.load(), 0);
}

TEST(ScopedProcess, ReceiveForReturnsNulloptOnTimeout) {
  std::optional<int> got;
  double elapsed = -1;
  {
    runtime rt{options{.cores = 1}};
    scoped_process me;
    const auto t0 = clock_type::now();
    got = me.receive_for<int>(30ms);
    elapsed = ms_since(t0);
  }
  EXPECT_EQ(got, std::nullopt);
  EXPECT_GE(elapsed, 30.0);
}

TEST(ScopedProcess, ReceiveForWithTheLargestDurationWaitsForTheMessage) {
  // receive_for(nanoseconds::max()) must not overflow into a deadline in the past.
  std::optional<int> got;
  {
    runtime rt{options{.cores = 2}};
    scoped_process me;
    const pid report = me.self();
    spawn_on(1, [report]() -> process {
      co_await sleep_for(20ms);
      send(report, 4);
    });
    got = me.receive_for<int>(std::chrono::nanoseconds::max());
  }
  EXPECT_EQ(got, std::optional<int>(4));
}

TEST(ScopedProcess, ReceiveForIgnoresMessagesOfOtherTypes) {
  std::optional<int> got;
  std::optional<std::string> kept;
  double elapsed = -1;
  {
    runtime rt{options{.cores = 1}};
    scoped_process me;
    send(me.self(), std::string("not an int"));
    EXPECT_TRUE(wait_for_mailbox(me, 1));
    const auto t0 = clock_type::now();
    got = me.receive_for<int>(30ms);
    elapsed = ms_since(t0);
    kept = me.receive_for<std::string>(0ms);
  }
  EXPECT_EQ(got, std::nullopt);
  EXPECT_GE(elapsed, 30.0);
  EXPECT_EQ(kept, std::optional<std::string>("not an int"));
}

TEST(ScopedProcess, SelectiveReceiveWorksOnIt) {
  std::vector<std::string> got;
  {
    runtime rt{options{.cores = 2}};
    scoped_process me;
    const pid report = me.self();
    spawn_on(1, [report] {
      send(report, std::string("a"));
      send(report, 1);
      send(report, std::string("b"));
      send(report, ok, 2);
      send(report, 3);
    });
    auto text = [](const std::string& s) { return "string " + s; };
    auto num = [](int v) { return "int " + std::to_string(v); };
    auto tagged = [](atom<"ok">, int v) { return "ok " + std::to_string(v); };
    auto timeout = after(2s, [] { return std::string("timeout"); });
    got.push_back(me.receive(tagged, timeout));  // waits past a, 1, b
    got.push_back(me.receive(num, timeout));
    got.push_back(me.receive(num, timeout));
    // Message order wins over clause order.
    got.push_back(me.receive(num, text, timeout));
    got.push_back(me.receive(num, text, timeout));
    got.push_back(me.receive(num, text, tagged, after(0ms, [] { return std::string("empty"); })));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"ok 2", "int 1", "int 3", "string a", "string b",
                                           "empty"}));
}

TEST(ScopedProcess, GuardsAndTheCatchAllClauseWorkOnIt) {
  std::vector<std::string> got;
  {
    runtime rt{options{.cores = 1}};
    scoped_process me;
    send(me.self(), 1);
    send(me.self(), 50);
    send(me.self(), 2.5);
    ASSERT_TRUE(wait_for_mailbox(me, 3));
    got.push_back(me.receive(when([](int v) { return v > 10; },
                                  [](int v) { return "big " + std::to_string(v); }),
                             after(1s, [] { return std::string("timeout"); })));
    got.push_back(me.receive([](const message& m) { return std::string(m.is<int>() ? "any int" : "any"); },
                             after(1s, [] { return std::string("timeout"); })));
    got.push_back(me.receive([](const message& m) { return std::string(m.is<double>() ? "any double" : "any"); },
                             after(1s, [] { return std::string("timeout"); })));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"big 50", "any int", "any double"}));
}

TEST(ScopedProcess, AReceiveWithOnlyAfterWaitsAndLeavesTheMailboxAlone) {
  double elapsed = -1;
  std::size_t size_after = 0;
  int result = 0;
  {
    runtime rt{options{.cores = 1}};
    scoped_process me;
    send(me.self(), 1);
    send(me.self(), std::string("two"));
    ASSERT_TRUE(wait_for_mailbox(me, 2));
    const auto t0 = clock_type::now();
    result = me.receive(after(20ms, [] { return 5; }));
    elapsed = ms_since(t0);
    size_after = me.mailbox_size();
  }
  EXPECT_EQ(result, 5);
  EXPECT_GE(elapsed, 20.0);
  EXPECT_EQ(size_after, 2U);
}

TEST(ScopedProcess, ReceiveOfTypeBlocksUntilAProcessSends) {
  int got = 0;
  {
    runtime rt{options{.cores = 2}};
    scoped_process me;
    const pid report = me.self();
    spawn_on(1, [report]() -> process {
      co_await sleep_for(10ms);
      send(report, 77);
    });
    got = me.receive<int>();
  }
  EXPECT_EQ(got, 77);
}

TEST(ScopedProcess, ItsPidIsAliveUntilItIsDestroyedAndMessagesLeftAreFreed) {
  using T = tracked<60>;
  T::counts.reset();
  bool alive_while_open = false;
  bool dead_after = false;
  bool freed = false;
  {
    runtime rt{options{.cores = 2}};
    pid p{};
    {
      scoped_process me;
      p = me.self();
      alive_while_open = alive(p);
      send(p, T{1});
      send(p, std::make_unique<T>(2));
      EXPECT_TRUE(wait_for_mailbox(me, 2));
    }
    const auto deadline = clock_type::now() + 2s;
    while ((alive(p) || T::counts.live() != 0) && clock_type::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    dead_after = !alive(p);
    freed = T::counts.live() == 0;
    EXPECT_NO_THROW(send(p, 3));  // to the closed one: dropped
  }
  EXPECT_TRUE(alive_while_open);
  EXPECT_TRUE(dead_after);
  EXPECT_TRUE(freed);
  EXPECT_EQ(T::counts.live(), 0);
}

TEST(ScopedProcess, NeedsALiveRuntime) {
  EXPECT_THROW(scoped_process{}, std::logic_error);
}
