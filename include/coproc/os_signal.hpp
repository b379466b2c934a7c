// coproc/os_signal.hpp - OS signals as messages (Elixir's System.trap_signal, Erlang's
// os:set_signal), for graceful shutdown:
//
//   trap_signal(SIGTERM);                       // from a process
//   co_await receive([](atom<"signal">, int signo) { ... stop accepting, drain ... });
//
// trap_signal(s) makes every later delivery of s to this OS process arrive as the
// message (atom<"signal">, int s) in the calling process's mailbox, instead of the
// default action. Signals are counted like the kernel counts them: several deliveries
// of one signal before the message is taken may make one message or several.
// The trap belongs to the process that set it: a later trap_signal from another process
// takes it over; untrap_signal(s), the end of the runtime, or a delivery that finds the
// trapping process dead restores the default action (and, in the last case, lets that
// delivery take it, so a SIGTERM for a program whose trapper died still ends it).
//
// How: a handler that only writes the signal number into a socket (async-signal-safe),
// read by a runtime process on core 0 through the I/O backend like any socket. Unlike a
// signalfd, it needs no signal mask in every thread, so threads the program starts
// itself cannot break it. SIGKILL, SIGSTOP and the fault signals (SIGSEGV, SIGBUS,
// SIGFPE, SIGILL) cannot be trapped: std::invalid_argument.
#pragma once

namespace coproc {

// Inside a process. Throws std::invalid_argument for a signal that cannot be trapped,
// std::system_error if the OS refuses.
void trap_signal(int signo);
// The default action again (any thread).
void untrap_signal(int signo) noexcept;

}  // namespace coproc
