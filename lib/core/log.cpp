// lib/core/log.cpp - the operational log: one handler for the process, stderr by default.
#include "coproc/log.hpp"

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace coproc {
namespace {

std::mutex g_log_mu;  // guards g_handler; logging is rare (once per episode)
std::function<void(log_level, std::string_view)> g_handler;

const char* level_name(log_level l) {
  switch (l) {
    case log_level::info:
      return "info";
    case log_level::warning:
      return "warning";
    case log_level::error:
      return "error";
  }
  return "?";
}

}  // namespace

void set_log_handler(std::function<void(log_level, std::string_view)> handler) {
  std::lock_guard lock(g_log_mu);
  g_handler = std::move(handler);
}

namespace detail {
void log(log_level level, std::string_view text) noexcept {
  try {
    std::lock_guard lock(g_log_mu);
    if (g_handler) {
      g_handler(level, text);
      return;
    }
    std::fprintf(stderr, "coproc: %s: %.*s\n", level_name(level), static_cast<int>(text.size()),
                 text.data());
  } catch (...) {  // a handler that throws loses its line, nothing else
  }
}
}  // namespace detail

}  // namespace coproc
