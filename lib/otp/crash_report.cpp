#include "coproc/crash_report.hpp"

#include "coproc/exit_reason.hpp"
#include "coproc/spawn.hpp"
#include "lib/core/runtime_impl.hpp"

#include <cstdio>
#include <memory>
#include <mutex>

namespace coproc {
namespace {

std::mutex g_reporter_mu;
std::shared_ptr<const std::function<void(const crash_report&)>> g_reporter;

}  // namespace

void set_crash_reporter(std::function<void(const crash_report&)> reporter) {
  auto fn =
      reporter
          ? std::make_shared<const std::function<void(const crash_report&)>>(std::move(reporter))
          : nullptr;
  std::lock_guard lock(g_reporter_mu);
  g_reporter = std::move(fn);
}

std::string format_crash_report(const crash_report& r) {
  const std::string who =
      to_string(r.who) + (r.name.empty() ? std::string() : " (registered as " + r.name + ")");
  switch (r.kind) {
    case report_kind::crash:
      break;
    case report_kind::server_terminating:
      return "=ERROR REPORT==== ** Generic server " + who + " terminating ** Last message in was " +
             r.detail + " ** Reason for termination == " + r.reason.to_string();
    case report_kind::child_terminated:
    case report_kind::start_error:
    case report_kind::max_intensity: {
      const char* context = r.kind == report_kind::child_terminated ? "child_terminated"
                            : r.kind == report_kind::start_error    ? "start_error"
                                                                    : "shutdown";
      return "=SUPERVISOR REPORT==== Supervisor: " + who + " Context: " + context +
             " Reason: " + r.reason.to_string() + " Offender: id=" + r.detail +
             ",pid=" + to_string(r.offender);
    }
  }
  return "=CRASH REPORT==== " + who + " exited: " + r.reason.to_string();
}

namespace detail {

void report_crash(const crash_report& r) noexcept {
  try {
    std::shared_ptr<const std::function<void(const crash_report&)>> fn;
    {
      std::lock_guard lock(g_reporter_mu);
      fn = g_reporter;
    }
    if (fn) {
      (*fn)(r);
      return;
    }
    const std::string line = format_crash_report(r) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  } catch (...) {
    // A reporter that throws must not take the core down with it.
  }
}

void report_server_crash(std::string_view last, const exit_reason& why) noexcept {
  try {
    crash_report r{self(), {}, why, report_kind::server_terminating, std::string(last), pid{}};
    if (runtime_impl* rt = current_runtime(); rt != nullptr) r.name = rt->name_of(r.who);
    report_crash(r);
  } catch (...) {
  }
}

}  // namespace detail
}  // namespace coproc
