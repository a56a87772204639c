//===- Tasks.cpp - Synthetic tasks: gaussian teacher-student, linear_map --===//
#include "lm/Rng.h"
#include "lm/Runtime.h"

#include <Eigen/Dense>

using namespace lm::rt;

namespace {

template <typename T> void fillNormal(std::vector<T> &v, uint64_t key) {
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = T(normal(key, i));
}

int64_t product(const json &shape) {
  int64_t p = 1;
  for (const auto &d : shape)
    p *= d.get<int64_t>();
  return p;
}

/// A random orthogonal matrix (QR of a Gaussian matrix, signs fixed so the
/// distribution is Haar).
Eigen::MatrixXd randomOrthogonal(int64_t n, uint64_t key) {
  Eigen::MatrixXd g(n, n);
  for (int64_t i = 0; i < n * n; ++i)
    g.data()[i] = normal(key, i);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(g);
  Eigen::MatrixXd q = qr.householderQ();
  Eigen::VectorXd d = qr.matrixQR().diagonal().array().sign();
  return q * d.asDiagonal();
}

} // namespace

template <typename T>
Dataset<T> lm::rt::makeDataset(const json &desc, const std::vector<double> &hyper,
                               const Entries &entries,
                               const std::map<std::string, std::vector<T>> &groupParams) {
  const json &d = desc.at("data");
  Dataset<T> ds;
  std::string task = d.at("task");
  uint64_t seed = uint64_t(int64_t(hyper.at(d.at("seed").get<int>())));
  for (Split<T> *s : {&ds.train, &ds.test}) {
    s->xSize = product(d.at("x_shape"));
    s->ySize = product(d.at("y_shape"));
  }
  ds.train.n = d.at("n_train");
  ds.test.n = d.at("n_test");
  int64_t n = ds.train.n + ds.test.n;
  if (task == "gaussian") {
    // x ~ N(0, I); y = teacher(x) + noise * N(0, 1).
    std::vector<T> x(n * ds.train.xSize), y(n * ds.train.ySize);
    fillNormal(x, streamKey(seed, "data/x"));
    std::vector<T> teacher = groupParams.at(d.at("teacher"));
    entries.call(d.at("teacher_entry"), {teacher.data(), x.data(), y.data()});
    double noise = hyper.at(d.at("noise").get<int>());
    if (noise != 0)
      for (size_t i = 0; i < y.size(); ++i)
        y[i] += T(noise * normal(streamKey(seed, "data/noise"), i));
    auto cut = [&](Split<T> &s, int64_t begin) {
      s.x.assign(x.begin() + begin * s.xSize, x.begin() + (begin + s.n) * s.xSize);
      s.y.assign(y.begin() + begin * s.ySize, y.begin() + (begin + s.n) * s.ySize);
    };
    cut(ds.train, 0);
    cut(ds.test, ds.train.n);
    return ds;
  }
  if (task == "linear_map") {
    // y = M x with M = U diag(s) V^T, U and V Haar-random orthogonal.
    int64_t dIn = ds.train.xSize, dOut = ds.train.ySize;
    Eigen::MatrixXd u = randomOrthogonal(dOut, streamKey(seed, "data/U"));
    Eigen::MatrixXd v = randomOrthogonal(dIn, streamKey(seed, "data/V"));
    Eigen::MatrixXd m = Eigen::MatrixXd::Zero(dOut, dIn);
    const json &sv = d.at("singular_values");
    for (size_t i = 0; i < sv.size(); ++i)
      m += hyper.at(sv[i].get<int>()) * u.col(i) * v.col(i).transpose();
    auto fill = [&](Split<T> &s, const char *stream, bool whitened) {
      Eigen::MatrixXd x(s.n, dIn);
      uint64_t key = streamKey(seed, stream);
      for (int64_t i = 0; i < s.n * dIn; ++i)
        x.data()[i] = normal(key, i);
      if (whitened) {
        // Orthonormal columns scaled by sqrt(n): X^T X / n = I exactly.
        Eigen::HouseholderQR<Eigen::MatrixXd> qr(x);
        x = Eigen::MatrixXd(qr.householderQ()).leftCols(dIn) * std::sqrt(double(s.n));
      }
      Eigen::MatrixXd y = x * m.transpose();
      s.x.resize(s.n * dIn);
      s.y.resize(s.n * dOut);
      for (int64_t r = 0; r < s.n; ++r) {
        for (int64_t c = 0; c < dIn; ++c)
          s.x[r * dIn + c] = T(x(r, c));
        for (int64_t c = 0; c < dOut; ++c)
          s.y[r * dOut + c] = T(y(r, c));
      }
    };
    fill(ds.train, "data/train", d.at("whitened").get<bool>());
    fill(ds.test, "data/test", false);
    return ds;
  }
  throw Error{"unknown task '" + task + "' in the descriptor"};
}

template lm::rt::Dataset<float>
lm::rt::makeDataset(const json &, const std::vector<double> &, const Entries &,
                    const std::map<std::string, std::vector<float>> &);
template lm::rt::Dataset<double>
lm::rt::makeDataset(const json &, const std::vector<double> &, const Entries &,
                    const std::map<std::string, std::vector<double>> &);
