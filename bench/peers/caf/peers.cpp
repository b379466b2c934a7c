// Peer benchmarks for coproc, CAF 0.17 side. See bench/WORKLOADS.md.
// Event-based actors on the default (work-stealing) scheduler.
// Build: g++ -O2 -std=c++17 -o build/caf-peers caf/peers.cpp -lcaf_core -lpthread
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "caf/all.hpp"

using namespace caf;
using clk = std::chrono::steady_clock;

using go_atom = atom_constant<atom("go")>;
using done_atom = atom_constant<atom("done")>;
using ready_atom = atom_constant<atom("ready")>;
using stop_atom = atom_constant<atom("stop")>;
using ping_atom = atom_constant<atom("ping")>;
using pong_atom = atom_constant<atom("pong")>;
using junk_atom = atom_constant<atom("junk")>;
using msg_atom = atom_constant<atom("msg")>;

namespace {

void result(const char* w, const char* metric, double value, const char* unit) {
  std::printf("RESULT system=caf workload=%s metric=%s value=%.3f unit=%s\n", w,
              metric, value, unit);
}

double ms_since(clk::time_point t0) {
  return std::chrono::duration<double, std::milli>(clk::now() - t0).count();
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "check failed: %s\n", what.c_str());
  std::fflush(stdout);
  std::_Exit(1);
}

// ---------------------------------------------------------------- ring
constexpr int32_t ring_n = 10000, ring_m = 1000000;

behavior ring_node(event_based_actor* self, int32_t index, actor next,
                   actor main) {
  return {
    [=](int32_t k) {
      if (k == 0)
        self->send(main, done_atom::value, index);
      else
        self->send(next, k - 1);
    },
  };
}

// The first node is spawned before its successor exists; it learns it by
// message and then becomes a normal node.
behavior ring_first(event_based_actor* self, actor main) {
  return {
    [=](const actor& next) { self->become(ring_node(self, 0, next, main)); },
  };
}

void ring(actor_system& sys) {
  scoped_actor self{sys};
  auto main = actor_cast<actor>(self);
  std::vector<actor> nodes;
  nodes.reserve(ring_n);
  auto t0 = clk::now();
  auto first = sys.spawn(ring_first, main);
  nodes.push_back(first);
  actor next = first;
  for (int32_t i = ring_n - 1; i >= 1; --i) {
    next = sys.spawn(ring_node, i, next, main);
    nodes.push_back(next);
  }
  self->send(first, next);
  auto spawn_ms = ms_since(t0);
  auto t1 = clk::now();
  self->send(first, ring_m);
  int32_t last = -1;
  self->receive([&](done_atom, int32_t i) { last = i; });
  auto secs = ms_since(t1) / 1e3;
  // Node i gets the token after i hops, so hop M ends on node M % N.
  if (last != ring_m % ring_n)
    fail("ring: token ended on node " + std::to_string(last));
  for (auto& a : nodes)
    self->send_exit(a, exit_reason::user_shutdown);
  result("ring", "spawn_ms", spawn_ms, "ms");
  result("ring", "hops_per_s", ring_m / secs, "hops/s");
}

// ------------------------------------------------------------ pingpong
behavior pong(event_based_actor*) {
  // A handler's return value is sent back to the sender.
  return {
    [](ping_atom, int32_t k) { return std::make_tuple(pong_atom::value, k); },
  };
}

behavior ping(event_based_actor* self, actor pong, actor main, int32_t n) {
  return {
    [=](go_atom) { self->send(pong, ping_atom::value, n - 1); },
    [=](pong_atom, int32_t k) {
      if (k == 0) {
        self->send(main, done_atom::value);
        self->quit();
      } else {
        self->send(pong, ping_atom::value, k - 1);
      }
    },
  };
}

void pingpong(actor_system& sys) {
  constexpr int32_t n = 1000000;
  scoped_actor self{sys};
  auto po = sys.spawn(pong);
  auto pi = sys.spawn(ping, po, actor_cast<actor>(self), n);
  auto t0 = clk::now();
  self->send(pi, go_atom::value);
  self->receive([](done_atom) {});
  auto ns = ms_since(t0) * 1e6 / n;
  self->send_exit(po, exit_reason::user_shutdown);
  result("pingpong", "ns_per_roundtrip", ns, "ns");
}

// -------------------------------------------------------------- skynet
struct skynet_state {
  int64_t sum = 0;
  int pending = 10;
};

