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

namespace {
struct Desc3 {
  float *allocated, *aligned;
  int64_t offset, sizes[3], strides[3];
};
} // namespace

// Rows contiguous in both views move as blocks; the strided outer dimension
// (every other row of the destination) is still honoured, and a column
// slice (inner stride 1 but rows not adjacent) is copied element by element.
TEST(MemrefCopy, ContiguousRowsIntoStridedDestination) {
  float src[3][2][4];
  for (int i = 0; i < 24; ++i)
    (&src[0][0][0])[i] = float(i);
  float dst[3][3][4] = {};
  // dst[:, 1:3, :] (offset 4, strides 12, 4, 1) <- src (contiguous).
  Desc3 s{&src[0][0][0], &src[0][0][0], 0, {3, 2, 4}, {8, 4, 1}};
  Desc3 d{&dst[0][0][0], &dst[0][0][0], 4, {3, 2, 4}, {12, 4, 1}};
  Unranked us{3, &s}, ud{3, &d};
  memrefCopy(sizeof(float), &us, &ud);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k)
        EXPECT_EQ(dst[i][j][k], j == 0 ? 0.0f : src[i][j - 1][k]) << i << j << k;

  float out[3][2][2] = {};
  // src[:, :, 1:3] -> out: inner stride 1, but not contiguous across rows.
  Desc3 s2{&src[0][0][0], &src[0][0][0], 1, {3, 2, 2}, {8, 4, 1}};
  Desc3 d2{&out[0][0][0], &out[0][0][0], 0, {3, 2, 2}, {4, 2, 1}};
  Unranked us2{3, &s2}, ud2{3, &d2};
  memrefCopy(sizeof(float), &us2, &ud2);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 2; ++k)
        EXPECT_EQ(out[i][j][k], src[i][j][k + 1]);
}
