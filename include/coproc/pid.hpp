// coproc/pid.hpp - the name of a process.
//
// A pid is a 16-byte, trivially copyable value. Its fields:
//   index  - slot in the runtime's process table (reused after the process exits)
//   core   - the event loop (core) the process runs on; messages are routed there
//   node   - 0 for this node (reserved for distribution)
//   serial - the process's number: unique for the lifetime of the runtime (cores take
//            numbers in blocks from one counter), so a slot reused by a newer process
//            never answers to a stale pid.
// It prints like Elixir's pid: #PID<node.serial.core>. The default-constructed pid
// names no process.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

namespace coproc {

struct pid {
  std::uint32_t index = 0;
  std::uint16_t core = 0;
  std::uint16_t node = 0;
  std::uint64_t serial = 0;

  // True for a pid that names some process (dead or alive); false for pid{}.
  [[nodiscard]] constexpr explicit operator bool() const noexcept { return serial != 0; }

  friend constexpr bool operator==(const pid&, const pid&) noexcept = default;
  friend constexpr auto operator<=>(const pid&, const pid&) noexcept = default;
};

static_assert(sizeof(pid) == 16);

// "#PID<0.42.1>"
std::string to_string(const pid& p);
std::ostream& operator<<(std::ostream& os, const pid& p);

}  // namespace coproc

template <>
struct std::hash<coproc::pid> {
  std::size_t operator()(const coproc::pid& p) const noexcept {
    // serial is unique per process; mix in the index for slot locality.
    std::uint64_t h = p.serial * 0x9E3779B97F4A7C15ULL ^ p.index;
    return static_cast<std::size_t>(h ^ (h >> 29));
  }
};
