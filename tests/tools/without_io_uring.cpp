// without_io_uring - runs a command with io_uring blocked, as a default container does.
//
//   without_io_uring [--enter-only] COMMAND [ARGS...]
//
// Installs a seccomp filter that makes io_uring_setup, io_uring_enter and
// io_uring_register fail with EPERM (Docker's default profile since Engine 25,
// containerd 2.0 and Podman do the same), then execs COMMAND. The filter is inherited by
// every child, so `without_io_uring ctest` runs a whole test suite on the epoll backend.
// --enter-only denies io_uring_enter alone: rings can be made but never entered.
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "../seccomp_filter.hpp"

int main(int argc, char** argv) {
  int first = 1;
  bool enter_only = false;
  if (argc > 1 && std::strcmp(argv[1], "--enter-only") == 0) {
    enter_only = true;
    first = 2;
  }
  if (first >= argc) {
    std::fprintf(stderr, "usage: %s [--enter-only] COMMAND [ARGS...]\n", argv[0]);
    return 2;
  }
  const bool ok = enter_only ? coproc_test::deny_syscalls({__NR_io_uring_enter})
                             : coproc_test::deny_syscalls({__NR_io_uring_setup, __NR_io_uring_enter,
                                                           __NR_io_uring_register});
  if (!ok) {
    std::perror("without_io_uring: seccomp");
    return 2;
  }
  execvp(argv[first], argv + first);
  std::fprintf(stderr, "without_io_uring: %s: %s\n", argv[first], std::strerror(errno));
  return 127;
}
