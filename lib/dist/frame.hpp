// lib/dist/frame.hpp - the one way a distribution frame is written: a 4-byte big-endian
// length, 112 (a pass-through frame: no distribution header), the control message, then
// the message if there is one, each a term in the External Term Format after its version
// byte (131). A tick is a frame of length 0. The length itself is written by
// append_frame_header (wire.hpp), which the reader's next_frame mirrors.
//
//   frame_builder f;                        // length placeholder, 112, 131
//   etf::tuple_header(f.out(), 3); ...      // the control message, by the ETF writer
//   f.begin_message();                      // 131
//   n->type->encode(n, f.out());            // the message, straight from the C++ value
//   std::string bytes = std::move(f).finish();
#pragma once

#include <string>

#include "coproc/term.hpp"

namespace coproc::detail::dist {

class frame_builder {
 public:
  frame_builder();
  // Where the control message's (then the message's) ETF goes, after its version byte.
  [[nodiscard]] std::string& out() noexcept { return f_; }
  // The control message as a term (instead of writing it into out()).
  void control(const term& t);
  // The message's version byte; its ETF follows in out(), or message(t) writes it.
  void begin_message() { f_.push_back(static_cast<char>(131)); }
  void message(const term& t);
  // The frame with its length written. The builder is spent.
  [[nodiscard]] std::string finish() &&;

 private:
  std::string f_;
};

// A frame of `control` and, if given, `message`.
std::string make_frame(const term& control, const term* message);

// A tick: the empty frame, which keeps an idle connection alive.
std::string tick_frame();

}  // namespace coproc::detail::dist
