// lib/otp/signals.cpp - links, monitors and exit signals on the loops.
//
// A signal to a process on this core is handled at once; one to another core travels
// as an envelope in the same per-pair queue as messages (so order is kept). Handling
// never kills a process on the spot: a doomed process goes into the loop's exit list,
// which the loop empties when no process is running. A long chain of linked processes
// therefore dies iteratively, not by recursion.
#include "lib/otp/signals.hpp"

#include <algorithm>
#include <stdexcept>

#include "coproc/link.hpp"
#include "coproc/message.hpp"
#include "lib/core/loop.hpp"
#include "lib/core/runtime_impl.hpp"
#include "lib/dist/node_state.hpp"

namespace coproc {
namespace detail {
namespace {

pcb_ext& ext_of(pcb* p) {
  if (p->ext == nullptr) p->ext = new pcb_ext;
  return *p->ext;
}

bool erase_pid(std::vector<pid>& v, const pid& p) {
  auto it = std::find(v.begin(), v.end(), p);
  if (it == v.end()) return false;
  *it = v.back();
  v.pop_back();
  return true;
}

pcb* running_process(const char* what) {
  if (t_current == nullptr) throw_outside_process(what);
  return t_current;
}

}  // namespace

// Sends a signal to `to`; takes ownership of s. Never throws.
void post_signal(const pid& to, signal_rec* s) noexcept {
  if (to.node != 0) [[unlikely]] {
    dist::signal_out(to, s);
    return;
  }
  if (loop* here = t_loop; here != nullptr) {
    runtime_impl& rt = here->rt();
    if (rt.stopping() || to.node != 0 || to.serial == 0 || to.core >= rt.cores()) {
      delete s;
    } else if (to.core == here->index()) {
      here->handle_signal(to.index, to.serial, s);
    } else {
      try {
        here->send_remote(to.core, envelope{envelope::signal, to.index, to.serial, s});
      } catch (...) {
        delete s;
      }
    }
    return;
  }
  runtime_impl* rt = g_runtime.load(std::memory_order_acquire);
  if (rt == nullptr || rt->stopping() || to.node != 0 || to.serial == 0 || to.core >= rt->cores()) {
    delete s;
    return;
  }
  try {
    rt->at(to.core).post_foreign(envelope{envelope::signal, to.index, to.serial, s});
  } catch (...) {
    delete s;
  }
}

namespace {
// post_signal takes ownership of every signal_rec (it queues or deletes it), which the
// analyzer cannot follow through the queues.
// NOLINTBEGIN(clang-analyzer-cplusplus.NewDeleteLeaks)
// DOWN for monitor `ref` on `who` to `watcher` (across nodes, a MONITOR_P_EXIT).
void send_down(const pid& watcher, std::uint64_t ref, const pid& who, const exit_reason& reason) {
  if (watcher.node != 0) {
    dist::monitor_fired(watcher, ref, who, reason);
  } else {
    post_signal(watcher, new signal_rec{signal_rec::down, false, who, ref, reason});
  }
}

void post(const pid& to, signal_rec::kind_t kind, const pid& from, std::uint64_t ref = 0,
          exit_reason reason = {}, bool from_link = false) {
  auto* s = new signal_rec{kind, from_link, from, ref, std::move(reason)};
  post_signal(to, s);
}
// NOLINTEND(clang-analyzer-cplusplus.NewDeleteLeaks)

// Removes the monitor `ref` from those `p` holds; false if it holds no such monitor.
bool drop_watching(pcb* p, std::uint64_t ref) noexcept {
  if (p->ext == nullptr) return false;
  auto& w = p->ext->watching;
  auto it =
      std::find_if(w.begin(), w.end(), [ref](const pcb_ext::watch& x) { return x.ref == ref; });
  if (it == w.end()) return false;
  *it = w.back();
  w.pop_back();
  return true;
}
}  // namespace

bool is_down_for(const message_node* n, std::uint64_t ref) noexcept {
  using down = std::tuple<atom<"DOWN">, monitor_ref, pid, exit_reason>;
  return n->type == type_id<down>() &&
         std::get<1>(static_cast<const typed_node<down>*>(n)->value).id == ref;
}

std::uint64_t loop::next_ref() noexcept {
  if (ref_next_ == ref_end_) {
    ref_next_ = rt_.reserve_refs(256);
    ref_end_ = ref_next_ + 256;
  }
  return ref_next_++;
}

void loop::schedule_exit(pcb* p, const exit_reason& reason) noexcept {
  pcb_ext& e = ext_of(p);
  if (e.exit_scheduled) return;
  e.exit_scheduled = true;
  try {
    if (p->exit == nullptr) {
      p->exit = new exit_reason(reason);
    } else {
      *p->exit = reason;
    }
  } catch (...) {
  }
  // A process still in flight to this core dies when it arrives (see adopt).
  if (p->state != proc_state::created) exits_.push_back(p);
}

void loop::handle_signal(std::uint32_t index, std::uint64_t serial, signal_rec* s) noexcept {
  slot* sl = rt_.table().find(index);
  pcb* p = nullptr;
  if (sl != nullptr && serial != 0 && sl->serial.load(std::memory_order_acquire) == serial) {
    p = sl->proc;
  }
  const pid target{index, static_cast<std::uint16_t>(index_), 0, serial};
  try {
    if (p != nullptr && p->foreign != nullptr) {
      // A scoped_process cannot die: it traps exits and keeps no links or monitors.
      if (s->kind == signal_rec::exit) {
        deliver(p, make_message(atom<"EXIT">{}, s->from, s->reason));
      }
      delete s;
      return;
    }
    switch (s->kind) {
      case signal_rec::link:
        if (p == nullptr) {
          post(s->from, signal_rec::exit, target, 0, exit_reason::noproc(), true);
        } else if (std::find(ext_of(p).links.begin(), ext_of(p).links.end(), s->from) ==
                   ext_of(p).links.end()) {
          ext_of(p).links.push_back(s->from);
        }
        break;
      case signal_rec::unlink:
        if (p != nullptr && p->ext != nullptr) erase_pid(p->ext->links, s->from);
        break;
      case signal_rec::monitor:
        if (p == nullptr) {
          send_down(s->from, s->ref, target, exit_reason::noproc());
        } else {
          ext_of(p).watchers.push_back({s->ref, s->from});
        }
        break;
      case signal_rec::demonitor:
        if (p != nullptr && p->ext != nullptr) {
          std::erase_if(p->ext->watchers, [&](const pcb_ext::watch& w) { return w.ref == s->ref; });
        }
        break;
      case signal_rec::down:
        // Only a monitor still held fires: demonitor() has already dropped its entry.
        if (p != nullptr && drop_watching(p, s->ref)) {
          deliver(p, make_message(atom<"DOWN">{}, monitor_ref{s->ref}, s->from, s->reason));
        }
        break;
      case signal_rec::exit:
        if (p == nullptr) break;
        if (s->from_link && (p->ext == nullptr || !erase_pid(p->ext->links, s->from))) {
          break;  // the link is gone (unlinked): the signal is void
        }
        if (s->reason.what() == exit_reason::kind::kill && !s->from_link) {
          schedule_exit(p, exit_reason::killed());
        } else if (p->trap_exit) {
          deliver(p, make_message(atom<"EXIT">{}, s->from, s->reason));
        } else if (!s->reason.is_normal() || s->from == p->self) {
          schedule_exit(p, s->reason);  // exit(self(), normal) ends the caller, as in Erlang
        }
        break;
    }
  } catch (...) {
    // Out of memory while recording a link or a message: the signal is lost, not the core.
  }
  delete s;
}

void loop::announce_exit(pcb* p, const exit_reason& reason) noexcept {
  pcb_ext& e = *p->ext;
  try {
    for (const pid& l : e.links) post(l, signal_rec::exit, p->self, 0, reason, true);
    for (const auto& w : e.watchers) {
      send_down(w.other, w.ref, p->self, reason);
    }
    for (const auto& w : e.watching) post(w.other, signal_rec::demonitor, p->self, w.ref);
  } catch (...) {
  }
}

}  // namespace detail

void link(const pid& p) {
  detail::pcb* me = detail::running_process("link()");
  if (p == me->self) return;
  auto& links = detail::ext_of(me).links;
  if (std::find(links.begin(), links.end(), p) != links.end()) return;
  links.push_back(p);
  detail::post(p, detail::signal_rec::link, me->self);
}

void unlink(const pid& p) {
  detail::pcb* me = detail::running_process("unlink()");
  if (me->ext != nullptr) detail::erase_pid(me->ext->links, p);
  detail::post(p, detail::signal_rec::unlink, me->self);
}

namespace detail {
std::uint64_t add_watching(const pid& target) {
  pcb* me = running_process("monitor()");
  const std::uint64_t ref = t_loop->next_ref();
  ext_of(me).watching.push_back({ref, target});
  return ref;
}
}  // namespace detail

monitor_ref monitor(const pid& p) {
  const monitor_ref ref{detail::add_watching(p)};
  detail::post(p, detail::signal_rec::monitor, detail::t_current->self, ref.id);
  return ref;
}

bool demonitor(const monitor_ref& ref, bool flush) {
  detail::pcb* me = detail::running_process("demonitor()");
  bool found = false;
  if (me->ext != nullptr) {
    auto& w = me->ext->watching;
    auto it = std::find_if(w.begin(), w.end(), [&](const auto& x) { return x.ref == ref.id; });
    if (it != w.end()) {
      detail::post(it->other, detail::signal_rec::demonitor, me->self, ref.id);
      *it = w.back();
      w.pop_back();
      found = true;
    }
  }
  // With the entry gone, a DOWN still in flight is dropped when it arrives (see
  // signal_rec::down): only one already in the mailbox can be left, and flush takes it.
  if (flush) {
    me->mailbox.erase_after_if(
        nullptr, [ref](const detail::message_node* n) { return detail::is_down_for(n, ref.id); });
  }
  return found;
}

void exit(const pid& p, exit_reason reason) {
  const pid from = detail::t_current != nullptr ? detail::t_current->self : pid{};
  detail::post(p, detail::signal_rec::exit, from, 0, std::move(reason));
}

void exit(exit_reason reason) {
  throw process_exit(std::move(reason));
}

bool trap_exit(bool on) {
  detail::pcb* me = detail::running_process("trap_exit()");
  return std::exchange(me->trap_exit, on);
}

std::string to_string(const monitor_ref& r) {
  return "#Reference<0." + std::to_string(r.id) + ">";
}

std::ostream& operator<<(std::ostream& os, const monitor_ref& r) {
  return os << to_string(r);
}

}  // namespace coproc
