// bench/bench_util.hpp - small helpers shared by the benchmark programs.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace coproc::bench {

// Resident set size of this process, in bytes (VmRSS from /proc/self/status).
inline std::int64_t rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

}  // namespace coproc::bench
