// lib/dist/wire.hpp - the bytes of the Erlang distribution protocol, version 6 (OTP 23+),
// with no I/O: what a node sends to epmd and to another node, and how it reads the answers.
// Written from OTP's erts "Distribution Protocol" document and kernel's dist.hrl.
//
// A connection goes through three framings, and each has its own helpers here:
//
//   epmd (TCP 4369)   requests carry a 2-byte length; epmd's answers carry none, so their
//                     parsers are incremental (need_more until a whole answer is there).
//     ALIVE2_REQ      'x'  register our name and listen port; epmd keeps the name while
//                          the socket stays open.
//     ALIVE2_X_RESP   'v'  result and 32-bit creation (ALIVE2_RESP 'y': 16-bit creation,
//                          from an epmd older than OTP 23).
//     PORT_PLEASE2_REQ 'z' which port does alive name X listen on?
//     PORT2_RESP      'w'  that port and the versions it speaks; just [119, Result] when
//                          Result != 0 (no such name). epmd then closes the socket.
//
//   handshake         every message carries a 2-byte length (frame16); the builders below
//                     return bodies without it and the parsers take bodies without it.
//     A -> B  send_name       'N'  A's flags, creation and full node name.
//     B -> A  status          's'  "ok", "ok_simultaneous", "nok", "not_allowed", "alive";
//                                  A answers "alive" with status "true" or "false".
//     B -> A  challenge       'N'  B's flags, B's challenge to A, creation and node name.
//     A -> B  complement      'c'  high flags and creation, only after an old 'n' name
//                                  (OTP 23/24 without epmd); parsed so B can accept one.
//     A -> B  challenge_reply 'r'  A's challenge to B, and A's digest of B's challenge.
//     B -> A  challenge_ack   'a'  B's digest of A's challenge. Then both are connected.
//   A digest proves the cookie without sending it: md5(cookie ++ decimal challenge).
//
//   connected         every frame carries a 4-byte length; a zero length is a tick (the
//                     peer is alive), sent when there is nothing else to say.
//
// Parsers never read outside their input and never throw; they reject (nullopt or error,
// with a message) a wrong tag, a short or overlong body, a length field past the end, and
// a node name that is empty, over 255 bytes, holds a byte < 0x20 or 0x7f, or lacks '@'
// (send_name with flag_name_me carries only a host, so there '@' is not required).
// The protocol says a node must accept and ignore bytes after the name in send_name and
// challenge (room for later versions), so those two parsers do; the fixed-size messages
// reject trailing bytes. Flags are returned as sent: whether they are acceptable (the
// mandatory set, flag_handshake_23) is the connection's decision, not the parser's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Relative, not "lib/dist/md5.hpp": tests include this header without the source root on
// their include path.
#include "md5.hpp"

