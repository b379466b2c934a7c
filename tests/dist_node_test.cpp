// Erlang distribution against real nodes on loopback: Erlang (erl), Elixir and a second
// coproc program, all registered with a private epmd (tests/dist/cluster_support.hpp).
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <algorithm>
#include <atomic>
#include <coproc/coproc.hpp>
#include <coproc/node.hpp>
#include <coproc/term_codec.hpp>
#include <fstream>
#include <map>
#include <mutex>
#include <random>

#include "../lib/dist/wire.hpp"
#include "dist/cluster_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;

namespace {

const std::string kProbe = "probe@127.0.0.1";

// ASSERT_* returns, which a coroutine cannot: this ends the process body instead.
#define CO_ASSERT(cond)                          \
  if (!(cond)) {                                 \
    ADD_FAILURE() << "assertion failed: " #cond; \
    co_return;                                   \
  }

class Dist : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    epmd_ = new cluster::epmd;
    probe_ = new cluster::child(cluster::erlang_probe("probe"));
  }
  static void TearDownTestSuite() {
    delete probe_;
    delete epmd_;
  }
  static inline cluster::epmd* epmd_ = nullptr;
  static inline cluster::child* probe_ = nullptr;
};

options two_cores() {
  options o;
  o.cores = 2;
  return o;
}

subroutine<void> start_node(std::string alive, std::string cookie = cluster::kCookie) {
  node::options o;
  o.name = alive + "@127.0.0.1";
  o.cookie = std::move(cookie);
  o.net_ticktime = 4s;  // as the Erlang nodes here (-kernel net_ticktime 4)
  co_await node::start(o);
}

// The pid of `probe` on node `n`, once that node is up (bounded: 20 s).
subroutine<pid> await_probe(std::string n) {
  for (int i = 0; i < 100; ++i) {
    send(remote_name{"probe", n}, self(), atom<"hello">{});
    const pid p = co_await receive([](atom<"hello">, const pid& from) { return from; },
                                   after(200ms, [] { return pid{}; }));
    if (p) co_return p;
  }
  co_return pid{};
}

// Whether `probe` answers {self(), hello} with {hello, Pid} within 5 s.
subroutine<bool> answers_hello(pid probe) {
  send(probe, self(), atom<"hello">{});
  co_return co_await receive([](atom<"hello">, const pid&) { return true; },
                             after(5s, [] { return false; }));
}

// Replies {echo, Msg, self()} to {From, Msg}, as tests/dist/dist_peer.cpp does.
process echo_server() {
  for (;;) {
    bool stop = false;
    co_await receive(
        [](const pid& from, const term& msg) { send(from, atom<"echo">{}, msg, self()); },
        [&](atom<"stop">) { stop = true; });
    if (stop) co_return;
  }
}

TEST_F(Dist, StartPublishesTheNodeInEpmdAndStopLeavesIt) {
  run([]() -> process {
    EXPECT_EQ(node::self_name(), "nonode@nohost");
    co_await start_node("t_start");
    EXPECT_TRUE(node::started());
    EXPECT_EQ(node::self_name(), "t_start@127.0.0.1");
    EXPECT_NE(node::listen_port(), 0);
    EXPECT_EQ(node::of(self()), "t_start@127.0.0.1");
    bool second_refused = false;
    try {
      co_await start_node("t_start_again");
    } catch (const node_error&) {
      second_refused = true;
    }
    EXPECT_TRUE(second_refused);
    node::stop();
    EXPECT_FALSE(node::started());
  });
}

TEST_F(Dist, BadNamesAndMissingCookieAreClearErrors) {
  run([]() -> process {
    for (const char* bad : {"nohost", "@host", "name@", "a@b@c"}) {
      std::string what;
      try {
        node::options o;
        o.name = bad;
        o.cookie = "x";
        co_await node::start(o);
      } catch (const node_error& e) {
        what = e.what();
      }
      EXPECT_NE(what.find("alive@host"), std::string::npos) << bad;
    }
  });
}

TEST_F(Dist, ErlangReachesCoprocByRegisteredNameAndByPid) {
  run(
      []() -> process {
        co_await start_node("t_by_name");
        const pid echo = spawn(echo_server);
        register_name("echo", echo);
        const pid probe = co_await await_probe(kProbe);
        CO_ASSERT(probe);
        EXPECT_NE(probe.node, 0);
        EXPECT_EQ(node::of(probe), kProbe);
        send(probe, self(), atom<"call_name">{}, atom<"echo">{}, term::atom(node::self_name()));
        const pid answered = co_await receive([](atom<"call_name_ok">, const pid& p) { return p; },
                                              [](atom<"call_name_failed">, const term& why) {
                                                ADD_FAILURE() << "probe: " << why.to_string();
                                                return pid{};
                                              },
                                              after(10s, [] { return pid{}; }));
        EXPECT_EQ(answered, echo);  // our pid went to Erlang and came back as itself
        send(echo, atom<"stop">{});
      },
      two_cores());
}

TEST_F(Dist, CoprocReachesErlangByNameAndByPid) {
  run([]() -> process {
    co_await start_node("t_to_erl");
    const pid probe = co_await await_probe(kProbe);
    CO_ASSERT(probe);
    EXPECT_TRUE(std::ranges::count(node::connected(), kProbe) == 1);
    send(probe, self(), atom<"hello">{});  // by pid this time
    const pid again = co_await receive([](atom<"hello">, const pid& p) { return p; },
                                       after(5s, [] { return pid{}; }));
    EXPECT_EQ(again, probe);
    // Erlang sends back to a name on this node: {Name, node(From)} ! ...
    register_name("inbox", self());
    send(probe, self(), atom<"reg_send">{}, atom<"inbox">{});
    const bool got = co_await receive([&](atom<"from_erlang">, const pid& p) { return p == probe; },
                                      after(5s, [] { return false; }));
    EXPECT_TRUE(got);
  });
}

TEST_F(Dist, ErlangGenServerCallReachesACoprocProcess) {
  run([]() -> process {
    co_await start_node("t_gen_call");
    // A coproc process that answers gen_server:call: {'$gen_call', {From, Tag}, Request}
    // gets {Tag, Reply} sent to From.
    const pid server = spawn([]() -> process {
      for (;;) {
        co_await receive([](atom<"$gen_call">, const std::tuple<pid, term>& from, std::int64_t n) {
          send(std::get<0>(from), std::get<1>(from), n * 2);
        });
      }
    });
    register_name("doubler", server);
    const pid probe = co_await await_probe(kProbe);
    CO_ASSERT(probe);
    send(probe, self(), atom<"gen_call">{}, atom<"doubler">{}, term::atom(node::self_name()), 21);
    const term result = co_await receive([](atom<"gen_call_result">, const term& r) { return r; },
                                         after(10s, [] { return term::atom("timeout"); }));
    EXPECT_EQ(result, term(42)) << result.to_string();
    exit(server, exit_reason::kill());
  });
}

