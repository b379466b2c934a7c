// coproc/process_info.hpp - one process's mailbox and relations, as Erlang's
// process_info/2.
//
//   std::optional<process_details> d = co_await process_info(p, 1s);
//   if (d && d->message_queue_len > 1000) { ... }   // it is falling behind
//
// The process's home core answers from its own loop, between two processes' turns, so
// asking never stops a core and costs one message each way (none across cores when p
// is on the caller's core). The answer is a snapshot: by the time it arrives the
// process may have moved on, as in Erlang. std::nullopt means p is not alive (it
// ended, was never alive, is pid{} or lives on another node), or no answer came within
// the timeout; an answer that comes later is dropped on delivery, as a late call reply
// is. Asking about self() counts the mailbox as it is at the call.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "coproc/pid.hpp"
#include "coproc/subroutine.hpp"

namespace coproc {

struct process_details {
  pid who;
  unsigned core = 0;                  // the loop it runs on (pid::core)
  std::size_t message_queue_len = 0;  // messages in its mailbox
  std::string registered_name;        // empty when it has none
  std::vector<pid> links;             // processes linked to it
  std::vector<pid> monitors;          // processes it monitors
  std::vector<pid> monitored_by;      // processes that monitor it
  bool waiting_in_receive = false;    // suspended in co_await receive (Erlang's `waiting`)
  bool trap_exit = false;             // trap_exit(true) is set
};

// co_await process_info(p, timeout): p's details, or std::nullopt (see above).
// Call it from a process; outside one it throws std::logic_error.
[[nodiscard]] subroutine<std::optional<process_details>> process_info(
    pid p, std::chrono::milliseconds timeout);

}  // namespace coproc
