// coproc/exit_reason.hpp - why a process ended, as Erlang's exit reasons.
//
//   normal     - the body returned (or exit(normal)); links are not broken by it
//   shutdown   - an orderly stop, e.g. by a supervisor; not reported as a crash
//   kill       - the untrappable reason given to exit(pid, kill)...
//   killed     - ...and the reason the killed process dies with (what links see)
//   noproc     - the process was already dead (link, monitor, call)
//   exception  - an exception escaped the body; text() is its what()
//   user       - any other reason: an atom (exit_reason{atom<"bad_input">{}}) or a string
// Reasons are values: copied into every EXIT and DOWN message.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "coproc/atom.hpp"

namespace coproc {

class exit_reason {
 public:
  enum class kind : std::uint8_t { normal, shutdown, kill, killed, noproc, exception, user };

  exit_reason() = default;  // normal
  // An atom as a reason: atom<"normal">, "shutdown" and "kill" map to those kinds.
  template <fixed_string N>
  exit_reason(atom<N> a) : exit_reason(from_name(a.name())) {}  // NOLINT: implicit on purpose
  // A user-defined reason, shown as it is.
  static exit_reason user(std::string text) { return {kind::user, std::move(text)}; }
  static exit_reason exception(std::string what) { return {kind::exception, std::move(what)}; }
  static exit_reason normal() { return {}; }
  static exit_reason shutdown() { return {kind::shutdown, {}}; }
  static exit_reason kill() { return {kind::kill, {}}; }
  static exit_reason killed() { return {kind::killed, {}}; }
  static exit_reason noproc() { return {kind::noproc, {}}; }
  // The reason an atom of that name means, for atoms known only at run time (from an
  // Erlang node): "normal", "shutdown", "kill", "killed", "noproc" give those kinds,
  // any other name user(name).
  static exit_reason from_atom_name(std::string_view name) { return from_name(name); }

  [[nodiscard]] kind what() const noexcept { return kind_; }
  [[nodiscard]] const std::string& text() const noexcept { return text_; }
  [[nodiscard]] bool is_normal() const noexcept { return kind_ == kind::normal; }
  // Erlang's rule: a process that does not trap exits dies of any signal but normal.
  // A crash report is written for every reason but normal and shutdown.
  [[nodiscard]] bool is_crash() const noexcept {
    return kind_ != kind::normal && kind_ != kind::shutdown;
  }

  friend bool operator==(const exit_reason& a, const exit_reason& b) noexcept {
    return a.kind_ == b.kind_ && a.text_ == b.text_;
  }
  // normal, shutdown, kill, killed, noproc, {exception, "what"}, or the user text
  [[nodiscard]] std::string to_string() const;
  friend std::ostream& operator<<(std::ostream& os, const exit_reason& r) {
    return os << r.to_string();
  }

 private:
  exit_reason(kind k, std::string text) : kind_(k), text_(std::move(text)) {}
  static exit_reason from_name(std::string_view name);
  kind kind_ = kind::normal;
  std::string text_;
};

// Thrown by exit(reason) to end the calling process with that reason. Do not catch it
// without rethrowing, or the exit does not happen.
class process_exit {
 public:
  explicit process_exit(exit_reason r) : reason_(std::move(r)) {}
  [[nodiscard]] const exit_reason& reason() const noexcept { return reason_; }

 private:
  exit_reason reason_;
};

}  // namespace coproc
