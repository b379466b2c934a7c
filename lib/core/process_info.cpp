// lib/core/process_info.cpp - process_info(): the asker's side, and the home core's
// answer built from the pcb on its own thread.
#include "coproc/process_info.hpp"

#include <memory>
#include <utility>

#include "coproc/call.hpp"
#include "coproc/receive.hpp"
#include "coproc/scoped_process.hpp"
#include "coproc/task.hpp"
#include "lib/core/loop.hpp"
#include "lib/core/runtime_impl.hpp"
#include "lib/otp/signals.hpp"

namespace coproc {
namespace detail {
namespace {

// The answer. A reply_base: delivery drops it once the asker stopped waiting.
struct process_info_reply : reply_base {
  std::optional<process_details> info;
};

std::optional<process_details> describe(runtime_impl& rt, const pid& who) {
  slot* s = rt.table().find(who.index);
  // acquire: pairs with the spawner's release, as in deliver_local.
  if (s == nullptr || s->serial.load(std::memory_order_acquire) != who.serial) return {};
  pcb* p = s->proc;
  if (p->state == proc_state::exiting) return {};
  process_details d;
  d.who = who;
  d.core = who.core;
  if (p->foreign != nullptr) {
    std::lock_guard lock(p->foreign->mu);  // a scoped_process's box is shared with its thread
    d.message_queue_len = p->foreign->messages.size();
  } else {
    d.message_queue_len = p->mailbox.size();
  }
  d.registered_name = rt.name_of(who);
  if (p->ext != nullptr) {
    d.links = p->ext->links;
    for (const auto& w : p->ext->watching) d.monitors.push_back(w.other);
    for (const auto& w : p->ext->watchers) d.monitored_by.push_back(w.other);
  }
  d.waiting_in_receive = p->state == proc_state::waiting && p->waiting != nullptr;
  d.trap_exit = p->trap_exit;
  return d;
}

}  // namespace

void loop::inspect_process(void* raw) noexcept {
  std::unique_ptr<process_info_req> req(static_cast<process_info_req*>(raw));
  try {
    process_info_reply r;
    r.ref = req->ref;
    r.info = describe(rt_, req->target);
    route(req->reply_to, make_message(std::move(r)));
  } catch (...) {  // out of memory: the asker times out
  }
}

}  // namespace detail

subroutine<std::optional<process_details>> process_info(pid p, std::chrono::milliseconds timeout) {
  using detail::t_loop;
  if (detail::t_current == nullptr) detail::throw_outside_process("process_info()");
  if (!p || p.node != 0 || p.core >= t_loop->rt().cores()) co_return std::nullopt;
  const std::uint64_t ref = detail::begin_task();  // an alias: a late answer is dropped
  auto* req = new detail::process_info_req{p, self(), ref};
  if (p.core == t_loop->index()) {
    t_loop->inspect_process(req);
  } else {
    try {
      t_loop->send_remote(p.core, detail::envelope{detail::envelope::inspect_process, 0, 0, req});
    } catch (...) {
      delete req;
      detail::forget_call(ref);
      throw;
    }
  }
  using reply = detail::process_info_reply;
  std::optional<process_details> got =
      co_await receive(when([ref](const reply& r) { return r.ref == ref; },
                            [](reply r) { return std::move(r.info); }),
                       after(timeout, [] { return std::optional<process_details>{}; }));
  detail::forget_call(ref);
  co_return got;
}

}  // namespace coproc
