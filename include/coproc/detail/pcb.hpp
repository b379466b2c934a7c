// coproc/detail/pcb.hpp - the process control block and what templates may touch of it.
//
// Process state machine. Every field of a pcb is owned by its home core: only the
// loop thread of pcb::self.core reads or writes it, after the process is published.
// (The spawner fills it in before publishing the pid with a release store of the
// slot's serial; the home core reads it after an acquire load of that serial or after
// popping the spawn request from a queue.) Other cores and threads act on a process
// only by envelopes to its home core: messages, signals, inspections.
//
//   created    made by start_process; the spawn request is on its way to the home core
//              (or, spawned on the spawner's own core, adopted at once).
//   runnable   in the home loop's run queue (next_runnable/prev_runnable).
//   running    its frame is executing; t_current points at it.
//   waiting    suspended, not in the run queue. Three kinds, told apart by what holds it:
//              - in receive: `waiting` points at the awaiter's receive_wait; delivery
//                tests each new message against it, its `after` timer (if any) sits in
//                the wheel inside that awaiter;
//              - on an I/O operation (lib/io/io_request, tcp accept): the operation's
//                record holds the pcb and its resume point, and makes it runnable when
//                the backend completes it (or its deadline timer fires); `waiting` is
//                nullptr, so messages only queue;
//              - on sleep_for, an awaited task or another awaitable that is not ours:
//                that awaitable wakes it (the loop marks it waiting when it suspends
//                without saying so).
//   exiting    the body returned or threw (final_suspend set this); the loop tears it
//              down right after the resume that ended it.
//   (gone)     teardown: serial cleared (sends now drop), frame destroyed, mailbox freed,
//              links and monitors told, slot freed for reuse.
//
//   created  --spawn request reaches home core (adopt)----------------> runnable
//   created  --an exit signal came first (exit_scheduled), then adopt--> killed
//   runnable --the loop resumes it------------------------------------> running
//   running  --co_await receive() finds no match-----------------------> waiting (receive)
//   running  --co_await on a socket / sleep / task---------------------> waiting (other)
//   running  --co_await yield()---------------------------------------> runnable (back)
//   waiting  --matching message, after-timer, I/O completion, wake----> runnable
//   running  --body returns or throws---------------------------------> exiting --> gone
//   parked   a flag, not a state (loop::park; lib/dist parks a sender whose connection
//            has too many bytes queued): the process finishes its current resume, and
//            whatever would make it runnable after that (a message, a timer, I/O, yield)
//            is remembered instead (woken_while_parked) and done by unpark. A kill
//            still tears it down.
//   any      --killed: an untrapped exit signal (a link's crash, exit(p, r), kill)
//            sets ext->exit_scheduled and puts it on the loop's exits_ list----> killed
//   killed   run_exits() tears it down between resumes, from whatever state it was in
//            (one that killed itself while running finishes that resume first): out of
//            the run queue, its frame destroyed (a receive awaiter disarms its timer, an
//            I/O awaiter orphans its request, which the backend then cancels), so a
//            killed process is never resumed again.
//   A process that traps exits gets (atom<"EXIT">, pid, exit_reason) messages instead,
//   except for kill.
//
// Scoped-process stand-ins (scoped_process.hpp): a pcb with `foreign` set, homed on
// core 0, that never runs and is never in the run queue. Core 0 puts its messages into
// the foreign_box under the box's mutex for the foreign thread; an exit signal becomes
// an EXIT message in the box (a stand-in cannot die). Closing it posts it back to core 0,
// which frees the slot.
//
// Messages that arrive in any state are appended to the mailbox. Only in `waiting` (in
// receive) does delivery test them against the suspended receive
// (receive_wait::try_match), so a waiting process is woken only by a message it will
// take.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <string>

#include "coproc/detail/mailbox.hpp"
#include "coproc/exit_reason.hpp"
#include "coproc/message.hpp"
#include "coproc/pid.hpp"

