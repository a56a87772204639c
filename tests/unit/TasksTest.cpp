// Synthetic tasks, checked against independent Eigen computations.
#include "lm/Runtime.h"

#include <Eigen/Dense>
#include <gtest/gtest.h>
#include <set>

using namespace lm::rt;

namespace {

json linearMapDescriptor(bool whitened) {
  json d = json::parse(R"({"entries": [], "data": {"task": "linear_map", "seed": 0,
      "singular_values": [1, 2, 3], "x_shape": [6], "y_shape": [5],
      "n_train": 64, "n_test": 32}})");
  d["data"]["whitened"] = whitened;
  return d;
}

Eigen::MatrixXd asMatrix(const std::vector<double> &v, int64_t rows, int64_t cols) {
  Eigen::MatrixXd m(rows, cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      m(r, c) = v[r * cols + c];
  return m;
}

// A fake compiled teacher: y = sum of x's coordinates (args: params, x, y).
void sumTeacher(void **args) {
  const double *x = static_cast<const double *>(args[1]);
  double *y = static_cast<double *>(args[2]);
  for (int i = 0; i < 48; ++i)
    y[i] = x[3 * i] + x[3 * i + 1] + x[3 * i + 2];
}

} // namespace

TEST(LinearMap, TargetHasTheGivenSingularValues) {
  json desc = linearMapDescriptor(true);
  std::vector<double> hyper = {11, 8, 4, 2}; // seed, then singular values
  Entries none(desc, nullptr, 0);
  auto ds = makeDataset<double>(desc, hyper, none, {});
  ASSERT_EQ(ds.train.x.size(), 64u * 6);
  ASSERT_EQ(ds.train.y.size(), 64u * 5);
  Eigen::MatrixXd x = asMatrix(ds.train.x, 64, 6), y = asMatrix(ds.train.y, 64, 5);
  // Whitened: X^T X / n = I.
  EXPECT_TRUE((x.transpose() * x / 64.0).isApprox(Eigen::MatrixXd::Identity(6, 6), 1e-10));
  // Least squares recovers M exactly (noise-free); its singular values are s.
  Eigen::MatrixXd m = (x.colPivHouseholderQr().solve(y)).transpose();
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(m);
  Eigen::VectorXd s = svd.singularValues();
  EXPECT_NEAR(s(0), 8, 1e-9);
  EXPECT_NEAR(s(1), 4, 1e-9);
  EXPECT_NEAR(s(2), 2, 1e-9);
  EXPECT_NEAR(s(3), 0, 1e-9);
}

TEST(LinearMap, TestSplitIsIndependentAndSameMap) {
  json desc = linearMapDescriptor(false);
  Entries none(desc, nullptr, 0);
  auto ds = makeDataset<double>(desc, {11, 8, 4, 2}, none, {});
  Eigen::MatrixXd xtr = asMatrix(ds.train.x, 64, 6), ytr = asMatrix(ds.train.y, 64, 5);
  Eigen::MatrixXd xte = asMatrix(ds.test.x, 32, 6), yte = asMatrix(ds.test.y, 32, 5);
  Eigen::MatrixXd m = xtr.colPivHouseholderQr().solve(ytr);
  EXPECT_TRUE((xte * m).isApprox(yte, 1e-9));
  EXPECT_FALSE(xtr.topRows(32).isApprox(xte, 1e-3));
}

TEST(Gaussian, LabelsComeFromTheCompiledTeacher) {
  json desc = json::parse(R"({"entries": ["teach"], "data": {"task": "gaussian", "seed": 0,
      "noise": 1, "teacher": "t", "teacher_entry": "teach", "x_shape": [3], "y_shape": [1],
      "n_train": 40, "n_test": 8}})");
  lm_entry_fn table[] = {sumTeacher};
  Entries entries(desc, table, 1);
  std::map<std::string, std::vector<double>> params = {{"t", {0.0}}};
  auto ds = makeDataset<double>(desc, {5, 0}, entries, params);
  ASSERT_EQ(ds.train.n, 40);
  ASSERT_EQ(ds.test.n, 8);
  for (int i = 0; i < 40; ++i)
    EXPECT_DOUBLE_EQ(ds.train.y[i],
                     ds.train.x[3 * i] + ds.train.x[3 * i + 1] + ds.train.x[3 * i + 2]);
  for (int i = 0; i < 8; ++i)
    EXPECT_DOUBLE_EQ(ds.test.y[i], ds.test.x[3 * i] + ds.test.x[3 * i + 1] + ds.test.x[3 * i + 2]);
  // Another seed, other inputs.
  auto other = makeDataset<double>(desc, {6, 0}, entries, params);
  EXPECT_NE(ds.train.x, other.train.x);
}