// An OTP 24+ caller's tag is [alias | Ref]: gen_reply answers through the alias, so a
// GenServer.call that timed out never sees the late reply (its node drops it), as with an
// Erlang server. Replying to the pid instead, as before aliases, leaves it in the mailbox.
TEST_F(Dist, GenReplyGoesToTheCallersAliasSoALateReplyIsDropped) {
  run([]() -> process {
    co_await start_node("t_gen_reply_alias");
    // {'$gen_call', From, DelayMs}: answers {slept, DelayMs} after that long, through
    // gen_reply, or (second server) straight to the caller's pid.
    const auto sleeper = [](bool to_alias) -> process {
      for (;;) {
        std::tuple<pid, term> from;
        std::int64_t delay = 0;
        co_await receive([&](atom<"$gen_call">, const std::tuple<pid, term>& f, std::int64_t d) {
          from = f;
          delay = d;
        });
        if (delay > 0) co_await sleep_for(std::chrono::milliseconds(delay));
        const term answer = term::tuple({term::atom("slept"), delay});
        if (to_alias) {
          gen_reply(from, answer);
        } else {
          send(std::get<0>(from), std::get<1>(from), answer);
        }
      }
    };
    const pid by_alias = spawn(sleeper, true);
    const pid by_pid = spawn(sleeper, false);
    register_name("by_alias", by_alias);
    register_name("by_pid", by_pid);
    const pid probe = co_await await_probe(kProbe);
    CO_ASSERT(probe);
    const term me = term::atom(node::self_name());
    // In time: the reply arrives.
    send(probe, self(), atom<"gen_call">{}, atom<"by_alias">{}, me, 0);
    const term fast = co_await receive([](atom<"gen_call_result">, const term& r) { return r; },
                                       after(10s, [] { return term::atom("no_answer"); }));
    EXPECT_EQ(fast, term::tuple({term::atom("slept"), 0})) << fast.to_string();
    // Too late: through the alias nothing reaches the caller after its timeout ...
    const auto late_call = [probe, me](const char* server) -> subroutine<term> {
      send(probe, self(), atom<"gen_call_late">{}, term::atom(server), me, 600, 200);
      co_return co_await receive(
          [](atom<"gen_call_late_result">, const term& r, const term& left) {
            return term::tuple({r, left});
          },
          after(10s, [] { return term::atom("no_answer"); }));
    };
    const term dropped = co_await late_call("by_alias");
    EXPECT_EQ(dropped, term::tuple({term::atom("timeout"), term::nil()})) << dropped.to_string();
    // ... while a reply to the pid lands in the caller's mailbox as junk.
    const term junk = co_await late_call("by_pid");
    CO_ASSERT(junk.is_tuple(2));
    EXPECT_TRUE(junk[0].is_atom("timeout")) << junk.to_string();
    EXPECT_EQ(junk[1].size(), 1U) << junk.to_string();
    exit(by_alias, exit_reason::kill());
    exit(by_pid, exit_reason::kill());
  });
}

// gen_call's tag is [alias | Ref] too: an Erlang server that answers after our timeout
// (gen:reply, so ALIAS_SEND) leaves nothing in our mailbox, and the next call, in time,
// gets its reply, by name and by pid.
TEST_F(Dist, GenCallUsesAnAliasSoAnErlangServersLateReplyIsDropped) {
  run([]() -> process {
    co_await start_node("t_gen_call_alias");
    const pid probe = co_await await_probe(kProbe);
    CO_ASSERT(probe);
    send(probe, self(), atom<"late_server">{}, atom<"slow">{}, 500);
    const pid slow = co_await receive([](atom<"late_server">, const pid& p) { return p; },
                                      after(5s, [] { return pid{}; }));
    CO_ASSERT(slow);
    const remote_name slow_name{"slow", kProbe};  // named: g++ 12 pitfall
    for (int round = 0; round < 2; ++round) {
      bool timed_out = false;
      try {
        if (round == 0) {
          (void)co_await gen_call(slow_name, term::atom("first"), 100ms);
        } else {
          (void)co_await gen_call(slow, term::atom("first"), 100ms);
        }
      } catch (const call_timeout&) {
        timed_out = true;
      }
      EXPECT_TRUE(timed_out);
      // The server answers 400 ms after our timeout: its reply must not show up.
      const bool stray = co_await receive([](const message&) { return true; },
                                          after(1500ms, [] { return false; }));
      EXPECT_FALSE(stray) << "round " << round;
    }
    const term on_time = co_await gen_call(slow_name, term::atom("second"), 5s);
    EXPECT_EQ(on_time, term::tuple({term::atom("late"), term::atom("second")}))
        << on_time.to_string();
    const term by_pid = co_await gen_call(slow, term::atom("third"), 5s);
    EXPECT_EQ(by_pid, term::tuple({term::atom("late"), term::atom("third")})) << by_pid.to_string();
    const bool stray =
        co_await receive([](const message&) { return true; }, after(200ms, [] { return false; }));
    EXPECT_FALSE(stray);
    send(slow, atom<"stop">{});
  });
}

TEST_F(Dist, GenCallReachesARealErlangGenServer) {
  run([]() -> process {
    co_await start_node("t_gen_call_out");
    const pid probe = co_await await_probe(kProbe);
    CO_ASSERT(probe);
    // application_controller is a gen_server on every Erlang node.
    const remote_name controller{"application_controller", kProbe};
    const term apps = co_await gen_call(controller, term::atom("which_applications"));
    bool kernel = false;
    for (const term& app : apps.elements()) kernel = kernel || app[0].is_atom("kernel");
    EXPECT_TRUE(kernel) << apps.to_string();
    // By pid, with a monitor: the same answer; a dead server is call_error(noproc).
    send(probe, self(), atom<"whereis">{}, atom<"application_controller">{});
    const pid ctl = co_await receive([](atom<"whereis">, const pid& p) { return p; },
                                     after(5s, [] { return pid{}; }));
    CO_ASSERT(ctl);
    const term again = co_await gen_call(ctl, term::atom("which_applications"));
    EXPECT_EQ(again, apps);
    send(probe, self(), atom<"target">{});
    const pid target = co_await receive([](atom<"target">, const pid& p) { return p; },
                                        after(5s, [] { return pid{}; }));
    send(target, atom<"exit">{}, atom<"normal">{});
    std::string failure;
    try {
      (void)co_await gen_call(target, term::atom("anything"), 2000ms);
    } catch (const call_error& e) {
      failure = e.reason().to_string();
    } catch (const call_timeout&) {
      failure = "timeout";
    }
    EXPECT_TRUE(failure == "noproc" || failure == "normal") << failure;
    // No reply in time: call_timeout (the target ignores what it does not expect).
    send(probe, self(), atom<"target">{});
    const pid mute = co_await receive([](atom<"target">, const pid& p) { return p; },
                                      after(5s, [] { return pid{}; }));
    bool timed_out = false;
    try {
      (void)co_await gen_call(mute, term::atom("anything"), 300ms);
    } catch (const call_timeout&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
  });
}

// gen:call monitors {Name, Node} by name, so a call to a name nobody has there fails at
// once with noproc (Erlang: exit {noproc, {gen_server, call, ...}}), not at its timeout.
// The monitor of a call that succeeded is taken back with DEMONITOR_P naming the name,
// which the Erlang node accepts: the connection stays, the next call by name works. A
// named server that exits while the call waits fails it with its exit reason.
TEST_F(Dist, GenCallByNameFailsAtOnceWithNoprocOrTheServersReason) {
  run([]() -> process {
    co_await start_node("t_gen_call_noproc");
    const pid probe = co_await await_probe(kProbe);
    CO_ASSERT(probe);
    const remote_name controller{"application_controller", kProbe};
    const term apps = co_await gen_call(controller, term::atom("which_applications"));
    EXPECT_TRUE(apps.is_list()) << apps.to_string();
    const auto t0 = std::chrono::steady_clock::now();
    std::string failure;
    const remote_name missing{"no_such_server", kProbe};  // named: g++ 12 pitfall
    try {
      (void)co_await gen_call(missing, term::atom("hello"), 60s);
    } catch (const call_error& e) {
      failure = e.reason().to_string();
    } catch (const call_timeout&) {
      failure = "timeout";
    }
    EXPECT_EQ(failure, "noproc");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);  // the answer, not the timeout
    const term again = co_await gen_call(controller, term::atom("which_applications"));
    EXPECT_EQ(again, apps);
    const std::vector<std::string> up = node::connected();
    EXPECT_NE(std::find(up.begin(), up.end(), std::string(kProbe)), up.end());
    // A server registered under a name that exits while the call waits: its reason.
    send(probe, self(), atom<"named_target">{}, atom<"doomed">{});
    const pid doomed = co_await receive([](atom<"named_target">, const pid& p) { return p; },
                                        after(5s, [] { return pid{}; }));
    CO_ASSERT(doomed);
    spawn([doomed]() -> process {
      co_await sleep_for(100ms);
      send(doomed, atom<"exit">{}, atom<"crashed">{});
    });
    const remote_name doomed_name{"doomed", kProbe};
    std::string died;
    try {
      (void)co_await gen_call(doomed_name, term::atom("hello"), 60s);
    } catch (const call_error& e) {
      died = e.reason().to_string();
    } catch (const call_timeout&) {
      died = "timeout";
    }
    EXPECT_EQ(died, "crashed");
    // Nothing left in the mailbox: the DOWN was taken by the failed call, none followed
    // the successful ones.
    const bool stray =
        co_await receive([](const term&) { return true; }, after(200ms, [] { return false; }));
    EXPECT_FALSE(stray);
  });
}