namespace coproc::detail {

class loop;
struct foreign_box;
struct pcb_ext;  // links, monitors, aliases: lib/otp/signals.hpp

enum class proc_state : std::uint8_t { created, runnable, running, waiting, exiting };

// A link of one of a timer wheel's circular lists (a slot's, or the list of due nodes).
struct timer_link {
  timer_link* prev = nullptr;
  timer_link* next = nullptr;
};

// A deadline in a core's timer wheel (lib/time/timer_wheel.hpp). Lives inside whoever
// waits (a receive awaiter in a coroutine frame, or a send_after record), so arming a
// timer allocates nothing, and cancelling it relinks only its two neighbours.
// now + d without overflow.
constexpr std::int64_t deadline_after(std::int64_t now, std::int64_t d) noexcept {
  return d > INT64_MAX - now ? INT64_MAX : now + d;
}

struct timer_node {
  timer_link link;            // first member: the wheel's lists hand back this address
  std::int64_t deadline = 0;  // nanoseconds on the runtime's clock
  void (*fire)(timer_node*) noexcept = nullptr;
  // Set for records the wheel owns (send_after): disposes of one never fired.
  void (*discard)(timer_node*) noexcept = nullptr;
  [[nodiscard]] bool armed() const noexcept { return link.next != nullptr; }
};

struct pcb;

// A receive that is suspended. The awaiter (a template) derives from this.
struct receive_wait {
  // Tests `node` (just appended after `prev`) against the clauses; on a match the
  // awaiter remembers both and returns true.
  bool (*try_match)(receive_wait*, message_node* prev, message_node* node) noexcept = nullptr;
  pcb* owner = nullptr;
  timer_node timer;
  bool timed_out = false;
};

// Every field: written by the home core's loop thread only (the spawner fills them in
// before publication, see the head of this file). The comments say who, on that thread.
struct pcb {
  pid self;                      // set by start_process, never changed
  loop* home = nullptr;          // set by start_process, never changed
  pcb* next_runnable = nullptr;  // run queue (doubly linked, so a kill can unlink): the loop
  pcb* prev_runnable = nullptr;
  pcb* all_prev = nullptr;  // the home loop's list of live processes: adopt / teardown
  pcb* all_next = nullptr;
  std::coroutine_handle<> root;          // outermost frame, destroyed at exit
  std::coroutine_handle<> resume_point;  // innermost suspended frame
  receive_wait* waiting = nullptr;       // set while suspended in receive: the awaiter sets
                                         // it, delivery or its timer clears it
  detail::mailbox mailbox;  // its messages and receive marker: see coproc/detail/mailbox.hpp
  proc_state state = proc_state::created;  // see the state machine above
  bool is_main = false;                    // the process runtime::run() waits for
  bool trap_exit = false;           // exit signals become (atom<"EXIT">, pid, exit_reason) messages
  bool crashed = false;             // the body threw (not exit(reason)): a crash report is due
  bool parked = false;              // held off the run queue until unpark (loop::park)
  bool woken_while_parked = false;  // something made it runnable meanwhile: unpark does it
  exit_reason* exit = nullptr;      // why it ends, once decided (nullptr: normal)
  pcb_ext* ext = nullptr;           // allocated on first link/monitor/call
  foreign_box* foreign = nullptr;   // set for a scoped_process's stand-in
};

// The process running on this thread, or nullptr outside a process.
extern thread_local constinit pcb* t_current;

// Services of the runtime (lib/) that the templates call.
struct spawn_options {
  int core = -1;         // < 0: the runtime places it
  bool link = false;     // spawn_link: linked to the caller before it can run
  bool monitor = false;  // spawn_monitor: monitored by the caller, ref in *monitor_id
  std::uint64_t* monitor_id = nullptr;
};
// Registers a new process around a suspended coroutine frame and schedules it.
// Sets *owner_field to the new pcb.
pid start_process(std::coroutine_handle<> frame, pcb** owner_field, const spawn_options& opts);
// Delivers or drops `n`; never throws, never blocks.
void route(const pid& to, message_node* n) noexcept;
// send() to a pid on another node (lib/dist): throws std::invalid_argument when the
// payload has no term_traits. Frees n either way.
void route_to_node(const pid& to, message_node* n);
// The body ended by an exception: process_exit carries a reason, anything else is an
// `exception` reason with its what().
void record_exit(pcb* p, std::exception_ptr e) noexcept;
// For start functions that initialise a process before they return (start_server,
// start_supervisor): the pcb of `p`, which the calling process has just spawned on its
// own core and which has not run yet, and a guard that makes it the running process
// on this thread meanwhile (so self(), link(), trap_exit() act for it).
pcb* just_spawned(const pid& p) noexcept;
class running_as {
 public:
  explicit running_as(pcb* p) noexcept : saved_(t_current) { t_current = p; }
  running_as(const running_as&) = delete;
  running_as& operator=(const running_as&) = delete;
  ~running_as() { t_current = saved_; }

 private:
  pcb* saved_;
};
// Undoes the link spawn_link made between `caller` and `child` (both on this core),
// for a child that failed to initialise: the caller gets an exception instead.
void drop_spawn_link(pcb* caller, pcb* child) noexcept;
// Timer wheel of the current core.
std::int64_t now_ns() noexcept;
void arm_timer(timer_node* t, std::int64_t deadline) noexcept;
// Arms t `delay` ns (> 0) from now, where now is the core's next clock read: never
// earlier than a read made before this call (lib/time/timer_wheel.hpp, pending_).
void arm_timer_after(timer_node* t, std::int64_t delay) noexcept;
void disarm_timer(timer_node* t) noexcept;
// Puts the current process at the back of its core's run queue.
void yield_current(std::coroutine_handle<> h) noexcept;
[[noreturn]] void throw_outside_process(const char* what);

}  // namespace coproc::detail
