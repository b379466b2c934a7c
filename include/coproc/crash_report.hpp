// coproc/crash_report.hpp - what happens when a process dies abnormally.
//
// Every process that ends with a reason other than normal or shutdown is reported
// once, on its own core, as Erlang's logger reports crashes. By default the report
// goes to stderr:
//   =CRASH REPORT==== #PID<0.7.1> (registered as db) exited: {exception, "disk full"}
// An application routes reports to its own logger with set_crash_reporter.
#pragma once

#include <functional>
#include <string>

#include "coproc/exit_reason.hpp"
#include "coproc/pid.hpp"

namespace coproc {

struct crash_report {
  pid who;
  std::string name;  // registered name, or empty
  exit_reason reason;
};

// Replaces the reporter for every runtime; an empty function restores the default.
// The reporter runs on the dying process's core: keep it short and never block.
void set_crash_reporter(std::function<void(const crash_report&)> reporter);

// The default reporter's text, without the trailing newline.
std::string format_crash_report(const crash_report& r);

namespace detail {
void report_crash(const crash_report& r) noexcept;
}

}  // namespace coproc
