// coproc/crash_report.hpp - what is logged when a process dies, by Erlang's rule.
//
// Erlang logs a death only where the dead process's own code failed, or where a
// supervisor acts on it; a death by an exit signal is seen through links and monitors,
// not in the log. coproc follows the same rule (each report once, on the core where it
// is made):
//
//   report_kind::crash               a plain process whose body threw an uncaught
//                                    exception. Erlang: "Error in process <0.95.0>
//                                    with exit value: {badarg,...}". Not reported:
//                                    exit(reason) (any reason), and deaths by exit
//                                    signals (exit(pid, kill), exit(pid, reason), a
//                                    linked process's abnormal exit).
//   report_kind::server_terminating  a gen_server whose handler threw or called
//                                    exit(reason) with an abnormal reason (not normal,
//                                    shutdown or {shutdown, _}); `detail` is the last
//                                    message it handled. Erlang: "** Generic server X
//                                    terminating ** Last message in was ... ** Reason
//                                    for termination == ...". Reported once (not a
//                                    second time as a crash).
//   report_kind::child_terminated    a supervisor's child ended: a permanent child
//                                    whatever the reason, a transient or temporary one
//                                    when the reason is abnormal. Erlang's SUPERVISOR
//                                    REPORT, "Context: child_terminated".
//   report_kind::start_error         a child's start function failed (threw, or
//                                    returned no pid). "Context: start_error".
//   report_kind::max_intensity       a supervisor reached its restart intensity and
//                                    shuts down. "Context: shutdown. Reason:
//                                    reached_max_restart_intensity".
// For supervisor reports `who` is the supervisor, `detail` the child's id, `offender`
// the child's pid and `reason` the child's reason. By default a report goes to stderr:
//   =CRASH REPORT==== #PID<0.7.1> (registered as db) exited: {exception, "disk full"}
// An application routes reports to its own logger with set_crash_reporter.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "coproc/exit_reason.hpp"
#include "coproc/pid.hpp"

namespace coproc {

enum class report_kind : std::uint8_t {
  crash,
  server_terminating,
  child_terminated,
  start_error,
  max_intensity,
};

struct crash_report {
  pid who;
  std::string name;  // registered name, or empty
  exit_reason reason;
  report_kind kind = report_kind::crash;
  std::string detail{};  // server_terminating: the last message; supervisor: the child's id
  pid offender{};        // supervisor reports: the child's pid (pid{} if it has none)
};

// Replaces the reporter for every runtime; an empty function restores the default.
// The reporter runs on the reporting process's core: keep it short and never block.
void set_crash_reporter(std::function<void(const crash_report&)> reporter);

// The default reporter's text, without the trailing newline.
std::string format_crash_report(const crash_report& r);

namespace detail {
void report_crash(const crash_report& r) noexcept;
}

}  // namespace coproc
