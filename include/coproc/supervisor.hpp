// coproc/supervisor.hpp - OTP supervisors: restart children by a strategy, within an
// intensity, and shut them down in reverse start order.
//
//   pid sup = start_supervisor({
//       {.id = "cache", .start = [] { return spawn_link(cache_loop); }},
//       {.id = "db", .start = [] { return start_link_server<db>().id; },
//        .restart = restart_type::transient, .shutdown = 2s},
//   }, {.strategy = strategy::one_for_one, .max_restarts = 3, .max_period = 5s});
//
// - start runs as the supervisor (self() is the supervisor) and must return a pid linked
//   to it (spawn_link, start_link_server, or start_supervisor for a nested supervisor).
//   It is a plain function: it must not wait.
// - start_supervisor returns after every child's start has returned, as OTP's
//   supervisor:start_link: called from a process, it runs the new supervisor's init
//   inline on the caller's core, so a nested tree starts depth first; from outside a
//   process it blocks until the supervisor has started its children. A start that throws
//   or returns no pid makes start_supervisor throw (that exception, or
//   std::runtime_error); the supervisor, unlinked from the caller, then stops the
//   children that did start, in reverse order, and ends.
// - permanent children always restart; transient ones only after an abnormal exit (not
//   normal, shutdown or {shutdown, _}); temporary ones never, and a temporary child that
//   ends, or is stopped because a sibling died, is removed.
// - one_for_one restarts the child that ended; one_for_all stops the others (in reverse
//   start order) and restarts all; rest_for_one stops and restarts those started after it.
// - A start that fails during a restart is retried; every try counts as a restart.
// - More than max_restarts restarts within max_period: the supervisor stops its children
//   and exits with reason shutdown (so its own supervisor sees it fail).
// - A child is stopped by exit(child, shutdown); if it has not ended after `shutdown`,
//   by exit(child, kill).
// - start_supervisor links the supervisor to the calling process (when called from a
//   process); when that parent exits, the supervisor stops the tree, children first, and
//   exits with the parent's reason (normal included).
// - It reports (coproc/crash_report.hpp) each child that terminated (permanent: any
//   reason; others: abnormal), each failed start, and reaching its restart intensity.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "coproc/call.hpp"
#include "coproc/pid.hpp"

namespace coproc {

enum class restart_type { permanent, transient, temporary };
enum class strategy { one_for_one, one_for_all, rest_for_one };

struct child_spec {
  std::string id;
  std::function<pid()> start;
  restart_type restart = restart_type::permanent;
  std::chrono::milliseconds shutdown{5000};
};

struct supervisor_options {
  coproc::strategy strategy = strategy::one_for_one;
  int max_restarts = 3;
  std::chrono::milliseconds max_period{5000};
};

// Starts a supervisor process with these children (started in order).
pid start_supervisor(std::vector<child_spec> children, supervisor_options opts = {});

// The children's ids and pids (pid{} for one that is not running), in start order;
// a temporary child that ended is no longer listed.
// co_await which_children(sup, 1s)
inline auto which_children(const pid& supervisor, std::chrono::milliseconds timeout) {
  return call<std::vector<std::pair<std::string, pid>>>(supervisor, timeout,
                                                        atom<"which_children">{});
}

}  // namespace coproc
