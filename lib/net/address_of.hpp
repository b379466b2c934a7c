// lib/net/address_of.hpp - getsockname / getpeername as a socket_address (throws
// std::system_error). Defined in lib/net/tcp.cpp.
#pragma once

#include "coproc/socket_address.hpp"

namespace coproc::detail {
socket_address address_of(int fd, bool peer);
}