// gen_call<R> converts the reply as a typed receive clause would; a reply of another shape
// throws bad_reply with the term at once (not at the timeout), and the call is over: the
// connection stays, the next call works, no message is left behind.
TEST_F(Dist, TypedGenCallConvertsTheReplyOrThrowsBadReply) {
  run([]() -> process {
    co_await start_node("t_gen_call_typed");
    const pid probe = co_await await_probe(kProbe);
    CO_ASSERT(probe);
    using app = std::tuple<atom<"kernel">, std::string, std::string>;
    using any_app = std::tuple<term, std::string, std::string>;  // {Name, Description, Vsn}
    const remote_name controller{"application_controller", kProbe};
    const std::vector<any_app> apps =
        co_await gen_call<std::vector<any_app>>(controller, term::atom("which_applications"));
    bool kernel = false;
    for (const any_app& a : apps) {
      if (std::get<0>(a).is_atom("kernel")) {
        kernel = true;
        EXPECT_FALSE(std::get<2>(a).empty());  // the version, e.g. "8.5.4"
      }
    }
    EXPECT_TRUE(kernel);
    // By pid, and with the untyped form giving the same list as terms.
    send(probe, self(), atom<"whereis">{}, atom<"application_controller">{});
    const pid ctl = co_await receive([](atom<"whereis">, const pid& p) { return p; },
                                     after(5s, [] { return pid{}; }));
    CO_ASSERT(ctl);
    const term raw = co_await gen_call(ctl, term::atom("which_applications"));
    const std::vector<any_app> by_pid =
        co_await gen_call<std::vector<any_app>>(ctl, term::atom("which_applications"));
    EXPECT_EQ(by_pid.size(), raw.elements().size());
    EXPECT_EQ(by_pid.size(), apps.size());
    // A reply of another type: bad_reply carries it.
    const auto t0 = std::chrono::steady_clock::now();
    term mismatch;
    std::string what;
    try {
      (void)co_await gen_call<std::int64_t>(controller, term::atom("which_applications"), 60s);
    } catch (const bad_reply& e) {
      mismatch = e.reply();
      what = e.what();
    }
    EXPECT_EQ(mismatch, raw);
    EXPECT_NE(what.find("is not a long"), std::string::npos) << what;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);
    // A tuple whose tag atom does not match is a mismatch too (not kernel first).
    bool first_is_kernel = true;
    try {
      (void)co_await gen_call<std::vector<app>>(controller, term::atom("which_applications"));
    } catch (const bad_reply&) {
      first_is_kernel = false;
    }
    EXPECT_EQ(first_is_kernel, apps.size() == 1);
    const std::vector<any_app> again =
        co_await gen_call<std::vector<any_app>>(controller, term::atom("which_applications"));
    EXPECT_EQ(again.size(), apps.size());
    const bool stray =
        co_await receive([](const term&) { return true; }, after(200ms, [] { return false; }));
    EXPECT_FALSE(stray);
  });
}

TEST_F(Dist, ErlangTermsMatchTypedClauses) {
  run([]() -> process {
    co_await start_node("t_types");
    const pid probe = co_await await_probe(kProbe);
    CO_ASSERT(probe);
    send(probe, self(), atom<"send_types">{});
    std::string text;
    std::vector<int> list;
    term big;
    double f = 0;
    std::map<std::string, int> map;
    std::string charlist;
    bool done = false;
    while (!done) {
      const bool got = co_await receive(
          [&](atom<"ok">, std::string s) { return text = std::move(s), true; },
          [&](std::vector<int> v) { return list = std::move(v), true; },
          [&](atom<"big">, const term& b) { return big = b, true; },
          [&](atom<"float">, double d) { return f = d, true; },
          [&](const std::map<std::string, int>& m) { return map = m, true; },
          [&](atom<"str">, std::string s) { return charlist = std::move(s), true; },
          [&](atom<"done">) { return done = true; },
          [](const term& t) {
            ADD_FAILURE() << "unmatched " << t.to_string();
            return true;
          },
          after(5s, [] { return false; }));
      if (!got && !done) {
        ADD_FAILURE() << "timed out";
        break;
      }
    }
    EXPECT_EQ(text, "text");
    EXPECT_EQ(list, (std::vector<int>{1, 2, 3}));
    EXPECT_TRUE(big.is_bignum());
    EXPECT_EQ(big.to_string(), "123456789012345678901234567890");
    EXPECT_EQ(f, 1.5);
    EXPECT_EQ(map, (std::map<std::string, int>{{"j", 2}, {"k", 1}}));
    EXPECT_EQ(charlist, "charlist");
  });
}

// Random terms through the wire and back, compared with Erlang's own term_to_binary.
term random_term(std::mt19937_64& rng, int depth, const pid& me) {
  const int kind = static_cast<int>(rng() % (depth > 2 ? 7 : 11));
  switch (kind) {
    case 0:
      return term::integer(static_cast<std::int64_t>(rng()) >> (rng() % 64));
    case 1:
      return term::big(rng() % 2 == 0,
                       std::string(1 + rng() % 12, static_cast<char>(1 + rng() % 255)));
    case 2:
      return term::floating(
          std::ldexp(static_cast<double>(rng() % 100000) - 50000, -static_cast<int>(rng() % 20)));
    case 3:
      return term::atom("a" + std::to_string(rng() % 50));
    case 4: {
      std::string b(rng() % 40, '\0');
      for (auto& c : b) c = static_cast<char>(rng());
      return term::binary(std::move(b));
    }
    case 5:
      return term::nil();
    case 6:
      return to_term(me);
    case 7: {
      std::vector<term> e;
      for (std::size_t i = 0, n = 1 + rng() % 4; i < n; ++i)
        e.push_back(random_term(rng, depth + 1, me));
      return term::list(std::move(e));
    }
    case 8: {
      std::vector<term> e;
      for (std::size_t i = 0, n = rng() % 4; i < n; ++i)
        e.push_back(random_term(rng, depth + 1, me));
      return term::tuple(std::move(e));
    }
    case 9: {
      std::vector<std::pair<term, term>> e;
      for (std::size_t i = 0, n = rng() % 4; i < n; ++i) {
        e.emplace_back(term::integer(static_cast<std::int64_t>(i)),
                       random_term(rng, depth + 1, me));
      }
      return term::map(std::move(e));
    }
    default:
      return term::string("chars" + std::to_string(rng() % 100));
  }
}

