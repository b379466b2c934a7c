// gen_server: a State struct with handle_call / handle_cast / handle_info, started with
// constructor arguments; a handler that throws crashes the server and its caller gets
// call_error; calls work across cores. Typed handle_info overloads are chosen by the
// message's types (with a catch-all when there is one); a handler may defer its reply
// (noreply + reply_to); servers and linked processes can be placed on a core.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <coproc/coproc.hpp>

#include "otp_test_support.hpp"
#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using otp_test::down_of;
using otp_test::opt_reason;

namespace {

struct counter {
  int n = 0;
  std::string label;
  int infos = 0;

  counter(int start, std::string name) : n(start), label(std::move(name)) {}

  int handle_call(atom<"get">) { return n; }
  int handle_call(atom<"add_and_get">, int by) { return n += by; }
  std::string handle_call(atom<"label">) { return label; }
  int handle_call(atom<"infos">) { return infos; }
  void handle_call(atom<"reset">) { n = 0; }
  int handle_call(atom<"crash">) { throw std::runtime_error("handler failed"); }
  int handle_call(atom<"stop">) { coproc::exit(exit_reason::shutdown()); }
  pid handle_call(atom<"where">) { return self(); }

  void handle_cast(atom<"add">, int by) { n += by; }
  void handle_cast(atom<"crash">) { throw std::runtime_error("cast handler failed"); }

  void handle_info(message m) {
    ++infos;
    if (m.is<atom<"bump">>()) ++n;
    if (m.is<int>()) n += m.get<int>();
  }
};

// A state that takes a move-only constructor argument and has no handle_info.
struct holder {
  std::unique_ptr<int> value;
  explicit holder(std::unique_ptr<int> v) : value(std::move(v)) {}
  int handle_call(atom<"value">) { return value ? *value : -1; }
};

}  // namespace

