// lib/core/loop.cpp - the run loop of one core.
//
// Each turn of loop::run():
//   1. drain_inbound   - take messages, new processes and timers sent by other cores,
//                        first, so a process woken by them runs in this same turn;
//   2. fire_due_timers - expire `after` timeouts, sleeps and send_after (reads the
//                        clock only when a timer is pending); the same read gives
//                        the receive timeouts armed since the last one their deadline;
//   3. run_ready       - resume up to kBatch runnable processes, in FIFO order; a
//                        bounded batch keeps timers and other cores' traffic flowing
//                        when processes keep each other busy;
//   4. flush_outbound  - retry sends that found another core's queue full, then wake
//                        the cores we sent to if they are asleep: one check per turn,
//                        not one per message;
//   5. reap_completions- deliver the I/O backend's results (io_uring: no syscall, the
//                        CQ is shared memory; epoll: a readiness poll now and then);
//   6. idle            - with nothing to do, poll for `spin` (unless every other loop
//                        shares this CPU), then sleep in the backend until a wakeup,
//                        an I/O result or the nearest timer deadline.
// Between 3 and 4 the turn's I/O submissions go to the kernel at once (io_->flush()).
#include "lib/core/loop.hpp"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "coproc/crash_report.hpp"
#include "coproc/scoped_process.hpp"
#include "lib/core/runtime_impl.hpp"
#include "lib/otp/signals.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define COPROC_CPU_RELAX() _mm_pause()
#else
#define COPROC_CPU_RELAX() std::this_thread::yield()
#endif