TEST_F(Dist, RandomTermsRoundTripThroughErlang) {
  run([]() -> process {
    co_await start_node("t_roundtrip");
    const pid probe = co_await await_probe(kProbe);
    CO_ASSERT(probe);
    std::mt19937_64 rng(0xD157);
    for (int i = 0; i < 300; ++i) {
      const term t = random_term(rng, 0, self());
      send(probe, self(), atom<"echo">{}, t);
      const bool ok = co_await receive(
          [&](atom<"echo">, const term& back, const std::string& erlang_bytes) {
            EXPECT_EQ(back, t) << t.to_string();
            EXPECT_EQ(decode(erlang_bytes), t) << t.to_string();  // binary_to_term agrees
            return true;
          },
          after(5s, [] { return false; }));
      if (!ok) {
        ADD_FAILURE() << "no echo for " << t.to_string();
        break;
      }
    }
  });
}

TEST_F(Dist, OneSendersMessagesKeepTheirOrderAcrossNodes) {
  run(
      []() -> process {
        co_await start_node("t_order");
        const pid probe = co_await await_probe(kProbe);
        CO_ASSERT(probe);
        constexpr int kN = 5000;
        // coproc -> Erlang -> coproc: echoes come back in the order they were sent.
        for (int i = 1; i <= kN; ++i) send(probe, self(), atom<"echo">{}, i);
        int expect = 1;
        while (expect <= kN) {
          const bool ok = co_await receive(
              [&](atom<"echo">, int n, const std::string&) {
                EXPECT_EQ(n, expect++);
                return true;
              },
              after(10s, [] { return false; }));
          if (!ok) break;
        }
        EXPECT_EQ(expect, kN + 1);
        // Erlang -> coproc: one Erlang sender, in order.
        send(probe, self(), atom<"count">{}, kN);
        expect = 1;
        while (expect <= kN) {
          const bool ok = co_await receive(
              [&](atom<"n">, int n) {
                EXPECT_EQ(n, expect++);
                return true;
              },
              after(10s, [] { return false; }));
          if (!ok) break;
        }
        EXPECT_EQ(expect, kN + 1);
      },
      two_cores());
}

TEST_F(Dist, ErlangMonitorSeesACoprocProcessEndWithItsReason) {
  run([]() -> process {
    co_await start_node("t_erl_monitors");
    const pid probe = co_await await_probe(kProbe);
    CO_ASSERT(probe);
    const pid victim = spawn([]() -> process {
      co_await receive([](atom<"go">) {});
      exit(exit_reason{atom<"bye">{}});
    });
    send(probe, self(), atom<"monitor">{}, victim);
    co_await receive([](atom<"monitoring">) {}, after(5s, [] {}));
    send(victim, atom<"go">{});
    const std::string reason =
        co_await receive([](atom<"down_seen">, const term& r) { return r.to_string(); },
                         after(10s, [] { return std::string("no DOWN"); }));
    EXPECT_EQ(reason, "bye");
    // A structured reason reaches Erlang as the term it is, not as an atom of its text.
    const pid structured = spawn([]() -> process {
      co_await receive([](atom<"go">) {});
      exit(exit_reason::of(std::tuple{atom<"custom">{}, std::string("reason"), 42}));
    });
    send(probe, self(), atom<"monitor">{}, structured);
    co_await receive([](atom<"monitoring">) {}, after(5s, [] {}));
    send(structured, atom<"go">{});
    const term seen = co_await receive([](atom<"down_seen">, const term& r) { return r; },
                                       after(10s, [] { return term::atom("no_down"); }));
    EXPECT_TRUE(seen.is_tuple(3)) << seen;
    EXPECT_EQ(seen, term::tuple({term::atom("custom"), term::binary("reason"), 42})) << seen;
    // Monitoring a dead pid, or a name nobody has: DOWN noproc at once.
    send(probe, self(), atom<"monitor">{}, victim);
    const std::string again =
        co_await receive([](atom<"down_seen">, const term& r) { return r.to_string(); },
                         after(10s, [] { return std::string("no DOWN"); }));
    EXPECT_EQ(again, "noproc");
  });
}

TEST_F(Dist, CoprocMonitorAndLinkOnErlangProcesses) {
  run([]() -> process {
    co_await start_node("t_monitors_erl");
    const pid probe = co_await await_probe(kProbe);
    CO_ASSERT(probe);
    send(probe, self(), atom<"target">{});
    const pid target = co_await receive([](atom<"target">, const pid& p) { return p; },
                                        after(5s, [] { return pid{}; }));
    CO_ASSERT(target);
    const monitor_ref ref = monitor(target);
    send(target, atom<"exit">{}, atom<"boom">{});
    const bool down = co_await receive(
        [&](atom<"DOWN">, monitor_ref r, const pid& who, const exit_reason& why) {
          EXPECT_EQ(r, ref);
          EXPECT_EQ(who, target);
          EXPECT_EQ(why, exit_reason{atom<"boom">{}});
          return true;
        },
        after(5s, [] { return false; }));
    EXPECT_TRUE(down);

    // An Erlang process links to us and crashes: we trap the exit signal.
    trap_exit(true);
    send(probe, self(), atom<"linked_crash">{}, self(), atom<"kaboom">{});
    const pid linked = co_await receive([](atom<"linked">, const pid& p) { return p; },
                                        after(5s, [] { return pid{}; }));
    send(linked, atom<"go">{});
    const bool exited = co_await receive(
        [&](atom<"EXIT">, const pid& who, const exit_reason& why) {
          EXPECT_EQ(who, linked);
          EXPECT_EQ(why, exit_reason{atom<"kaboom">{}});
          return true;
        },
        after(5s, [] { return false; }));
    EXPECT_TRUE(exited);

    // Our linked process dies: the Erlang side of the link dies with the same reason.
    send(probe, self(), atom<"target">{});
    const pid t2 = co_await receive([](atom<"target">, const pid& p) { return p; },
                                    after(5s, [] { return pid{}; }));
    const monitor_ref r2 = monitor(t2);
    spawn([t2]() -> process {
      link(t2);
      co_await receive(after(50ms, [] {}));
      exit(exit_reason{atom<"cascade">{}});
    });
    const std::string why2 = co_await receive(
        [&](atom<"DOWN">, monitor_ref r, const pid&, const exit_reason& why) {
          EXPECT_EQ(r, r2);
          return why.to_string();
        },
        after(5s, [] { return std::string("no DOWN"); }));
    EXPECT_EQ(why2, "cascade");

    // exit(pid, reason) to an Erlang process (EXIT2): it dies with that reason.
    send(probe, self(), atom<"target">{});
    const pid t3 = co_await receive([](atom<"target">, const pid& p) { return p; },
                                    after(5s, [] { return pid{}; }));
    const monitor_ref r3 = monitor(t3);
    exit(t3, exit_reason{atom<"stop_now">{}});
    const std::string why3 = co_await receive(
        [&](atom<"DOWN">, monitor_ref r, const pid&, const exit_reason& why) {
          EXPECT_EQ(r, r3);
          return why.to_string();
        },
        after(5s, [] { return std::string("no DOWN"); }));
    EXPECT_EQ(why3, "stop_now");

    // unlink (UNLINK_ID): after it, the Erlang process's crash does not reach us.
    send(probe, self(), atom<"target">{});
    const pid t4 = co_await receive([](atom<"target">, const pid& p) { return p; },
                                    after(5s, [] { return pid{}; }));
    const monitor_ref r4 = monitor(t4);
    const pid bystander = spawn([t4]() -> process {
      link(t4);
      unlink(t4);
      co_await receive([](atom<"done">) {});
    });
    co_await receive(after(200ms, [] {}));
    send(t4, atom<"exit">{}, atom<"boom">{});
    co_await receive(
        [&](atom<"DOWN">, monitor_ref r, const pid&, const exit_reason&) { return r == r4; },
        after(5s, [] { return false; }));
    co_await receive(after(200ms, [] {}));
    EXPECT_TRUE(alive(bystander));
    send(bystander, atom<"done">{});
  });
}

