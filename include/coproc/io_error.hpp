// coproc/io_error.hpp - how socket operations fail.
//
// One style everywhere: an operation that fails throws std::system_error whose code()
// is the errno (std::system_category()), e.g. ECONNRESET, ECONNREFUSED, EPIPE. A deadline
// that passes throws code std::errc::timed_out. End of stream is not an error:
// read_some returns 0. read_exact that meets end of stream first throws
// io_errc::eof. A peer reset ends that connection's process only.
#pragma once

#include <system_error>

namespace coproc {

enum class io_errc { eof = 1 };
const std::error_category& io_category() noexcept;
inline std::error_code make_error_code(io_errc e) noexcept {
  return {static_cast<int>(e), io_category()};
}

}  // namespace coproc

template <>
struct std::is_error_code_enum<coproc::io_errc> : std::true_type {};
