// lib/core/runtime.cpp - the runtime object, and the services templates call:
// spawning, routing a message to its core, self/alive, timers of the current core.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>

#include "coproc/coproc.hpp"
#include "coproc/log.hpp"
#include "lib/core/cpus.hpp"
#include "lib/core/loop.hpp"
#include "lib/core/runtime_impl.hpp"
#include "lib/dist/node_state.hpp"
#include "lib/io/choose_backend.hpp"
#include "lib/otp/signals.hpp"

namespace coproc {
namespace detail {

std::atomic<runtime_impl*> g_runtime{nullptr};

runtime_impl* current_runtime() noexcept {
  if (t_loop != nullptr) return &t_loop->rt();
  return g_runtime.load(std::memory_order_acquire);
}

namespace {

options normalized(options o, std::size_t usable) {
  if (o.cores == 0) o.cores = default_cores(usable);  // COPROC_CORES, else the usable CPUs
  if (o.cores >= 1023) throw std::invalid_argument("coproc: options.cores must be below 1023");
  return o;
}

std::int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

runtime_impl::runtime_impl(const options& opts) : opts_(normalized(opts, cpus_.size())) {
  runtime_impl* expected = nullptr;
  if (!g_runtime.compare_exchange_strong(expected, this, std::memory_order_acq_rel)) {
    throw std::logic_error("coproc: a runtime already exists; only one may run at a time");
  }
  try {
    barrier_ = std::make_unique<std::barrier<>>(static_cast<std::ptrdiff_t>(opts_.cores));
    backend_ = choose_backend(opts_.backend);
    loops_.reserve(opts_.cores);
    try {
      for (unsigned i = 0; i < opts_.cores; ++i) {
        loops_.push_back(std::make_unique<loop>(*this, i, backend_));
      }
    } catch (const std::system_error& e) {
      // The probe ring worked but this many did not (ENOMEM: the locked-memory limit
      // holds a few rings, not one per core): every loop goes to epoll, if allowed.
      if (backend_ != io_backend_kind::io_uring || opts_.backend == io_backend_kind::io_uring ||
          !means_io_uring_unavailable(e.code().value())) {
        throw;
      }
      tell_fallback(std::string(e.what()) + " for core " + std::to_string(loops_.size()));
      loops_.clear();
      backend_ = io_backend_kind::epoll;
      for (unsigned i = 0; i < opts_.cores; ++i) {
        loops_.push_back(std::make_unique<loop>(*this, i, backend_));
      }
    }
    if (opts_.clock != nullptr) {
      opts_.clock->on_advance([this] {
        for (auto& l : loops_) l->force_wake();
      });
    }
    threads_.reserve(opts_.cores);
    for (auto& l : loops_) threads_.emplace_back([lp = l.get()] { lp->run(); });
  } catch (...) {
    stopping_.store(true, std::memory_order_release);
    for (auto& l : loops_) l->force_wake();
    for (auto& t : threads_) t.join();
    g_runtime.store(nullptr, std::memory_order_release);
    throw;
  }
}

runtime_impl::~runtime_impl() {
  dist::runtime_ended();  // its processes (listener, connections) end with the loops
  stopping_.store(true, std::memory_order_release);
  for (auto& l : loops_) l->force_wake();
  for (auto& t : threads_) t.join();
  if (opts_.clock != nullptr) opts_.clock->on_advance(nullptr);
  g_runtime.store(nullptr, std::memory_order_release);
}

std::int64_t runtime_impl::now_ns() const noexcept {
  return opts_.clock != nullptr ? opts_.clock->now_ns() : steady_ns();
}

void runtime_impl::begin_main() {
  std::lock_guard lock(main_mu_);
  if (main_running_) throw std::logic_error("coproc: runtime::run() is already running");
  main_running_ = true;
}

void runtime_impl::finish_main(int rc) {
  {
    std::lock_guard lock(main_mu_);
    if (failed_.load(std::memory_order_relaxed)) return;  // run() already returned 1
    main_running_ = false;
    main_rc_ = rc;
  }
  main_cv_.notify_all();
}

void runtime_impl::fail(std::string_view why) noexcept {
  if (failed_.exchange(true, std::memory_order_acq_rel)) return;  // acq_rel: one reporter
  log(log_level::error, why);
  {
    std::lock_guard lock(main_mu_);
    main_running_ = false;
    main_rc_ = 1;
  }
  main_cv_.notify_all();
}

int runtime_impl::wait_main() {
  std::unique_lock lock(main_mu_);
  // A core may have failed before run() began (its first sleep in the backend): failed_
  // is set before fail() takes main_mu_, so this check under the lock cannot miss it.
  main_cv_.wait(lock, [this] { return !main_running_ || failed_.load(std::memory_order_relaxed); });
  return failed_.load(std::memory_order_relaxed) ? 1 : main_rc_;
}

namespace {

pid start(std::coroutine_handle<> frame, pcb** owner_field, const spawn_options& opts,
          bool is_main) {
  const int core = opts.core;
  runtime_impl* rt = current_runtime();
  if (rt == nullptr) throw std::logic_error("coproc: spawn needs a running coproc::runtime");
  if (rt->stopping()) {  // spawned by a destructor during shutdown: never runs
    frame.destroy();
    return pid{};
  }
  loop* here = t_loop;
  pcb* parent = t_current;
  if ((opts.link || opts.monitor) && parent == nullptr) {
    frame.destroy();
    throw std::logic_error("coproc: spawn_link/spawn_monitor must be called from a process");
  }
  unsigned target = 0;
  if (core >= 0) {
    target = static_cast<unsigned>(core);
    if (target >= rt->cores()) throw std::out_of_range("coproc: spawn_on: no such core");
  } else {
    target = here != nullptr ? here->pick_spawn_core() : rt->round_robin();
  }

  auto* p = ::new (small_alloc(sizeof(pcb))) pcb{};
  *owner_field = p;
  p->root = frame;
  p->resume_point = frame;
  p->home = &rt->at(target);
  p->is_main = is_main;
  std::uint32_t index = 0;
  std::uint64_t serial = 0;
  if (here != nullptr) {
    index = here->allocate_index();
    serial = here->next_serial();
  } else {
    index = rt->table().reserve_fresh(1);
    serial = rt->reserve_numbers(1);
  }
  const pid id{index, static_cast<std::uint16_t>(target), 0, serial};
  p->self = id;
  if (opts.link || opts.monitor) {
    // Before the child is published, so it can never run unlinked or unmonitored.
    p->ext = new pcb_ext;
    if (parent->ext == nullptr) parent->ext = new pcb_ext;
    if (opts.link) {
      p->ext->links.push_back(parent->self);
      parent->ext->links.push_back(id);
    }
    if (opts.monitor) {
      const std::uint64_t ref = here->next_ref();
      p->ext->watchers.push_back({ref, parent->self});
      parent->ext->watching.push_back({ref, id});
      *opts.monitor_id = ref;
    }
  }
  slot* s = rt->table().find(index);
  s->proc = p;
  // release: the pcb above is complete before anyone can match this serial.
  s->serial.store(serial, std::memory_order_release);

  if (here != nullptr && target == here->index()) {
    here->adopt(p);
  } else if (here != nullptr) {
    here->send_remote(target, envelope{envelope::start, index, serial, p});
  } else {
    rt->at(target).post_foreign(envelope{envelope::start, index, serial, p});
  }
  return id;  // not p->self: the target core may already have run and freed p
}

}  // namespace

pid start_process(std::coroutine_handle<> frame, pcb** owner_field, const spawn_options& opts) {
  return start(frame, owner_field, opts, false);
}

void route(const pid& to, message_node* n) noexcept {
  if (to.node != 0) [[unlikely]] {
    dist::send_out(to, n);
    return;
  }
  if (loop* here = t_loop; here != nullptr) {
    runtime_impl& rt = here->rt();
    if (to.core == here->index() && to.node == 0 && !rt.stopping()) {
      here->deliver_local(to.index, to.serial, n);
    } else if (to.core < rt.cores() && to.node == 0 && to.serial != 0 && !rt.stopping()) {
      try {
        here->send_remote(to.core, envelope{envelope::deliver, to.index, to.serial, n});
      } catch (...) {
        destroy(n);  // out of memory for the spill queue
      }
    } else {
      destroy(n);
    }
    return;
  }
  runtime_impl* rt = g_runtime.load(std::memory_order_acquire);
  if (rt == nullptr || rt->stopping() || to.core >= rt->cores() || to.node != 0 || to.serial == 0) {
    destroy(n);
    return;
  }
  n->next = nullptr;  // a chain of one
  try {
    rt->at(to.core).post_foreign(envelope{envelope::deliver, to.index, to.serial, n});
  } catch (...) {
    destroy(n);
  }
}

void record_exit(pcb* p, std::exception_ptr e) noexcept {
  if (p->ext != nullptr && p->ext->exit_scheduled) return;  // already doomed by a signal
  try {
    exit_reason reason;
    bool is_exit = false;  // exit(reason) is seen through links and monitors, not logged
    try {
      std::rethrow_exception(std::move(e));
    } catch (const process_exit& x) {
      reason = x.reason();
      is_exit = true;
    } catch (const std::exception& ex) {
      reason = exit_reason::exception(ex.what());
    } catch (...) {
      reason = exit_reason::exception("unknown exception");
    }
    if (reason.is_normal()) return;
    p->crashed = !is_exit;
    delete p->exit;
    p->exit = new exit_reason(std::move(reason));
  } catch (...) {
    // Out of memory while recording why: it ends as if normally.
  }
}

std::int64_t now_ns() noexcept {
  runtime_impl* rt = current_runtime();
  return rt != nullptr ? rt->now_ns() : steady_ns();
}

void arm_timer(timer_node* t, std::int64_t deadline) noexcept {
  t->deadline = deadline;
  timer_wheel& wheel = t_loop->timers();
  // An empty wheel may not have seen the time for a while: tell it, so this deadline
  // lands in a low level. One clock read, only when the core has no other timer.
  if (wheel.empty()) wheel.catch_up(t_loop->rt().now_ns());
  wheel.push(t);
}

void arm_timer_after(timer_node* t, std::int64_t delay) noexcept {
  loop& l = *t_loop;
  if (l.defers_arms()) {
    l.timers().push_after(t, delay);
  } else {
    arm_timer(t, deadline_after(l.rt().now_ns(), delay));
  }
}

void disarm_timer(timer_node* t) noexcept {
  if (t->armed() && t_loop != nullptr) t_loop->timers().remove(t);
}

void yield_current(std::coroutine_handle<> h) noexcept {
  pcb* p = t_current;
  p->resume_point = h;
  p->home->make_runnable(p);
}

pcb* just_spawned(const pid& p) noexcept {
  return t_loop->rt().table().find(p.index)->proc;
}

void drop_spawn_link(pcb* caller, pcb* child) noexcept {
  if (caller->ext != nullptr) std::erase(caller->ext->links, child->self);
  if (child->ext != nullptr) std::erase(child->ext->links, caller->self);
}

void throw_outside_process(const char* what) {
  throw std::logic_error(std::string("coproc: ") + what + " called outside a process");
}

}  // namespace detail

pid self() {
  if (detail::t_current == nullptr) detail::throw_outside_process("self()");
  return detail::t_current->self;
}

bool alive(const pid& p) noexcept {
  detail::runtime_impl* rt = detail::current_runtime();
  if (rt == nullptr || p.node != 0 || p.serial == 0) return false;
  const detail::slot* s = rt->table().find(p.index);
  return s != nullptr && s->serial.load(std::memory_order_acquire) == p.serial;
}

std::string to_string(const pid& p) {
  return "#PID<" + std::to_string(p.node) + "." + std::to_string(p.serial) + "." +
         std::to_string(p.core) + ">";
}

std::ostream& operator<<(std::ostream& os, const pid& p) {
  return os << to_string(p);
}

std::vector<core_stats> runtime_stats() {
  std::vector<core_stats> out;
  if (detail::runtime_impl* rt = detail::current_runtime(); rt != nullptr) {
    for (unsigned c = 0; c < rt->cores(); ++c) out.push_back(rt->at(c).stats());
  }
  return out;
}

namespace detail {
void report_start_failure(const std::system_error& e) noexcept {
  try {
    log(log_level::error, std::string("cannot start the runtime: ") + e.what());
  } catch (...) {
  }
}
}  // namespace detail

runtime::runtime(options opts) : impl_(std::make_unique<detail::runtime_impl>(opts)) {}

runtime::~runtime() = default;

unsigned runtime::cores() const noexcept {
  return impl_->cores();
}

io_backend_kind runtime::backend() const noexcept {
  return impl_->backend();
}

core_stats runtime::stats(unsigned core) const noexcept {
  return core < impl_->cores() ? impl_->at(core).stats() : core_stats{};
}

int runtime::run_main(std::coroutine_handle<> frame, detail::pcb** owner_field) {
  if (detail::t_loop != nullptr) {
    frame.destroy();
    throw std::logic_error("coproc: runtime::run() called from inside a process");
  }
  try {
    impl_->begin_main();
  } catch (...) {
    frame.destroy();
    throw;
  }
  detail::start(frame, owner_field, detail::spawn_options{.core = 0}, true);
  return impl_->wait_main();
}

}  // namespace coproc
