//===- Gemm.cpp - The batched GEMM kernel generated code calls ------------===//
//
// C[b] += A[b] B[b] for b < batch (C[b] = A[b] B[b] when `accumulate` is 0),
// A [M, K], B [K, N], C [M, N], each given by its aligned address, element
// offset and three strides (batch, row, column), as `lm-matmul-to-call`
// passes them. Large products go to Eigen's blocked
// GEMM; tiny ones (attention over 3 tokens) to a plain loop, whose call
// overhead is lower.
//
// Each operand is mapped with a compile-time unit inner stride when it has
// one (row-major, or column-major for a transposed view): Eigen's GEMM with a
// dynamic inner stride runs 1.5-2x slower (39 vs 80 GFLOP/s at 512^3 here).
//
// LM_PROFILE_GEMM=1 in the environment prints, at exit, every GEMM shape with
// its call count, time and GFLOP/s (to stderr).
//
//===----------------------------------------------------------------------===//
#include <Eigen/Core>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <omp.h>
#include <tuple>

namespace {

enum class Layout { Row, Col, General };

Layout layoutOf(intptr_t rowStride, intptr_t colStride) {
  if (colStride == 1)
    return Layout::Row;
  if (rowStride == 1)
    return Layout::Col;
  return Layout::General;
}

/// A rows x cols view of `p` with the given strides and layout L.
template <typename T, Layout L, bool Const>
auto view(std::conditional_t<Const, const T, T> *p, intptr_t rows, intptr_t cols, intptr_t rs,
          intptr_t cs) {
  if constexpr (L == Layout::Row) {
    using M = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using MM = std::conditional_t<Const, const M, M>;
    return Eigen::Map<MM, 0, Eigen::OuterStride<>>(p, rows, cols,
                                                   Eigen::OuterStride<>(rs));
  } else if constexpr (L == Layout::Col) {
    using M = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
    using MM = std::conditional_t<Const, const M, M>;
    return Eigen::Map<MM, 0, Eigen::OuterStride<>>(p, rows, cols,
                                                   Eigen::OuterStride<>(cs));
  } else {
    using M = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using MM = std::conditional_t<Const, const M, M>;
    using S = Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>;
    return Eigen::Map<MM, 0, S>(p, rows, cols, S(rs, cs));
  }
}

template <typename T, Layout LA, Layout LB, Layout LC>
void gemm(const T *a, intptr_t as1, intptr_t as2, const T *b, intptr_t bs1, intptr_t bs2, T *c,
          intptr_t cs1, intptr_t cs2, intptr_t m, intptr_t n, intptr_t k, bool acc) {
  auto C = view<T, LC, false>(c, m, n, cs1, cs2);
  auto A = view<T, LA, true>(a, m, k, as1, as2);
  auto B = view<T, LB, true>(b, k, n, bs1, bs2);
  if (acc)
    C.noalias() += A * B;
  else
    C.noalias() = A * B;
}

template <typename T, Layout LA, Layout LB>
void gemmC(const T *a, intptr_t as1, intptr_t as2, const T *b, intptr_t bs1, intptr_t bs2, T *c,
           intptr_t cs1, intptr_t cs2, intptr_t m, intptr_t n, intptr_t k, bool acc) {
  if (layoutOf(cs1, cs2) == Layout::Row)
    gemm<T, LA, LB, Layout::Row>(a, as1, as2, b, bs1, bs2, c, cs1, cs2, m, n, k, acc);
  else
    gemm<T, LA, LB, Layout::General>(a, as1, as2, b, bs1, bs2, c, cs1, cs2, m, n, k, acc);
}

template <typename T, Layout LA>
void gemmB(const T *a, intptr_t as1, intptr_t as2, const T *b, intptr_t bs1, intptr_t bs2, T *c,
           intptr_t cs1, intptr_t cs2, intptr_t m, intptr_t n, intptr_t k, bool acc) {
  switch (layoutOf(bs1, bs2)) {
  case Layout::Row:
    return gemmC<T, LA, Layout::Row>(a, as1, as2, b, bs1, bs2, c, cs1, cs2, m, n, k, acc);
  case Layout::Col:
    return gemmC<T, LA, Layout::Col>(a, as1, as2, b, bs1, bs2, c, cs1, cs2, m, n, k, acc);
  case Layout::General:
    return gemmC<T, LA, Layout::General>(a, as1, as2, b, bs1, bs2, c, cs1, cs2, m, n, k, acc);
  }
}

template <typename T>
void gemmAny(const T *a, intptr_t as1, intptr_t as2, const T *b, intptr_t bs1, intptr_t bs2,
             T *c, intptr_t cs1, intptr_t cs2, intptr_t m, intptr_t n, intptr_t k, bool acc) {
  switch (layoutOf(as1, as2)) {
  case Layout::Row:
    return gemmB<T, Layout::Row>(a, as1, as2, b, bs1, bs2, c, cs1, cs2, m, n, k, acc);
  case Layout::Col:
    return gemmB<T, Layout::Col>(a, as1, as2, b, bs1, bs2, c, cs1, cs2, m, n, k, acc);
  case Layout::General:
    return gemmB<T, Layout::General>(a, as1, as2, b, bs1, bs2, c, cs1, cs2, m, n, k, acc);
  }
}

/// Per-shape call counts and times, printed at exit (LM_PROFILE_GEMM=1).
struct GemmProfile {
  using Key = std::tuple<intptr_t, intptr_t, intptr_t, intptr_t, int, int>;
  struct Entry {
    long calls = 0;
    double seconds = 0;
  };
  bool enabled = std::getenv("LM_PROFILE_GEMM") != nullptr;
  std::mutex mu;
  std::map<Key, Entry> shapes;
  ~GemmProfile() {
    if (!enabled)
      return;
    static const char *names[] = {"row", "col", "strided"};
    double total = 0;
    for (auto &[key, e] : shapes)
      total += e.seconds;
    std::fprintf(stderr, "GEMM profile (%.3f s in all):\n", total);
    for (auto &[key, e] : shapes) {
      auto [batch, m, n, k, la, lb] = key;
      double flops = 2.0 * double(batch) * double(m) * double(n) * double(k) * double(e.calls);
      std::fprintf(stderr,
                   "  batch %4ld  M %6ld  N %6ld  K %6ld  A %-7s B %-7s  %6ld calls  %8.4f s"
                   "  %6.1f GFLOP/s\n",
                   long(batch), long(m), long(n), long(k), names[la], names[lb], e.calls,
                   e.seconds, flops / e.seconds / 1e9);
    }
  }
};

GemmProfile &profile() {
  static GemmProfile p;
  return p;
}

/// The products one after another: tiny ones as a plain loop, small ones
/// on one thread, large ones split by Eigen across the threads.
template <typename T>
void serialBatch(const T *pa, intptr_t as0, intptr_t as1, intptr_t as2, const T *pb,
                 intptr_t bs0, intptr_t bs1, intptr_t bs2, T *pc, intptr_t cs0, intptr_t cs1,
                 intptr_t cs2, intptr_t batch, intptr_t m, intptr_t n, intptr_t k,
                 bool accumulate) {
  const bool tiny = m * n * k < 2048;
  for (intptr_t i = 0; i < batch; ++i) {
    const T *ai = pa + i * as0, *bi = pb + i * bs0;
    T *ci = pc + i * cs0;
    if (tiny) {
      if (!accumulate)
        for (intptr_t r = 0; r < m; ++r)
          for (intptr_t col = 0; col < n; ++col)
            ci[r * cs1 + col * cs2] = T(0);
      for (intptr_t r = 0; r < m; ++r)
        for (intptr_t q = 0; q < k; ++q) {
          T x = ai[r * as1 + q * as2];
          for (intptr_t col = 0; col < n; ++col)
            ci[r * cs1 + col * cs2] += x * bi[q * bs1 + col * bs2];
        }
      continue;
    }
    // Below ~1M multiply-adds splitting a product across threads costs more
    // than it saves (measured: the deep linear network's 256x32x32 products
    // ran slower on 2 threads than on 1).
    if (m * n * k < (1 << 20) && Eigen::nbThreads() > 1) {
      int threads = Eigen::nbThreads();
      Eigen::setNbThreads(1);
      gemmAny<T>(ai, as1, as2, bi, bs1, bs2, ci, cs1, cs2, m, n, k, accumulate);
      Eigen::setNbThreads(threads);
      continue;
    }
    gemmAny<T>(ai, as1, as2, bi, bs1, bs2, ci, cs1, cs2, m, n, k, accumulate);
  }
}

template <typename T>
void batchMatmul(intptr_t a, intptr_t aOff, intptr_t as0, intptr_t as1, intptr_t as2,
                 intptr_t b, intptr_t bOff, intptr_t bs0, intptr_t bs1, intptr_t bs2,
                 intptr_t c, intptr_t cOff, intptr_t cs0, intptr_t cs1, intptr_t cs2,
                 intptr_t batch, intptr_t m, intptr_t n, intptr_t k, intptr_t accumulate) {
  GemmProfile &prof = profile();
  auto start = prof.enabled ? std::chrono::steady_clock::now()
                            : std::chrono::steady_clock::time_point();
  const T *pa = reinterpret_cast<const T *>(a) + aOff;
  const T *pb = reinterpret_cast<const T *>(b) + bOff;
  T *pc = reinterpret_cast<T *>(c) + cOff;
  const bool tiny = m * n * k < 2048;
  // Many products that divide evenly among the threads (heads, ensemble
  // replicas): one whole product per thread at a time, each single-threaded
  // (Eigen does not nest inside a parallel region), instead of splitting
  // every product across all threads and synchronizing after each.
  const int threads = omp_get_max_threads();
  if (!tiny && threads > 1 && batch > 1 && !omp_in_parallel() &&
      (batch % threads == 0 || batch >= 4 * threads)) {
#pragma omp parallel for schedule(static)
    for (intptr_t i = 0; i < batch; ++i)
      gemmAny<T>(pa + i * as0, as1, as2, pb + i * bs0, bs1, bs2, pc + i * cs0, cs1, cs2, m, n, k,
                 accumulate != 0);
  } else {
    serialBatch(pa, as0, as1, as2, pb, bs0, bs1, bs2, pc, cs0, cs1, cs2, batch, m, n, k,
                accumulate != 0);
  }
  if (prof.enabled) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::lock_guard<std::mutex> lock(prof.mu);
    auto &e = prof.shapes[{batch, m, n, k, int(layoutOf(as1, as2)), int(layoutOf(bs1, bs2))}];
    e.calls += 1;
    e.seconds += s;
  }
}

} // namespace

