// coproc/exit_reason.hpp - why a process ended, as Erlang's exit reasons.
//
//   normal     - the body returned (or exit(normal)); links are not broken by it
//   shutdown   - an orderly stop, e.g. by a supervisor; not reported as a crash
//   kill       - the untrappable reason given to exit(pid, kill)...
//   killed     - ...and the reason the killed process dies with (what links see)
//   noproc     - the process was already dead (link, monitor, call)
//   exception  - an exception escaped the body; text() is its what()
//   user       - any other atom (exit_reason{atom<"bad_input">{}}), or a text
//   structured - any other term: exit_reason{term::tuple({term::atom("shutdown"), 42})},
//                or any value that converts to a term: exit_reason::of(std::tuple{
//                atom<"bad_request">{}, 17}). An atom term means its kind, as above.
// Reasons are values: copied into every EXIT and DOWN message (a structured reason shares
// its immutable term). They compare as Erlang terms do (=:=) and print as Erlang prints
// them ({bad_request,17}). Across nodes a reason travels as the term it is.
//
// {shutdown, Detail} means what OTP gives it: an orderly stop like shutdown
// (is_shutdown()), so it is not reported as a crash and does not restart a transient
// child; like any reason but normal it kills a linked process that does not trap exits.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "coproc/atom.hpp"

namespace coproc {

class term;

class exit_reason {
 public:
  enum class kind : std::uint8_t {
    normal,
    shutdown,
    kill,
    killed,
    noproc,
    exception,
    user,
    structured,
  };

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
  // Any term as a reason (an atom means its kind, {exception, <<"what">>} an exception).
  explicit exit_reason(const term& t);
  // Any value with term_traits as a reason: exit_reason(to_term(v)) (coproc/term_convert.hpp).
  template <class T>
  static exit_reason of(const T& value);

  [[nodiscard]] kind what() const noexcept { return kind_; }
  [[nodiscard]] const std::string& text() const noexcept { return text_; }
  [[nodiscard]] bool is_normal() const noexcept { return kind_ == kind::normal; }
  // shutdown or {shutdown, _}: OTP's orderly stop.
  [[nodiscard]] bool is_shutdown() const noexcept {
    return kind_ == kind::shutdown || shutdown_tuple_;
  }
  // OTP's "abnormal": any reason but normal, shutdown and {shutdown, _}. A transient
  // child is restarted, and a gen_server's end is reported, only for these. (A process
  // that does not trap exits dies of any exit signal but normal.)
  [[nodiscard]] bool is_crash() const noexcept { return kind_ != kind::normal && !is_shutdown(); }
  // The term of a structured reason, or nullptr.
  [[nodiscard]] const term* structured() const noexcept { return term_.get(); }

  friend bool operator==(const exit_reason& a, const exit_reason& b) noexcept;
  // normal, shutdown, kill, killed, noproc, {exception, "what"}, the user text, or the
  // structured term as Erlang prints it
  [[nodiscard]] std::string to_string() const;
  friend std::ostream& operator<<(std::ostream& os, const exit_reason& r) {
    return os << r.to_string();
  }

 private:
  exit_reason(kind k, std::string text) : kind_(k), text_(std::move(text)) {}
  static exit_reason from_name(std::string_view name);
  kind kind_ = kind::normal;
  bool shutdown_tuple_ = false;  // a structured {shutdown, _}
  std::string text_;             // for structured: the printed term
  std::shared_ptr<const term> term_;
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
