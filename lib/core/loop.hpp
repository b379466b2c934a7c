// lib/core/loop.hpp - one core's event loop.
//
// A loop is a thread that owns: a run queue of processes, the mailboxes of its
// processes, a timer wheel, one I/O backend (lib/io/backend.hpp: an io_uring ring or an
// epoll instance), and the receiving ends of one
// single-producer queue from every other core (plus one multi-producer queue for
// threads that are not cores). Everything here is touched only by the loop's own
// thread, except the members marked "any thread".
#pragma once

#include <atomic>
#include <boost/lockfree/spsc_queue.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "coproc/detail/pcb.hpp"
#include "coproc/runtime.hpp"
#include "lib/core/process_table.hpp"
#include "lib/io/backend.hpp"
#include "lib/time/timer_wheel.hpp"

namespace coproc::detail {

class runtime_impl;
struct signal_rec;

// What crosses between cores. Trivially copyable, so it fits Boost.Lockfree queues.
struct envelope {
  enum kind_t : std::uint32_t {
    deliver,          // ptr = message_node*, to the process (index, serial): a chain
                      // through message_node::next (nullptr-terminated), in send order
    start,            // ptr = pcb* of a new process placed on this core
    close_foreign,    // ptr = pcb* of a scoped_process being destroyed
    arm_send,         // ptr = delayed_send* armed from a foreign thread
    signal,           // ptr = signal_rec*: link, unlink, exit, monitor, demonitor
    inspect,          // ptr = inspect_req*: report the longest mailboxes of this core
    inspect_process,  // ptr = process_info_req*: describe one process of this core
    task,             // ptr = core_task*: run on this core (a subsystem's hand-over)
  };
  kind_t kind;
  std::uint32_t index;
  std::uint64_t serial;
  void* ptr;
};

// Any thread: lets the process p, parked with loop::park, run again (on its own core,
// through a core_task when called from elsewhere). Nothing if it is gone or not parked.
void unpark_process(const pid& p) noexcept;

// Work one core hands to another (lib/net: a socket reader whose waiter is on the other
// core). Owned by the envelope: run() or, if the runtime ends first, drop() frees it.
struct core_task {
  void (*run)(core_task* t) noexcept;
  void (*drop)(core_task* t) noexcept;
};

struct inspect_req {
  std::size_t n;
  pid reply_to;
};

struct process_info_req {
  pid target;
  pid reply_to;
  std::uint64_t ref;  // the asker's alias, carried by the answer
};

class loop {
 public:
  // Throws std::system_error if the kernel refuses the backend.
  loop(runtime_impl& rt, unsigned index, io_backend_kind backend);
  ~loop();
  loop(const loop&) = delete;
  loop& operator=(const loop&) = delete;

  // The thread body: runs until the runtime stops, then tears this core down.
  void run();

  [[nodiscard]] unsigned index() const noexcept { return index_; }
  [[nodiscard]] runtime_impl& rt() const noexcept { return rt_; }

  // --- owner thread only ---
  void deliver_local(std::uint32_t index, std::uint64_t serial, message_node* n) noexcept;
  void deliver(pcb* p, message_node* n) noexcept;
  // To another core, in order with everything else this core sends there. Messages to
  // one process are chained into one envelope while the running process keeps sending
  // to it (see flush_chains()).
  void send_remote(unsigned core, envelope e);
  // Hands t to `core`, which runs it (owner thread). The envelope owns t once this
  // returns; if it throws (out of memory), t is still the caller's.
  void send_task(unsigned core, core_task* t);
  void make_runnable(pcb* p) noexcept;       // at the back of the run queue (unless parked)
  void make_runnable_soon(pcb* p) noexcept;  // at the front, while this turn's budget lasts
  void adopt(pcb* p) noexcept;               // a new process placed on this core
  // Parking (see pcb::parked): p runs on until it suspends, then stays off the run
  // queue until unpark(p). Owner thread; from elsewhere use unpark_process.
  static void park(pcb* p) noexcept { p->parked = true; }
  void unpark(const pid& p) noexcept;  // if it is still alive
  unsigned pick_spawn_core() noexcept;
  // Signals (lib/otp/signals.cpp). handle_signal takes ownership of s.
  void handle_signal(std::uint32_t index, std::uint64_t serial, signal_rec* s) noexcept;
  void schedule_exit(pcb* p, const exit_reason& reason) noexcept;
  std::uint64_t next_ref() noexcept;
  std::uint32_t allocate_index();
  std::uint64_t next_serial() noexcept;
  timer_wheel& timers() noexcept { return timers_; }
  // Receive timeouts wait, armed by their delay, for the loop's next clock read
  // (timer_wheel::push_after), except on a manual clock: a test advances it from outside,
  // so the deadline must be taken from it when the receive suspends.
  [[nodiscard]] bool defers_arms() const noexcept { return defers_arms_; }
  // This core's I/O: every socket operation of its processes goes through it.
  io_backend& io() noexcept { return *io_; }