TEST_F(Dist, AKilledPeerGivesDownAndExitWithNoconnection) {
  cluster::child victim = cluster::erlang_probe("victim");
  run([&]() -> process {
    co_await start_node("t_killed");
    const pid probe = co_await await_probe("victim@127.0.0.1");
    CO_ASSERT(probe);
    const monitor_ref ref = monitor(probe);
    trap_exit(true);
    link(probe);
    co_await receive(after(100ms, [] {}));  // LINK and MONITOR_P are on the wire
    victim.kill();                          // SIGKILL: the socket closes, no goodbye
    bool down = false;
    bool exited = false;
    for (int i = 0; i < 2; ++i) {
      co_await receive(
          [&](atom<"DOWN">, monitor_ref r, const pid& who, const exit_reason& why) {
            EXPECT_EQ(r, ref);
            EXPECT_EQ(who, probe);
            EXPECT_EQ(why, exit_reason{atom<"noconnection">{}});
            down = true;
          },
          [&](atom<"EXIT">, const pid& who, const exit_reason& why) {
            EXPECT_EQ(who, probe);
            EXPECT_EQ(why, exit_reason{atom<"noconnection">{}});
            exited = true;
          },
          after(10s, [] {}));
    }
    EXPECT_TRUE(down);
    EXPECT_TRUE(exited);
    EXPECT_TRUE(std::ranges::count(node::connected(), "victim@127.0.0.1") == 0);
    // A monitor on a pid of the unreachable node: DOWN noconnection, not silence.
    const monitor_ref late = monitor(probe);
    const bool late_down = co_await receive(
        [&](atom<"DOWN">, monitor_ref r, const pid&, const exit_reason& why) {
          EXPECT_EQ(r, late);
          EXPECT_EQ(why, exit_reason{atom<"noconnection">{}});
          return true;
        },
        after(15s, [] { return false; }));
    EXPECT_TRUE(late_down);
  });
}

TEST_F(Dist, TicksKeepAnIdleConnectionAndASilentPeerIsDeclaredDown) {
  cluster::child sleeper = cluster::erlang_probe("sleeper");
  run([&]() -> process {
    co_await start_node("t_ticks");
    const pid probe = co_await await_probe("sleeper@127.0.0.1");
    CO_ASSERT(probe);
    const monitor_ref ref = monitor(probe);
    // 10 s of silence with net_ticktime 4: only ticks cross, and the link stays up.
    const bool dropped = co_await receive(
        [](atom<"DOWN">, monitor_ref, const pid&, const exit_reason&) { return true; },
        after(10s, [] { return false; }));
    EXPECT_FALSE(dropped);
    const bool answered = co_await answers_hello(probe);
    EXPECT_TRUE(answered);
    // Freeze the peer: its socket stays open but nothing arrives, not even ticks.
    const auto frozen_at = std::chrono::steady_clock::now();
    sleeper.signal(SIGSTOP);
    const bool down = co_await receive(
        [&](atom<"DOWN">, monitor_ref r, const pid&, const exit_reason& why) {
          EXPECT_EQ(r, ref);
          EXPECT_EQ(why, exit_reason{atom<"noconnection">{}});
          return true;
        },
        after(15s, [] { return false; }));
    const auto took = std::chrono::steady_clock::now() - frozen_at;
    EXPECT_TRUE(down);
    EXPECT_GE(took, 2s);  // not before the ticks have been missed
    sleeper.signal(SIGCONT);
  });
}

TEST_F(Dist, ASenderFasterThanAFrozenPeerIsHeldBackAndNothingIsLost) {
  // 100 MiB in 64 KiB messages to a peer that stops reading for 1.5 s (well within the
  // 4 s net_ticktime). Without a bound every message would pile up in the connection's
  // mailbox at once; with dist_buf_busy_limit (1 MiB) the sender is parked at its next
  // yield until the writer drains, so only the limit, one write batch and the socket
  // buffers are in flight. Then the peer resumes and gets all of it, in order.
  constexpr int kMessages = 1'600;
  constexpr std::size_t kBytes = std::size_t{64} << 10;
  cluster::child hog = cluster::erlang_probe("hog");
  std::atomic<int> sent{0};
  int sent_while_frozen = -1;
  int in_order = -1;
  run(
      [&]() -> process {
        co_await start_node("t_busy");
        const pid probe = co_await await_probe("hog@127.0.0.1");
        CO_ASSERT(probe);
        send(probe, self(), atom<"sink">{}, kMessages);
        co_await sleep_for(100ms);  // the sink is receiving
        hog.signal(SIGSTOP);
        const pid sender = spawn_on(
            1,
            [](pid probe, std::atomic<int>* sent, int n, std::size_t size) -> process {
              const std::string bytes(size, 'x');
              for (int i = 1; i <= n; ++i) {
                send(probe, atom<"seq">{}, i, bytes);
                sent->fetch_add(1);
                co_await yield();
              }
            },
            probe, &sent, kMessages, kBytes);
        co_await sleep_for(1500ms);
        sent_while_frozen = sent.load();
        hog.signal(SIGCONT);
        in_order = co_await receive([](atom<"sink_done">, int n) { return n; },
                                    after(60s, [] { return -2; }));
        EXPECT_FALSE(alive(sender));
      },
      two_cores());
  // 100 MiB were offered; the socket buffers take some MiB, the bound the rest.
  EXPECT_LT(static_cast<std::size_t>(sent_while_frozen) * kBytes, std::size_t{40} << 20)
      << sent_while_frozen << " messages queued while the peer was frozen";
  EXPECT_GT(sent_while_frozen, 0);
  EXPECT_EQ(in_order, kMessages);
}

TEST_F(Dist, ASenderHeldBackByAFrozenPeerCanStillBeKilled) {
  cluster::child hog = cluster::erlang_probe("hog2");
  std::atomic<int> sent{0};
  bool stalled = false;
  bool died = false;
  run(
      [&]() -> process {
        co_await start_node("t_busy_kill");
        const pid probe = co_await await_probe("hog2@127.0.0.1");
        CO_ASSERT(probe);
        hog.signal(SIGSTOP);
        const pid sender = spawn_on(
            1,
            [](pid probe, std::atomic<int>* sent) -> process {
              const std::string bytes(std::size_t{64} << 10, 'x');
              for (int i = 1;; ++i) {
                send(probe, atom<"seq">{}, i, bytes);
                sent->fetch_add(1);
                co_await yield();
              }
            },
            probe, &sent);
        co_await sleep_for(600ms);
        const int before = sent.load();
        co_await sleep_for(300ms);
        stalled = sent.load() == before;  // parked: it does not run at all
        const monitor_ref ref = monitor(sender);
        exit(sender, exit_reason::kill());
        died = co_await receive(
            [&](atom<"DOWN">, monitor_ref r, const pid&, const exit_reason&) { return r == ref; },
            after(2s, [] { return false; }));
        hog.signal(SIGCONT);
      },
      two_cores());
  EXPECT_TRUE(stalled) << sent.load() << " messages: the sender was never held back";
  EXPECT_TRUE(died);
}

