// coproc/log.hpp - the runtime's own operational messages (not crash reports).
//
// The runtime tells the operator about conditions it handles by itself and that a
// person should still know about: a listener that pauses accepting because the process
// is out of file descriptors (and when it resumes), a ring that failed. Each condition
// is reported once per episode, never once per event, so a flood cannot flood the log.
// By default a line goes to stderr:
//   coproc: warning: accept on 0.0.0.0:8080: Too many open files (EMFILE); ...
// An application routes them to its own logger with set_log_handler.
#pragma once

#include <functional>
#include <string_view>

namespace coproc {

enum class log_level { info, warning, error };

// Replaces the handler for every runtime; an empty function restores the default.
// It runs on the core that noticed the condition: keep it short and never block.
void set_log_handler(std::function<void(log_level, std::string_view)> handler);

namespace detail {
// Never throws: a failing handler loses that one line.
void log(log_level level, std::string_view text) noexcept;
}  // namespace detail

}  // namespace coproc