  // --- any thread ---
  void post_foreign(envelope e);  // from a thread that is not a core
  void wake() noexcept;           // if asleep in the backend
  void force_wake() noexcept;     // unconditionally (clock advance, stop)
  boost::lockfree::spsc_queue<envelope, boost::lockfree::capacity<1024>>& inbound_from(
      unsigned core) noexcept {
    return *inbound_[core];
  }
  [[nodiscard]] core_stats stats() const noexcept;
  void inspect_mailboxes(void* req) noexcept;  // owner thread
  void inspect_process(void* req) noexcept;    // owner thread (lib/core/process_info.cpp)
  // True while the loop has nothing to run (spinning or asleep): a placement hint.
  [[nodiscard]] bool is_idle() const noexcept { return idle_.load(std::memory_order_relaxed); }
  // How many processes were still runnable at the end of the loop's last batch (or are
  // queued now, for a loop that has been running one process for a long time): a
  // placement hint, stale by up to a turn.
  [[nodiscard]] std::uint32_t backlog() const noexcept {
    return backlog_.load(std::memory_order_relaxed);
  }
  // Processes that other cores spawned onto this one and that it has taken in. A spawner
  // subtracts it from what it sent here to estimate what is still queued; with several
  // spawners that estimate runs low (others' spawns count too), so it is a hint, as
  // backlog() is.
  [[nodiscard]] std::uint64_t adopted_from_others() const noexcept {
    return adopted_from_others_.load(std::memory_order_relaxed);
  }
  // Live processes on this core, waiting ones included: a placement hint.
  [[nodiscard]] std::uint64_t resident() const noexcept {
    return n_processes_.load(std::memory_order_relaxed);
  }

 private:
  bool drain_inbound();
  void publish_backlog() noexcept;
  void handle(const envelope& e);
  bool fire_due_timers();
  bool run_ready();
  void flush_outbound();
  bool reap_completions();
  void idle();
  [[nodiscard]] bool has_inbound() const noexcept;
  void sleep();
  void teardown(pcb* p) noexcept;
  void remove_runnable(pcb* p) noexcept;
  void run_exits() noexcept;  // kills scheduled by exit signals, when no process runs
  void announce_exit(pcb* p, const exit_reason& reason) noexcept;  // to links, monitors
  void shut_down();
  void dispose(const envelope& e) noexcept;
  // The process (index, serial) if it is alive on this core, else nullptr.
  [[nodiscard]] pcb* live_process(std::uint32_t index, std::uint64_t serial) const noexcept;
  // Delivers a chain of messages that came in one envelope.
  void deliver_chain(std::uint32_t index, std::uint64_t serial, message_node* n) noexcept;
  void push_envelope(unsigned core, const envelope& e);
  void push_chain(unsigned core) noexcept;
  // Sends every pending chain: after each resume (so a message leaves when its sender
  // suspends, as before) and at the end of a turn.
  void flush_chains() noexcept;

  runtime_impl& rt_;
  const unsigned index_;
  const unsigned ncores_;
  const bool may_spin_;
  const bool defers_arms_;
  // The idle spin pays when another core's message is due soon (ping-pong, fan-in). A
  // loop that waits on sockets and is woken by their I/O burns, spinning, CPU that the
  // kernel's network work and the programs at the other end need. So while operations
  // are in flight, each spin that another core's traffic did not end spends one credit,
  // and the loop spins only while it has credit; traffic from another core (seen at the
  // end of a spin or after a sleep) gives it all back. A loop with no I/O in flight
  // always spins (measured: skipping spins there halves ring and ping-pong across
  // cores). Owner only.
  static constexpr unsigned kSpinCredit = 8;
  unsigned spin_credit_ = kSpinCredit;
  // A spin can only catch a message from a loop that runs meanwhile. When the kernel has
  // put every other loop's thread on this loop's CPU (a busy machine: more runnable
  // threads than CPUs), they cannot run while it spins, so each spin costs them its full
  // length: measured, cross-core ping-pong went from about 3 us to 50-140 us a round trip
  // with 4 busy neighbours on 2 CPUs. True unless every other loop last reported `cpu`.
  [[nodiscard]] bool may_catch_a_peer(int cpu) const noexcept;
  // idle() with envelopes still spilled (wake_list_ not empty): returns at once when a
  // listed core's queue has room (or was only sent to), when something arrives, or I/O
  // is ready; else polls for `spin`, then waits in the backend for up to kSpillNapNs (or
  // the next timer; counted as a sleep) and returns, so the next turn retries the pushes.
  void wait_for_room();
  static constexpr std::int64_t kSpillNapNs = 50'000;

