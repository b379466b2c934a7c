#include "coproc/crash_report.hpp"

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
  std::string s = "=CRASH REPORT==== " + to_string(r.who);
  if (!r.name.empty()) s += " (registered as " + r.name + ")";
  return s + " exited: " + r.reason.to_string();
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

}  // namespace detail
}  // namespace coproc
