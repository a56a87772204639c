//===- Alloc.h - Counters of the generated code's allocator ----*- C++ -*-===//
#ifndef LM_ALLOC_H
#define LM_ALLOC_H

#include <cstdint>

namespace lm::rt {

/// Allocations generated code made from the system heap, and those served
/// from freed blocks of the same size, since the program started.
struct AllocCounts {
  int64_t system = 0, reused = 0;
};
AllocCounts allocCounts();

} // namespace lm::rt

#endif