  // Run queue: intrusive FIFO through pcb::next_runnable.
  pcb* rq_head_ = nullptr;
  pcb* rq_tail_ = nullptr;
  std::size_t rq_len_ = 0;
  unsigned front_budget_ = 0;        // spawns this turn that may still jump the queue
  unsigned spawns_since_check_ = 0;  // placement: spawns since the last decision
  unsigned spawns_this_resume_ = 0;  // placement: spawns by the running process since it resumed
  std::vector<std::uint64_t> spawned_to_;  // placement: spawns sent to each core, ever
  pcb* front_last_ = nullptr;              // the last process readied ahead by the running one
  std::vector<pcb*> exits_;                // processes an exit signal has doomed, not yet torn down
  // Every live process on this core (for shutdown), intrusive through pcb::all_*.
  pcb* all_ = nullptr;

  timer_wheel timers_;

  // Cross-core traffic. inbound_[c] is written only by core c.
  std::vector<
      std::unique_ptr<boost::lockfree::spsc_queue<envelope, boost::lockfree::capacity<1024>>>>
      inbound_;
  // Threads that are not cores (main, tests, scoped_process users) post here. This is
  // glue traffic, not a hot path, so a mutex is fine (and is clean under TSan, which
  // boost::lockfree::queue's freelist is not).
  std::mutex foreign_mu_;
  std::vector<envelope> foreign_;
  std::vector<std::deque<envelope>> overflow_;  // per destination, when its queue is full
  std::vector<unsigned> wake_list_;             // cores sent to since the last flush
  // Messages to one process on another core, not yet in its queue: consecutive sends to
  // the same process go into one envelope (one queue slot, one table lookup there).
  struct message_chain {
    std::uint32_t index = 0;
    std::uint64_t serial = 0;
    message_node* head = nullptr;  // nullptr: none pending
    message_node* tail = nullptr;
    std::uint32_t length = 0;
    bool listed = false;  // in chained_ (which holds each core at most once)
  };
  std::vector<message_chain> chains_;  // per destination core
  std::vector<unsigned> chained_;      // cores with a pending chain; capacity ncores_
  std::vector<bool> wake_listed_;
  std::vector<std::uint32_t> pushed_since_wake_;  // per destination: see push_envelope

  // Process identity.
  std::uint64_t number_next_ = 0;  // a block of process numbers taken from the runtime
  std::uint64_t number_end_ = 0;
  std::uint64_t ref_next_ = 0;  // a block of monitor refs taken from the runtime
  std::uint64_t ref_end_ = 0;
  std::vector<std::uint32_t> free_indices_;
  std::uint32_t fresh_next_ = 0;
  std::uint32_t fresh_end_ = 0;
  unsigned spawn_target_;  // placement: where spawns go until the next decision

  // Sockets, sleep and cross-thread wakeups.
  std::unique_ptr<io_backend> io_;

  // Flags other threads read (the small members together, so the class has no holes).
  std::atomic<bool> foreign_pending_{false};  // set under foreign_mu_ by posters
  std::atomic<bool> idle_{false};             // any thread may read: see is_idle()
  std::atomic<bool> sleeping_{false};         // any thread: true while (about to be) asleep in io_
  // The CPU the owner's thread was on when it last went idle or woke (sched_getcpu), -1
  // before; other loops read it to decide whether to spin (see may_catch_a_peer).
  std::atomic<int> cpu_{-1};

  // Owner writes after each batch (only when it changed), other cores read it when they
  // place spawns: a line of its own, away from the flags every waker reads.
  alignas(64) std::atomic<std::uint32_t> backlog_{0};
  std::atomic<std::uint64_t> adopted_from_others_{0};  // owner bumps per start envelope

  // Counters (written by the owner only, read by anyone).
  std::atomic<std::uint64_t> n_processes_{0}, n_spawned_{0}, n_messages_{0}, n_wakeups_{0},
      n_sleeps_{0}, n_spins_{0};
};

// The loop running on this thread, or nullptr.
extern thread_local constinit loop* t_loop;

}  // namespace coproc::detail
