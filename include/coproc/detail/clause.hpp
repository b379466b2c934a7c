// coproc/detail/clause.hpp - how a receive clause matches and consumes a message.
//
// A clause's parameter types (after remove_cvref) must equal the message's element
// types exactly; one parameter matches a single-value message. A clause taking
// `message` or `const message&` matches anything. `when(pred, clause)` adds a guard.
// A message whose payload is a coproc::term (every message from another node) also
// matches a typed clause when from_term converts it to the clause's types
// (coproc/term_convert.hpp): [](atom<"ok">, std::string) takes {ok, <<"hi">>}.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "coproc/message.hpp"
#include "coproc/term_convert.hpp"

namespace coproc {

template <class Pred, class Clause>
struct guarded {
  Pred pred;
  Clause clause;
};

// when(pred, clause): the clause matches only if pred(args...) is true. A guard that
// throws counts as false, as a failing guard does in Erlang.
template <class Pred, class Clause>
guarded<std::decay_t<Pred>, std::decay_t<Clause>> when(Pred&& pred, Clause&& clause) {
  return {std::forward<Pred>(pred), std::forward<Clause>(clause)};
}

namespace detail {

template <class... T>
struct type_list {};

template <class F>
struct signature : signature<decltype(&F::operator())> {};
template <class R, class... A>
struct signature<R (*)(A...)> {
  using result = R;
  using args = type_list<A...>;
};
template <class R, class... A>
struct signature<R (*)(A...) noexcept> : signature<R (*)(A...)> {};
template <class R, class... A>
struct signature<R(A...)> : signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature<R (C::*)(A...)> : signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature<R (C::*)(A...) const> : signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature<R (C::*)(A...) noexcept> : signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature<R (C::*)(A...) const noexcept> : signature<R (*)(A...)> {};

// The payload type a clause with parameters A... takes: exactly remove_cvref_t<A>, with
// no decay of const char* to std::string (such a clause never matches a sent literal).
template <class... A>
struct exact_payload {
  using type = std::tuple<std::remove_cvref_t<A>...>;
};
template <class A>
struct exact_payload<A> {
  using type = std::remove_cvref_t<A>;
};
template <class... A>
using exact_payload_t = typename exact_payload<A...>::type;

template <class Args>
struct clause_shape;
template <class... A>
struct clause_shape<type_list<A...>> {
  static_assert(sizeof...(A) > 0, "a receive clause takes the message's values as parameters");
  static constexpr bool wildcard =
      sizeof...(A) == 1 && (std::is_same_v<std::remove_cvref_t<A>, message> && ...);
  using expected = exact_payload_t<A...>;
};

template <class C>
struct clause_traits {
  using sig = signature<std::remove_cvref_t<C>>;
  using result = typename sig::result;
  using args = typename sig::args;
  using shape = clause_shape<args>;
  static constexpr bool wildcard = shape::wildcard;
  using expected = typename shape::expected;
};

template <class P, class C>
struct clause_traits<guarded<P, C>> : clause_traits<C> {};

// Passes a stored value to a parameter of type P: by reference for P&, moved otherwise.
template <class P, class V>
decltype(auto) pass(V& v) {
  if constexpr (std::is_lvalue_reference_v<P>) {
    return static_cast<P>(v);
  } else {
    return static_cast<std::remove_cvref_t<P>&&>(v);
  }
}

template <class C, class... A>
decltype(auto) call_with(C& c, exact_payload_t<A...>& value, type_list<A...> /*unused*/) {
  if constexpr (sizeof...(A) == 1) {
    return c(pass<A...>(value));
  } else {
    return [&]<std::size_t... I>(std::index_sequence<I...>)->decltype(auto) {
      return c(pass<A>(std::get<I>(value))...);
    }
    (std::index_sequence_for<A...>{});
  }
}

template <class Pred, class... A>
bool test_guard(Pred& pred, const exact_payload_t<A...>& value, type_list<A...> /*unused*/) {
  if constexpr (sizeof...(A) == 1) {
    return static_cast<bool>(pred(value));
  } else {
    return std::apply([&](const auto&... v) { return static_cast<bool>(pred(v...)); }, value);
  }
}

// Can a term payload be offered to a clause expecting T (by conversion)?
template <class T>
inline constexpr bool converts_from_term =
    !std::is_same_v<T, term> && term_convertible<T> && std::default_initializable<T>;

inline const term& term_of(const message_node* n) noexcept {
  return static_cast<const typed_node<term>*>(n)->value;
}
inline term& term_of(message_node* n) noexcept {
  return static_cast<typed_node<term>*>(n)->value;
}

// Does clause `c` take message `n`? (Guards run here.)
template <class C>
bool matches(C& c, message_node* n) noexcept {
  using T = clause_traits<C>;
  if constexpr (T::wildcard) {
    if constexpr (requires { c.pred; }) {
      message view{n};
      bool ok = false;
      try {
        ok = static_cast<bool>(c.pred(std::as_const(view)));
      } catch (...) {
      }
      (void)release(std::move(view));
      return ok;
    } else {
      return true;
    }
  } else {
    using E = typename T::expected;
    if (n->type != type_id<E>()) {
      if constexpr (converts_from_term<E>) {
        if (n->type == type_id<term>()) {
          try {
            const term& t = term_of(static_cast<const message_node*>(n));
            if constexpr (requires { c.pred; }) {  // the guard needs the values
              std::optional<E> v = from_term<E>(t);
              return v && test_guard(c.pred, *v, typename T::args{});
            } else {  // a check that builds nothing; consume converts once
              return converts_to<E>(t);
            }
          } catch (...) {
            return false;  // out of memory converting, or a guard that threw
          }
        }
      }
      return false;
    }
    if constexpr (requires { c.pred; }) {
      try {
        return test_guard(c.pred, static_cast<typed_node<E>*>(n)->value, typename T::args{});
      } catch (...) {
        return false;
      }
    } else {
      return true;
    }
  }
}

// Runs clause `c` on `n` (already unlinked from the mailbox) and frees `n`.
template <class C>
decltype(auto) consume(C& c, message_node* n) {
  using T = clause_traits<C>;
  auto& fn = [&]() -> auto& {
    if constexpr (requires { c.clause; }) {
      return c.clause;
    } else {
      return c;
    }
  }
  ();
  if constexpr (T::wildcard) {
    message m{n};
    return fn(std::move(m));
  } else {
    using E = typename T::expected;
    struct free_after {
      message_node* n;
      ~free_after() { destroy(n); }
    } guard{n};
    if constexpr (converts_from_term<E>) {
      if (n->type != type_id<E>()) {  // a term that matched by conversion
        // The message is consumed: its binaries move into the clause's values.
        std::optional<E> v = from_term<E>(std::move(term_of(n)));
        return call_with(fn, *v, typename T::args{});
      }
    }
    return call_with(fn, static_cast<typed_node<E>*>(n)->value, typename T::args{});
  }
}

// The clauses of one receive, in order.
template <class... C>
struct clause_set {
  std::tuple<C...> clauses;

  // Index of the first clause that takes `n`, or -1.
  int match(message_node* n) noexcept {
    int found = -1;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (void)((matches(std::get<I>(clauses), n) ? (found = static_cast<int>(I), true) : false) ||
             ...);
    }
    (std::index_sequence_for<C...>{});
    return found;
  }

  template <class R, std::size_t I = 0>
  R run(int index, message_node* n) {
    if constexpr (sizeof...(C) == 0) {
      (void)index;  // no clause ever matches, so this is never called
      (void)n;
      __builtin_unreachable();
    } else {
      return run_clause<R, I>(index, n);
    }
  }

 private:
  template <class R, std::size_t I>
  R run_clause(int index, message_node* n) {
    if constexpr (I + 1 < sizeof...(C)) {
      if (index != static_cast<int>(I)) return run_clause<R, I + 1>(index, n);
    }
    if constexpr (std::is_void_v<R>) {
      consume(std::get<I>(clauses), n);
    } else {
      return static_cast<R>(consume(std::get<I>(clauses), n));
    }
  }
};

}  // namespace detail
}  // namespace coproc