behavior skynet_node(stateful_actor<skynet_state>* self, actor parent,
                     int64_t num, int64_t size) {
  if (size == 1) {
    self->send(parent, num);
    self->quit();
    return {};
  }
  auto sub = size / 10;
  for (int64_t i = 0; i < 10; ++i)
    self->spawn(skynet_node, actor_cast<actor>(self), num + i * sub, sub);
  return {
    [=](int64_t x) {
      self->state.sum += x;
      if (--self->state.pending == 0) {
        self->send(parent, self->state.sum);
        self->quit();
      }
    },
  };
}

void skynet(actor_system& sys) {
  scoped_actor self{sys};
  int64_t sum = 0;
  auto t0 = clk::now();
  sys.spawn(skynet_node, actor_cast<actor>(self), int64_t{0}, int64_t{1000000});
  self->receive([&](int64_t x) { sum = x; });
  auto wall = ms_since(t0);
  if (sum != 499999500000)
    fail("skynet sum " + std::to_string(sum));
  result("skynet", "wall_ms", wall, "ms");
}

// ---------------------------------------------------------- spawn_idle
long vm_rss() {
  std::ifstream f{"/proc/self/status"};
  std::string key;
  long kb;
  while (f >> key) {
    if (key == "VmRSS:" && f >> kb)
      return kb * 1024;
    f.ignore(1 << 16, '\n');
  }
  fail("no VmRSS");
}

behavior idle(event_based_actor* self, actor main) {
  self->send(main, ready_atom::value);
  return {
    [=](stop_atom) { self->quit(); },
  };
}

void spawn_idle(actor_system& sys) {
  constexpr int n = 1000000;
  scoped_actor self{sys};
  auto main = actor_cast<actor>(self);
  std::vector<actor> actors;
  auto rss0 = vm_rss();
  auto t0 = clk::now();
  actors.reserve(n);
  for (int i = 0; i < n; ++i)
    actors.push_back(sys.spawn(idle, main));
  int i = 0;
  self->receive_for(i, n)([](ready_atom) {});
  auto spawn_ms = ms_since(t0);
  auto rss1 = vm_rss();
  for (auto& a : actors)
    self->send(a, stop_atom::value);
  result("spawn_idle", "spawn_ms", spawn_ms, "ms");
  result("spawn_idle", "rss_bytes_per_process", double(rss1 - rss0) / n,
         "bytes");
}

// --------------------------------------------------------------- fanin
behavior sender(event_based_actor* self, actor recv, int32_t count) {
  return {
    [=](go_atom) {
      for (int32_t i = 0; i < count; ++i)
        self->send(recv, i);
      self->quit();
    },
  };
}

struct counter_state {
  int64_t n = 0;
};

behavior counter(stateful_actor<counter_state>* self, actor main,
                 int64_t total) {
  return {
    [=](int32_t) {
      if (++self->state.n == total) {
        self->send(main, done_atom::value);
        self->quit();
      }
    },
  };
}

void fanin(actor_system& sys) {
  constexpr int senders = 1000;
  constexpr int32_t per_sender = 10000;
  constexpr int64_t total = int64_t{senders} * per_sender;
  scoped_actor self{sys};
  auto recv = sys.spawn(counter, actor_cast<actor>(self), total);
  std::vector<actor> ss;
  for (int i = 0; i < senders; ++i)
    ss.push_back(sys.spawn(sender, recv, per_sender));
  auto t0 = clk::now();
  for (auto& s : ss)
    self->send(s, go_atom::value);
  self->receive([](done_atom) {});
  auto secs = ms_since(t0) / 1e3;
  result("fanin", "msgs_per_s", total / secs, "msgs/s");
}

// -------------------------------------------------------------- timers
behavior timer_proc(event_based_actor* self, actor main) {
  auto deadline = clk::now() + std::chrono::milliseconds(10);
  return {
    after(std::chrono::milliseconds(10)) >>
      [=] {
        auto late = std::chrono::duration_cast<std::chrono::microseconds>(
          clk::now() - deadline);
        self->send(main, int64_t{late.count()});
        self->quit();
      },
  };
}

void timers(actor_system& sys) {
  constexpr int n = 100000;
  scoped_actor self{sys};
  auto main = actor_cast<actor>(self);
  std::vector<int64_t> lates;
  lates.reserve(n);
  auto t0 = clk::now();
  for (int i = 0; i < n; ++i)
    sys.spawn(timer_proc, main);
  int i = 0;
  self->receive_for(i, n)([&](int64_t us) { lates.push_back(us); });
  auto wall = ms_since(t0);
  std::sort(lates.begin(), lates.end());
  auto pct = [&](int p) { return double(lates[std::max(1, (n * p + 99) / 100) - 1]); };
  result("timers", "wall_ms", wall, "ms");
  result("timers", "late_p50_us", pct(50), "us");
  result("timers", "late_p99_us", pct(99), "us");
}

