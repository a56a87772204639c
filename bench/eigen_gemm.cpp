// The machine's practical f32 GEMM peak, for bench/run.sh: Eigen's
// C += A B at the shapes the grokking step uses most, single-threaded,
// median of 30 timed products after 3 warm-up ones. Prints JSON lines.
#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

int main() {
  using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  struct Shape { int m, n, k; };
  for (Shape s : {Shape{512, 512, 512}, Shape{3831, 512, 128}, Shape{3831, 128, 512},
                  Shape{512, 128, 3831}}) {
    Mat a = Mat::Random(s.m, s.k), b = Mat::Random(s.k, s.n), c = Mat::Zero(s.m, s.n);
    for (int i = 0; i < 3; ++i)
      c.noalias() += a * b;
    std::vector<double> t;
    for (int i = 0; i < 30; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      c.noalias() += a * b;
      t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(t.begin(), t.end());
    double gflops = 2.0 * s.m * s.n * s.k / t[t.size() / 2] / 1e9;
    std::printf("{\"name\": \"eigen_gemm\", \"m\": %d, \"n\": %d, \"k\": %d, \"gflops\": %.1f, "
                "\"checksum\": %g}\n", s.m, s.n, s.k, gflops, double(c(0, 0)));
  }
}
