#include "coproc/detail/small_alloc.hpp"

#include <new>

namespace coproc::detail {
namespace {

constexpr std::size_t kGranule = 16;
constexpr std::size_t kMaxPooled = 1024;
constexpr std::size_t kClasses = kMaxPooled / kGranule + 1;
// Enough to absorb a million-process burst of one size without going to the heap.
constexpr std::size_t kMaxFreePerClass = std::size_t{1} << 20;

struct free_block {
  free_block* next;
};

class thread_pool {
 public:
  thread_pool() = default;
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  ~thread_pool() {
    for (auto& head : heads_) {
      while (head != nullptr) {
        free_block* b = head;
        head = b->next;
        ::operator delete(b);
      }
    }
  }

  void* take(std::size_t cls) {
    free_block* b = heads_[cls];
    if (b != nullptr) {
      heads_[cls] = b->next;
      --counts_[cls];
      return b;
    }
    return ::operator new(cls * kGranule);
  }

  void give(void* p, std::size_t cls) noexcept {
    if (counts_[cls] >= kMaxFreePerClass) {
      ::operator delete(p);
      return;
    }
    auto* b = static_cast<free_block*>(p);
    b->next = heads_[cls];
    heads_[cls] = b;
    ++counts_[cls];
  }

 private:
  free_block* heads_[kClasses]{};
  std::size_t counts_[kClasses]{};
};

thread_local thread_pool t_pool;

constexpr std::size_t size_class(std::size_t size) { return (size + kGranule - 1) / kGranule; }

}  // namespace

#if defined(COPROC_NO_POOL)
void* small_alloc(std::size_t size) { return ::operator new(size); }
void small_free(void* p, std::size_t /*size*/) noexcept { ::operator delete(p); }
#else
void* small_alloc(std::size_t size) {
  if (size > kMaxPooled) return ::operator new(size);
  return t_pool.take(size_class(size));
}

void small_free(void* p, std::size_t size) noexcept {
  if (p == nullptr) return;
  if (size > kMaxPooled) {
    ::operator delete(p);
    return;
  }
  t_pool.give(p, size_class(size));
}
#endif

}  // namespace coproc::detail
