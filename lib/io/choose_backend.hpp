// lib/io/choose_backend.hpp - the startup choice between io_uring and epoll.
//
// choose_backend(options.backend):
//   automatic - COPROC_BACKEND decides if set (io_uring, epoll, auto; anything else is
//               an error); else io_uring if a probe ring can be made and entered, else,
//               when the kernel says io_uring is unavailable (EPERM, ENOSYS, ENOMEM,
//               EACCES), epoll, with one warning line per program naming the reason
//               and how to enable io_uring;
//   io_uring  - io_uring, or std::system_error saying why not;
//   epoll     - epoll.
#pragma once

#include <string>

#include "coproc/runtime.hpp"

namespace coproc::detail {

io_backend_kind choose_backend(io_backend_kind requested);
// errno values from io_uring_setup / io_uring_enter that mean "not here", not "broken".
bool means_io_uring_unavailable(int err) noexcept;
// The warning that the runtime fell back to epoll (once per program).
void tell_fallback(const std::string& reason) noexcept;
std::string how_to_enable_io_uring();

}  // namespace coproc::detail