TEST(GenServer, CallsCastsAndOtherMessagesReachTheirHandlers) {
  int initial = -1;
  int after_cast = -1;
  int after_infos = -1;
  int infos = -1;
  int added = -1;
  bool reset_ok = false;
  int after_reset = -1;
  int rc = coproc::run(
      [&]() -> process {
        server<counter> c = start_server<counter>(10, std::string("c1"));
        EXPECT_TRUE(static_cast<bool>(c));
        initial = co_await call(c, 2s, atom<"get">{});
        cast(c, atom<"add">{}, 5);
        after_cast = co_await call(c, 2s, atom<"get">{});
        send(c.id, atom<"bump">{});
        send(c.id, 4);
        send(c.id, std::string("ignored by the counter, but still an info"));
        after_infos = co_await call(c, 2s, atom<"get">{});
        infos = co_await call(c, 2s, atom<"infos">{});
        added = co_await call(c, 2s, atom<"add_and_get">{}, 100);
        atom<"ok"> r = co_await call(c, 2s, atom<"reset">{});  // a void handler replies :ok
        reset_ok = (r == coproc::ok);
        after_reset = co_await call(c, 2s, atom<"get">{});
        coproc::exit(c.id, exit_reason::kill());
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(initial, 10);
  EXPECT_EQ(after_cast, 15);
  EXPECT_EQ(after_infos, 20);
  EXPECT_EQ(infos, 3);
  EXPECT_EQ(added, 120);
  EXPECT_TRUE(reset_ok);
  EXPECT_EQ(after_reset, 0);
}

TEST(GenServer, StartServerPassesConstructorArguments) {
  std::string label;
  int start = -1;
  int held = 0;
  int rc = coproc::run(
      [&]() -> process {
        auto c = start_server<counter>(-7, std::string("made with args"));
        label = co_await call(c, 2s, atom<"label">{});
        start = co_await call(c, 2s, atom<"get">{});
        auto h = start_server<holder>(std::make_unique<int>(99));
        held = co_await call(h, 2s, atom<"value">{});
        // A message a server without handle_info does not know is dropped, not fatal.
        send(h.id, 3.5);
        const int still = co_await call(h, 2s, atom<"value">{});
        EXPECT_EQ(still, 99);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(label, "made with args");
  EXPECT_EQ(start, -7);
  EXPECT_EQ(held, 99);
}

TEST(GenServer, AHandlerThatThrowsCrashesTheServerAndTheCallerGetsCallError) {
  opt_reason call_reason;
  opt_reason down_reason;
  opt_reason next_call_reason;
  opt_reason cast_crash_reason;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        auto c = start_server<counter>(0, std::string("doomed"));
        const monitor_ref r = monitor(c.id);
        try {
          (void)co_await call(c, 5s, atom<"crash">{});
          ADD_FAILURE() << "the crashing call returned";
        } catch (const call_error& e) {
          call_reason = e.reason();
        }
        down_reason = co_await down_of(r, 5s);
        try {
          (void)co_await call(c, 5s, atom<"get">{});
        } catch (const call_error& e) {
          next_call_reason = e.reason();
        }
        // A cast handler that throws crashes the server too.
        auto c2 = start_server<counter>(0, std::string("doomed by cast"));
        const monitor_ref r2 = monitor(c2.id);
        cast(c2, atom<"crash">{});
        cast_crash_reason = co_await down_of(r2, 5s);
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(call_reason, opt_reason(exit_reason::exception("handler failed")));
  EXPECT_EQ(down_reason, opt_reason(exit_reason::exception("handler failed")));
  EXPECT_EQ(next_call_reason, opt_reason(exit_reason::noproc()));
  EXPECT_EQ(cast_crash_reason, opt_reason(exit_reason::exception("cast handler failed")));
}

TEST(GenServer, AHandlerCanEndTheServerWithExit) {
  opt_reason call_reason;
  opt_reason down_reason;
  int rc = coproc::run(
      [&]() -> process {
        auto c = start_server<counter>(0, std::string("stops"));
        const monitor_ref r = monitor(c.id);
        try {
          (void)co_await call(c, 5s, atom<"stop">{});
        } catch (const call_error& e) {
          call_reason = e.reason();
        }
        down_reason = co_await down_of(r, 5s);
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(call_reason, opt_reason(exit_reason::shutdown()));
  EXPECT_EQ(down_reason, opt_reason(exit_reason::shutdown()));
}

TEST(GenServer, ACallReachesAServerOnAnotherCore) {
  int from_core0 = -1;
  int from_core1 = -1;
  pid server_pid;
  pid reported_self;
  int rc = coproc::run(
      [&]() -> process {
        const pid me = self();
        // Started from a process on core 1, the server lives on core 1.
        spawn_on(1, [me]() -> process {
          send(me, start_server<counter>(1, std::string("remote")));
          co_return;
        });
        auto c = co_await receive([](server<counter> s) { return s; },
                                  after(5s, [] { return server<counter>{}; }));
        server_pid = c.id;
        if (!c) co_return;
        cast(c, atom<"add">{}, 1);
        from_core0 = co_await call(c, 2s, atom<"get">{});
        reported_self = co_await call(c, 2s, atom<"where">{});
        // And a caller on core 1 reaches a server on core 0.
        auto local = start_server<counter>(40, std::string("local"));
        spawn_on(1, [me, local]() -> process {
          int v = -1;
          try {
            v = co_await call(local, 2s, atom<"add_and_get">{}, 2);
          } catch (const std::exception&) {
          }
          send(me, atom<"remote_call">{}, v);
        });
        from_core1 = co_await receive([](atom<"remote_call">, int v) { return v; },
                                      after(5s, [] { return -2; }));
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(server_pid.core, 1);
  EXPECT_EQ(reported_self, server_pid);
  EXPECT_EQ(from_core0, 2);
  EXPECT_EQ(from_core1, 42);
}

TEST(GenServer, StartLinkServerLinksTheServerToItsCaller) {
  std::optional<otp_test::exit_msg> saw;
  pid srv;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        trap_exit(true);
        auto c = start_link_server<counter>(0, std::string("linked"));
        srv = c.id;
        cast(c, atom<"crash">{});
        saw = co_await otp_test::any_exit(5s);
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(saw.has_value());
  EXPECT_EQ(saw->from, srv);
  EXPECT_EQ(saw->reason, exit_reason::exception("cast handler failed"));
}

namespace {

// Typed info handlers, chosen by the message's types; the rest reaches the catch-all.
struct ticker {
  using info_messages = message_types<atom<"tick">, std::tuple<atom<"add">, int>, std::string>;
  int ticks = 0;
  int added = 0;
  std::vector<std::string> words;
  int downs = 0;
  exit_reason last_down;
  int others = 0;

  std::tuple<int, int, int, int> handle_call(atom<"counts">) {
    return {ticks, added, downs, others};
  }
  std::vector<std::string> handle_call(atom<"words">) { return words; }
  exit_reason handle_call(atom<"last_down">) { return last_down; }
  void handle_cast(atom<"watch">, pid p) { monitor(p); }

  void handle_info(atom<"tick">) { ++ticks; }
  void handle_info(atom<"add">, int n) { added += n; }
  void handle_info(std::string w) { words.push_back(std::move(w)); }
  void handle_info(atom<"DOWN">, monitor_ref, pid, exit_reason why) {
    ++downs;
    last_down = std::move(why);
  }
  void handle_info(const message&) { ++others; }
};

// Typed handlers and no catch-all: other messages are dropped.
struct strict {
  using info_messages = message_types<atom<"tick">>;
  int ticks = 0;
  int handle_call(atom<"ticks">) { return ticks; }
  void handle_info(atom<"tick">) { ++ticks; }
};

// A deferred reply: "wait" answers only once "release" comes.
struct gate {
  std::vector<reply_to<int>> waiting;
  noreply handle_call(atom<"wait">, reply_to<int> from) {
    waiting.push_back(from);
    return {};
  }
  noreply handle_call(atom<"wait_for">, int key, reply_to<std::string> from) {
    reply(from, "key " + std::to_string(key));  // a deferred handler may also answer at once
    return {};
  }
  std::size_t handle_call(atom<"pending">) { return waiting.size(); }
  void handle_cast(atom<"release">, int v) {
    for (const auto& w : waiting) reply(w, v);
    waiting.clear();
  }
};

static_assert(std::is_same_v<call_reply_t<gate, atom<"wait">>, int>);
static_assert(std::is_same_v<call_reply_t<gate, atom<"wait_for">, int>, std::string>);
static_assert(std::is_same_v<call_reply_t<gate, atom<"pending">>, std::size_t>);
static_assert(std::is_same_v<call_reply_t<counter, atom<"reset">>, atom<"ok">>);
static_assert(std::is_same_v<call_reply_t<counter, atom<"label">>, std::string>);

}  // namespace

TEST(GenServer, TypedHandleInfoOverloadsAreChosenByTheMessagesTypes) {
  std::tuple<int, int, int, int> counts{-1, -1, -1, -1};
  std::vector<std::string> words;
  exit_reason last_down;
  int strict_ticks = -1;
  std::optional<std::string> strict_alive;
  int rc = coproc::run(
      [&]() -> process {
        auto t = start_server<ticker>();
        send(t.id, atom<"tick">{});
        send(t.id, atom<"add">{}, 5);
        send(t.id, std::string("first"));
        send(t.id, atom<"tick">{});
        send(t.id, atom<"add">{}, 7L);  // a long, not an int: the catch-all takes it
        send(t.id, 3.5);                // no overload: the catch-all
        send(t.id, std::string("second"));
        const pid watched = spawn([]() -> process { co_await sleep_for(50ms); });
        cast(t, atom<"watch">{}, watched);
        co_await sleep_for(200ms);
        counts = co_await call(t, 2s, atom<"counts">{});
        words = co_await call(t, 2s, atom<"words">{});
        last_down = co_await call(t, 2s, atom<"last_down">{});

        auto s = start_server_on<strict>(1);
        send(s.id, atom<"tick">{});
        send(s.id, 17);  // dropped: strict has no catch-all
        send(s.id, atom<"tick">{});
        strict_ticks = co_await call(s, 2s, atom<"ticks">{});
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(std::get<0>(counts), 2);  // ticks
  EXPECT_EQ(std::get<1>(counts), 5);  // added
  EXPECT_EQ(std::get<2>(counts), 1);  // DOWNs: found without being listed
  EXPECT_EQ(std::get<3>(counts), 2);  // others: the long and the double
  EXPECT_EQ(words, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(last_down, exit_reason::normal());
  EXPECT_EQ(strict_ticks, 2);
}

TEST(GenServer, AHandlerCanDeferItsReplyAndAnswerLater) {
  int first = -1;
  int second = -1;
  std::size_t pending_before = 0;
  std::string at_once;
  bool timed_out = false;
  int rc = coproc::run(
      [&]() -> process {
        auto g = start_server_on<gate>(1);
        const pid me = self();
        // Two callers wait on the gate; the server goes on serving other calls meanwhile.
        for (int i = 0; i < 2; ++i) {
          spawn([g, me, i]() -> process {
            const int v = co_await call(g, 5s, atom<"wait">{});
            send(me, atom<"released">{}, i, v);
          });
        }
        bool both_waiting = false;
        for (int tries = 0; tries < 200 && !both_waiting; ++tries) {
          pending_before = co_await call(g, 2s, atom<"pending">{});
          both_waiting = pending_before == 2;
          if (!both_waiting) co_await sleep_for(5ms);
        }
        at_once = co_await call(g, 2s, atom<"wait_for">{}, 9);
        cast(g, atom<"release">{}, 42);
        for (int i = 0; i < 2; ++i) {
          co_await receive(
              [&](atom<"released">, int who, int v) { (who == 0 ? first : second) = v; },
              after(5s, [] {}));
        }
        // A deferred call nobody answers times out as any call does.
        try {
          (void)co_await call(g, 20ms, atom<"wait">{});
        } catch (const call_timeout&) {
          timed_out = true;
        }
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(pending_before, 2U);
  EXPECT_EQ(at_once, "key 9");
  EXPECT_EQ(first, 42);
  EXPECT_EQ(second, 42);
  EXPECT_TRUE(timed_out);
}

TEST(GenServer, ServersAndLinkedProcessesCanBePlacedOnACore) {
  pid on1;
  pid linked_on1;
  pid linked_server;
  pid plain_linked;
  opt_reason server_exit;
  opt_reason child_exit;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        trap_exit(true);
        auto s = start_server_on<counter>(1, 0, std::string("one"));
        on1 = co_await call(s, 2s, atom<"where">{});
        auto l = start_link_server_on<counter>(1, 0, std::string("linked"));
        linked_server = l.id;
        linked_on1 = co_await call(l, 2s, atom<"where">{});
        cast(l, atom<"crash">{});
        server_exit = co_await otp_test::exit_from(l.id, 5s);
        plain_linked = spawn_link_on(1, []() -> process {
          co_await sleep_for(1ms);
          throw std::runtime_error("linked child failed");
        });
        child_exit = co_await otp_test::exit_from(plain_linked, 5s);
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(on1.core, 1);
  EXPECT_EQ(linked_on1, linked_server);
  EXPECT_EQ(linked_on1.core, 1);
  EXPECT_EQ(server_exit, opt_reason(exit_reason::exception("cast handler failed")));
  EXPECT_EQ(plain_linked.core, 1);
  EXPECT_EQ(child_exit, opt_reason(exit_reason::exception("linked child failed")));
}
