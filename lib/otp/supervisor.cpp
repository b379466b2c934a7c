// lib/otp/supervisor.cpp - the supervisor process.
//
// start_supervisor runs the supervisor's initialisation (trap exits, start every child
// in order) before it returns, as OTP's supervisor:start_link does. Called from a
// process, it does so inline: the supervisor is spawned on the caller's core, and the
// caller's thread runs the child start functions as that process (t_current is the
// supervisor meanwhile), so a nested supervisor started by a child's start function is
// complete before the next sibling starts (depth first). Called from outside a process,
// the supervisor initialises itself and the caller blocks until it has.
//
// Then the supervisor process waits for events: an EXIT from a child (report, restart
// per strategy and intensity), an EXIT from its parent (stop the tree and exit with the
// parent's reason), a retry of a restart that failed, or a which_children call.
#include <algorithm>
#include <deque>
#include <future>
#include <memory>
#include <stdexcept>

#include "coproc/coproc.hpp"

namespace coproc {
namespace {

using clock = std::chrono::steady_clock;

struct child {
  child_spec spec;
  pid id;
  std::uint64_t key = 0;  // stable while indices shift (temporaries are erased)
};

struct sup_state {
  std::vector<child> children;  // in start order
  supervisor_options opts;
  pid parent;
  std::exception_ptr init_failed;
  std::deque<clock::time_point> restarts;
};

// A start function that returns no pid failed, as one that throws.
pid start_one(const child& c) {
  pid p = c.spec.start();
  if (!p)
    throw std::runtime_error("coproc: the start function of child '" + c.spec.id +
                             "' returned no pid");
  return p;
}

exit_reason reason_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const process_exit& x) {
    return x.reason();
  } catch (const std::exception& x) {
    return exit_reason::exception(x.what());
  } catch (...) {
    return exit_reason::exception("unknown exception");
  }
}

void supervisor_report(report_kind kind, const exit_reason& why, const child& c) {
  detail::report_crash(crash_report{self(), {}, why, kind, c.spec.id, c.id});
}

// Starts the children in order; on a failure records it and starts no more.
void init_children(sup_state& st) {
  for (auto& c : st.children) {
    try {
      c.id = start_one(c);
    } catch (...) {
      st.init_failed = std::current_exception();
      supervisor_report(report_kind::start_error, reason_of(st.init_failed), c);
      return;
    }
  }
}

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

// OTP never restarts a temporary child: one stopped because a sibling died is removed.
void drop_stopped_temporaries(std::vector<child>& children) {
  std::erase_if(children,
                [](const child& c) { return !c.id && c.spec.restart == restart_type::temporary; });
}

struct event {
  enum { child_exit, parent_exit, stale_exit, retry, query } kind;
  pid from;
  exit_reason reason;
  call_from caller;
  std::uint64_t key = 0;
};

