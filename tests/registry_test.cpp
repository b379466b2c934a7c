// Registered names: register_name / whereis / unregister_name and send to an atom name.
// A name is freed when its process ends; a taken name, a dead pid, or a second name for
// one process is refused with std::invalid_argument.
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>

#include <coproc/coproc.hpp>

#include "otp_test_support.hpp"
#include "test_support.hpp"

using namespace coproc;
using namespace std::chrono_literals;
using otp_test::down_of;
using otp_test::opt_reason;

namespace {

// Answers (pid, int n) with n + 1, until told to stop.
process adder() {
  for (;;) {
    bool stop = co_await receive(
        [](pid from, int n) {
          send(from, n + 1);
          return false;
        },
        [](atom<"stop">) { return true; }, after(30s, [] { return true; }));
    if (stop) co_return;
  }
}

}  // namespace

TEST(Registry, ARegisteredNameFindsItsProcessAndTakesMessagesSentToIt) {
  pid server;
  pid found_by_string;
  pid found_by_atom;
  pid found_self_registered;
  pid unknown{1, 1, 0, 1};
  std::optional<int> by_atom_send;
  std::optional<int> self_registered_reply;
  int rc = coproc::run(
      [&]() -> process {
        server = spawn_on(1, adder);
        register_name("adder_srv", server);
        found_by_string = whereis("adder_srv");
        found_by_atom = whereis(atom<"adder_srv">{});
        send(atom<"adder_srv">{}, self(), 41);
        by_atom_send = co_await receive_for<int>(2s);

        // A process can register itself, with an atom.
        const pid me = self();
        const pid s2 = spawn_on(0, [me]() -> process {
          register_name(atom<"self_named">{}, self());
          send(me, atom<"registered">{});
          co_await receive([](pid from, int n) { send(from, n * 10); }, after(10s, [] {}));
        });
        co_await receive([](atom<"registered">) {}, after(5s, [] {}));
        found_self_registered = whereis("self_named");
        EXPECT_EQ(found_self_registered, s2);
        send(atom<"self_named">{}, self(), 7);
        self_registered_reply = co_await receive_for<int>(2s);

        // Nobody has this name: whereis gives pid{}, and a send to it is dropped.
        unknown = whereis("nobody_has_this_name");
        EXPECT_NO_THROW(send(atom<"nobody_has_this_name">{}, 1));
        send(server, atom<"stop">{});
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(found_by_string, server);
  EXPECT_EQ(found_by_atom, server);
  EXPECT_EQ(by_atom_send, std::optional<int>(42));
  EXPECT_EQ(self_registered_reply, std::optional<int>(70));
  EXPECT_EQ(unknown, pid{});
}

TEST(Registry, ANameIsFreedWhenItsProcessDiesAndCanBeRegisteredAgain) {
  pid after_normal_exit{1, 1, 0, 1};
  pid after_crash{1, 1, 0, 1};
  pid second_owner;
  pid found_second;
  bool reregistered = false;
  testing::internal::CaptureStderr();
  int rc = coproc::run(
      [&]() -> process {
        // Ends normally.
        const pid first = spawn_on(1, otp_test::idle);
        register_name("reusable", first);
        const monitor_ref r1 = monitor(first);
        send(first, atom<"stop">{});
        co_await down_of(r1, 5s);
        after_normal_exit = whereis("reusable");

        second_owner = spawn_on(0, otp_test::crash_on_go, std::string("named crash"));
        try {
          register_name("reusable", second_owner);
          reregistered = true;
        } catch (const std::exception& e) {
          ADD_FAILURE() << "the name of a dead process was not freed: " << e.what();
        }
        found_second = whereis("reusable");

        // Crashes.
        const monitor_ref r2 = monitor(second_owner);
        send(second_owner, atom<"go">{});
        co_await down_of(r2, 5s);
        after_crash = whereis("reusable");
        const pid third = spawn_on(1, otp_test::idle);
        EXPECT_NO_THROW(register_name("reusable", third));
        EXPECT_EQ(whereis("reusable"), third);
        send(third, atom<"stop">{});
      },
      options{.cores = 2});
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(after_normal_exit, pid{});
  EXPECT_TRUE(reregistered);
  EXPECT_EQ(found_second, second_owner);
  EXPECT_EQ(after_crash, pid{});
}

TEST(Registry, RegisteringATakenNameThrowsInvalidArgument) {
  bool threw = false;
  pid still;
  pid owner;
  int rc = coproc::run(
      [&]() -> process {
        owner = spawn_on(1, otp_test::idle);
        const pid other = spawn_on(0, otp_test::idle);
        register_name("taken", owner);
        try {
          register_name("taken", other);
        } catch (const std::invalid_argument&) {
          threw = true;
        }
        still = whereis("taken");
        // Registering the same pid under the same name again is refused too.
        EXPECT_THROW(register_name(atom<"taken">{}, owner), std::invalid_argument);
        send(owner, atom<"stop">{});
        send(other, atom<"stop">{});
        co_return;
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(threw);
  EXPECT_EQ(still, owner);
}

TEST(Registry, RegisteringADeadPidThrowsInvalidArgument) {
  bool threw[2] = {false, false};
  pid found[2] = {pid{1, 1, 0, 1}, pid{1, 1, 0, 1}};
  int rc = coproc::run(
      [&]() -> process {
        for (unsigned core : {0U, 1U}) {
          const pid dead = spawn_on(core, [] {});
          bool gone = false;
          co_await coproc_test::wait_until(gone, [dead] { return !alive(dead); }, 2s);
          EXPECT_TRUE(gone);
          try {
            register_name("for_the_dead", dead);
          } catch (const std::invalid_argument&) {
            threw[core] = true;
          }
          found[core] = whereis("for_the_dead");
        }
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  for (int c = 0; c < 2; ++c) {
    EXPECT_TRUE(threw[c]) << "core " << c;
    EXPECT_EQ(found[c], pid{}) << "core " << c;
  }
}

TEST(Registry, AProcessWithANameCannotTakeASecondOne) {
  bool threw = false;
  pid first_name;
  pid second_name{1, 1, 0, 1};
  pid p;
  int rc = coproc::run(
      [&]() -> process {
        p = spawn_on(1, otp_test::idle);
        register_name("first_name", p);
        try {
          register_name("second_name", p);
        } catch (const std::invalid_argument&) {
          threw = true;
        }
        first_name = whereis("first_name");
        second_name = whereis("second_name");
        send(p, atom<"stop">{});
        co_return;
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(threw);
  EXPECT_EQ(first_name, p);
  EXPECT_EQ(second_name, pid{});
}

TEST(Registry, UnregisterNameFreesTheNameButNotTheProcess) {
  bool first = false;
  bool second = true;
  pid after_unregister{1, 1, 0, 1};
  bool got_dropped_message = false;
  pid p;
  pid new_owner;
  int rc = coproc::run(
      [&]() -> process {
        p = spawn_on(1, adder);
        register_name("temp_name", p);
        first = unregister_name("temp_name");
        second = unregister_name("temp_name");
        after_unregister = whereis("temp_name");
        EXPECT_TRUE(alive(p));
        // A send to the freed name goes nowhere: p never answers it.
        send(atom<"temp_name">{}, self(), 1);
        got_dropped_message = (co_await receive_for<int>(200ms)).has_value();
        // The process may take a new name, and the old name may go to another process.
        EXPECT_NO_THROW(register_name("new_name", p));
        new_owner = spawn_on(0, otp_test::idle);
        EXPECT_NO_THROW(register_name("temp_name", new_owner));
        EXPECT_EQ(whereis("temp_name"), new_owner);
        EXPECT_EQ(whereis("new_name"), p);
        send(p, atom<"stop">{});
        send(new_owner, atom<"stop">{});
      },
      options{.cores = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
  EXPECT_EQ(after_unregister, pid{});
  EXPECT_FALSE(got_dropped_message);
}