namespace coproc::detail {

thread_local constinit loop* t_loop = nullptr;
thread_local constinit pcb* t_current = nullptr;

namespace {

constexpr unsigned kBatch = 256;            // resumes per turn
constexpr unsigned kSettleEvery = 64;       // resumes between clock reads for pending arms
constexpr unsigned kFifoShare = 16;         // of which at least these come from the queue's back
constexpr unsigned kPlacementPeriod = 256;  // spawns between placement decisions
constexpr std::size_t kSpillAbove = 128;    // runnable processes before spawns spill over
constexpr std::uint32_t kFreshBlock = 256;  // table indices reserved at a time
constexpr std::uint32_t kChainMax = 256;    // messages per cross-core envelope
constexpr std::uint32_t kWakeEvery = 64;    // envelopes to a core between mid-turn wakes

void bump(std::atomic<std::uint64_t>& c) noexcept {
  // Only the owner writes: a plain load and store, no read-modify-write.
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

}  // namespace

loop::loop(runtime_impl& rt, unsigned index, io_backend_kind backend)
    : rt_(rt),
      index_(index),
      ncores_(rt.opts().cores),
      // A lone loop has no peer whose message a spin could catch: only I/O, timers and
      // foreign threads (which write the eventfd) can wake it, and spinning would take
      // the CPU from the kernel and the programs that produce them.
      may_spin_(rt.opts().spin.count() > 0 && rt.opts().cores > 1 &&
                rt.opts().cores <= rt.cpus().size()),
      defers_arms_(rt.opts().clock == nullptr),
      overflow_(rt.opts().cores),
      wake_listed_(rt.opts().cores, false),
      spawn_target_(index) {
  chains_.resize(ncores_);
  spawned_to_.resize(ncores_, 0);
  pushed_since_wake_.resize(ncores_, 0);
  chained_.reserve(ncores_);  // a core is listed at most once: push_back never allocates
  inbound_.reserve(ncores_);
  for (unsigned i = 0; i < ncores_; ++i) {
    inbound_.push_back(
        std::make_unique<boost::lockfree::spsc_queue<envelope, boost::lockfree::capacity<1024>>>());
  }
  io_ = make_backend(backend, [this](const std::string& why) {
    rt_.fail("core " + std::to_string(index_) + ": " + why + "; the runtime stops");
  });
}

loop::~loop() = default;

void loop::run() {
  t_loop = this;
  if (rt_.opts().pin_threads) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(rt_.cpus()[index_ % rt_.cpus().size()], &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  }
  while (!rt_.stopping()) {
    bool worked = drain_inbound();
    worked |= fire_due_timers();
    worked |= run_ready();
    io_->flush();  // this turn's I/O, in one syscall
    flush_outbound();
    worked |= reap_completions();
    if (!worked && rq_head_ == nullptr) idle();
  }
  shut_down();
  t_loop = nullptr;
}

// ---- 1. other cores' traffic ----

bool loop::drain_inbound() {
  bool any = false;
  for (unsigned c = 0; c < ncores_; ++c) {
    if (c == index_) continue;
    any |= inbound_[c]->consume_all([this](const envelope& e) { handle(e); }) > 0;
  }
  if (foreign_pending_.load(std::memory_order_acquire)) {
    std::vector<envelope> batch;
    {
      std::lock_guard lock(foreign_mu_);
      batch.swap(foreign_);
      foreign_pending_.store(false, std::memory_order_relaxed);
    }
    for (const envelope& e : batch) handle(e);
    any = true;
  }
  if (!exits_.empty()) run_exits();
  return any;
}

struct delayed_send;
void arm_delayed(loop& l, delayed_send* d) noexcept;  // lib/time/send_after.cpp
void free_stand_in(pcb* p) noexcept;                  // lib/core/scoped_process.cpp

void loop::handle(const envelope& e) {
  switch (e.kind) {
    case envelope::deliver:
      deliver_chain(e.index, e.serial, static_cast<message_node*>(e.ptr));
      break;
    case envelope::start:
      bump(adopted_from_others_);
      adopt(static_cast<pcb*>(e.ptr));
      break;
    case envelope::close_foreign: {
      auto* p = static_cast<pcb*>(e.ptr);
      rt_.table().find(p->self.index)->serial.store(0, std::memory_order_release);
      free_indices_.push_back(p->self.index);
      free_stand_in(p);
      break;
    }
    case envelope::arm_send:
      arm_delayed(*this, static_cast<delayed_send*>(e.ptr));
      break;
    case envelope::signal:
      handle_signal(e.index, e.serial, static_cast<signal_rec*>(e.ptr));
      break;
    case envelope::inspect:
      inspect_mailboxes(e.ptr);
      break;
    case envelope::inspect_process:
      inspect_process(e.ptr);
      break;
    case envelope::task: {
      auto* t = static_cast<core_task*>(e.ptr);
      t->run(t);
      break;
    }
  }
}

// ---- delivery (owner thread) ----

pcb* loop::live_process(std::uint32_t index, std::uint64_t serial) const noexcept {
  slot* s = rt_.table().find(index);
  // acquire: pairs with the spawner's release, so the pcb is fully built.
  if (s == nullptr || serial == 0 || s->serial.load(std::memory_order_acquire) != serial) {
    return nullptr;
  }
  return s->proc;
}

void loop::deliver_local(std::uint32_t index, std::uint64_t serial, message_node* n) noexcept {
  pcb* p = live_process(index, serial);
  if (p == nullptr) {
    destroy(n);  // dead or never alive: dropped, as in Erlang
    return;
  }
  deliver(p, n);
}

void loop::deliver(pcb* p, message_node* n) noexcept {
  if (p->foreign != nullptr) {
    foreign_box* box = p->foreign;
    {
      std::lock_guard lock(box->mu);
      box->messages.push_back(n);
    }
    box->arrived.notify_one();
    return;
  }
  if (n->type->reply_ref != nullptr) [[unlikely]] {
    const std::uint64_t ref = n->type->reply_ref(n);
    if (p->ext == nullptr ||
        std::none_of(p->ext->aliases.begin(), p->ext->aliases.end(),
                     [ref](const pcb_ext::alias& a) { return a.ref == ref; })) {
      destroy(n);  // the call gave up waiting: drop the late reply
      return;
    }
  }
  message_node* prev = p->mailbox.back();
  p->mailbox.push_back(n);
  bump(n_messages_);
  receive_wait* w = p->waiting;
  if (w != nullptr && w->try_match(w, prev, n)) {
    p->waiting = nullptr;
    if (w->timer.armed()) timers_.remove(&w->timer);
    make_runnable_soon(p);
  }
}

void loop::make_runnable(pcb* p) noexcept {
  if (p->parked) [[unlikely]] {
    p->woken_while_parked = true;
    return;
  }
  p->state = proc_state::runnable;
  p->next_runnable = nullptr;
  p->prev_runnable = rq_tail_;
  if (rq_tail_ != nullptr) {
    rq_tail_->next_runnable = p;
  } else {
    rq_head_ = p;
  }
  rq_tail_ = p;
  ++rq_len_;
}

void loop::remove_runnable(pcb* p) noexcept {
  if (front_last_ == p) front_last_ = p->prev_runnable;
  if (p->prev_runnable != nullptr) {
    p->prev_runnable->next_runnable = p->next_runnable;
  } else {
    rq_head_ = p->next_runnable;
  }
  if (p->next_runnable != nullptr) {
    p->next_runnable->prev_runnable = p->prev_runnable;
  } else {
    rq_tail_ = p->prev_runnable;
  }
  p->next_runnable = p->prev_runnable = nullptr;
  --rq_len_;
}

void loop::adopt(pcb* p) noexcept {
  p->all_prev = nullptr;
  p->all_next = all_;
  if (all_ != nullptr) all_->all_prev = p;
  all_ = p;
  bump(n_processes_);
  bump(n_spawned_);
  if (p->ext != nullptr && p->ext->exit_scheduled) {
    // An exit signal (kill, a link's abnormal exit) reached this core before the start
    // envelope did, e.g. one sent from a third core while the spawner's queue to us had
    // spilled. It must never run: it dies with the loop's other doomed processes, before
    // any process runs, and only then are its links and monitors told.
    exits_.push_back(p);
    return;
  }
  // A new child runs before older runnable processes (depth first, like Go's runnext):
  // a spawn tree then finishes leaves while their memory is still in cache instead of
  // holding a million frames at once. Capped per turn so older processes still run.
  make_runnable_soon(p);
}

void loop::make_runnable_soon(pcb* p) noexcept {
  if (front_budget_ == 0 || p->parked) {
    make_runnable(p);
    return;
  }
  --front_budget_;
  p->state = proc_state::runnable;
  // Ahead of older processes, but after those the running process readied before it,
  // so siblings start in the order they were spawned.
  pcb* after = front_last_;
  p->prev_runnable = after;
  p->next_runnable = after != nullptr ? after->next_runnable : rq_head_;
  if (after != nullptr) {
    after->next_runnable = p;
  } else {
    rq_head_ = p;
  }
  if (p->next_runnable != nullptr) {
    p->next_runnable->prev_runnable = p;
  } else {
    rq_tail_ = p;
  }
  front_last_ = p;
  ++rq_len_;
}

void loop::deliver_chain(std::uint32_t index, std::uint64_t serial, message_node* n) noexcept {
  pcb* p = live_process(index, serial);
  if (p == nullptr) {
    destroy_chain(n);  // dead or never alive: dropped, as in Erlang
    return;
  }
  while (n != nullptr) {
    message_node* next = n->next;
    deliver(p, n);  // only readies the process: it stays alive through the chain
    n = next;
  }
}

void loop::send_remote(unsigned core, envelope e) {
  if (e.kind == envelope::deliver) {
    auto* n = static_cast<message_node*>(e.ptr);
    n->next = nullptr;
    message_chain& c = chains_[core];
    if (c.head != nullptr) {
      if (c.index == e.index && c.serial == e.serial && c.length < kChainMax) {
        c.tail->next = n;
        c.tail = n;
        ++c.length;
        return;
      }
      push_chain(core);
    }
    c.index = e.index;
    c.serial = e.serial;
    c.head = c.tail = n;
    c.length = 1;
    if (!c.listed) {  // at most once per core, so push_back stays within the reserve
      c.listed = true;
      chained_.push_back(core);
    }
    return;
  }
  // Anything else goes after the messages sent before it: per-pair order.
  if (chains_[core].head != nullptr) push_chain(core);
  push_envelope(core, e);
}

void loop::unpark(const pid& target) noexcept {
  pcb* p = live_process(target.index, target.serial);
  if (p == nullptr || !p->parked) return;
  p->parked = false;
  if (std::exchange(p->woken_while_parked, false)) make_runnable(p);
}

namespace {
struct unpark_task : core_task {
  pid target;
};
void run_unpark(core_task* c) noexcept {
  std::unique_ptr<unpark_task> t(static_cast<unpark_task*>(c));
  t_loop->unpark(t->target);
}
}  // namespace

void unpark_process(const pid& target) noexcept {
  runtime_impl* rt = current_runtime();
  if (rt == nullptr || target.node != 0 || target.core >= rt->cores()) return;
  loop& home = rt->at(target.core);
  if (t_loop == &home) {
    home.unpark(target);
    return;
  }
  try {
    auto t = std::make_unique<unpark_task>();
    t->run = &run_unpark;
    t->drop = [](core_task* c) noexcept { delete static_cast<unpark_task*>(c); };
    t->target = target;
    if (t_loop != nullptr && &t_loop->rt() == rt) {
      t_loop->send_task(target.core, t.get());
    } else {
      home.post_foreign(envelope{envelope::task, 0, 0, t.get()});
    }
    static_cast<void>(t.release());  // the envelope owns it: run or drop frees it
  } catch (...) {
    // Out of memory: it stays parked until its connection's next drain or its end.
  }
}

void loop::send_task(unsigned core, core_task* t) {
  send_remote(core, envelope{envelope::task, 0, 0, t});
}

void loop::push_chain(unsigned core) noexcept {
  message_chain& c = chains_[core];
  const envelope e{envelope::deliver, c.index, c.serial, c.head};
  c.head = c.tail = nullptr;
  c.length = 0;
  try {
    push_envelope(core, e);
  } catch (...) {
    dispose(e);  // out of memory for the spill queue: lost, as a single send would be
  }
}

void loop::flush_chains() noexcept {
  for (unsigned core : chained_) {
    chains_[core].listed = false;
    if (chains_[core].head != nullptr) push_chain(core);
  }
  chained_.clear();
}

void loop::push_envelope(unsigned core, const envelope& e) {
  auto& queue = rt_.at(core).inbound_from(index_);
  auto& spill = overflow_[core];
  // Once anything has spilled, everything after it spills too, to keep per-pair order.
  if (!spill.empty() || !queue.push(e)) {
    spill.push_back(e);
  } else if (++pushed_since_wake_[core] == kWakeEvery) {
    // A long turn (a spawn loop, a burst of sends) would otherwise leave the receiver
    // asleep until its end: wake it now, so it works while we still produce.
    pushed_since_wake_[core] = 0;
    // seq_cst: as in flush_outbound, our pushes before the read of its `sleeping`.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    rt_.at(core).wake();
  }
  if (!wake_listed_[core]) {
    wake_listed_[core] = true;
    wake_list_.push_back(core);
  }
}

void loop::publish_backlog() noexcept {
  const auto now = static_cast<std::uint32_t>(std::min<std::size_t>(rq_len_, UINT32_MAX));
  // Written only when it changes: the other cores read this line at their spawns.
  if (backlog_.load(std::memory_order_relaxed) != now) {
    backlog_.store(now, std::memory_order_relaxed);
  }
}

unsigned loop::pick_spawn_core() noexcept {
  if (ncores_ == 1) return index_;
  ++spawns_this_resume_;
  if (++spawns_since_check_ < kPlacementPeriod) {
    ++spawned_to_[spawn_target_];
    return spawn_target_;
  }
  spawns_since_check_ = 0;
  spawn_target_ = index_;
  // Our backlog as the other cores see it: the spawner has been running all along, so
  // the batch-end figure would say nothing of the processes it queued since.
  publish_backlog();
  if (rq_len_ <= kSpillAbove) return index_;  // we can run these soon ourselves
  if (spawns_this_resume_ < kPlacementPeriod) {
    // Spill the next batch to a core with nothing to do. A busy core keeps its spawns,
    // so parents, children and ring neighbours stay together and talk without atomics.
    for (unsigned i = 1; i < ncores_; ++i) {
      const unsigned c = (index_ + i) % ncores_;
      if (rt_.at(c).is_idle()) {
        spawn_target_ = c;
        break;
      }
    }
  } else {
    // A spawn loop (a whole period of spawns without suspending) holds this core, so
    // nothing it queues here starts before it ends. Its next batch goes to the core with
    // the fewest live processes (what we sent it and it has not taken in counts), ours
    // included, and on a tie to another core, where it starts at once; another core
    // only while its load is under kSpillAbove (its backlog plus that queue; the idle
    // hint is no use here, as a core still asleep when our last batch left looks idle
    // and would get every batch). Short-lived children leave the other cores empty, so
    // they get the batches and start at once; long-lived ones (a server's processes,
    // each in its receive loop) end up spread evenly instead of mostly on whichever core
    // kept up at the start.
    std::uint64_t fewest = resident();
    for (unsigned i = 1; i < ncores_; ++i) {
      const unsigned c = (index_ + i) % ncores_;
      const loop& there = rt_.at(c);
      const std::uint64_t taken = there.adopted_from_others();
      const std::uint64_t queued = spawned_to_[c] > taken ? spawned_to_[c] - taken : 0;
      const std::uint64_t residents = there.resident() + queued;
      if (there.backlog() + queued < kSpillAbove && residents <= fewest) {
        fewest = residents;
        spawn_target_ = c;
      }
    }
  }
  ++spawned_to_[spawn_target_];
  return spawn_target_;
}

std::uint32_t loop::allocate_index() {
  if (!free_indices_.empty()) {
    std::uint32_t i = free_indices_.back();
    free_indices_.pop_back();
    return i;
  }
  if (fresh_next_ == fresh_end_) {
    fresh_next_ = rt_.table().reserve_fresh(kFreshBlock);
    fresh_end_ = fresh_next_ + kFreshBlock;
  }
  return fresh_next_++;
}

std::uint64_t loop::next_serial() noexcept {
  if (number_next_ == number_end_) {
    number_next_ = rt_.reserve_numbers(kFreshBlock);
    number_end_ = number_next_ + kFreshBlock;
  }
  return number_next_++;
}

// ---- 2. timers ----

bool loop::fire_due_timers() {
  if (timers_.empty()) return false;
  const std::int64_t now = rt_.now_ns();
  timers_.settle(now);  // the receives of the last turn: they suspended before this read
  bool any = false;
  while (timer_node* t = timers_.pop_due(now)) {
    t->fire(t);
    any = true;
  }
  return any;
}

void wake_timed_out(receive_wait* w) noexcept {
  pcb* p = w->owner;
  w->timed_out = true;
  p->waiting = nullptr;
  p->home->make_runnable(p);
}

// ---- 3. processes ----

bool loop::run_ready() {
  unsigned n = 0;
  front_budget_ = kBatch - kFifoShare;
  while (rq_head_ != nullptr && n < kBatch) {
    pcb* p = rq_head_;
    rq_head_ = p->next_runnable;
    if (rq_head_ != nullptr) {
      // The next process's frame, and the pcb after it, start to come in while this one
      // runs (a timer or a message woke them; their memory is cold).
      __builtin_prefetch(rq_head_->resume_point.address());
      if (rq_head_->next_runnable != nullptr) __builtin_prefetch(rq_head_->next_runnable);
      rq_head_->prev_runnable = nullptr;
    } else {
      rq_tail_ = nullptr;
    }
    p->next_runnable = nullptr;
    --rq_len_;
    ++n;
    p->state = proc_state::running;
    front_last_ = nullptr;
    spawns_this_resume_ = 0;
    t_current = p;
    p->resume_point.resume();
    t_current = nullptr;
    if (!chained_.empty()) flush_chains();
    if (p->state == proc_state::exiting) {
      teardown(p);
    } else if (p->state == proc_state::running) {
      // Suspended on an awaitable that is not ours: it must wake the process itself.
      p->state = proc_state::waiting;
    }
    if (!exits_.empty()) run_exits();
    // A receive timeout armed in this batch waits for a clock read: at most kSettleEvery
    // resumes, not the whole batch, so a long batch does not make it late.
    if (n % kSettleEvery == 0 && timers_.has_pending()) timers_.settle(rt_.now_ns());
  }
  publish_backlog();
  return n > 0;
}

void loop::teardown(pcb* p) noexcept {
  const exit_reason reason = p->exit != nullptr ? *p->exit : exit_reason{};
  // Clear the serial first: from here on, sends to this pid are dropped.
  rt_.table().find(p->self.index)->serial.store(0, std::memory_order_release);
  free_indices_.push_back(p->self.index);
  if (p->all_prev != nullptr) {
    p->all_prev->all_next = p->all_next;
  } else if (all_ == p) {
    all_ = p->all_next;
  }
  if (p->all_next != nullptr) p->all_next->all_prev = p->all_prev;
  if (p->state == proc_state::runnable) remove_runnable(p);
  n_processes_.store(n_processes_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);

  p->root.destroy();  // arguments, captures and locals go now
  destroy_chain(p->mailbox.take_all());
  if (p->ext != nullptr) {
    if (p->ext->exit_scheduled) std::erase(exits_, p);
    announce_exit(p, reason);
    delete p->ext;
  }
  std::string name = rt_.forget(p->self);
  // Erlang's rule: only a body that failed is logged; deaths by exit(reason) or by exit
  // signals are seen through links and monitors (see coproc/crash_report.hpp).
  if (p->crashed && !rt_.stopping()) report_crash(crash_report{p->self, name, reason});
  if (p->is_main) rt_.finish_main(reason.is_normal() ? 0 : 1);
  delete p->exit;
  p->~pcb();
  small_free(p, sizeof(pcb));
}

void loop::run_exits() noexcept {
  // Tearing one down may doom others (its links): keep going until none is left.
  while (!exits_.empty()) {
    pcb* p = exits_.back();
    teardown(p);  // removes p from exits_
  }
}

// ---- 4. outbound ----

void loop::flush_outbound() {
  if (!chained_.empty()) flush_chains();  // sent outside a process (timers, signals)
  if (wake_list_.empty()) return;
  for (unsigned core : wake_list_) {
    auto& spill = overflow_[core];
    auto& queue = rt_.at(core).inbound_from(index_);
    while (!spill.empty() && queue.push(spill.front())) spill.pop_front();
  }
  // seq_cst: orders our queue pushes before the reads of `sleeping`; the sleeper does
  // the mirror image, so either it sees our messages or we see it asleep.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  std::size_t keep = 0;
  for (unsigned core : wake_list_) {
    rt_.at(core).wake();
    if (!overflow_[core].empty()) {
      wake_list_[keep++] = core;  // still owes messages: stay listed
    } else {
      wake_listed_[core] = false;
    }
  }
  wake_list_.resize(keep);
}

void loop::wake() noexcept {
  // Only the first waker after the loop fell asleep pays the syscall.
  if (sleeping_.load(std::memory_order_relaxed) &&
      sleeping_.exchange(false, std::memory_order_acq_rel)) {
    io_->wake();
  }
}

void loop::force_wake() noexcept {
  sleeping_.store(false, std::memory_order_relaxed);
  io_->wake();
}

void loop::post_foreign(envelope e) {
  {
    std::lock_guard lock(foreign_mu_);
    foreign_.push_back(e);
    foreign_pending_.store(true, std::memory_order_relaxed);
  }
  // seq_cst: our push is visible before we read `sleeping` (see flush_outbound).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  wake();
}

// ---- 5. I/O results ----

bool loop::reap_completions() {
  return io_->reap();
}

// ---- 6. idle ----

bool loop::has_inbound() const noexcept {
  for (unsigned c = 0; c < ncores_; ++c) {
    if (c != index_ && inbound_[c]->read_available() > 0) return true;
  }
  return foreign_pending_.load(std::memory_order_acquire);
}

void loop::idle() {
  idle_.store(true, std::memory_order_relaxed);
  struct busy_again {
    std::atomic<bool>& idle;
    ~busy_again() { idle.store(false, std::memory_order_relaxed); }
  } on_exit{idle_};
  if (!chained_.empty()) flush_chains();  // sent after this turn's flush (I/O results)
  if (!wake_list_.empty()) {              // messages still spilled or unwoken: push them first
    wait_for_room();
    return;
  }
  if (timers_.has_pending()) timers_.settle(rt_.now_ns());  // before next_deadline is read
  // Only loops that may spin read cpu_, and may_spin_ is the same for every loop.
  const int cpu = may_spin_ ? sched_getcpu() : -1;  // glibc reads it from rseq: a load
  if (may_spin_) cpu_.store(cpu, std::memory_order_relaxed);
  if (may_spin_ && (spin_credit_ > 0 || io_->in_flight() == 0) && may_catch_a_peer(cpu)) {
    bump(n_spins_);
    // A spin without I/O in flight may start with no credit left: never below zero.
    const auto spend_credit = [this] { spin_credit_ -= spin_credit_ > 0 ? 1 : 0; };
    const auto until = std::chrono::steady_clock::now() + rt_.opts().spin;
    unsigned spins = 0;
    while (!has_inbound() && !rt_.stopping() && !io_->ready()) {
      COPROC_CPU_RELAX();
      if ((++spins & 255) == 0) {
        if (std::chrono::steady_clock::now() >= until) break;
        if (io_->poll_ready()) {  // epoll: socket results are not in shared memory
          spend_credit();
          return;
        }
        if (!timers_.empty() && rt_.now_ns() >= timers_.next_deadline()) return;
      }
    }
    if (has_inbound()) {
      spin_credit_ = kSpinCredit;
      return;
    }
    spend_credit();
    if (rt_.stopping() || io_->ready()) return;
  }
  sleep();
  if (has_inbound()) spin_credit_ = kSpinCredit;  // another core woke us: spin next time
}

void loop::wait_for_room() {
  // A core listed here was just sent to (flush_chains), so it must be woken, or it owes
  // spilled envelopes and its queue from us has room again: another turn pushes them.
  const auto room = [this] {
    for (unsigned core : wake_list_) {
      if (overflow_[core].empty() || rt_.at(core).inbound_from(index_).write_available() > 0) {
        return true;
      }
    }
    return false;
  };
  const auto wanted = [&] { return room() || has_inbound() || io_->ready() || rt_.stopping(); };
  if (wanted()) return;
  // Every such queue is full: its core is in a long turn (a spawn loop, a burst of sends).
  // Running turns back to back until it drains took 13% of a CPU in spawn_idle; poll the
  // queues instead, then nap, a short while at a time.
  const auto until = std::chrono::steady_clock::now() + rt_.opts().spin;
  for (unsigned spins = 0; !wanted();) {
    COPROC_CPU_RELAX();
    if ((++spins & 255) == 0 && std::chrono::steady_clock::now() >= until) {
      std::int64_t nap = kSpillNapNs;
      if (!timers_.empty()) {
        nap = std::clamp<std::int64_t>(timers_.next_deadline() - rt_.now_ns(), 0, nap);
      }
      bump(n_sleeps_);  // a short one: nobody wakes us, the nap ends by itself
      io_->wait(nap);
      bump(n_wakeups_);
      return;
    }
  }
}

void loop::sleep() {
  sleeping_.store(true, std::memory_order_relaxed);
  // seq_cst: our `sleeping` store must be visible before we look at the queues again
  // (pairs with the fence in flush_outbound / the RMW in post_foreign).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (has_inbound() || rt_.stopping()) {
    sleeping_.store(false, std::memory_order_relaxed);
    return;
  }
  bump(n_sleeps_);
  std::int64_t wait = -1;  // until woken; a manual clock wakes every loop as it advances
  if (!timers_.empty() && rt_.opts().clock == nullptr) {
    wait = std::max<std::int64_t>(0, timers_.next_deadline() - rt_.now_ns());
  }
  io_->wait(wait);
  sleeping_.store(false, std::memory_order_relaxed);
  if (may_spin_) cpu_.store(sched_getcpu(), std::memory_order_relaxed);  // we may have moved
  bump(n_wakeups_);
}

bool loop::may_catch_a_peer(int cpu) const noexcept {
  for (unsigned c = 0; c < ncores_; ++c) {
    if (c != index_ && rt_.at(c).cpu_.load(std::memory_order_relaxed) != cpu) return true;
  }
  return false;
}

// ---- shutdown ----

void loop::dispose(const envelope& e) noexcept {
  switch (e.kind) {
    case envelope::deliver:
      destroy_chain(static_cast<message_node*>(e.ptr));
      break;
    case envelope::start: {
      auto* p = static_cast<pcb*>(e.ptr);
      rt_.table().find(p->self.index)->serial.store(0, std::memory_order_release);
      p->root.destroy();
      destroy_chain(p->mailbox.take_all());
      delete p->ext;
      delete p->exit;
      p->~pcb();
      small_free(p, sizeof(pcb));
      break;
    }
    case envelope::close_foreign:
      free_stand_in(static_cast<pcb*>(e.ptr));
      break;
    case envelope::arm_send: {
      auto* d = static_cast<delayed_send*>(e.ptr);
      arm_delayed(*this, d);  // into the wheel, which is emptied below
      break;
    }
    case envelope::signal:
      delete static_cast<signal_rec*>(e.ptr);
      break;
    case envelope::inspect:
      delete static_cast<inspect_req*>(e.ptr);
      break;
    case envelope::inspect_process:
      delete static_cast<process_info_req*>(e.ptr);
      break;
    case envelope::task: {
      auto* t = static_cast<core_task*>(e.ptr);
      t->drop(t);
      break;
    }
  }
}

void loop::shut_down() {
  // Phase 1: every loop has stopped running processes (sends now drop).
  rt_.shutdown_barrier().arrive_and_wait();
  // Phase 2: destroy this core's processes; their destructors run here.
  while (all_ != nullptr) teardown(all_);
  rq_head_ = rq_tail_ = nullptr;
  rq_len_ = 0;
  // Their I/O was cancelled as their frames went; the kernel may still hold buffers of
  // those operations, which are freed only when they complete. Wait for that (bounded).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (io_->in_flight() > 0 && std::chrono::steady_clock::now() < give_up) {
    io_->wait(10'000'000);
    reap_completions();
  }
  rt_.shutdown_barrier().arrive_and_wait();
  // Phase 3: nothing sends any more; free what is still in flight to this core.
  for (unsigned c = 0; c < ncores_; ++c) {
    inbound_[c]->consume_all([this](const envelope& e) { dispose(e); });
  }
  {
    std::lock_guard lock(foreign_mu_);
    for (const envelope& e : foreign_) dispose(e);
    foreign_.clear();
  }
  for (message_chain& c : chains_) {  // sent by us but never pushed
    destroy_chain(c.head);
    c = message_chain{};
  }
  chained_.clear();
  for (auto& spill : overflow_) {  // sent by us but never pushed
    for (const envelope& s : spill) dispose(s);
    spill.clear();
  }
  for (timer_node* t : timers_.take_all()) {
    if (t->discard != nullptr) t->discard(t);
  }
}

