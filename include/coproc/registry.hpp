// coproc/registry.hpp - registered names: Process.register, whereis, send to a name.
//
//   register_name("db", self());        // or register_name(atom<"db">{}, pid)
//   send(atom<"db">{}, atom<"get">{}, self());
//   pid p = whereis("db");              // pid{} when nobody has the name
//
// A name is freed when its process ends. Registering a name that is taken, or a dead
// pid, throws std::invalid_argument, and a process has at most one name.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "coproc/atom.hpp"
#include "coproc/pid.hpp"
#include "coproc/spawn.hpp"

namespace coproc {

void register_name(std::string name, const pid& p);
bool unregister_name(std::string_view name);
pid whereis(std::string_view name);

template <fixed_string N>
void register_name(atom<N> name, const pid& p) {
  register_name(std::string(name.name()), p);
}
template <fixed_string N>
pid whereis(atom<N> name) {
  return whereis(name.name());
}
// send to a registered name; dropped, like a send to a dead pid, if nobody has it.
template <fixed_string N, class... V>
void send(atom<N> name, V&&... values) {
  send(whereis(name.name()), std::forward<V>(values)...);
}

}  // namespace coproc
