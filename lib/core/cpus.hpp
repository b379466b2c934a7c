// lib/core/cpus.hpp - the CPUs this process may run on, for the default core count, the
// spin rule and pinning.
//
// A container limited with --cpuset-cpus, `taskset`, or a systemd CPUAffinity= sees every
// CPU of the host in std::thread::hardware_concurrency(), but may run on a few of them:
// a runtime that started one loop per host CPU would then put several loops on each
// usable CPU, and their spins would take turns with each other. So the default follows
// the affinity mask that the process started with, as Go's GOMAXPROCS and Erlang's
// schedulers do. (A CPU quota, cgroup cpu.max, is not looked at.)
#pragma once

#include <cstddef>
#include <vector>

namespace coproc::detail {

// The CPUs in the calling thread's affinity mask, in increasing order; when the mask
// cannot be read, 0 .. hardware_concurrency() - 1. Never empty.
[[nodiscard]] std::vector<int> usable_cpus();

// The core count options.cores = 0 stands for: COPROC_CORES when set and not empty (a
// number from 1 to 1022; anything else throws std::system_error with EINVAL, which coproc::run
// reports), else `usable` (the size of usable_cpus(), which the caller has read).
[[nodiscard]] unsigned default_cores(std::size_t usable);

}  // namespace coproc::detail