TEST_F(Dist, AWrongCookieIsRejectedBothWays) {
  ASSERT_TRUE(epmd_->wait_registered("probe", 20s));
  std::mutex mu;
  std::vector<std::string> reports;
  set_crash_reporter([&](const crash_report& r) {
    std::lock_guard lock(mu);
    reports.push_back(r.reason.to_string());
  });
  run([]() -> process {
    co_await start_node("t_cookie", "not-the-cookie");
    const bool reached = co_await node::ping(kProbe);
    EXPECT_FALSE(reached);
    EXPECT_TRUE(node::connected().empty());
    co_await receive(after(500ms, [] {}));  // the failed connection's report is written
  });
  set_crash_reporter({});
  bool explained = false;
  for (const auto& r : reports) {
    explained = explained || r.find("cookies differ") != std::string::npos;
    EXPECT_EQ(r.find("not-the-cookie"), std::string::npos) << "the cookie was logged: " << r;
    EXPECT_EQ(r.find(cluster::kCookie), std::string::npos) << "the cookie was logged: " << r;
  }
  EXPECT_TRUE(explained) << ::testing::PrintToString(reports);

  // And Erlang with the wrong cookie cannot reach a coproc node.
  run([]() -> process {
    co_await start_node("t_cookie2");
    cluster::child erl(
        {"timeout", "-s", "KILL", "60", "erl", "-noshell", "-noinput", "-name",
         "intruder@127.0.0.1", "-setcookie", "wrong", "-start_epmd", "false", "-eval",
         "halt(case net_adm:ping('t_cookie2@127.0.0.1') of pang -> 0; pong -> 1 end)."},
        cluster::work_dir() + "/intruder.log");
    // Wait in a process-friendly way: poll the child's exit.
    int status = -1;
    for (int i = 0; i < 300 && status < 0; ++i) {
      co_await receive(after(100ms, [] {}));
      status = erl.try_wait();
    }
    EXPECT_EQ(status, 0) << erl.output();
  });
}

TEST_F(Dist, TheCookieComesFromTheHomeDirectoryByDefault) {
  const std::string home = cluster::work_dir() + "/home";
  ::mkdir(home.c_str(), 0700);
  {
    std::ofstream f(home + "/.erlang.cookie");
    f << cluster::kCookie << "\n";  // erl writes it without a newline; either works
  }
  const char* old_home = std::getenv("HOME");
  const std::string saved = old_home != nullptr ? old_home : "";
  ::setenv("HOME", home.c_str(), 1);
  run([]() -> process {
    node::options o;
    o.name = "t_home_cookie@127.0.0.1";
    o.net_ticktime = 4s;
    co_await node::start(o);
    const pid probe = co_await await_probe(kProbe);
    EXPECT_TRUE(probe);
  });
  ::setenv("HOME", saved.c_str(), 1);
  // No option and no file: a clear error, before anything is published.
  ::setenv("HOME", (cluster::work_dir() + "/nowhere").c_str(), 1);
  run([]() -> process {
    node::options o;
    o.name = "t_no_cookie@127.0.0.1";
    std::string what;
    try {
      co_await node::start(o);
    } catch (const node_error& e) {
      what = e.what();
    }
    EXPECT_NE(what.find("no cookie"), std::string::npos) << what;
    EXPECT_FALSE(node::started());
  });
  ::setenv("HOME", saved.c_str(), 1);
}

TEST_F(Dist, CoprocTalksToCoproc) {
  cluster::child peer({COPROC_DIST_PEER, "peer1@127.0.0.1", cluster::kCookie},
                      cluster::work_dir() + "/peer1.log");
  ASSERT_TRUE(peer.wait_for_output("READY", 20s)) << peer.output();  // (not in a coroutine)
  run(
      []() -> process {
        co_await start_node("t_c2c");
        EXPECT_TRUE(co_await node::ping("peer1@127.0.0.1"));
        send(remote_name{"echo", "peer1@127.0.0.1"}, self(), std::string("over the wire"));
        const pid echo = co_await receive(
            [](atom<"echo">, const std::string& s, const pid& from) {
              EXPECT_EQ(s, "over the wire");
              return from;
            },
            after(5s, [] { return pid{}; }));
        CO_ASSERT(echo);
        EXPECT_EQ(node::of(echo), "peer1@127.0.0.1");
        const monitor_ref ref = monitor(echo);
        send(echo, self(), std::vector<std::int64_t>{1, 2, 3});
        const bool list_back = co_await receive(
            [](atom<"echo">, const std::vector<std::int64_t>& v, const pid&) {
              return v == std::vector<std::int64_t>{1, 2, 3};
            },
            after(5s, [] { return false; }));
        EXPECT_TRUE(list_back);
        // gen_call between two coproc nodes: the reply goes to our alias (ALIAS_SEND) both
        // by name and by pid.
        const remote_name echo_name{"echo", "peer1@127.0.0.1"};  // named: g++ 12 pitfall
        const term by_name = co_await gen_call(echo_name, term(41));
        EXPECT_EQ(by_name, term(42)) << by_name.to_string();
        const std::int64_t by_pid = co_await gen_call<std::int64_t>(echo, term(1));
        EXPECT_EQ(by_pid, 2);
        send(echo, atom<"stop">{});  // the peer's echo ends normally; the program exits
        const std::string why = co_await receive(
            [&](atom<"DOWN">, monitor_ref r, const pid&, const exit_reason& w) {
              EXPECT_EQ(r, ref);
              return w.to_string();
            },
            after(5s, [] { return std::string("no DOWN"); }));
        EXPECT_TRUE(why == "normal" || why == "noconnection") << why;
      },
      two_cores());
  EXPECT_EQ(peer.wait(10s), 0) << peer.output();
}

TEST_F(Dist, APeerKilledMidStreamAndRestartedIsReachableAgain) {
  const std::string name = "phoenix@127.0.0.1";
  auto peer = std::make_unique<cluster::child>(
      std::vector<std::string>{COPROC_DIST_PEER, name, cluster::kCookie},
      cluster::work_dir() + "/phoenix1.log");
  ASSERT_TRUE(peer->wait_for_output("READY", 20s)) << peer->output();
  run(
      [&]() -> process {
        co_await start_node("t_phoenix");
        send(remote_name{"echo", name}, self(), atom<"hello">{});
        const pid echo = co_await receive([](atom<"echo">, const term&, const pid& p) { return p; },
                                          after(10s, [] { return pid{}; }));
        CO_ASSERT(echo);
        const monitor_ref ref = monitor(echo);
        // A stream of messages in flight both ways when the peer dies.
        for (int i = 0; i < 20000; ++i) send(echo, self(), i);
        co_await receive(after(5ms, [] {}));
        peer->kill();
        bool down = false;
        for (int guard = 0; guard < 100000 && !down; ++guard) {
          const bool more = co_await receive(
              [&](atom<"DOWN">, monitor_ref r, const pid&, const exit_reason& why) {
                EXPECT_EQ(r, ref);
                EXPECT_EQ(why, exit_reason{atom<"noconnection">{}});
                down = true;
                return true;
              },
              [](atom<"echo">, const term&, const pid&) { return true; },  // replies that made it
              after(10s, [] { return false; }));
          if (!more) break;
        }
        EXPECT_TRUE(down);
        // epmd frees the name when it sees the killed node's registration socket close; a
        // restart before that is refused (as Erlang's epmd refuses a duplicate name).
        EXPECT_TRUE(epmd_->wait_unregistered("phoenix", 10s));
        // The node comes back (a new incarnation: a new creation).
        peer = std::make_unique<cluster::child>(
            std::vector<std::string>{COPROC_DIST_PEER, name, cluster::kCookie},
            cluster::work_dir() + "/phoenix2.log");
        pid again;
        for (int i = 0; i < 100 && !again; ++i) {
          send(remote_name{"echo", name}, self(), atom<"again">{});
          again = co_await receive([](atom<"echo">, const term&, const pid& p) { return p; },
                                   after(200ms, [] { return pid{}; }));
        }
        EXPECT_TRUE(again);
        EXPECT_NE(again.node, echo.node);  // same name, new creation: a different node
        // A pid of the old incarnation names nobody: the new node drops what is sent to it.
        send(echo, self(), atom<"stale">{});
        const bool stale_answered = co_await receive(
            [](atom<"echo">, const term& t, const pid&) { return t.is_atom("stale"); },
            after(500ms, [] { return false; }));
        EXPECT_FALSE(stale_answered);
      },
      two_cores());
}

