// Times an MLIR-generated C = A B (form nn) or C = A^T B (form tn, A stored
// K x M) kernel (extern "C" mm, bare pointers, row-major) against Eigen's product at the same shape, single-threaded:
// median of 30 timed products after 3 warm-up ones, C zeroed before each
// (both sides), and the largest difference between the two results relative
// to the largest entry. Prints one JSON line. See bench/mlir_gemm.sh.
#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

extern "C" void mm(float *a, float *b, float *c);

int main(int argc, char **argv) {
  if (argc != 6)
    return 2;
  bool tn = std::string(argv[1]) == "tn";
  int m = std::atoi(argv[2]), n = std::atoi(argv[3]), k = std::atoi(argv[4]);
  using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Mat a = tn ? Mat::Random(k, m) : Mat::Random(m, k), b = Mat::Random(k, n), c = Mat::Zero(m, n),
      ref = Mat::Zero(m, n);
  auto median = [&](auto product) {
    for (int i = 0; i < 3; ++i)
      product();
    std::vector<double> t;
    for (int i = 0; i < 30; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      product();
      t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(t.begin(), t.end());
    return 2.0 * m * n * k / t[t.size() / 2] / 1e9;
  };
  double mlir = median([&] {
    c.setZero();
    mm(a.data(), b.data(), c.data());
  });
  double eigen = median([&] {
    ref.setZero();
    if (tn)
      ref.noalias() += a.transpose() * b;
    else
      ref.noalias() += a * b;
  });
  double err = (c - ref).cwiseAbs().maxCoeff() / ref.cwiseAbs().maxCoeff();
  std::printf("{\"name\": \"mlir_gemm\", \"form\": \"%s\", \"m\": %d, \"n\": %d, \"k\": %d, "
              "\"tile\": \"%s\", \"gflops\": %.1f, \"eigen_gflops\": %.1f, \"max_rel_diff\": %.2g}\n",
              argv[1], m, n, k, argv[5], mlir, eigen, err);
}
