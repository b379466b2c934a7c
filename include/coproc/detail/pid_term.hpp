// coproc/detail/pid_term.hpp - term_traits for pid: a pid travels as an Erlang pid.
//
// Our own pids carry this node's name and creation ("nonode@nohost" before
// node::start); pids of other nodes keep theirs. See coproc/node.hpp for the mapping.
#pragma once

#include <cstdint>

#include "coproc/pid.hpp"
#include "coproc/term_convert.hpp"

namespace coproc {
namespace detail {
term pid_to_term(const pid& p);
bool pid_from_term(const term& t, pid& out);
term ref_to_term(std::uint64_t ref);
bool ref_from_term(const term& t, std::uint64_t& out);
}  // namespace detail

template <>
struct term_traits<pid> {
  static term to_term(const pid& p) { return detail::pid_to_term(p); }
  static bool from_term(const term& t, pid& out) { return detail::pid_from_term(t, out); }
};

}  // namespace coproc