// ------------------------------------------------------- timers_steady
// Lateness histogram: 1 us buckets up to 1 s; the last bucket is 1 s or more.
constexpr int64_t hist_us = 1000000;
std::vector<std::atomic<uint64_t>>* g_hist = nullptr;

struct steady_state {
  clk::time_point deadline;
};

// A behaviour that is only `after(10ms)`: CAF requests the timeout again each time
// the actor waits with it, so the handler runs every 10 ms until the actor quits.
behavior steady_proc(stateful_actor<steady_state>* self, actor main,
                     clk::time_point end) {
  self->state.deadline = clk::now() + std::chrono::milliseconds(10);
  return {
    after(std::chrono::milliseconds(10)) >>
      [=] {
        auto now = clk::now();
        auto late = std::chrono::duration_cast<std::chrono::microseconds>(
                      now - self->state.deadline).count();
        late = std::min<int64_t>(std::max<int64_t>(late, 0), hist_us);
        (*g_hist)[static_cast<size_t>(late)].fetch_add(1, std::memory_order_relaxed);
        if (now >= end) {
          self->send(main, done_atom::value);
          self->quit();
          return;
        }
        self->state.deadline = clk::now() + std::chrono::milliseconds(10);
      },
  };
}

void timers_steady(actor_system& sys) {
  constexpr int n = 100000;
  std::vector<std::atomic<uint64_t>> hist(hist_us + 1);
  g_hist = &hist;
  scoped_actor self{sys};
  auto main = actor_cast<actor>(self);
  auto t0 = clk::now();
  auto end = t0 + std::chrono::seconds(3);
  for (int i = 0; i < n; ++i)
    sys.spawn(steady_proc, main, end);
  int i = 0;
  self->receive_for(i, n)([](done_atom) {});
  auto secs = ms_since(t0) / 1e3;
  uint64_t total = 0;
  for (auto& c : hist)
    total += c.load();
  auto rank = [&](uint64_t per_mille) {
    uint64_t r = std::max<uint64_t>(1, (total * per_mille + 999) / 1000), seen = 0;
    for (size_t b = 0; b < hist.size(); ++b)
      if ((seen += hist[b].load()) >= r)
        return double(b);
    return double(hist_us);
  };
  result("timers_steady", "late_p50_us", rank(500), "us");
  result("timers_steady", "late_p99_us", rank(990), "us");
  result("timers_steady", "late_p999_us", rank(999), "us");
  result("timers_steady", "expiries_per_s", total / secs, "expiries/s");
}

// ----------------------------------------------------------- selective
struct sel_state {
  int32_t next = 0;
  int32_t junk = 0;
};

// With the `skip` default handler unmatched messages stay in the mailbox.
// CAF 0.17 parks skipped messages in a cache and puts the cache back at the
// head of the mailbox after every consumed message, so each receive
// re-examines all 1000 junk messages, as in Erlang.
behavior sel_recv(stateful_actor<sel_state>* self, actor main, int32_t n,
                  int32_t junk) {
  self->set_default_handler(skip);
  return {
    [=](msg_atom, int32_t i) {
      if (i != self->state.next++)
        fail("selective: out of order");
      if (self->state.next < n)
        return;
      // Validity check: the junk is all still there; drain and count it.
      self->become([=](junk_atom, int32_t) {
        if (++self->state.junk == junk) {
          self->send(main, done_atom::value);
          self->quit();
        }
      });
    },
  };
}

void selective(actor_system& sys) {
  constexpr int32_t junk = 1000, n = 100000;
  scoped_actor self{sys};
  auto recv = sys.spawn(sel_recv, actor_cast<actor>(self), n, junk);
  for (int32_t i = 0; i < junk; ++i)
    self->send(recv, junk_atom::value, i);
  auto t0 = clk::now();
  for (int32_t i = 0; i < n; ++i)
    self->send(recv, msg_atom::value, i);
  self->receive([](done_atom) {});
  auto ns = ms_since(t0) * 1e6 / n;
  result("selective", "ns_per_receive", ns, "ns");
}

} // namespace

int main(int argc, char** argv) {
  std::map<std::string, void (*)(actor_system&)> workloads{
    {"ring", ring},       {"pingpong", pingpong},     {"skynet", skynet},
    {"spawn_idle", spawn_idle}, {"fanin", fanin},      {"timers", timers},
    {"timers_steady", timers_steady},
    {"selective", selective},
  };
  auto it = argc > 1 ? workloads.find(argv[1]) : workloads.end();
  if (it == workloads.end()) {
    std::fprintf(stderr, "usage: caf-peers <workload>\n");
    return 2;
  }
  actor_system_config cfg;
  actor_system sys{cfg};
  it->second(sys);
  // ~actor_system waits until every actor has terminated.
  return 0;
}
