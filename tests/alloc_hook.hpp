// tests/alloc_hook.hpp - lets a test program watch every allocation: it replaces the
// global operator new/delete and calls on_allocation(bytes), which the test defines.
// Include it from exactly one file of a test program (a replacement is one per program).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

void on_allocation(std::size_t n) noexcept;

namespace alloc_hook {
inline void* allocate(std::size_t n) {
  on_allocation(n);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
}  // namespace alloc_hook

void* operator new(std::size_t n) {
  return alloc_hook::allocate(n);
}
void* operator new[](std::size_t n) {
  return alloc_hook::allocate(n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