namespace coproc::detail::dist {

// ---- capability flags (dist.hrl) -------------------------------------------------------

inline constexpr std::uint64_t flag_published = 0x1;
inline constexpr std::uint64_t flag_extended_references = 0x4;
inline constexpr std::uint64_t flag_dist_monitor = 0x8;
inline constexpr std::uint64_t flag_fun_tags = 0x10;
inline constexpr std::uint64_t flag_dist_monitor_name = 0x20;
inline constexpr std::uint64_t flag_new_fun_tags = 0x80;
inline constexpr std::uint64_t flag_extended_pids_ports = 0x100;
inline constexpr std::uint64_t flag_export_ptr_tag = 0x200;
inline constexpr std::uint64_t flag_bit_binaries = 0x400;
inline constexpr std::uint64_t flag_new_floats = 0x800;
inline constexpr std::uint64_t flag_utf8_atoms = 0x10000;
inline constexpr std::uint64_t flag_map_tag = 0x20000;
inline constexpr std::uint64_t flag_big_creation = 0x40000;
inline constexpr std::uint64_t flag_send_sender = 0x80000;
inline constexpr std::uint64_t flag_exit_payload = 0x400000;
inline constexpr std::uint64_t flag_fragments = 0x800000;
inline constexpr std::uint64_t flag_handshake_23 = 0x1000000;
inline constexpr std::uint64_t flag_unlink_id = 0x2000000;
inline constexpr std::uint64_t flag_mandatory_25_digest = 0x4000000;
inline constexpr std::uint64_t flag_spawn = std::uint64_t{0x1} << 32;
inline constexpr std::uint64_t flag_name_me = std::uint64_t{0x2} << 32;
inline constexpr std::uint64_t flag_v4_nc = std::uint64_t{0x4} << 32;
inline constexpr std::uint64_t flag_alias = std::uint64_t{0x8} << 32;

// What an OTP 25+ node refuses to connect without (flag_mandatory_25_digest stands for
// all of them).
inline constexpr std::uint64_t mandatory_flags_25 =
    flag_extended_references | flag_fun_tags | flag_extended_pids_ports | flag_new_fun_tags |
    flag_export_ptr_tag | flag_bit_binaries | flag_new_floats | flag_utf8_atoms | flag_map_tag |
    flag_big_creation | flag_handshake_23;

// md5(cookie ++ the challenge as unsigned decimal text), what both sides compute.
[[nodiscard]] digest16 handshake_digest(std::uint32_t challenge, std::string_view cookie) noexcept;

// ---- handshake messages (bodies, without the 2-byte length) ---------------------------

struct name_msg {  // send_name
  std::uint64_t flags = 0;
  std::uint32_t creation = 0;
  std::string name;
  bool operator==(const name_msg&) const = default;
};

struct status_msg {  // every byte after 's' ("named:" is followed by binary data)
  std::string status;
  bool operator==(const status_msg&) const = default;
};

struct challenge_msg {  // send_challenge
  std::uint64_t flags = 0;
  std::uint32_t challenge = 0;
  std::uint32_t creation = 0;
  std::string name;
  bool operator==(const challenge_msg&) const = default;
};

struct challenge_reply_msg {
  std::uint32_t challenge = 0;
  digest16 digest{};
  bool operator==(const challenge_reply_msg&) const = default;
};

struct challenge_ack_msg {
  digest16 digest{};
  bool operator==(const challenge_ack_msg&) const = default;
};

struct complement_msg {
  std::uint32_t flags_high = 0;
  std::uint32_t creation = 0;
  bool operator==(const complement_msg&) const = default;
};

// Builders throw std::length_error when a name does not fit its 2-byte length field;
// they do not check the name otherwise.
[[nodiscard]] std::string build(const name_msg& m);
[[nodiscard]] std::string build(const status_msg& m);
[[nodiscard]] std::string build(const challenge_msg& m);
[[nodiscard]] std::string build(const challenge_reply_msg& m);
[[nodiscard]] std::string build(const challenge_ack_msg& m);
[[nodiscard]] std::string build(const complement_msg& m);

// The body with its big-endian 2-byte length in front; std::length_error above 65535.
[[nodiscard]] std::string frame16(std::string_view body);

// On failure: nullopt, and error says what was wrong.
[[nodiscard]] std::optional<name_msg> parse_name(std::string_view body, std::string& error);
[[nodiscard]] std::optional<status_msg> parse_status(std::string_view body, std::string& error);
[[nodiscard]] std::optional<challenge_msg> parse_challenge(std::string_view body,
                                                           std::string& error);
[[nodiscard]] std::optional<challenge_reply_msg> parse_challenge_reply(std::string_view body,
                                                                       std::string& error);
[[nodiscard]] std::optional<challenge_ack_msg> parse_challenge_ack(std::string_view body,
                                                                   std::string& error);
[[nodiscard]] std::optional<complement_msg> parse_complement(std::string_view body,
                                                             std::string& error);

// ---- epmd -----------------------------------------------------------------------------

// Requests, with their 2-byte length. alive_name is the part of a node name before '@'
// (a full name is cut there). std::invalid_argument if it is empty, std::length_error if
// the request would not fit its length field.
[[nodiscard]] std::string build_alive2_req(std::uint16_t port, bool hidden,
                                           std::string_view alive_name);
[[nodiscard]] std::string build_port_please2_req(std::string_view alive_name);

// Incremental parsers for epmd's answers: ok (out filled, used = bytes of the answer),
// need_more (bytes is a proper prefix of an answer; read more and call again with all of
// it), or error (error says why). out and used are written only on ok. (Not called
// parse_status: that is the status message's parser.)
enum class stream_parse { ok, need_more, error };

struct alive2_resp {
  std::uint8_t result = 0;  // 0: registered
  std::uint32_t creation = 0;
};
[[nodiscard]] stream_parse parse_alive2_resp(std::string_view bytes, alive2_resp& out,
                                             std::size_t& used, std::string& error);

struct port2_resp {
  std::uint8_t result = 0;  // 0: found; otherwise the fields below are zero / empty
  std::uint16_t port = 0;
  std::uint8_t node_type = 0;  // 77 normal, 72 hidden
  std::uint8_t protocol = 0;   // 0 TCP/IPv4
  std::uint16_t highest = 0;
  std::uint16_t lowest = 0;
  std::string name;  // the alive name; Extra is skipped
};
[[nodiscard]] stream_parse parse_port2_resp(std::string_view bytes, port2_resp& out,
                                            std::size_t& used, std::string& error);

// ---- connected: 4-byte length frames --------------------------------------------------

enum class frame_status { frame, tick, need_more, too_large };

// Looks at the start of buf. frame: body is the frame's payload and used its size with the
// header. tick: used is 4 and body empty. need_more: used is the size the whole frame will
// have with its header once it is known (4 until then), so a reader can make room for it
// at once; body is not set. too_large: the header announces more than max_frame bytes;
// nothing else is set, and the connection should end.
[[nodiscard]] frame_status next_frame(std::string_view buf, std::size_t max_frame,
                                      std::string_view& body, std::size_t& used) noexcept;

// Appends the 4-byte big-endian length of a frame whose payload is len bytes.
void append_frame_header(std::string& out, std::uint32_t len);

}  // namespace coproc::detail::dist
