// The counter-based RNG: known-answer vectors of Philox4x32-10 (Random123's
// kat_vectors) and the statistics of the derived distributions.
#include "lm/Rng.h"

#include <gtest/gtest.h>

using namespace lm::rt;

TEST(Philox, KnownAnswerVectors) {
  using A4 = std::array<uint32_t, 4>;
  EXPECT_EQ(philox4x32({0, 0, 0, 0}, {0, 0}),
            (A4{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox4x32({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                       {0xffffffff, 0xffffffff}),
            (A4{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox4x32({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                       {0xa4093822, 0x299f31d0}),
            (A4{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(Philox, PureFunctionOfKeyAndCounter) {
  EXPECT_EQ(normal(42, 7), normal(42, 7));
  EXPECT_NE(normal(42, 7), normal(42, 8));
  EXPECT_NE(normal(42, 7), normal(43, 7));
  EXPECT_NE(streamKey(0, "init/a"), streamKey(0, "init/b"));
  EXPECT_NE(streamKey(0, "x"), streamKey(1, "x"));
}

TEST(Philox, NormalMoments) {
  const int n = 200000;
  double sum = 0, sq = 0, quart = 0;
  for (int i = 0; i < n; ++i) {
    double z = normal(streamKey(3, "test"), i);
    sum += z;
    sq += z * z;
    quart += z * z * z * z;
  }
  double mean = sum / n, var = sq / n - mean * mean;
  // Standard errors: 1/sqrt(n) = 0.0022 for the mean, sqrt(2/n) = 0.0032 for
  // the variance; 5 sigma bounds.
  EXPECT_NEAR(mean, 0.0, 0.011);
  EXPECT_NEAR(var, 1.0, 0.016);
  EXPECT_NEAR(quart / n, 3.0, 0.1); // Gaussian kurtosis
}

TEST(Philox, UniformIsOpenUnitInterval) {
  double lo = 1, hi = 0, sum = 0;
  for (int i = 0; i < 100000; ++i) {
    double u = uniform01(9, i);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
  }
  EXPECT_GT(lo, 0.0);
  EXPECT_LT(hi, 1.0);
  EXPECT_NEAR(sum / 100000, 0.5, 0.005);
}
