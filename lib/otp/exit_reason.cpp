#include "coproc/exit_reason.hpp"

#include "coproc/term.hpp"

namespace coproc {

exit_reason exit_reason::from_name(std::string_view name) {
  if (name == "normal") return normal();
  if (name == "shutdown") return shutdown();
  if (name == "kill") return kill();
  if (name == "killed") return killed();
  if (name == "noproc") return noproc();
  return user(std::string(name));
}

std::string exit_reason::to_string() const {
  switch (kind_) {
    case kind::normal:
      return "normal";
    case kind::shutdown:
      return "shutdown";
    case kind::kill:
      return "kill";
    case kind::killed:
      return "killed";
    case kind::noproc:
      return "noproc";
    case kind::exception:
      return "{exception, \"" + text_ + "\"}";
    case kind::user:
    case kind::structured:
      return text_;
  }
  return text_;
}

exit_reason::exit_reason(const term& t) {
  if (t.is_atom()) {
    *this = from_name(t.atom_name());
  } else if (t.is_tuple(2) && t[0].is_atom("exception") && t[1].is_binary()) {
    *this = exception(t[1].as_binary());
  } else {
    kind_ = kind::structured;
    shutdown_tuple_ = t.is_tuple(2) && t[0].is_atom("shutdown");
    text_ = t.to_string();
    term_ = std::make_shared<const term>(t);
  }
}

bool operator==(const exit_reason& a, const exit_reason& b) noexcept {
  if (a.kind_ != b.kind_) return false;
  if (a.kind_ == exit_reason::kind::structured) return *a.term_ == *b.term_;
  return a.text_ == b.text_;
}

}  // namespace coproc
