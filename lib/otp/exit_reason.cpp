#include "coproc/exit_reason.hpp"

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
      return text_;
  }
  return text_;
}

}  // namespace coproc
