// The timer wheel on its own (lib/time/timer_wheel.hpp): no runtime, time is whatever
// the test passes to pop_due.
#include "lib/time/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <deque>
#include <random>
#include <set>
#include <vector>

using coproc::detail::timer_node;
using coproc::detail::timer_wheel;

namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSecond = 1000 * kMs;
constexpr std::int64_t kYear = 365LL * 24 * 3600 * kSecond;

struct fixture : ::testing::Test {
  timer_wheel wheel;
  std::deque<timer_node> nodes;  // stable addresses

  timer_node* arm(std::int64_t deadline) {
    timer_node& t = nodes.emplace_back();
    t.deadline = deadline;
    wheel.push(&t);
    return &t;
  }
  // Everything due at `now`, in the order the wheel hands it out.
  std::vector<timer_node*> drain(std::int64_t now) {
    std::vector<timer_node*> out;
    while (timer_node* t = wheel.pop_due(now)) out.push_back(t);
    return out;
  }
};

using TimerWheel = fixture;

}  // namespace

TEST_F(TimerWheel, StartsEmpty) {
  EXPECT_TRUE(wheel.empty());
  EXPECT_EQ(wheel.size(), 0U);
  EXPECT_EQ(wheel.pop_due(INT64_MAX), nullptr);
}

