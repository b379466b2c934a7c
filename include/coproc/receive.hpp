// coproc/receive.hpp - selective receive, as Erlang's `receive ... after ... end`.
//
//   auto r = co_await receive(
//       [](atom<"ok">, int v) { return v; },
//       when([](int v) { return v > 0; }, [](int v) { return v; }),
//       after(100ms, [] { return -1; }));
//
// Semantics (DESIGN.md): messages are taken in arrival order; each is tried against
// the clauses in order; the first message that matches some clause is removed and
// that clause runs. Non-matching messages stay, in order. `after(d, fn)` must come
// last; fn runs if nothing matched within d (never earlier); after(0ms) only polls;
// receive(after(d, fn)) alone waits d and leaves the mailbox alone. The result is
// std::common_type_t of every clause's result (and fn's).
//
// Matching is exact: send(p, 5) is an int and never matches a long clause, and
// send(p, "hi") is a std::string, never a const char*.
//
// Cost: a receive scans the mailbox once when it starts; while suspended, only each
// newly arrived message is tested (on delivery), so a long queue of junk is scanned
// once per receive, not once per arrival.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "coproc/detail/clause.hpp"
#include "coproc/detail/pcb.hpp"

namespace coproc {

template <class Fn>
struct after_clause {
  std::chrono::nanoseconds timeout;
  Fn fn;
};

namespace detail {
// d in nanoseconds, clamped to [0, nanoseconds::max()] (hours::max() means "forever").
template <class Rep, class Period>
constexpr std::chrono::nanoseconds clamp_ns(std::chrono::duration<Rep, Period> d) noexcept {
  using ns = std::chrono::nanoseconds;
  if (d <= d.zero()) return ns::zero();
  if (std::chrono::duration<long double, std::nano>(d).count() >=
      static_cast<long double>(ns::max().count())) {
    return ns::max();
  }
  return std::chrono::duration_cast<ns>(d);
}
}  // namespace detail

// after(d, fn): the timeout clause of a receive; always the last argument. A duration
// too large for nanoseconds means "practically forever", never "at once".
template <class Rep, class Period, class Fn>
after_clause<std::decay_t<Fn>> after(std::chrono::duration<Rep, Period> d, Fn&& fn) {
  return {detail::clamp_ns(d), std::forward<Fn>(fn)};
}

namespace detail {

template <class T>
struct is_after : std::false_type {};
template <class Fn>
struct is_after<after_clause<Fn>> : std::true_type {};

struct no_after {};

template <class C>
inline constexpr bool has_guard = requires(C& c) {
  c.pred;
};

// The awaiter behind co_await receive(...). It lives in the coroutine frame while the
// process waits, so its timer node needs no allocation.
template <class After, class... C>
class [[nodiscard]] receive_awaiter : public receive_wait {
 public:
  static constexpr bool has_after = !std::is_same_v<After, no_after>;

  template <class... Cs>
  using common_result = std::common_type_t<typename clause_traits<Cs>::result...>;

  using result_type = typename decltype([] {
    if constexpr (has_after && sizeof...(C) > 0) {
      return std::type_identity<std::common_type_t<typename clause_traits<C>::result...,
                                                   std::invoke_result_t<decltype(After::fn)&>>>{};
    } else if constexpr (has_after) {
      return std::type_identity<std::invoke_result_t<decltype(After::fn)&>>{};
    } else {
      return std::type_identity<common_result<C...>>{};
    }
  }())::type;

  receive_awaiter(After a, std::tuple<C...> c) : after_(std::move(a)), set_{std::move(c)} {
    try_match = &on_delivery;
  }
  receive_awaiter(const receive_awaiter&) = delete;
  receive_awaiter& operator=(const receive_awaiter&) = delete;
  receive_awaiter(receive_awaiter&& o) noexcept(std::is_nothrow_move_constructible_v<After>)
      : receive_wait(),
        after_(std::move(o.after_)),
        set_(std::move(o.set_)),
        from_mark_(o.from_mark_),
        mark_(o.mark_) {
    try_match = &on_delivery;
  }
  ~receive_awaiter() {
    if (timer.armed()) disarm_timer(&timer);
  }

  bool await_ready() {
    owner = t_current;
    if (owner == nullptr) throw_outside_process("co_await receive()");
    if constexpr (sizeof...(C) > 0) {
      message_node* prev = nullptr;
      message_node* n = owner->mailbox.front();
      if (from_mark_) {
        prev = mark_;  // nothing before the mark can match (see start_after)
        n = prev != nullptr ? prev->next : owner->mailbox.front();
      } else if (kMarkable) {
        if (message_node* rejected = owner->mailbox.scan_start(kind()); rejected != nullptr) {
          prev = rejected;  // everything up to here was already rejected
          n = prev->next;
        }
      }
      for (; n != nullptr; prev = n, n = n->next) {
        int i = set_.match(n);
        if (i >= 0) {
          matched_ = n;
          matched_prev_ = prev;
          clause_ = i;
          remember(prev);
          return true;
        }
      }
      remember(prev);
    }
    if constexpr (has_after) {
      if (after_.timeout.count() <= 0) {
        timed_out = true;
        return true;
      }
    }
    return false;
  }

  void await_suspend(std::coroutine_handle<> h) noexcept {
    owner->resume_point = h;
    owner->waiting = this;
    owner->state = proc_state::waiting;
    if constexpr (has_after) {
      timer.fire = &on_timeout;
      arm_timer_after(&timer, after_.timeout.count());
    }
  }

