// coproc/link.hpp - links, monitors and exit signals, with Erlang's semantics.
//
//   link(p) / unlink(p)           bidirectional; when one ends, the other gets an exit
//                                 signal with its reason
//   spawn_link(f, args...)        the child is linked before it can run (spawn_link_on:
//                                 on a given core)
//   monitor(p) -> monitor_ref     one (atom<"DOWN">, monitor_ref, pid, exit_reason)
//                                 message when p ends (at once, noproc, if it is dead)
//   demonitor(ref, flush)         stops it; flush also drops a DOWN already queued
//   exit(p, reason)               sends an exit signal; exit(reason) ends the caller
//   trap_exit(true)               exit signals arrive as (atom<"EXIT">, pid, exit_reason)
//
// A process that does not trap exits dies of any exit signal but `normal`; `kill`
// cannot be trapped (the victim dies with `killed`). Linking to a dead process sends
// the caller an exit signal with reason noproc. Signals between two processes keep
// their order, also across cores, and with the messages between them.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <utility>

#include "coproc/detail/pid_term.hpp"
#include "coproc/exit_reason.hpp"
#include "coproc/pid.hpp"
#include "coproc/spawn.hpp"

namespace coproc {

struct monitor_ref {
  std::uint64_t id = 0;
  [[nodiscard]] constexpr explicit operator bool() const noexcept { return id != 0; }
  friend constexpr bool operator==(const monitor_ref&, const monitor_ref&) noexcept = default;
  friend constexpr auto operator<=>(const monitor_ref&, const monitor_ref&) noexcept = default;
};
std::string to_string(const monitor_ref& r);  // #Reference<0.42>

// A monitor_ref travels as an Erlang reference of this node; a reference made by another
// node does not convert to one (receive it as a coproc::term).
template <>
struct term_traits<monitor_ref> {
  static term to_term(const monitor_ref& r) { return detail::ref_to_term(r.id); }
  static bool from_term(const term& t, monitor_ref& out) {
    return detail::ref_from_term(t, out.id);
  }
};
std::ostream& operator<<(std::ostream& os, const monitor_ref& r);

void link(const pid& p);
void unlink(const pid& p);
monitor_ref monitor(const pid& p);
// Stops a monitor. Returns true if it was active. flush: also removes a DOWN message
// for it from the caller's mailbox.
bool demonitor(const monitor_ref& ref, bool flush = false);
// Sends an exit signal to p (from the calling process, or from no process).
void exit(const pid& p, exit_reason reason);
// Ends the calling process with `reason` (throws process_exit).
[[noreturn]] void exit(exit_reason reason);
// Process.flag(:trap_exit, on). Returns the previous setting.
bool trap_exit(bool on);

template <class F, class... A>
pid spawn_link(F&& f, A&&... args) {
  return detail::spawn_with({.link = true}, std::forward<F>(f), std::forward<A>(args)...);
}

// spawn_link on a given core (0 <= core < options.cores).
template <class F, class... A>
pid spawn_link_on(unsigned core, F&& f, A&&... args) {
  return detail::spawn_with({.core = static_cast<int>(core), .link = true}, std::forward<F>(f),
                            std::forward<A>(args)...);
}

template <class F, class... A>
std::pair<pid, monitor_ref> spawn_monitor(F&& f, A&&... args) {
  monitor_ref ref;
  pid p = detail::spawn_with({.monitor = true, .monitor_id = &ref.id}, std::forward<F>(f),
                             std::forward<A>(args)...);
  return {p, ref};
}

}  // namespace coproc

template <>
struct std::hash<coproc::monitor_ref> {
  std::size_t operator()(const coproc::monitor_ref& r) const noexcept {
    return std::hash<std::uint64_t>{}(r.id);
  }
};