namespace {
json modularDescriptor(const char *op, const char *split, int64_t p, int64_t nTrain,
                       int64_t total) {
  json d = json::parse(R"({"entries": [], "data": {"task": "modular", "seed": 0,
      "x_shape": [3], "y_shape": [], "x_dtype": "i32", "y_dtype": "i32"}})");
  d["data"]["op"] = op;
  d["data"]["split"] = split;
  d["data"]["p"] = p;
  d["data"]["n_train"] = nTrain;
  d["data"]["n_test"] = total - nTrain;
  return d;
}
} // namespace

TEST(Modular, LabelsAndSplitSizes) {
  const int64_t p = 11;
  json desc = modularDescriptor("div", "ordered", p, 33, p * (p - 1));
  Entries none(desc, nullptr, 0);
  auto ds = makeDataset<float>(desc, {4}, none, {});
  ASSERT_EQ(ds.train.n, 33);
  ASSERT_EQ(ds.test.n, p * (p - 1) - 33);
  std::set<std::pair<int, int>> seen;
  for (auto *s : {&ds.train, &ds.test})
    for (int64_t i = 0; i < s->n; ++i) {
      int a = s->xi[3 * i], b = s->xi[3 * i + 1], y = s->yi[i];
      EXPECT_EQ(s->xi[3 * i + 2], p); // the '=' token
      EXPECT_NE(b, 0);
      EXPECT_EQ((y * b) % p, a % p) << a << " / " << b << " = " << y;
      EXPECT_TRUE(seen.insert({a, b}).second) << "pair repeated";
    }
  EXPECT_EQ(int64_t(seen.size()), p * (p - 1));
}

TEST(Modular, UnorderedSplitKeepsMirrorsTogether) {
  const int64_t p = 13;
  json desc = modularDescriptor("add", "unordered", p, 85, p * p);
  Entries none(desc, nullptr, 0);
  auto ds = makeDataset<float>(desc, {1}, none, {});
  std::set<std::pair<int, int>> train;
  for (int64_t i = 0; i < ds.train.n; ++i) {
    train.insert({ds.train.xi[3 * i], ds.train.xi[3 * i + 1]});
    EXPECT_EQ(ds.train.yi[i], (ds.train.xi[3 * i] + ds.train.xi[3 * i + 1]) % p);
  }
  int split = 0;
  for (auto [a, b] : train)
    split += !train.count({b, a});
  EXPECT_LE(split, 1); // at most one pair is split to make the sizes exact
  EXPECT_EQ(int64_t(train.size()), 85);
}

TEST(Modular, SeedChangesTheSplit) {
  json desc = modularDescriptor("sub", "ordered", 7, 20, 49);
  Entries none(desc, nullptr, 0);
  auto a = makeDataset<float>(desc, {1}, none, {});
  auto b = makeDataset<float>(desc, {2}, none, {});
  EXPECT_NE(a.train.xi, b.train.xi);
  for (int64_t i = 0; i < a.train.n; ++i)
    EXPECT_EQ(a.train.yi[i], ((a.train.xi[3 * i] - a.train.xi[3 * i + 1]) % 7 + 7) % 7);
}

TEST(Parity, LabelsAreTheParityOfAHiddenSubset) {
  json desc = json::parse(R"({"entries": [], "data": {"task": "parity", "seed": 0,
      "n": 10, "k": 3, "x_shape": [10], "y_shape": [], "x_dtype": "float", "y_dtype": "i32",
      "n_train": 200, "n_test": 50}})");
  Entries none(desc, nullptr, 0);
  auto ds = makeDataset<float>(desc, {3}, none, {});
  // Find the subset of size 3 whose parity reproduces every label: exactly one.
  int matches = 0;
  for (int a = 0; a < 10; ++a)
    for (int b = a + 1; b < 10; ++b)
      for (int c = b + 1; c < 10; ++c) {
        bool all = true;
        for (auto *s : {&ds.train, &ds.test})
          for (int64_t r = 0; r < s->n && all; ++r) {
            const float *x = &s->x[r * 10];
            all = (x[a] * x[b] * x[c] < 0) == (s->yi[r] == 1);
          }
        matches += all;
      }
  EXPECT_EQ(matches, 1);
  int ones = 0;
  for (int32_t y : ds.train.yi)
    ones += y;
  EXPECT_GT(ones, 60); // balanced labels: 100 +- 7 expected
  EXPECT_LT(ones, 140);
}