  // Scan only messages after `mark` (the mailbox tail when a request went out, or
  // nullptr for an empty mailbox): what came before cannot be the reply. This is what
  // keeps call() O(1) next to a long queue of unrelated messages.
  receive_awaiter&& start_after(message_node* mark) && noexcept {
    from_mark_ = true;
    mark_ = mark;
    return std::move(*this);
  }

  // For scoped_process's blocking receive.
  clause_set<C...>& clauses() noexcept { return set_; }
  [[nodiscard]] std::chrono::nanoseconds timeout() const noexcept {
    if constexpr (has_after) {
      return after_.timeout;
    } else {
      return std::chrono::nanoseconds::zero();
    }
  }
  result_type on_timeout() {
    if constexpr (has_after) return static_cast<result_type>(after_.fn());
  }

  result_type await_resume() {
    if constexpr (has_after) {
      if (timed_out) return static_cast<result_type>(after_.fn());
    }
    if constexpr (sizeof...(C) > 0) {
      owner->mailbox.remove(matched_prev_, matched_);
      return set_.template run<result_type>(clause_, matched_);
    } else if constexpr (!std::is_void_v<result_type>) {
      __builtin_unreachable();  // receive(after(d, fn)) alone always times out
    }
  }

 private:
  // The marker is sound only when matching depends on types alone: a guard may
  // accept tomorrow what it rejected today.
  static constexpr bool kMarkable = (!has_guard<C> && ...);
  static const void* kind() noexcept { return reinterpret_cast<const void*>(&on_delivery); }
  void remember(message_node* last_rejected) noexcept {
    if constexpr (kMarkable) {
      owner->mailbox.mark_rejected(kind(), last_rejected);
    }
  }

  static bool on_delivery(receive_wait* w, message_node* prev, message_node* n) noexcept {
    auto* self = static_cast<receive_awaiter*>(w);
    if constexpr (sizeof...(C) > 0) {
      int i = self->set_.match(n);
      if (i < 0) {
        self->remember(n);
        return false;
      }
      self->remember(prev);
      self->matched_ = n;
      self->matched_prev_ = prev;
      self->clause_ = i;
      return true;
    } else {
      return false;
    }
  }
  static void on_timeout(timer_node* t) noexcept;

  [[no_unique_address]] After after_;
  clause_set<C...> set_;
  message_node* matched_ = nullptr;
  message_node* matched_prev_ = nullptr;
  int clause_ = -1;
  bool from_mark_ = false;
  message_node* mark_ = nullptr;
};

// Wakes a process whose receive timed out (lib/core/loop.cpp).
void wake_timed_out(receive_wait* w) noexcept;

template <class After, class... C>
void receive_awaiter<After, C...>::on_timeout(timer_node* t) noexcept {
  auto* w =
      reinterpret_cast<receive_wait*>(reinterpret_cast<char*>(t) - offsetof(receive_wait, timer));
  wake_timed_out(w);
}

template <class... A, std::size_t... I>
auto make_receive(std::tuple<A...>&& args, std::index_sequence<I...> /*unused*/) {
  constexpr std::size_t n = sizeof...(A);
  using last = std::tuple_element_t<n - 1, std::tuple<A...>>;
  if constexpr (is_after<last>::value) {
    // Each element is moved out once; the tuple itself is not used again.
    return receive_awaiter<last, std::tuple_element_t<I, std::tuple<A...>>...>{
        std::get<n - 1>(std::move(args)),              // NOLINT(bugprone-use-after-move)
        std::tuple{std::get<I>(std::move(args))...}};  // NOLINT(bugprone-use-after-move)
  } else {
    return receive_awaiter<no_after, A...>{no_after{}, std::move(args)};
  }
}

template <class T>
struct take_exactly {
  T operator()(T v) const { return v; }
};

}  // namespace detail

// co_await receive(clauses..., [after(d, fn)])
template <class... A>
auto receive(A&&... args) {
  static_assert(sizeof...(A) > 0, "receive() needs at least one clause or an after()");
  constexpr std::size_t n = sizeof...(A);
  using last = std::decay_t<std::tuple_element_t<n - 1, std::tuple<A...>>>;
  constexpr std::size_t clauses = detail::is_after<last>::value ? n - 1 : n;
  return detail::make_receive(std::tuple<std::decay_t<A>...>{std::forward<A>(args)...},
                              std::make_index_sequence<clauses>{});
}

// co_await receive<T>(): the first message that is exactly one T, moved out.
template <class T>
auto receive() {
  return receive(detail::take_exactly<T>{});
}

// co_await receive_for<T>(d): as receive<T>(), or std::nullopt after d.
template <class T, class Rep, class Period>
auto receive_for(std::chrono::duration<Rep, Period> d) {
  return receive([](T v) { return std::optional<T>(std::move(v)); },
                 after(d, [] { return std::optional<T>(); }));
}

// co_await sleep_for(d): Process.sleep. Leaves the mailbox alone.
template <class Rep, class Period>
auto sleep_for(std::chrono::duration<Rep, Period> d) {
  return receive(after(d, [] {}));
}

// co_await yield(): lets every other runnable process on this core run first.
struct [[nodiscard]] yield_awaiter {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) const noexcept { detail::yield_current(h); }
  void await_resume() const noexcept {}
};
inline yield_awaiter yield() noexcept {
  return {};
}

}  // namespace coproc
