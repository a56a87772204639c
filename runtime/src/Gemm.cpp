//===- Gemm.cpp - The batched GEMM kernel generated code calls ------------===//
//
// C[b] += A[b] B[b] for b < batch, A [M, K], B [K, N], C [M, N], each given by
// its aligned address, element offset and three strides (batch, row, column),
// as `lm-matmul-to-call` passes them. Large products go to Eigen's blocked
// GEMM; tiny ones (attention over 3 tokens) to a plain loop, whose call
// overhead is lower.
//
//===----------------------------------------------------------------------===//
#include <Eigen/Core>
#include <cstdint>

namespace {

template <typename T>
void batchMatmul(intptr_t a, intptr_t aOff, intptr_t as0, intptr_t as1, intptr_t as2,
                 intptr_t b, intptr_t bOff, intptr_t bs0, intptr_t bs1, intptr_t bs2,
                 intptr_t c, intptr_t cOff, intptr_t cs0, intptr_t cs1, intptr_t cs2,
                 intptr_t batch, intptr_t m, intptr_t n, intptr_t k) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Strides = Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>;
  const T *pa = reinterpret_cast<const T *>(a) + aOff;
  const T *pb = reinterpret_cast<const T *>(b) + bOff;
  T *pc = reinterpret_cast<T *>(c) + cOff;
  const bool tiny = m * n * k < 2048;
  for (intptr_t i = 0; i < batch; ++i) {
    const T *ai = pa + i * as0, *bi = pb + i * bs0;
    T *ci = pc + i * cs0;
    if (tiny) {
      for (intptr_t r = 0; r < m; ++r)
        for (intptr_t q = 0; q < k; ++q) {
          T x = ai[r * as1 + q * as2];
          for (intptr_t col = 0; col < n; ++col)
            ci[r * cs1 + col * cs2] += x * bi[q * bs1 + col * bs2];
        }
      continue;
    }
    Eigen::Map<const Mat, 0, Strides> A(ai, m, k, Strides(as1, as2));
    Eigen::Map<const Mat, 0, Strides> B(bi, k, n, Strides(bs1, bs2));
    Eigen::Map<Mat, 0, Strides> C(ci, m, n, Strides(cs1, cs2));
    C.noalias() += A * B;
  }
}

} // namespace

extern "C" void lm_batch_matmul_f32(intptr_t a, intptr_t aOff, intptr_t as0, intptr_t as1,
                                    intptr_t as2, intptr_t b, intptr_t bOff, intptr_t bs0,
                                    intptr_t bs1, intptr_t bs2, intptr_t c, intptr_t cOff,
                                    intptr_t cs0, intptr_t cs1, intptr_t cs2, intptr_t batch,
                                    intptr_t m, intptr_t n, intptr_t k) {
  batchMatmul<float>(a, aOff, as0, as1, as2, b, bOff, bs0, bs1, bs2, c, cOff, cs0, cs1, cs2,
                     batch, m, n, k);
}

extern "C" void lm_batch_matmul_f64(intptr_t a, intptr_t aOff, intptr_t as0, intptr_t as1,
                                    intptr_t as2, intptr_t b, intptr_t bOff, intptr_t bs0,
                                    intptr_t bs1, intptr_t bs2, intptr_t c, intptr_t cOff,
                                    intptr_t cs0, intptr_t cs1, intptr_t cs2, intptr_t batch,
                                    intptr_t m, intptr_t n, intptr_t k) {
  batchMatmul<double>(a, aOff, as0, as1, as2, b, bOff, bs0, bs1, bs2, c, cOff, cs0, cs1, cs2,
                      batch, m, n, k);
}
