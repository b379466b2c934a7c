// lib/otp/supervisor.cpp - the supervisor process.
//
// It traps exits, starts its children in order, and then waits for events: an EXIT
// from a child (restart per strategy and intensity), an EXIT from anyone else, i.e.
// its parent (stop the tree and exit with that reason), or a which_children call.
#include <algorithm>
#include <deque>

#include "coproc/coproc.hpp"

namespace coproc {
namespace {

using clock = std::chrono::steady_clock;

struct child {
  child_spec spec;
  pid id;
};

// Stops one child: shutdown, then kill after its timeout. Waits for it to be gone.
process stop_child(pid id, std::chrono::milliseconds grace) {
  if (!id) co_return;
  const monitor_ref ref = monitor(id);
  unlink(id);  // its exit must not come back to us as an EXIT message
  exit(id, exit_reason::shutdown());
  auto is_it = [ref](atom<"DOWN">, monitor_ref m, pid, const exit_reason&) { return m == ref; };
  bool gone = co_await receive(
      when(is_it, [](atom<"DOWN">, monitor_ref, pid, const exit_reason&) { return true; }),
      after(grace, [] { return false; }));
  if (!gone) {
    exit(id, exit_reason::kill());
    co_await receive(when(is_it, [](atom<"DOWN">, monitor_ref, pid, const exit_reason&) {}));
  }
  // If it died on its own before the unlink, its EXIT is already queued: drop it.
  while (
      co_await receive(when([id](atom<"EXIT">, pid from, const exit_reason&) { return from == id; },
                            [](atom<"EXIT">, pid, const exit_reason&) { return true; }),
                       after(std::chrono::milliseconds(0), [] { return false; }))) {
  }
}

// Stops children[from..] in reverse start order.
process stop_children(std::vector<child>& children, std::size_t from) {
  for (std::size_t i = children.size(); i-- > from;) {
    co_await stop_child(children[i].id, children[i].spec.shutdown);
    children[i].id = pid{};
  }
}

struct event {
  enum { child_exit, parent_exit, stale_exit, query } kind;
  pid from;
  exit_reason reason;
  call_from caller;
};

process supervise(std::vector<child_spec> specs, supervisor_options opts, pid parent) {
  trap_exit(true);
  std::vector<child> children;
  children.reserve(specs.size());
  for (auto& s : specs) children.push_back({std::move(s), pid{}});
  std::exception_ptr failed;
  for (auto& c : children) {
    try {
      c.id = c.spec.start();
    } catch (...) {
      failed = std::current_exception();
      break;
    }
  }
  if (failed) {  // a child that cannot start: stop those that did, and fail
    co_await stop_children(children, 0);
    std::rethrow_exception(failed);
  }
  std::deque<clock::time_point> restarts;

  for (;;) {
    event ev = co_await receive(
        [&](atom<"EXIT">, pid from, exit_reason why) {
          const bool mine = std::any_of(children.begin(), children.end(),
                                        [&](const child& c) { return c.id == from; });
          const auto kind = mine             ? event::child_exit
                            : from == parent ? event::parent_exit
                                             : event::stale_exit;  // a child we already replaced
          return event{kind, from, std::move(why), {}};
        },
        [](atom<"$gen_call">, call_from from, atom<"which_children">) {
          return event{event::query, pid{}, {}, from};
        });

    if (ev.kind == event::query) {
      std::vector<std::pair<std::string, pid>> list;
      for (const auto& c : children) list.emplace_back(c.spec.id, c.id);
      reply(ev.caller, std::move(list));
      continue;
    }
    if (ev.kind == event::stale_exit) continue;
    if (ev.kind == event::parent_exit) {  // our parent is going: take the tree down
      co_await stop_children(children, 0);
      coproc::exit(ev.reason.is_normal() ? exit_reason::shutdown() : ev.reason);
    }

    auto it = std::find_if(children.begin(), children.end(),
                           [&](const child& c) { return c.id == ev.from; });
    const std::size_t i = static_cast<std::size_t>(it - children.begin());
    it->id = pid{};
    const restart_type rt = it->spec.restart;
    const bool restart =
        rt == restart_type::permanent || (rt == restart_type::transient && ev.reason.is_crash());
    if (!restart) {
      if (rt == restart_type::temporary) children.erase(it);
      continue;
    }

    // Intensity: more than max_restarts within max_period and we give up.
    const auto now = clock::now();
    restarts.push_back(now);
    while (!restarts.empty() && now - restarts.front() > opts.max_period) restarts.pop_front();
    if (static_cast<int>(restarts.size()) > opts.max_restarts) {
      co_await stop_children(children, 0);
      coproc::exit(exit_reason::shutdown());
    }

    std::size_t first = i;
    switch (opts.strategy) {
      case strategy::one_for_one:
        break;
      case strategy::one_for_all:
        co_await stop_children(children, 0);
        first = 0;
        break;
      case strategy::rest_for_one:
        co_await stop_children(children, i + 1);
        break;
    }
    for (std::size_t j = first; j < children.size(); ++j) {
      if (j != i && children[j].id) continue;  // still running (one_for_one)
      if (opts.strategy == strategy::one_for_one && j != i) continue;
      children[j].id = children[j].spec.start();
    }
  }
}

}  // namespace

pid start_supervisor(std::vector<child_spec> children, supervisor_options opts) {
  if (detail::t_current != nullptr) {
    return spawn_link(supervise, std::move(children), opts, self());
  }
  return spawn(supervise, std::move(children), opts, pid{});
}

}  // namespace coproc
