// lib/core/scoped_process.cpp - the stand-in process behind a scoped_process.
//
// The stand-in is a pcb with `foreign` set, homed on core 0: core 0's loop routes its
// messages into the foreign_box under the box's mutex. Closing posts the stand-in back
// to core 0, which frees its slot and the box, so a delivery can never race the free.
#include <stdexcept>

#include "coproc/scoped_process.hpp"
#include "lib/core/loop.hpp"
#include "lib/core/runtime_impl.hpp"

namespace coproc {
namespace detail {

pid open_foreign(foreign_box* box) {
  runtime_impl* rt = current_runtime();
  if (rt == nullptr) throw std::logic_error("coproc: scoped_process needs a live runtime");
  auto* p = new pcb{};
  p->foreign = box;
  p->home = &rt->at(0);
  const std::uint32_t index = rt->table().reserve_fresh(1);
  const std::uint64_t serial = rt->reserve_numbers(1);
  p->self = pid{index, 0, 0, serial};
  slot* s = rt->table().find(index);
  s->proc = p;
  // release: the stand-in is complete before core 0 can match its serial.
  s->serial.store(serial, std::memory_order_release);
  return p->self;
}

void free_stand_in(pcb* p) noexcept {
  foreign_box* box = p->foreign;
  destroy_chain(box->messages.take_all());
  delete box;
  delete p;
}

void close_foreign(const pid& self, foreign_box* box) noexcept {
  runtime_impl* rt = current_runtime();
  if (rt == nullptr) return;  // the runtime is gone; it cannot have freed the stand-in
  slot* s = rt->table().find(self.index);
  pcb* p = s->proc;
  if (rt->stopping()) {
    // Core 0 may already be past its last drain: clear the slot and free here.
    s->serial.store(0, std::memory_order_release);
    free_stand_in(p);
    return;
  }
  (void)box;
  try {
    rt->at(0).post_foreign(envelope{envelope::close_foreign, self.index, self.serial, p});
  } catch (...) {
    s->serial.store(0, std::memory_order_release);
  }
}

}  // namespace detail

scoped_process::scoped_process() : box_(new detail::foreign_box) {
  try {
    pid_ = detail::open_foreign(box_);
  } catch (...) {
    delete box_;
    throw;
  }
}

scoped_process::~scoped_process() {
  detail::close_foreign(pid_, box_);
}

std::size_t scoped_process::mailbox_size() const {
  std::lock_guard lock(box_->mu);
  return box_->messages.size();
}

}  // namespace coproc
