// lib/otp/call.cpp - the caller's bookkeeping for call(): monitor, alias, mailbox mark.
#include <algorithm>

#include "coproc/call.hpp"
#include "lib/core/loop.hpp"
#include "lib/otp/signals.hpp"

namespace coproc::detail {

std::uint64_t begin_call(const pid& server, message_node** mark) {
  pcb* me = t_current;
  if (me == nullptr) throw_outside_process("call()");
  *mark = me->tail;  // the reply and the DOWN can only come after this
  const monitor_ref ref = monitor(server);
  me->ext->aliases.push_back(ref.id);  // monitor() made ext
  return ref.id;
}

void forget_call(std::uint64_t ref) noexcept {
  pcb* me = t_current;
  if (me == nullptr || me->ext == nullptr) return;
  std::erase(me->ext->aliases, ref);
}

void end_call(std::uint64_t ref) noexcept {
  forget_call(ref);
  try {
    demonitor(monitor_ref{ref}, true);
  } catch (...) {
  }
}

}  // namespace coproc::detail