void loop::inspect_mailboxes(void* raw) noexcept {
  std::unique_ptr<inspect_req> req(static_cast<inspect_req*>(raw));
  try {
    std::vector<mailbox_info> top;
    for (pcb* p = all_; p != nullptr; p = p->all_next) top.push_back({p->self, p->mailbox.size()});
    const std::size_t n = std::min(req->n, top.size());
    std::partial_sort(
        top.begin(), top.begin() + static_cast<std::ptrdiff_t>(n), top.end(),
        [](const mailbox_info& a, const mailbox_info& b) { return a.length > b.length; });
    top.resize(n);
    route(req->reply_to, make_message(atom<"$top_mailboxes">{}, std::move(top)));
  } catch (...) {
  }
}

void request_top_mailboxes(std::size_t n, const pid& reply_to) {
  runtime_impl* rt = current_runtime();
  if (rt == nullptr) return;
  for (unsigned c = 0; c < rt->cores(); ++c) {
    auto* req = new inspect_req{n, reply_to};
    envelope e{envelope::inspect, 0, 0, req};
    if (t_loop != nullptr && t_loop->index() == c) {
      t_loop->inspect_mailboxes(req);
    } else if (t_loop != nullptr) {
      t_loop->send_remote(c, e);
    } else {
      rt->at(c).post_foreign(e);
    }
  }
}

core_stats loop::stats() const noexcept {
  core_stats s;
  s.processes = n_processes_.load(std::memory_order_relaxed);
  s.spawned = n_spawned_.load(std::memory_order_relaxed);
  s.messages = n_messages_.load(std::memory_order_relaxed);
  s.wakeups = n_wakeups_.load(std::memory_order_relaxed);
  s.sleeps = n_sleeps_.load(std::memory_order_relaxed);
  s.spins = n_spins_.load(std::memory_order_relaxed);
  s.backend = io_->kind();
  return s;
}

}  // namespace coproc::detail