TEST_F(Dist, SimultaneousConnectsLeaveOneWorkingConnection) {
  // Two coproc programs that both connect to the other at the same moment.
  for (int round = 0; round < 3; ++round) {
    const std::string a = "sim_a" + std::to_string(round) + "@127.0.0.1";
    const std::string b = "sim_b" + std::to_string(round) + "@127.0.0.1";
    cluster::child pa({COPROC_DIST_PEER, a, cluster::kCookie, b}, cluster::work_dir() + "/sa.log");
    cluster::child pb({COPROC_DIST_PEER, b, cluster::kCookie, a}, cluster::work_dir() + "/sb.log");
    EXPECT_TRUE(pa.wait_for_output("PEERED", 20s)) << pa.output();
    EXPECT_TRUE(pb.wait_for_output("PEERED", 20s)) << pb.output();
  }
}

TEST_F(Dist, ElixirTalksToCoproc) {
  // Elixir connects, calls our echo by name and by pid, then registers :ex and waits for
  // us to call it by name; it exits 0 when all of that worked.
  const std::string script = R"EX(
target = :"t_elixir@127.0.0.1"
Enum.find(1..100, fn _ -> Node.connect(target) == true || (Process.sleep(100); false) end)
send({:echo, target}, {self(), %{"lang" => "elixir"}})
pid = receive do {:echo, %{"lang" => "elixir"}, pid} -> pid after 5000 -> System.halt(2) end
send(pid, {self(), [1, 2, 3]})
receive do {:echo, [1, 2, 3], ^pid} -> :ok after 5000 -> System.halt(3) end
Process.register(self(), :ex)
send({:echo, target}, {self(), :registered})
receive do {from, text} when is_pid(from) -> send(from, {:elixir, String.upcase(text)}) after 5000 -> System.halt(4) end
Process.sleep(200)
System.halt(0)
)EX";
  int status = -1;
  run(
      [&]() -> process {
        co_await start_node("t_elixir");
        const pid echo = spawn(echo_server);
        register_name("echo", echo);
        cluster::child ex(
            {"timeout", "-s", "KILL", "60", "elixir", "--name", "ex@127.0.0.1", "--cookie",
             cluster::kCookie, "--erl", "-start_epmd false", "-e", script},
            cluster::work_dir() + "/elixir.log");
        // Wait until Elixir has registered :ex (it told our echo), then call it by name.
        bool replied = false;
        for (int i = 0; i < 300 && !replied; ++i) {
          send(remote_name{"ex", "ex@127.0.0.1"}, self(), std::string("hello from c++"));
          replied = co_await receive(
              [](atom<"elixir">, const std::string& s) {
                EXPECT_EQ(s, "HELLO FROM C++");
                return true;
              },
              after(100ms, [] { return false; }));
        }
        EXPECT_TRUE(replied);
        for (int i = 0; i < 100 && status < 0; ++i) {
          co_await receive(after(100ms, [] {}));
          status = ex.try_wait();
        }
        if (status != 0) ADD_FAILURE() << ex.output();
        send(echo, atom<"stop">{});
      },
      two_cores());
  EXPECT_EQ(status, 0);
}

TEST_F(Dist, GarbageOnTheDistributionPortClosesOnlyThatConnection) {
  run([]() -> process {
    co_await start_node("t_garbage");
    const pid probe = co_await await_probe(kProbe);
    CO_ASSERT(probe);
    const monitor_ref ref = monitor(probe);
    const std::vector<std::string> junks{std::string("\x00\x05hello", 7),
                                         std::string("\xff\xff", 2),
                                         std::string("GET / HTTP/1.1\r\n\r\n")};
    for (const std::string& junk : junks) {
      tcp_stream s = co_await tcp_stream::connect(socket_address::loopback_v4(node::listen_port()));
      co_await s.write_all(junk);
      char buf[64];
      std::size_t n = 1;
      try {
        n = co_await s.read_some(buf, 10s);  // the node hangs up (or times the handshake out)
      } catch (const std::system_error&) {
        n = 0;
      }
      EXPECT_EQ(n, 0u);
    }
    // The real connection is untouched.
    const bool answered = co_await answers_hello(probe);
    EXPECT_TRUE(answered);
    EXPECT_TRUE(demonitor(ref, true));  // still active: that connection never dropped
  });
}

// 30 junk connections from one address: one warning line, not 30 crash reports, and the
// node keeps serving (issue 17: anyone who can reach the port could flood the log).
TEST_F(Dist, FailedHandshakesFromOneAddressAreReportedOnceNotPerConnection) {
  static std::mutex mu;
  static std::vector<std::string> lines;
  {
    std::lock_guard lock(mu);
    lines.clear();
  }
  static std::atomic<int> crashes{0};
  crashes = 0;
  set_log_handler([](log_level, std::string_view text) {
    std::lock_guard lock(mu);
    lines.emplace_back(text);
  });
  set_crash_reporter([](const crash_report&) { crashes.fetch_add(1); });
  run([]() -> process {
    co_await start_node("t_junk_flood");
    for (int i = 0; i < 30; ++i) {
      tcp_stream s = co_await tcp_stream::connect(socket_address::loopback_v4(node::listen_port()));
      co_await s.write_all(std::string("\x00\x05hello", 7));  // a name message too short
      char buf[64];
      std::size_t n = 1;
      try {
        n = co_await s.read_some(buf, 10s);  // the node hangs up
      } catch (const std::system_error&) {
        n = 0;
      }
      EXPECT_EQ(n, 0u) << "connection " << i;
    }
    const pid probe = co_await await_probe(kProbe);
    CO_ASSERT(probe);
    const bool answered = co_await answers_hello(probe);
    EXPECT_TRUE(answered);
  });
  set_log_handler(nullptr);
  set_crash_reporter(nullptr);
  EXPECT_EQ(crashes.load(), 0);
  std::lock_guard lock(mu);
  const auto handshake_lines = std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("bad handshake from 127.0.0.1") != std::string::npos;
  });
  EXPECT_EQ(handshake_lines, 1) << "lines logged: " << lines.size();
}

// A hand-made node: the handshake done with the wire layer, then whatever frames we like.
subroutine<tcp_stream> fake_node(std::string name) {
  namespace w = coproc::detail::dist;
  tcp_stream s = co_await tcp_stream::connect(socket_address::loopback_v4(node::listen_port()));
  auto read16 = [&s]() -> subroutine<std::string> {
    std::array<char, 2> len{};
    co_await s.read_exact(len, 5s);
    std::string body((static_cast<std::uint8_t>(len[0]) << 8) | static_cast<std::uint8_t>(len[1]),
                     '\0');
    std::span<char> dst(body.data(), body.size());
    co_await s.read_exact(dst, 5s);
    co_return body;
  };
  const w::name_msg hello{w::mandatory_flags_25 | w::flag_unlink_id | w::flag_v4_nc, 7, name};
  co_await s.write_all(w::frame16(w::build(hello)));
  std::string error;
  std::string body = co_await read16();
  EXPECT_EQ(w::parse_status(body, error)->status, "ok");
  body = co_await read16();
  const auto challenge = w::parse_challenge(body, error);
  const w::challenge_reply_msg reply{42,
                                     w::handshake_digest(challenge->challenge, cluster::kCookie)};
  co_await s.write_all(w::frame16(w::build(reply)));
  body = co_await read16();
  const auto ack = w::parse_challenge_ack(body, error);
  EXPECT_TRUE(ack && ack->digest == w::handshake_digest(42, cluster::kCookie));
  co_return s;
}

