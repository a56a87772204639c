// The allocator generated code calls: freed blocks are reused by size, so a
// repeated pattern of allocations stops touching the system heap.
#include "lm/Alloc.h"

#include <gtest/gtest.h>

#include <cstdint>

extern "C" void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size);
extern "C" void *_mlir_memref_to_llvm_alloc(size_t size);
extern "C" void _mlir_memref_to_llvm_free(void *ptr);

TEST(Alloc, ReusesFreedBlocksOfTheSameSize) {
  void *a = _mlir_memref_to_llvm_aligned_alloc(64, 1000);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  _mlir_memref_to_llvm_free(a);
  auto before = lm::rt::allocCounts();
  void *b = _mlir_memref_to_llvm_aligned_alloc(64, 1000);
  auto after = lm::rt::allocCounts();
  EXPECT_EQ(a, b);
  EXPECT_EQ(after.system, before.system);
  EXPECT_EQ(after.reused, before.reused + 1);
  _mlir_memref_to_llvm_free(b);
}

TEST(Alloc, DifferentSizesGetDifferentBlocks) {
  void *a = _mlir_memref_to_llvm_alloc(100);
  void *b = _mlir_memref_to_llvm_alloc(100000);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  static_cast<char *>(b)[99999] = 1; // the whole block is usable
  _mlir_memref_to_llvm_free(a);
  _mlir_memref_to_llvm_free(b);
  _mlir_memref_to_llvm_free(nullptr);
}

TEST(Alloc, SteadyStateLoopMakesNoHeapAllocations) {
  auto step = [] {
    void *x = _mlir_memref_to_llvm_aligned_alloc(64, 4096);
    void *y = _mlir_memref_to_llvm_aligned_alloc(64, 512);
    _mlir_memref_to_llvm_free(x);
    void *z = _mlir_memref_to_llvm_aligned_alloc(64, 4096);
    _mlir_memref_to_llvm_free(y);
    _mlir_memref_to_llvm_free(z);
  };
  step();
  auto before = lm::rt::allocCounts();
  for (int i = 0; i < 100; ++i)
    step();
  EXPECT_EQ(lm::rt::allocCounts().system, before.system);
}
