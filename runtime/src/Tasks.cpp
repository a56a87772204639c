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
  if (task == "parity") {
    // Sparse parity: x in {-1, +1}^n; the label is 1 when the product of the
    // k hidden coordinates (the first k of a seeded permutation) is -1.
    int64_t nb = d.at("n"), k = d.at("k");
    std::vector<int64_t> coords(nb);
    for (int64_t i = 0; i < nb; ++i)
      coords[i] = i;
    uint64_t key = streamKey(seed, "data/parity-support");
    for (int64_t i = nb - 1; i > 0; --i)
      std::swap(coords[i], coords[std::min<int64_t>(i, int64_t(uniform01(key, i) * (i + 1)))]);
    auto fill = [&](Split<T> &s, const char *stream) {
      s.yInt = true;
      s.x.resize(s.n * nb);
      s.yi.resize(s.n);
      uint64_t xk = streamKey(seed, stream);
      for (int64_t r = 0; r < s.n; ++r) {
        for (int64_t c = 0; c < nb; ++c)
          s.x[r * nb + c] = uniform01(xk, uint64_t(r * nb + c)) < 0.5 ? T(-1) : T(1);
        double prod = 1;
        for (int64_t j = 0; j < k; ++j)
          prod *= double(s.x[r * nb + coords[j]]);
        s.yi[r] = prod < 0 ? 1 : 0;
      }
    };
    fill(ds.train, "data/train");
    fill(ds.test, "data/test");
    return ds;
  }
  if (task == "modular") {
    // All pairs (a, b) with tokens (a, b, '=' = p) and label (a op b) mod p;
    // a seeded shuffle decides the split. `unordered` keeps (a, b) and (b, a)
    // on the same side, so the test set holds no mirror of a training pair.
    int64_t p = d.at("p");
    std::string op = d.at("op");
    bool unordered = d.at("split") == "unordered";
    auto inverse = [&](int64_t b) { // b^(p-2) mod p (p prime)
      int64_t r = 1, base = b % p, e = p - 2;
      for (; e > 0; e >>= 1, base = base * base % p)
        if (e & 1)
          r = r * base % p;
      return r;
    };
    auto label = [&](int64_t a, int64_t b) -> int64_t {
      if (op == "add") return (a + b) % p;
      if (op == "sub") return ((a - b) % p + p) % p;
      if (op == "mul") return a * b % p;
      return a * inverse(b) % p;
    };
    // Groups of pairs that must stay together (one pair each if ordered).
    std::vector<std::vector<std::pair<int64_t, int64_t>>> groups;
    for (int64_t a = 0; a < p; ++a)
      for (int64_t b = 0; b < p; ++b) {
        if (op == "div" && b == 0)
          continue;
        if (!unordered)
          groups.push_back({{a, b}});
        else if (a <= b && !(op == "div" && a == 0))
          groups.push_back(a == b ? std::vector<std::pair<int64_t, int64_t>>{{a, b}}
                                  : std::vector<std::pair<int64_t, int64_t>>{{a, b}, {b, a}});
        else if (a <= b) // div: (0, b) has no mirror (b, 0)
          groups.push_back({{a, b}});
      }
    uint64_t key = streamKey(seed, "data/split");
    for (int64_t i = int64_t(groups.size()) - 1; i > 0; --i)
      std::swap(groups[i], groups[std::min<int64_t>(i, int64_t(uniform01(key, i) * (i + 1)))]);
    std::vector<std::pair<int64_t, int64_t>> train, test;
    for (const auto &g : groups) {
      bool fits = int64_t(train.size() + g.size()) <= ds.train.n;
      for (const auto &pr : g)
        (fits ? train : test).push_back(pr);
    }
    // Rarely a pair group does not fit exactly: top up from the test side.
    while (int64_t(train.size()) < ds.train.n) {
      train.push_back(test.back());
      test.pop_back();
    }
    auto fill = [&](Split<T> &s, const std::vector<std::pair<int64_t, int64_t>> &pairs) {
      s.xInt = s.yInt = true;
      s.xi.resize(s.n * 3);
      s.yi.resize(s.n);
      for (int64_t i = 0; i < s.n; ++i) {
        auto [a, b] = pairs[i];
        s.xi[3 * i] = int32_t(a);
        s.xi[3 * i + 1] = int32_t(b);
        s.xi[3 * i + 2] = int32_t(p);
        s.yi[i] = int32_t(label(a, b));
      }
    };
    if (int64_t(test.size()) != ds.test.n)
      throw Error{"modular: the split sizes do not add up (internal error)"};
    fill(ds.train, train);
    fill(ds.test, test);
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