std::string frame_of(const std::string& payload) {
  std::string f;
  coproc::detail::dist::append_frame_header(f, static_cast<std::uint32_t>(payload.size()));
  return f + payload;
}

TEST_F(Dist, BadFramesCloseThatConnectionAndLoseNothingElse) {
  run([]() -> process {
    co_await start_node("t_frames");
    const std::string p = std::string(1, static_cast<char>(112));
    const std::string send_to_me = encode(term::tuple({2, term::atom(""), to_term(self())}));
    // A message we cannot decode (a fun here: tag 112 inside the term) is dropped, and the
    // connection stays: the next message on it arrives.
    {
      tcp_stream s = co_await fake_node("fake0@127.0.0.1");
      const std::string frames = frame_of(p + send_to_me + std::string("\x83\x70\x00", 3)) +
                                 frame_of(p + send_to_me + encode(term::atom("still_here")));
      co_await s.write_all(frames);
      const bool got = co_await receive([](atom<"still_here">) { return true; },
                                        after(5s, [] { return false; }));
      EXPECT_TRUE(got);
    }
    // Each of these closes its connection (read returns 0), and the node goes on.
    const std::vector<std::string> bad{
        frame_of("not a pass-through frame"),
        frame_of(p + encode(term::atom("not_a_tuple"))),
        frame_of(p + std::string("\x83\x68\x05", 3)),          // truncated control term
        frame_of(p + encode(term::tuple({term::atom("x")}))),  // op is not an integer
        std::string("\x7f\xff\xff\xff", 4),                    // 2 GiB frame announced
    };
    int i = 1;
    for (const std::string& junk : bad) {
      tcp_stream s = co_await fake_node("fake" + std::to_string(i++) + "@127.0.0.1");
      co_await s.write_all(junk);
      char buf[64];
      std::size_t n = 1;
      try {
        n = co_await s.read_some(buf, 10s);
      } catch (const std::system_error&) {
        n = 0;
      }
      EXPECT_EQ(n, 0u) << i;
    }
    // A good connection still works.
    tcp_stream s = co_await fake_node("fake_last@127.0.0.1");
    const std::string good = frame_of(p + send_to_me + encode(term::atom("fine")));
    co_await s.write_all(good);
    const bool fine =
        co_await receive([](atom<"fine">) { return true; }, after(5s, [] { return false; }));
    EXPECT_TRUE(fine);
  });
}

// A pass-through frame: 112, the control term, then the payload's bytes as given.
std::string frame_with(const term& ctl, std::string_view payload_bytes) {
  return frame_of(std::string(1, static_cast<char>(112)) + encode(ctl) +
                  std::string(payload_bytes));
}

// True when the node hangs up within 10 s. We tick every 500 ms meanwhile (and read past
// its ticks), so a node that kept the connection does not drop it for silence instead.
subroutine<bool> closed_by_node(tcp_stream& s) {
  char buf[256];
  for (int i = 0; i < 20; ++i) {
    std::size_t n = 0;
    bool quiet = false;
    try {
      n = co_await s.read_some(buf, 500ms);
    } catch (const std::system_error& e) {
      if (e.code() != std::errc::timed_out) co_return true;  // reset
      quiet = true;
    }
    if (quiet) {
      try {
        co_await s.write_all(std::string(4, '\0'), 1s);
      } catch (const std::system_error&) {
        co_return true;
      }
      continue;
    }
    if (n == 0) co_return true;
    for (std::size_t k = 0; k < n; ++k) {
      if (buf[k] != 0) co_return false;  // anything but ticks: not what we expected
    }
  }
  co_return false;
}

// Issue 17, item 2: as Erlang does, a frame that breaks the protocol ends the connection
// (a payload that does not decode, an operation not negotiated, a field of the wrong
// type), while a well-formed message coproc cannot represent (an export fun) is dropped
// and the connection stays.
TEST_F(Dist, AMalformedFrameClosesTheConnectionAsErlangDoes) {
  run([]() -> process {
    co_await start_node("t_strict");
    register_name("strict_sink", self());
    auto from = [](int i) { return term::pid("fake" + std::to_string(i) + "@127.0.0.1", 1, 0, 1); };
    auto reg_send = [&](int i, const term& to) {
      return term::tuple({term::integer(6), from(i), term::atom(""), to});
    };
    auto hello = [](int i) {
      return encode(term::tuple({term::atom("strict"), term::integer(i)}));
    };
    auto heard = [](int i) -> subroutine<bool> {
      co_return co_await receive([i](atom<"strict">, std::int64_t n) { return n == i; },
                                 after(5s, [] { return false; }));
    };
    const std::string truncated("\x83\x68\x02\x64\x00", 5);  // {_, _} cut inside an atom
    const std::string length_lie(
        "\x83\x6d\x00\x00\x10\x00"
        "abc",
        9);  // a 4 KiB binary of 3 bytes
    struct bad_case {
      const char* what;
      std::string bytes;
    };
    const std::vector<bad_case> cases{
        {"a truncated payload", frame_with(reg_send(0, term::atom("strict_sink")), truncated)},
        {"a length lie", frame_with(reg_send(1, term::atom("strict_sink")), length_lie)},
        {"an unknown operation", frame_with(term::tuple({term::integer(99), from(2)}), "")},
        {"LINK with atoms",
         frame_with(term::tuple({term::integer(1), term::atom("a"), term::atom("b")}), "")},
        {"a send to an integer name", frame_with(reg_send(4, term::integer(42)), hello(4))},
        {"MONITOR_P with a binary ref",
         frame_with(term::tuple({term::integer(19), from(5), term::atom("strict_sink"),
                                 term::binary("ref")}),
                    "")},
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
      const int n = static_cast<int>(i);
      tcp_stream s = co_await fake_node("fake" + std::to_string(n) + "@127.0.0.1");
      // The connection works: a good message arrives.
      co_await s.write_all(frame_with(reg_send(n, term::atom("strict_sink")), hello(n)));
      const bool good = co_await heard(n);
      EXPECT_TRUE(good) << cases[i].what;
      if (i == 0) {
        // An export fun (fun m:f/1) is well formed but has no term: dropped, and the
        // connection stays, so the next good message still arrives.
        const std::string fun(
            "\x83\x71\x64\x00\x01m\x64\x00\x01"
            "f\x61\x01",
            11);
        co_await s.write_all(frame_with(reg_send(n, term::atom("strict_sink")), fun));
        co_await s.write_all(frame_with(reg_send(n, term::atom("strict_sink")), hello(100)));
        const bool after_fun = co_await heard(100);
        EXPECT_TRUE(after_fun) << "the connection dropped on an unsupported term";
      }
      co_await s.write_all(cases[i].bytes);
      const bool closed = co_await closed_by_node(s);
      EXPECT_TRUE(closed) << cases[i].what << " left the connection open";
    }
    // Nothing of the bad frames was delivered, and the node still serves a real peer.
    const bool stray =
        co_await receive([](const term&) { return true; }, after(0ms, [] { return false; }));
    EXPECT_FALSE(stray);
    const pid probe = co_await await_probe(kProbe);
    CO_ASSERT(probe);
    const bool answered = co_await answers_hello(probe);
    EXPECT_TRUE(answered);
  });
}

TEST_F(Dist, SendingAValueWithNoTermMappingToAnotherNodeThrows) {
  run([]() -> process {
    co_await start_node("t_nomap");
    const pid probe = co_await await_probe(kProbe);
    CO_ASSERT(probe);
    struct opaque {
      int x;
    };
    EXPECT_THROW(send(probe, opaque{1}), std::invalid_argument);
    EXPECT_THROW(send(remote_name{"probe", kProbe}, opaque{1}), std::invalid_argument);
  });
}

}  // namespace
