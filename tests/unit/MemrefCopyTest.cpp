// memrefCopy (the MLIR runtime ABI liblmrt implements) copies strided views.
#include <cstdint>
#include <gtest/gtest.h>

extern "C" void memrefCopy(int64_t elemSize, void *src, void *dst);

namespace {
struct Desc2 {
  float *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
};
struct Unranked {
  int64_t rank;
  void *descriptor;
};
} // namespace

TEST(MemrefCopy, StridedSliceIntoContiguous) {
  float src[4][5];
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 5; ++c)
      src[r][c] = float(10 * r + c);
  float dst[3][2] = {};
  // src[1:4, 2:4] (offset 7, strides 5, 1) -> dst (3 x 2, contiguous).
  Desc2 s{&src[0][0], &src[0][0], 7, {3, 2}, {5, 1}};
  Desc2 d{&dst[0][0], &dst[0][0], 0, {3, 2}, {2, 1}};
  Unranked us{2, &s}, ud{2, &d};
  memrefCopy(sizeof(float), &us, &ud);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 2; ++c)
      EXPECT_EQ(dst[r][c], float(10 * (r + 1) + c + 2));
}
