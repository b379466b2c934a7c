// lib/io/backend.cpp - which backend a runtime gets, and making one.
#include "lib/io/backend.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#include "coproc/log.hpp"
#include "lib/io/choose_backend.hpp"

namespace coproc {

const char* backend_name(io_backend_kind kind) noexcept {
  switch (kind) {
    case io_backend_kind::automatic:
      return "auto";
    case io_backend_kind::io_uring:
      return "io_uring";
    case io_backend_kind::epoll:
      return "epoll";
  }
  return "?";
}

namespace detail {

std::unique_ptr<io_backend> make_uring_backend(io_backend::fatal_handler on_fatal);
std::unique_ptr<io_backend> make_epoll_backend(io_backend::fatal_handler on_fatal);

std::unique_ptr<io_backend> make_backend(io_backend_kind kind, io_backend::fatal_handler on_fatal) {
  if (kind == io_backend_kind::epoll) return make_epoll_backend(std::move(on_fatal));
  return make_uring_backend(std::move(on_fatal));
}

bool means_io_uring_unavailable(int err) noexcept {
  // EPERM: a seccomp filter (Docker, containerd, Podman) or kernel.io_uring_disabled=2
  // (or =1 for a process outside io_uring_group); ENOSYS: a kernel without it, or a
  // filter that says so; ENOMEM: the locked-memory limit is too small for the rings.
  return err == EPERM || err == ENOSYS || err == ENOMEM || err == EACCES;
}

namespace {

io_backend_kind requested_by_environment() {
  const char* env = std::getenv("COPROC_BACKEND");
  if (env == nullptr) return io_backend_kind::automatic;
  const std::string_view v(env);
  if (v.empty() || v == "auto" || v == "automatic") return io_backend_kind::automatic;
  if (v == "io_uring" || v == "uring") return io_backend_kind::io_uring;
  if (v == "epoll") return io_backend_kind::epoll;
  throw std::system_error(EINVAL, std::generic_category(),
                          "coproc: COPROC_BACKEND=" + std::string(v) +
                              " is not a backend (use io_uring, epoll or auto)");
}

std::atomic<bool> g_fallback_told{false};

}  // namespace

std::string how_to_enable_io_uring() {
  return "to use io_uring, allow io_uring_setup, io_uring_enter and io_uring_register in the "
         "seccomp profile (Docker Engine 25+, containerd 2.0 and Podman deny them by default; "
         "e.g. docker run --security-opt seccomp=<profile allowing them>) and set the sysctl "
         "kernel.io_uring_disabled=0";
}

void tell_fallback(const std::string& reason) noexcept {
  // Once per program: a test suite or a program that makes runtimes in a loop gets
  // one line, not one per runtime.
  if (g_fallback_told.exchange(true, std::memory_order_relaxed)) return;
  try {
    log(log_level::warning, "io_uring is unavailable (" + reason +
                                "); the runtime uses the epoll backend. " +
                                how_to_enable_io_uring());
  } catch (...) {
  }
}

io_backend_kind choose_backend(io_backend_kind requested) {
  if (requested == io_backend_kind::automatic) requested = requested_by_environment();
  if (requested == io_backend_kind::epoll) return io_backend_kind::epoll;
  const char* what = "io_uring";
  const int err = probe_io_uring(&what);
  if (err == 0) return io_backend_kind::io_uring;
  const std::string reason = std::string(what) + ": " + std::strerror(err);
  if (requested == io_backend_kind::io_uring) {
    throw std::system_error(err, std::system_category(),
                            "coproc: the io_uring backend was asked for, and " + reason + "; " +
                                how_to_enable_io_uring() + ", or use the epoll backend");
  }
  if (!means_io_uring_unavailable(err)) {
    throw std::system_error(err, std::system_category(), "coproc: " + reason);
  }
  tell_fallback(reason);
  return io_backend_kind::epoll;
}

}  // namespace detail
}  // namespace coproc
