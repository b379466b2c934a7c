#include "lib/core/cpus.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

namespace coproc::detail {

std::vector<int> usable_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
    }
  }
  if (cpus.empty()) {  // unreadable (or over CPU_SETSIZE CPUs): every CPU the host has
    const unsigned n = std::max(1U, std::thread::hardware_concurrency());
    for (unsigned c = 0; c < n; ++c) cpus.push_back(static_cast<int>(c));
  }
  return cpus;
}

unsigned default_cores(std::size_t usable) {
  if (const char* env = std::getenv("COPROC_CORES"); env != nullptr && *env != '\0') {
    const std::string_view v(env);
    unsigned n = 0;
    const auto [end, err] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (err != std::errc{} || end != v.data() + v.size() || n < 1 || n > 1022) {
      throw std::system_error(EINVAL, std::generic_category(),
                              "coproc: COPROC_CORES=" + std::string(v) +
                                  " is not a core count (use a number from 1 to 1022)");
    }
    return n;
  }
  return static_cast<unsigned>(usable);
}

}  // namespace coproc::detail
