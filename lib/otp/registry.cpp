// lib/otp/registry.cpp - the name table of a runtime: one mutex, two maps. Names are
// looked up rarely next to messages; teardown skips the lock while no name exists.
#include <stdexcept>

#include "coproc/registry.hpp"
#include "lib/core/runtime_impl.hpp"

namespace coproc {
namespace detail {

void runtime_impl::register_name(std::string name, const pid& p) {
  if (name.empty()) throw std::invalid_argument("coproc: register_name: empty name");
  std::lock_guard lock(names_mu_);
  if (!alive(p)) {
    throw std::invalid_argument("coproc: register_name(\"" + name + "\"): " + to_string(p) +
                                " is not alive");
  }
  if (auto it = by_name_.find(name); it != by_name_.end() && !alive(it->second)) {
    // Its owner died between its teardown and a racing register: the name is free.
    by_pid_.erase(it->second);
    by_name_.erase(it);
    n_names_.fetch_sub(1, std::memory_order_relaxed);
  }
  if (auto it = by_name_.find(name); it != by_name_.end()) {
    throw std::invalid_argument("coproc: register_name(\"" + name + "\"): already registered to " +
                                to_string(it->second));
  }
  if (auto it = by_pid_.find(p); it != by_pid_.end()) {
    throw std::invalid_argument("coproc: register_name(\"" + name + "\"): " + to_string(p) +
                                " is already registered as \"" + it->second + "\"");
  }
  by_pid_.emplace(p, name);
  by_name_.emplace(std::move(name), p);
  n_names_.fetch_add(1, std::memory_order_relaxed);
}

bool runtime_impl::unregister_name(std::string_view name) {
  std::lock_guard lock(names_mu_);
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end()) return false;
  by_pid_.erase(it->second);
  by_name_.erase(it);
  n_names_.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

pid runtime_impl::whereis(std::string_view name) {
  std::lock_guard lock(names_mu_);
  auto it = by_name_.find(std::string(name));
  return it != by_name_.end() && alive(it->second) ? it->second : pid{};
}

std::string runtime_impl::name_of(const pid& p) {
  if (n_names_.load(std::memory_order_relaxed) == 0) return {};
  std::lock_guard lock(names_mu_);
  auto it = by_pid_.find(p);
  return it != by_pid_.end() ? it->second : std::string{};
}

std::string runtime_impl::forget(const pid& p) {
  if (n_names_.load(std::memory_order_relaxed) == 0) return {};
  std::lock_guard lock(names_mu_);
  auto it = by_pid_.find(p);
  if (it == by_pid_.end()) return {};
  std::string name = std::move(it->second);
  by_name_.erase(name);
  by_pid_.erase(it);
  n_names_.fetch_sub(1, std::memory_order_relaxed);
  return name;
}

}  // namespace detail

namespace {
detail::runtime_impl& need_runtime(const char* what) {
  detail::runtime_impl* rt = detail::current_runtime();
  if (rt == nullptr) throw std::logic_error(std::string("coproc: ") + what + " needs a runtime");
  return *rt;
}
}  // namespace

void register_name(std::string name, const pid& p) {
  need_runtime("register_name").register_name(std::move(name), p);
}
bool unregister_name(std::string_view name) {
  detail::runtime_impl* rt = detail::current_runtime();
  return rt != nullptr && rt->unregister_name(name);
}
pid whereis(std::string_view name) {
  detail::runtime_impl* rt = detail::current_runtime();
  return rt != nullptr ? rt->whereis(name) : pid{};
}

}  // namespace coproc