TEST_F(TimerWheel, ANodeIsNotDueOneNanosecondBeforeItsDeadlineAndIsDueAtIt) {
  timer_node* t = arm(10 * kMs + 500'000);
  EXPECT_TRUE(t->armed());
  EXPECT_EQ(wheel.size(), 1U);
  EXPECT_EQ(wheel.pop_due(10 * kMs + 499'999), nullptr);
  EXPECT_EQ(wheel.next_deadline(), 10 * kMs + 500'000);  // a sorted slot: exact
  EXPECT_EQ(wheel.pop_due(10 * kMs + 500'000), t);
  EXPECT_FALSE(t->armed());
  EXPECT_TRUE(wheel.empty());
}

TEST_F(TimerWheel, NodesOfDifferentTicksComeOutInDeadlineOrder) {
  arm(45 * kMs);
  arm(5 * kMs);
  arm(25 * kMs);
  arm(3 * kSecond);
  arm(70 * kMs);
  std::vector<std::int64_t> got;
  for (std::int64_t now = 0; now <= 4 * kSecond; now += kMs / 4) {
    for (timer_node* t : drain(now)) got.push_back(t->deadline);
  }
  EXPECT_EQ(got, (std::vector<std::int64_t>{5 * kMs, 25 * kMs, 45 * kMs, 70 * kMs, 3 * kSecond}));
}

TEST_F(TimerWheel, ACancelledNodeNeverComesOutAndItsNeighboursStillDo) {
  timer_node* a = arm(7 * kMs + 1);
  timer_node* b = arm(7 * kMs + 2);
  timer_node* c = arm(7 * kMs + 3);
  wheel.remove(b);
  EXPECT_FALSE(b->armed());
  EXPECT_EQ(wheel.size(), 2U);
  EXPECT_EQ(drain(8 * kMs), (std::vector<timer_node*>{a, c}));
  EXPECT_TRUE(wheel.empty());
}

TEST_F(TimerWheel, CancellingTheLastNodeOfASlotMovesTheNextDeadlineOn) {
  timer_node* early = arm(3 * kMs);
  arm(9 * kMs);
  EXPECT_EQ(wheel.next_deadline(), 3 * kMs);
  wheel.remove(early);
  EXPECT_EQ(wheel.next_deadline(), 9 * kMs);
  EXPECT_TRUE(drain(8 * kMs).empty());
  EXPECT_EQ(drain(9 * kMs).size(), 1U);
}

TEST_F(TimerWheel, ADeadlineInThePastIsDueAtTheNextPop) {
  EXPECT_TRUE(drain(100 * kMs).empty());  // the wheel has seen 100 ms
  arm(200 * kMs);
  EXPECT_TRUE(drain(100 * kMs).empty());
  timer_node* past = arm(50 * kMs);
  EXPECT_LE(wheel.next_deadline(), 100 * kMs);
  EXPECT_EQ(drain(100 * kMs), (std::vector<timer_node*>{past}));
  EXPECT_EQ(wheel.size(), 1U);
}

TEST_F(TimerWheel, ADeadlineAtZeroOrBelowIsDueAtOnceInDeadlineOrder) {
  timer_node* zero = arm(0);
  timer_node* negative = arm(-5);
  EXPECT_EQ(drain(0), (std::vector<timer_node*>{negative, zero}));
}

TEST_F(TimerWheel, ManyNodesInOneSlotComeOutTogetherInArmingOrder) {
  std::vector<timer_node*> armed;
  armed.reserve(10'000);
  for (std::int64_t i = 0; i < 10'000; ++i) armed.push_back(arm(20 * kMs + i * 50));  // one tick
  EXPECT_TRUE(drain(20 * kMs - 1).empty());
  std::vector<timer_node*> got = drain(21 * kMs);
  EXPECT_EQ(got, armed);
  EXPECT_TRUE(wheel.empty());
}

TEST_F(TimerWheel, AnOutOfOrderSlotFiresWholeWhenItsTickHasPassedNeverEarly) {
  timer_node* late = arm(20 * kMs + 900'000);
  timer_node* first = arm(20 * kMs + 100'000);     // before the head: still in order
  timer_node* middle = arm(20 * kMs + 500'000);    // between: the slot is out of order
  EXPECT_TRUE(drain(20 * kMs + 600'000).empty());  // first and middle are due, but wait
  EXPECT_EQ(wheel.next_deadline(), 21 * kMs);
  EXPECT_EQ(drain(21 * kMs), (std::vector<timer_node*>{first, late, middle}));
}

TEST_F(TimerWheel, ANodeSecondsAheadIsCascadedDownAndFiresOnTime) {
  wheel.catch_up(0);
  timer_node* t = arm(5 * kSecond + 123'456);
  const std::int64_t first = wheel.next_deadline();
  EXPECT_LE(first, t->deadline);
  EXPECT_TRUE(drain(first).empty());  // a cascade, not a firing
  while (wheel.next_deadline() < t->deadline) EXPECT_TRUE(drain(wheel.next_deadline()).empty());
  EXPECT_EQ(wheel.next_deadline(), t->deadline);
  EXPECT_TRUE(drain(t->deadline - 1).empty());
  EXPECT_EQ(drain(t->deadline), (std::vector<timer_node*>{t}));
}

TEST_F(TimerWheel, ADeadlineBeyondTheTopLevelWaitsAndThenFires) {
  timer_node* three_years = arm(3 * kYear);
  timer_node* never = arm(INT64_MAX);
  EXPECT_TRUE(drain(2 * kYear).empty());
  EXPECT_LE(wheel.next_deadline(), 3 * kYear);
  EXPECT_TRUE(drain(3 * kYear - 1).empty());
  EXPECT_EQ(drain(3 * kYear + kMs), (std::vector<timer_node*>{three_years}));
  EXPECT_TRUE(drain(200 * kYear).empty());
  EXPECT_EQ(drain(INT64_MAX), (std::vector<timer_node*>{never}));
}

TEST_F(TimerWheel, AJumpOfAnHourFiresEverythingDueAtOnce) {
  arm(10 * kMs);
  arm(59LL * 60 * kSecond);
  arm(61LL * 60 * kSecond);
  EXPECT_EQ(drain(3600 * kSecond).size(), 2U);
  EXPECT_EQ(wheel.size(), 1U);
}

TEST_F(TimerWheel, CatchUpMovesOnlyAnEmptyWheel) {
  wheel.catch_up(10 * kSecond);
  timer_node* t = arm(10 * kSecond + 3 * kMs);
  EXPECT_EQ(wheel.next_deadline(), t->deadline);  // level 0 at once
  timer_node* past = arm(5 * kSecond);
  EXPECT_EQ(drain(10 * kSecond), (std::vector<timer_node*>{past}));
  wheel.catch_up(20 * kSecond);  // not empty: ignored, t is not skipped
  EXPECT_EQ(drain(10 * kSecond + 3 * kMs), (std::vector<timer_node*>{t}));
}

TEST_F(TimerWheel, TakeAllReturnsAndDisarmsEveryNode) {
  arm(1 * kMs);
  arm(2 * kSecond);
  arm(INT64_MAX);
  arm(0);
  std::vector<timer_node*> all = wheel.take_all();
  EXPECT_EQ(all.size(), 4U);
  EXPECT_TRUE(wheel.empty());
  for (timer_node* t : all) EXPECT_FALSE(t->armed());
  EXPECT_EQ(wheel.pop_due(INT64_MAX), nullptr);
  timer_node* again = arm(5 * kMs);  // still usable
  EXPECT_EQ(drain(5 * kMs), (std::vector<timer_node*>{again}));
}

TEST_F(TimerWheel, RandomArmsAndCancelsNeverFireEarlyNorMoreThanATickLate) {
  std::mt19937_64 rng(14);
  std::vector<timer_node*> live;
  std::int64_t now = 1'000 * kSecond;
  wheel.catch_up(now);
  std::size_t fired = 0;
  for (int step = 0; step < 20'000; ++step) {
    const auto r = rng() % 100;
    if (r < 55) {  // arm: mostly near, sometimes far, sometimes past
      std::int64_t delta = 0;
      if (r < 35) {
        delta = static_cast<std::int64_t>(rng() % (100 * kMs));
      } else if (r < 50) {
        delta = static_cast<std::int64_t>(rng() % (600 * kSecond));
      } else {
        delta = -static_cast<std::int64_t>(rng() % (50 * kMs));
      }
      live.push_back(arm(now + delta));
    } else if (r < 75 && !live.empty()) {  // cancel
      const std::size_t i = rng() % live.size();
      wheel.remove(live[i]);
      live[i] = live.back();
      live.pop_back();
    } else {  // time passes
      now += static_cast<std::int64_t>(rng() % (3 * kMs));
      if (rng() % 50 == 0) now += static_cast<std::int64_t>(rng() % (100 * kSecond));
      for (timer_node* t : drain(now)) {
        ASSERT_LE(t->deadline, now) << "fired early";
        ASSERT_FALSE(t->armed());
        live.erase(std::find(live.begin(), live.end(), t));
        ++fired;
      }
      // Whatever is still armed has its deadline in the current tick or later, and the
      // wheel does not sleep past the end of its tick.
      for (timer_node* t : live) {
        ASSERT_GE(t->deadline, now / kMs * kMs) << "not fired after its tick had passed";
        ASSERT_LE(wheel.next_deadline(), (t->deadline / kMs + 1) * kMs);
      }
    }
    ASSERT_EQ(wheel.size(), live.size());
  }
  EXPECT_GT(fired, 1000U);
}

// The pattern of a server's processes: every node, once fired, is armed again 10 ms
// after the time it fired at, so each core arms in increasing order. Sorted slots of
// levels above 0 are then handed out from their heads (run_) instead of being re-filed;
// across many 64 ms and one 4.1 s boundary every node still fires exactly at its
// deadline, in deadline order, and next_deadline never sleeps past the next one due.
TEST_F(TimerWheel, NodesReArmedInIncreasingOrderFireExactlyAcrossLevelBoundaries) {
  std::int64_t now = 4 * kSecond - 300 * kMs;  // crosses the level-2 boundary at 4.096 s
  wheel.catch_up(now);
  for (std::int64_t i = 0; i < 500; ++i) arm(now + 10 * kMs + i * 20'000);
  std::size_t fired = 0;
  std::int64_t last_deadline = 0;
  const std::int64_t end = now + 1 * kSecond;
  while (now < end) {
    const std::int64_t next = wheel.next_deadline();
    ASSERT_GT(next, now - kMs);
    for (timer_node* t : drain(next)) {
      ASSERT_EQ(t->deadline, next) << "fired at a wake for another deadline";
      ASSERT_GE(t->deadline, last_deadline) << "out of deadline order";
      last_deadline = t->deadline;
      ++fired;
      t->deadline = next + 10 * kMs;  // re-armed by its process at the time it fired
      wheel.push(t);
    }
    now = std::max(now, next);
  }
  EXPECT_EQ(wheel.size(), 500U);
  EXPECT_GT(fired, 500U * 95);
}

// The same re-arming nodes, mixed with random arms (near, far, past) and cancels: the
// sorted runs and the re-filed slots together still never fire early, never more than
// a tick late, and hand out earlier ticks first (but for nodes armed with a deadline
// already past, which come out first, in the order they were armed).
TEST_F(TimerWheel, SortedRunsMixedWithRandomArmsKeepTickOrderAndExactness) {
  std::mt19937_64 rng(15);
  std::int64_t now = 64 * kSecond - 700 * kMs;
  wheel.catch_up(now);
  std::vector<timer_node*> rearmed;
  rearmed.reserve(300);
  for (std::int64_t i = 0; i < 300; ++i) rearmed.push_back(arm(now + 10 * kMs + i * 33'000));
  std::vector<timer_node*> random;
  std::set<timer_node*> past;  // armed with a deadline already gone
  std::size_t fired = 0;
  for (int step = 0; step < 6'000; ++step) {
    const auto r = rng() % 100;
    if (r < 30) {
      std::int64_t delta = static_cast<std::int64_t>(rng() % (300 * kMs));
      if (r < 5) delta = -static_cast<std::int64_t>(rng() % (5 * kMs));
      if (r >= 25) delta = static_cast<std::int64_t>(rng() % (20 * kSecond));
      random.push_back(arm(now + delta));
      if (delta < 0) past.insert(random.back());
    } else if (r < 45) {
      std::vector<timer_node*>& from = (r < 38 || random.empty()) ? rearmed : random;
      if (from.empty()) continue;
      const std::size_t i = rng() % from.size();
      wheel.remove(from[i]);
      past.erase(from[i]);
      if (&from == &rearmed) {  // a receive matched: the process waits again, later
        from[i]->deadline = now + 10 * kMs;
        wheel.push(from[i]);
      } else {
        from[i] = from.back();
        from.pop_back();
      }
    } else {
      now += static_cast<std::int64_t>(rng() % (2 * kMs));
      std::int64_t last_tick = 0;
      for (timer_node* t : drain(now)) {
        ASSERT_LE(t->deadline, now) << "fired early";
        if (past.erase(t) == 0) {  // those armed in the past come first, as armed
          ASSERT_GE(t->deadline / kMs, last_tick) << "a later tick came out first";
          last_tick = t->deadline / kMs;
        }
        ++fired;
        const auto it = std::find(random.begin(), random.end(), t);
        if (it != random.end()) {
          *it = random.back();
          random.pop_back();
        } else {
          t->deadline = now + 10 * kMs;
          wheel.push(t);
        }
      }
      for (timer_node* t : random) {
        ASSERT_GE(t->deadline, now / kMs * kMs) << "not fired after its tick had passed";
        ASSERT_LE(wheel.next_deadline(), (t->deadline / kMs + 1) * kMs);
      }
      for (timer_node* t : rearmed) {
        ASSERT_GE(t->deadline, now / kMs * kMs) << "not fired after its tick had passed";
        ASSERT_LE(wheel.next_deadline(), (t->deadline / kMs + 1) * kMs);
      }
    }
    ASSERT_EQ(wheel.size(), rearmed.size() + random.size());
  }
  EXPECT_GT(fired, 10'000U);
}

// push_after: the deadline is the `now` of the next settle plus the delay.
TEST_F(TimerWheel, APendingNodeGetsItsDeadlineFromTheSettleAfterIt) {
  timer_node a;
  timer_node b;
  wheel.push_after(&a, 5 * kMs);
  wheel.push_after(&b, 1 * kMs);
  EXPECT_TRUE(wheel.has_pending());
  EXPECT_EQ(wheel.size(), 2U);
  EXPECT_EQ(wheel.pop_due(99 * kMs), nullptr);  // not filed yet: never due before a settle
  wheel.settle(100 * kMs);
  EXPECT_FALSE(wheel.has_pending());
  EXPECT_EQ(a.deadline, 105 * kMs);
  EXPECT_EQ(b.deadline, 101 * kMs);
  EXPECT_EQ(wheel.next_deadline(), 101 * kMs);
  EXPECT_EQ(drain(101 * kMs - 1), std::vector<timer_node*>{});
  EXPECT_EQ(drain(101 * kMs), (std::vector<timer_node*>{&b}));
  EXPECT_EQ(drain(105 * kMs), (std::vector<timer_node*>{&a}));
  EXPECT_TRUE(wheel.empty());
}

TEST_F(TimerWheel, APendingNodeCanBeCancelledAndIsTakenByTakeAll) {
  timer_node a;
  timer_node b;
  timer_node c;
  wheel.push_after(&a, 1 * kMs);
  wheel.push_after(&b, 1 * kMs);
  wheel.push_after(&c, INT64_MAX);  // saturates at settle
  wheel.remove(&a);
  EXPECT_FALSE(a.armed());
  EXPECT_EQ(wheel.size(), 2U);
  wheel.settle(3 * kSecond);
  EXPECT_EQ(c.deadline, INT64_MAX);
  EXPECT_EQ(drain(3 * kSecond + kMs), (std::vector<timer_node*>{&b}));
  wheel.push_after(&a, 2 * kMs);
  std::vector<timer_node*> all = wheel.take_all();
  EXPECT_EQ(all.size(), 2U);
  EXPECT_TRUE(std::find(all.begin(), all.end(), &a) != all.end());
  EXPECT_FALSE(a.armed());
  EXPECT_TRUE(wheel.empty());
}

// Settled nodes join a wheel that already holds nodes at their exact deadlines, and a
// wheel that held only pending nodes catches up to the settle's time as an empty one does.
TEST_F(TimerWheel, SettledNodesMixWithArmedOnesInDeadlineOrder) {
  timer_node* early = arm(2 * kMs);
  timer_node* late = arm(9 * kMs);
  timer_node p;
  wheel.push_after(&p, 4 * kMs);
  wheel.settle(1 * kMs);
  EXPECT_EQ(drain(20 * kMs), (std::vector<timer_node*>{early, &p, late}));
  timer_node q;
  wheel.push_after(&q, 3 * kMs);
  wheel.settle(2 * kSecond);
  EXPECT_EQ(wheel.next_deadline(), 2 * kSecond + 3 * kMs);  // level 0 at once
  EXPECT_EQ(drain(2 * kSecond + 3 * kMs), (std::vector<timer_node*>{&q}));
}
