// lib/mem/small_alloc.cpp - per-thread free lists over shared slabs, with a depot.
//
// Each thread pops and pushes blocks on its own lists: no atomics, no locks. Blocks are
// carved from 64 KiB slabs. Blocks often die on another core than the one that made
// them (a message, or a frame spawned onto another core), so a list that grows past
// 2 x kBatch hands kBatch blocks to a mutex-guarded depot, and an empty list takes a
// batch from there before carving a new slab: one lock per 256 blocks. Slabs are
// released when the program exits (the depot owns them), so peak usage is retained.
#include "coproc/detail/small_alloc.hpp"

#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

namespace coproc::detail {
namespace {

constexpr std::size_t kGranule = 16;
constexpr std::size_t kMaxPooled = 1024;
constexpr std::size_t kClasses = kMaxPooled / kGranule + 1;
constexpr std::size_t kBatch = 256;
constexpr std::size_t kSlabBytes = std::size_t{64} * 1024;

struct free_block {
  free_block* next;
};

class depot {
 public:
  depot() = default;
  depot(const depot&) = delete;
  depot& operator=(const depot&) = delete;
  ~depot() {
    for (void* s : slabs_) std::free(s);
  }

  // A list of blocks (a batch or less), or nullptr. Sets *count.
  free_block* take(std::size_t cls, std::size_t* count) {
    std::lock_guard lock(mu_);
    auto& bs = batches_[cls];
    if (bs.empty()) return nullptr;
    auto [head, n] = bs.back();
    bs.pop_back();
    *count = n;
    return head;
  }
  void put(std::size_t cls, free_block* head, std::size_t n) {
    std::lock_guard lock(mu_);
    batches_[cls].push_back({head, n});
  }
  // A new slab carved into blocks of class cls, as a list. Sets *count.
  free_block* carve(std::size_t cls, std::size_t* count) {
    const std::size_t size = cls * kGranule;
    const std::size_t n = kSlabBytes / size;
    char* slab = static_cast<char*>(std::malloc(n * size));
    if (slab == nullptr) throw std::bad_alloc();
    {
      std::lock_guard lock(mu_);
      try {
        slabs_.push_back(slab);
      } catch (...) {
        std::free(slab);
        throw;
      }
    }
    free_block* head = nullptr;
    for (std::size_t i = n; i-- > 0;) {
      auto* b = reinterpret_cast<free_block*>(slab + i * size);
      b->next = head;
      head = b;
    }
    *count = n;
    return head;
  }

 private:
  struct batch {
    free_block* head;
    std::size_t n;
  };
  std::mutex mu_;
  std::vector<batch> batches_[kClasses];
  std::vector<void*> slabs_;
};

depot& the_depot() {
  static depot d;  // outlives every thread's pool: threads end before static destruction
  return d;
}

class thread_pool {
 public:
  thread_pool() : depot_(the_depot()) {}
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  ~thread_pool() {
    for (std::size_t c = 0; c < kClasses; ++c) {
      if (heads_[c] != nullptr) depot_.put(c, heads_[c], counts_[c]);
    }
  }

  void* take(std::size_t cls) {
    free_block* b = heads_[cls];
    if (b == nullptr) {
      std::size_t n = 0;
      b = depot_.take(cls, &n);
      if (b == nullptr) b = depot_.carve(cls, &n);
      counts_[cls] = n;
    }
    heads_[cls] = b->next;
    --counts_[cls];
    return b;
  }

  void give(void* p, std::size_t cls) noexcept {
    auto* b = static_cast<free_block*>(p);
    b->next = heads_[cls];
    heads_[cls] = b;
    if (++counts_[cls] < 2 * kBatch) return;
    // Hand a batch to the depot for the core that is allocating.
    free_block* last = b;
    for (std::size_t i = 1; i < kBatch; ++i) last = last->next;
    free_block* rest = last->next;
    last->next = nullptr;
    try {
      depot_.put(cls, b, kBatch);
      heads_[cls] = rest;
      counts_[cls] -= kBatch;
    } catch (...) {
      last->next = rest;  // keep them here rather than lose them
    }
  }

 private:
  depot& depot_;
  free_block* heads_[kClasses]{};
  std::size_t counts_[kClasses]{};
};

thread_local thread_pool t_pool;

constexpr std::size_t size_class(std::size_t size) {
  return (size + kGranule - 1) / kGranule;
}

}  // namespace

#if defined(COPROC_NO_POOL)
void* small_alloc(std::size_t size) {
  return ::operator new(size);
}
void small_free(void* p, std::size_t /*size*/) noexcept {
  ::operator delete(p);
}
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
