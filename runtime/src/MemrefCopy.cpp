//===- MemrefCopy.cpp - The one MLIR runtime helper generated code calls --===//
//
// `memref.copy` between non-contiguous memrefs (e.g. a strided slice) lowers
// to a call of `memrefCopy` (MLIR's CRunnerUtils ABI). liblmrt provides it so
// executables need no MLIR shared library.
//
//===----------------------------------------------------------------------===//
#include <cstdint>
#include <cstring>

namespace {
/// An unranked memref: its rank and a pointer to the ranked descriptor
/// { void *allocated, *aligned; int64_t offset, sizes[rank], strides[rank]; }.
struct UnrankedMemRef {
  int64_t rank;
  void *descriptor;
};

struct View {
  char *data;
  const int64_t *sizes, *strides;
};

View view(const UnrankedMemRef &m, int64_t elemSize) {
  auto *d = static_cast<char *>(m.descriptor);
  char *aligned = *reinterpret_cast<char **>(d + sizeof(void *));
  const auto *rest = reinterpret_cast<const int64_t *>(d + 2 * sizeof(void *));
  return {aligned + rest[0] * elemSize, rest + 1, rest + 1 + m.rank};
}

/// Copies dims [dim, stop) element block by block; dims from `stop` on are
/// contiguous in both views and move as one memcpy of `block` bytes.
void copy(int64_t dim, int64_t stop, size_t block, const View &src, const char *s,
          const View &dst, char *t, int64_t elemSize) {
  if (dim == stop) {
    std::memcpy(t, s, block);
    return;
  }
  for (int64_t i = 0; i < src.sizes[dim]; ++i)
    copy(dim + 1, stop, block, src, s + i * src.strides[dim] * elemSize, dst,
         t + i * dst.strides[dim] * elemSize, elemSize);
}
} // namespace

extern "C" void memrefCopy(int64_t elemSize, UnrankedMemRef *src, UnrankedMemRef *dst) {
  View s = view(*src, elemSize), d = view(*dst, elemSize);
  int64_t rank = src->rank;
  for (int64_t i = 0; i < rank; ++i)
    if (s.sizes[i] == 0)
      return;
  // The longest run of trailing dimensions laid out contiguously (row-major,
  // unit innermost stride) in both source and destination.
  int64_t stop = rank, extent = 1;
  while (stop > 0 && s.strides[stop - 1] == extent && d.strides[stop - 1] == extent) {
    extent *= s.sizes[stop - 1];
    --stop;
  }
  copy(0, stop, size_t(extent) * size_t(elemSize), s, s.data, d, d.data, elemSize);
}
