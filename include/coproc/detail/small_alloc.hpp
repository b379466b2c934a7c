// coproc/detail/small_alloc.hpp - per-thread small-object pool for frames and messages.
//
// Each thread (each core's loop, and any foreign thread) keeps free lists per 16-byte
// size class. A block freed on another thread simply joins that thread's list: all
// blocks come from ::operator new, so any list may hold any block of its class. No
// atomics and no locks. Lists are capped; past the cap blocks go back to the heap.
// Built with COPROC_NO_POOL (the sanitizer builds define it) every call goes straight
// to ::operator new/delete, so ASan sees each object's real lifetime.
#pragma once

#include <cstddef>

namespace coproc::detail {

void* small_alloc(std::size_t size);
void small_free(void* p, std::size_t size) noexcept;

}  // namespace coproc::detail
