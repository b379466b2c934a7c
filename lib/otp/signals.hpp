// lib/otp/signals.hpp - what a process knows of its links and monitors, and the
// signals that change it.
//
// A pcb_ext belongs to its process's home core, like the rest of the pcb. Other cores
// change it only by sending a signal_rec to that core (in the same per-pair queue as
// messages, so signals and messages from one process to another stay in order).
#pragma once

#include <cstdint>
#include <vector>

#include "coproc/exit_reason.hpp"
#include "coproc/message.hpp"
#include "coproc/pid.hpp"

namespace coproc::detail {

struct pcb_ext {
  struct watch {
    std::uint64_t ref;
    pid other;
  };
  std::vector<pid> links;
  std::vector<watch> watchers;  // monitors on this process: DOWN goes to `other`
  std::vector<watch> watching;  // monitors this process holds on `other`
  struct alias {
    std::uint64_t ref;
    message_node* mark;  // mailbox tail when the call began: its reply and DOWN come after
  };
  std::vector<alias> aliases;   // calls awaiting a reply; a reply to any other ref is dropped
  bool exit_scheduled = false;  // in the loop's kill list, or will be at adopt
};

struct signal_rec {
  // down: monitor `ref` held by the receiver on `from` fired with `reason`. It becomes a
  // DOWN message only if the receiver still holds that monitor when it arrives, so a
  // DOWN in flight when demonitor() ran is dropped (Erlang's demonitor guarantee).
  enum kind_t : std::uint8_t { link, unlink, exit, monitor, demonitor, down };
  kind_t kind;
  bool from_link = false;  // an exit signal caused by a linked process ending
  pid from;
  std::uint64_t ref = 0;
  exit_reason reason;
};

// Sends a signal to `to` (this core, another core, or another node); takes ownership.
void post_signal(const pid& to, signal_rec* s) noexcept;
// Records, for the running process, a monitor on `target` under a fresh ref and returns
// the ref; the caller tells the target's side (the distribution monitors by name).
std::uint64_t add_watching(const pid& target);

// Whether n is the DOWN message of monitor `ref`: what demonitor(ref, flush) and the end
// of a call take out of the mailbox.
[[nodiscard]] bool is_down_for(const message_node* n, std::uint64_t ref) noexcept;

}  // namespace coproc::detail
