// coproc/message.hpp - what a mailbox holds.
//
// A message is one heap node: a small header (next link, type descriptor) followed by
// the payload. The payload type is std::decay_t<T> for one value and std::tuple<...>
// for several; string literals and const char* become std::string. Sending a
// std::tuple is the same as sending its elements, as {a, b} is one term in Erlang.
// A message type is identified by the address of its descriptor, so matching a clause
// is one pointer comparison; no RTTI is used.
//
// coproc::message is the owning, type-erased handle a catch-all clause receives:
//   co_await receive([](const message& m) { std::cerr << "junk: " << m.type_name(); });
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "coproc/detail/etf_writer.hpp"
#include "coproc/detail/pid_term.hpp"
#include "coproc/detail/small_alloc.hpp"
#include "coproc/term_convert.hpp"

namespace coproc {

class message;

namespace detail {

struct message_node;

struct message_type_info {
  void (*destroy)(message_node*) noexcept;
  std::string_view name;
  // Set for replies to call(): the ref they answer. Delivery drops a reply whose call
  // has given up (timed out), so a late reply never lands in a mailbox as junk.
  std::uint64_t (*reply_ref)(const message_node*) noexcept;
  // Set for payloads with term_traits: appends the payload in the External Term Format
  // (no version byte), for sending it to another node (coproc/node.hpp).
  void (*encode)(const message_node*, std::string& out);
};

// Base of every call() reply payload (coproc/call.hpp).
struct reply_base {
  std::uint64_t ref = 0;
};

struct message_node {
  message_node* next = nullptr;
  const message_type_info* type = nullptr;
};

template <class T>
const message_type_info* type_id() noexcept;

template <class T>
struct typed_node final : message_node {
  T value;
  template <class... A>
  explicit typed_node(A&&... a)
      : message_node{nullptr, type_id<T>()}, value(std::forward<A>(a)...) {}
};

template <class T>
constexpr std::string_view type_name() noexcept {
  std::string_view s = __PRETTY_FUNCTION__;
  const auto start = s.find("T = ") + 4;
  const auto end = s.find_first_of(";]", start);
  return s.substr(start, end - start);
}

template <class T>
void destroy_node(message_node* n) noexcept {
  auto* t = static_cast<typed_node<T>*>(n);
  t->~typed_node<T>();
  small_free(t, sizeof(typed_node<T>));
}

template <class T>
std::uint64_t reply_ref_of(const message_node* n) noexcept {
  return static_cast<const reply_base&>(static_cast<const typed_node<T>*>(n)->value).ref;
}

template <class T>
constexpr auto reply_ref_fn() noexcept -> std::uint64_t (*)(const message_node*) noexcept {
  if constexpr (std::is_base_of_v<reply_base, T>) {
    return &reply_ref_of<T>;
  } else {
    return nullptr;
  }
}

template <class T>
void encode_payload(const message_node* n, std::string& out) {
  etf::value(out, static_cast<const typed_node<T>*>(n)->value);
}

template <class T>
constexpr auto encode_fn() noexcept -> void (*)(const message_node*, std::string&) {
  if constexpr (term_convertible<T>) {
    return &encode_payload<T>;
  } else {
    return nullptr;
  }
}

template <class T>
inline constexpr message_type_info type_info_for{&destroy_node<T>, type_name<T>(),
                                                 reply_ref_fn<T>(), encode_fn<T>()};

template <class T>
const message_type_info* type_id() noexcept {
  return &type_info_for<T>;
}

inline void destroy(message_node* n) noexcept {
  n->type->destroy(n);
}

// Destroys every node of a nullptr-terminated chain (a mailbox's, an envelope's).
inline void destroy_chain(message_node* n) noexcept {
  while (n != nullptr) {
    message_node* next = n->next;
    destroy(n);
    n = next;
  }
}

// Which payload type a sent value becomes.
template <class T>
struct stored {
  using type = std::decay_t<T>;
};
template <>
struct stored<const char*> {
  using type = std::string;
};
template <>
struct stored<char*> {
  using type = std::string;
};
template <class T>
using stored_t = typename stored<std::decay_t<T>>::type;

template <class... V>
struct payload {
  using type = std::tuple<stored_t<V>...>;
};
template <class V>
struct payload<V> {
  using type = stored_t<V>;
};
template <class... V>
using payload_t = typename payload<V...>::type;

template <class T, class... V>
message_node* make_node(V&&... v) {
  void* mem = small_alloc(sizeof(typed_node<T>));
  try {
    return ::new (mem) typed_node<T>(std::forward<V>(v)...);
  } catch (...) {
    small_free(mem, sizeof(typed_node<T>));
    throw;
  }
}

template <class... V>
message_node* make_message(V&&... v);

// Releases ownership of a message's node (used to forward a message unchanged).
message_node* release(message&& m) noexcept;

}  // namespace detail

// An owned, type-erased message, as a catch-all clause sees it.
class message {
 public:
  message() = default;
  explicit message(detail::message_node* n) noexcept : node_(n) {}
  message(message&& o) noexcept : node_(std::exchange(o.node_, nullptr)) {}
  message& operator=(message&& o) noexcept {
    if (this != &o) {
      reset();
      node_ = std::exchange(o.node_, nullptr);
    }
    return *this;
  }
  message(const message&) = delete;
  message& operator=(const message&) = delete;
  ~message() { reset(); }

  [[nodiscard]] bool empty() const noexcept { return node_ == nullptr; }
  // The payload type, as the compiler spells it (for logs and debugging).
  [[nodiscard]] std::string_view type_name() const noexcept {
    return node_ != nullptr ? node_->type->name : std::string_view{"<empty>"};
  }
  // True when the payload is exactly the values Ts (one T, or a tuple of several).
  template <class... Ts>
  [[nodiscard]] bool is() const noexcept {
    return node_ != nullptr && node_->type == detail::type_id<detail::payload_t<Ts...>>();
  }
  // The payload, for a message that is<Ts...>(); undefined otherwise.
  template <class... Ts>
  [[nodiscard]] const detail::payload_t<Ts...>& get() const noexcept {
    return static_cast<const detail::typed_node<detail::payload_t<Ts...>>*>(node_)->value;
  }

 private:
  friend detail::message_node* detail::release(message&& m) noexcept;
  void reset() noexcept {
    if (node_ != nullptr) detail::destroy(std::exchange(node_, nullptr));
  }
  detail::message_node* node_ = nullptr;
};

namespace detail {

inline message_node* release(message&& m) noexcept {
  return std::exchange(m.node_, nullptr);
}

template <class... V>
message_node* make_message(V&&... v) {
  if constexpr (sizeof...(V) == 1 && (std::is_same_v<std::remove_cvref_t<V>, message> && ...)) {
    return release(std::move(v)...);  // forwarding a received message as it is
  } else {
    return make_node<payload_t<V...>>(std::forward<V>(v)...);
  }
}

}  // namespace detail
}  // namespace coproc
