#include "lib/dist/frame.hpp"

#include <cstdint>
#include <utility>

#include "coproc/term_codec.hpp"
#include "lib/dist/wire.hpp"

namespace coproc::detail::dist {

frame_builder::frame_builder() : f_(4, '\0') {  // the length, written by finish()
  f_.push_back(static_cast<char>(112));         // pass-through: no distribution header
  f_.push_back(static_cast<char>(131));         // the control message's version byte
}

void frame_builder::control(const term& t) {
  encode_append(f_, t, {.version_byte = false});
}

void frame_builder::message(const term& t) {
  begin_message();
  encode_append(f_, t, {.version_byte = false});
}

std::string frame_builder::finish() && {
  std::string length;  // 4 bytes: no allocation
  append_frame_header(length, static_cast<std::uint32_t>(f_.size() - 4));
  f_.replace(0, 4, length);
  return std::move(f_);
}

std::string tick_frame() {
  std::string tick;
  append_frame_header(tick, 0);
  return tick;
}

std::string make_frame(const term& control, const term* message) {
  frame_builder f;
  f.control(control);
  if (message != nullptr) f.message(*message);
  return std::move(f).finish();
}

}  // namespace coproc::detail::dist