extern "C" void lm_batch_matmul_f32(intptr_t a, intptr_t aOff, intptr_t as0, intptr_t as1,
                                    intptr_t as2, intptr_t b, intptr_t bOff, intptr_t bs0,
                                    intptr_t bs1, intptr_t bs2, intptr_t c, intptr_t cOff,
                                    intptr_t cs0, intptr_t cs1, intptr_t cs2, intptr_t batch,
                                    intptr_t m, intptr_t n, intptr_t k, intptr_t accumulate) {
  batchMatmul<float>(a, aOff, as0, as1, as2, b, bOff, bs0, bs1, bs2, c, cOff, cs0, cs1, cs2,
                     batch, m, n, k, accumulate);
}

extern "C" void lm_batch_matmul_f64(intptr_t a, intptr_t aOff, intptr_t as0, intptr_t as1,
                                    intptr_t as2, intptr_t b, intptr_t bOff, intptr_t bs0,
                                    intptr_t bs1, intptr_t bs2, intptr_t c, intptr_t cOff,
                                    intptr_t cs0, intptr_t cs1, intptr_t cs2, intptr_t batch,
                                    intptr_t m, intptr_t n, intptr_t k, intptr_t accumulate) {
  batchMatmul<double>(a, aOff, as0, as1, as2, b, bOff, bs0, bs1, bs2, c, cOff, cs0, cs1, cs2,
                      batch, m, n, k, accumulate);
}