process supervise(std::shared_ptr<sup_state> st, std::shared_ptr<std::promise<void>> ready) {
  trap_exit(true);
  if (ready) {  // started from outside a process: the caller waits for this
    init_children(*st);
    if (st->init_failed) {
      ready->set_exception(st->init_failed);
    } else {
      ready->set_value();
    }
  }
  std::vector<child>& children = st->children;
  if (st->init_failed) {
    // start_supervisor has thrown and unlinked us: stop the children that did start.
    co_await stop_children(children, 0);
    co_return;
  }
  const supervisor_options& opts = st->opts;
  const pid parent = st->parent;

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
        [](atom<"$sup_retry">, std::uint64_t key) {
          return event{event::retry, pid{}, {}, {}, key};
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
    if (ev.kind == event::parent_exit) {
      // OTP: a supervisor (a gen_server) whose parent exits terminates with the same
      // reason, normal included, after stopping its children.
      co_await stop_children(children, 0);
      coproc::exit(ev.reason);
    }

    std::uint64_t key = ev.key;
    if (ev.kind == event::child_exit) {
      auto it = std::find_if(children.begin(), children.end(),
                             [&](const child& c) { return c.id == ev.from; });
      const restart_type rt = it->spec.restart;
      // OTP's supervisor reports a permanent child's end whatever the reason, and
      // the others' only when abnormal (not normal, shutdown or {shutdown, _}).
      if (rt == restart_type::permanent || ev.reason.is_crash()) {
        supervisor_report(report_kind::child_terminated, ev.reason, *it);
      }
      it->id = pid{};
      const bool restart =
          rt == restart_type::permanent || (rt == restart_type::transient && ev.reason.is_crash());
      if (!restart) {
        if (rt == restart_type::temporary) children.erase(it);
        continue;
      }
      key = it->key;
    } else {  // a retry of a restart whose start function failed
      auto it = std::find_if(children.begin(), children.end(),
                             [&](const child& c) { return c.key == key; });
      if (it == children.end() || it->id) continue;  // gone, or restarted since
    }

    auto index_of = [&children](std::uint64_t k) {
      return static_cast<std::size_t>(std::find_if(children.begin(), children.end(),
                                                   [k](const child& c) { return c.key == k; }) -
                                      children.begin());
    };

    // Intensity: more than max_restarts within max_period and we give up.
    const auto now = clock::now();
    st->restarts.push_back(now);
    while (!st->restarts.empty() && now - st->restarts.front() > opts.max_period) {
      st->restarts.pop_front();
    }
    if (static_cast<int>(st->restarts.size()) > opts.max_restarts) {
      supervisor_report(report_kind::max_intensity,
                        exit_reason::user("reached_max_restart_intensity"),
                        children[index_of(key)]);
      co_await stop_children(children, 0);
      coproc::exit(exit_reason::shutdown());
    }

    std::size_t first = index_of(key);
    switch (opts.strategy) {
      case strategy::one_for_one:
        break;
      case strategy::one_for_all:
        co_await stop_children(children, 0);
        drop_stopped_temporaries(children);
        first = 0;
        break;
      case strategy::rest_for_one:
        co_await stop_children(children, first + 1);
        drop_stopped_temporaries(children);
        first = index_of(key);
        break;
    }
    for (std::size_t j = first; j < children.size(); ++j) {
      if (children[j].id) continue;  // still running
      if (opts.strategy == strategy::one_for_one && children[j].key != key) continue;
      try {
        children[j].id = start_one(children[j]);
      } catch (...) {
        // OTP retries a failed restart (it counts against the intensity), rather than
        // crashing the supervisor at once.
        supervisor_report(report_kind::start_error, reason_of(std::current_exception()),
                          children[j]);
        send(self(), atom<"$sup_retry">{}, children[j].key);
        break;
      }
    }
  }
}

}  // namespace

pid start_supervisor(std::vector<child_spec> children, supervisor_options opts) {
  auto st = std::make_shared<sup_state>();
  st->opts = opts;
  st->children.reserve(children.size());
  std::uint64_t key = 0;
  for (auto& s : children) st->children.push_back({std::move(s), pid{}, ++key});

  detail::pcb* caller = detail::t_current;
  if (caller == nullptr || caller->foreign != nullptr) {
    auto ready = std::make_shared<std::promise<void>>();
    std::future<void> done = ready->get_future();
    const pid sup = spawn(supervise, st, std::move(ready));
    done.get();  // rethrows a failed start
    return sup;
  }

  st->parent = caller->self;
  // On this core, so that its pcb is ours to run as until we return.
  const pid sup = detail::spawn_with({.core = static_cast<int>(caller->self.core), .link = true},
                                     supervise, st, std::shared_ptr<std::promise<void>>{});
  if (!sup) return sup;  // the runtime is stopping: nothing was started
  detail::pcb* sp = detail::just_spawned(sup);
  sp->trap_exit = true;  // before any child exists, so that no EXIT can kill it
  {
    detail::running_as as_supervisor(sp);
    init_children(*st);
  }
  if (st->init_failed) {
    // The caller gets the exception, not an exit signal as well: unlink the two (both
    // on this core) before the supervisor stops the children that did start.
    detail::drop_spawn_link(caller, sp);
    std::rethrow_exception(st->init_failed);
  }
  return sup;
}

}  // namespace coproc
