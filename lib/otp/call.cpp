// lib/otp/call.cpp - the caller's bookkeeping for call(): monitor, alias, mailbox mark.
#include <algorithm>

#include "coproc/call.hpp"
#include "coproc/task.hpp"
#include "lib/core/loop.hpp"
#include "lib/core/runtime_impl.hpp"
#include "lib/otp/signals.hpp"

namespace coproc::detail {

std::uint64_t begin_call(const pid& server, message_node** mark) {
  pcb* me = t_current;
  if (me == nullptr) throw_outside_process("call()");
  // pid{} (what whereis gives while a name is free) and a pid of a core that does not
  // exist name no process that ever lived: fail now, as Erlang's noproc exit does,
  // instead of waiting for a DOWN that no monitor can send.
  if (!server || (server.node == 0 && server.core >= t_loop->rt().cores())) {
    throw call_error(exit_reason::noproc());
  }
  *mark = me->mailbox.back();  // the reply and the DOWN can only come after this
  const monitor_ref ref = monitor(server);
  me->ext->aliases.push_back({ref.id, *mark});  // monitor() made ext
  return ref.id;
}

namespace {
// Removes the call's alias; returns its mark.
message_node* drop_alias(pcb* me, std::uint64_t ref) noexcept {
  if (me == nullptr || me->ext == nullptr) return nullptr;
  auto& v = me->ext->aliases;
  auto it = std::find_if(v.begin(), v.end(), [ref](const auto& a) { return a.ref == ref; });
  if (it == v.end()) return nullptr;
  message_node* mark = it->mark;
  *it = v.back();
  v.pop_back();
  return mark;
}
}  // namespace

void add_alias(std::uint64_t ref) {
  pcb* me = t_current;
  if (me == nullptr) throw_outside_process("gen_call()");  // async() checks first
  if (me->ext == nullptr) me->ext = new pcb_ext;
  // No mark: the caller may receive other messages before it awaits the reply, so no
  // node of today's mailbox is sure to outlive the wait.
  me->ext->aliases.push_back({ref, nullptr});
}

std::uint64_t begin_task() {
  if (t_current == nullptr) throw_outside_process("async()");
  const std::uint64_t ref = t_loop->next_ref();
  add_alias(ref);
  return ref;
}

void forget_call(std::uint64_t ref) noexcept {
  drop_alias(t_current, ref);
}

void end_call(std::uint64_t ref) noexcept {
  pcb* me = t_current;
  message_node* mark = drop_alias(me, ref);
  try {
    demonitor(monitor_ref{ref}, false);
  } catch (...) {
  }
  // A DOWN for this ref may already be queued (the server died just after replying);
  // it can only be after the mark, so the flush does not scan the old mailbox.
  me->mailbox.erase_after_if(mark, [ref](const message_node* n) { return is_down_for(n, ref); });
}

}  // namespace coproc::detail
