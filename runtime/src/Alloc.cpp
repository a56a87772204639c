//===- Alloc.cpp - The allocator generated code calls ---------------------===//
//
// lmc lowers memref allocation with `finalize-memref-to-llvm{use-generic-
// functions}`, so generated code allocates and frees through these three
// functions instead of malloc/free. They keep freed blocks on per-size free
// lists: a training step's temporaries have the same sizes every step, so
// from the second step on every allocation is served from the lists and no
// step touches the system heap (run.json's cost report counts both).
// With LM_SANITIZE set (an AddressSanitizer run) blocks go back to the heap
// at once, so use-after-free in generated code stays detectable.
//
//===----------------------------------------------------------------------===//
#include "lm/Alloc.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace {

// Every block starts with a 64-byte header holding its size, so the data
// is 64-byte aligned (the most generated code asks for) and free() knows
// the size class.
constexpr size_t kHeader = 64;

struct Pool {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<char *>> free;
};

Pool &pool() {
  static Pool *p = new Pool; // never destroyed: blocks may be freed at exit
  return *p;
}

std::atomic<int64_t> systemAllocs{0}, reuses{0};

bool pooling() {
  static const bool on = std::getenv("LM_SANITIZE") == nullptr;
  return on;
}

void *allocate(size_t size, size_t alignment) {
  if (alignment > kHeader)
    return nullptr; // never requested by lmc's lowering
  size_t rounded = (size + kHeader - 1) / kHeader * kHeader;
  Pool &p = pool();
  if (pooling()) {
    std::lock_guard<std::mutex> lock(p.mu);
    auto it = p.free.find(rounded);
    if (it != p.free.end() && !it->second.empty()) {
      char *block = it->second.back();
      it->second.pop_back();
      reuses.fetch_add(1, std::memory_order_relaxed);
      return block + kHeader;
    }
  }
  char *block = static_cast<char *>(std::aligned_alloc(kHeader, kHeader + rounded));
  if (!block)
    return nullptr;
  *reinterpret_cast<size_t *>(block) = rounded;
  systemAllocs.fetch_add(1, std::memory_order_relaxed);
  return block + kHeader;
}

} // namespace

lm::rt::AllocCounts lm::rt::allocCounts() {
  return {systemAllocs.load(std::memory_order_relaxed), reuses.load(std::memory_order_relaxed)};
}

extern "C" void *_mlir_memref_to_llvm_alloc(size_t size) { return allocate(size, 16); }

extern "C" void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size) {
  return allocate(size, alignment);
}

extern "C" void _mlir_memref_to_llvm_free(void *ptr) {
  if (!ptr)
    return;
  char *block = static_cast<char *>(ptr) - kHeader;
  if (!pooling()) {
    std::free(block);
    return;
  }
  size_t rounded = *reinterpret_cast<size_t *>(block);
  Pool &p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  p.free[rounded].push_back(block);
}
