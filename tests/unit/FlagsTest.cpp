// Run-time flag parsing against a descriptor, and parameter initialization.
#include "lm/Runtime.h"

#include <cmath>
#include <gtest/gtest.h>

using namespace lm::rt;

namespace {
json descriptor() {
  return json::parse(R"({
    "experiment": "demo", "source": "demo.lm", "dtype": "f32",
    "flags": [
      {"name": "width", "type": "int", "default": 256, "compile_time": true},
      {"name": "lr", "type": "f64", "default": 0.05, "compile_time": false},
      {"name": "seed", "type": "int", "default": 0, "compile_time": false},
      {"name": "nesterov", "type": "bool", "default": false, "compile_time": false}
    ]})");
}
} // namespace

TEST(Flags, DefaultsAndOverrides) {
  Options opts;
  FlagValues f = parseFlags(descriptor(), {"--lr", "0.1", "--seed=3", "--out", "x"}, opts);
  EXPECT_EQ(f.values, (std::vector<double>{256, 0.1, 3, 0}));
  EXPECT_EQ(opts.outDir, "x");
  EXPECT_EQ(f.asJson(descriptor())["seed"], 3);
}

TEST(Flags, DefaultOutputDirectory) {
  Options opts;
  parseFlags(descriptor(), {}, opts);
  EXPECT_EQ(opts.outDir, "runs/demo");
}

TEST(Flags, CompileTimeFlagExplainsRebuild) {
  Options opts;
  // The built value is accepted; another one says how to rebuild.
  EXPECT_NO_THROW(parseFlags(descriptor(), {"--width", "256"}, opts));
  try {
    parseFlags(descriptor(), {"--width", "512"}, opts);
    FAIL() << "expected an error";
  } catch (const Error &e) {
    EXPECT_NE(e.message.find("built with width = 256"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("lmc build demo.lm --set width=512"), std::string::npos)
        << e.message;
  }
}

TEST(Flags, BadValuesAreErrors) {
  Options opts;
  EXPECT_THROW(parseFlags(descriptor(), {"--lr", "fast"}, opts), Error);
  EXPECT_THROW(parseFlags(descriptor(), {"--seed", "1.5"}, opts), Error);
  EXPECT_THROW(parseFlags(descriptor(), {"--nesterov", "maybe"}, opts), Error);
  EXPECT_THROW(parseFlags(descriptor(), {"--nope", "1"}, opts), Error);
  EXPECT_THROW(parseFlags(descriptor(), {"--lr"}, opts), Error);
  EXPECT_THROW(parseFlags(descriptor(), {"stray"}, opts), Error);
  EXPECT_THROW(parseFlags(descriptor(), {"--lr", "inf"}, opts), Error);
}

TEST(Flags, HelpListsRunTimeFlagsAndCompiledValues) {
  std::string help = helpText(descriptor(), "./demo");
  EXPECT_NE(help.find("--lr <f64>"), std::string::npos) << help;
  EXPECT_NE(help.find("default 0.05"), std::string::npos) << help;
  EXPECT_NE(help.find("width = 256"), std::string::npos) << help;
  EXPECT_EQ(help.find("--width"), std::string::npos) << help;
}

TEST(Init, NormalHasTheRequestedMoments) {
  json group = json::parse(R"({"name": "net", "size": 40000, "seed": 0, "params": [
      {"name": "W", "shape": [200, 200], "offset": 0, "size": 40000,
       "init": {"kind": "normal", "args": [1, 2]}}]})");
  std::vector<double> hyper = {7, 0.5, 0.1}; // seed 7, mean 0.5, std 0.1
  group["seed"] = 0;
  group["params"][0]["init"]["args"] = {1, 2};
  auto w = initGroup<float>(group, hyper);
  double sum = 0, sq = 0;
  for (float v : w) {
    sum += v;
    sq += v * v;
  }
  double mean = sum / w.size(), sd = std::sqrt(sq / w.size() - mean * mean);
  EXPECT_NEAR(mean, 0.5, 5 * 0.1 / 200);
  EXPECT_NEAR(sd, 0.1, 0.002);
  EXPECT_EQ(w, initGroup<float>(group, hyper)); // deterministic
  hyper[0] = 8;
  EXPECT_NE(w, initGroup<float>(group, hyper)); // the seed matters
}

TEST(Init, ZerosOnesConstant) {
  json group = json::parse(R"({"name": "g", "size": 6, "seed": 0, "params": [
      {"name": "a", "shape": [2], "offset": 0, "size": 2, "init": {"kind": "zeros", "args": []}},
      {"name": "b", "shape": [2], "offset": 2, "size": 2, "init": {"kind": "ones", "args": []}},
      {"name": "c", "shape": [2], "offset": 4, "size": 2, "init": {"kind": "constant", "args": [1]}}]})");
  auto v = initGroup<double>(group, {0, 2.5});
  EXPECT_EQ(v, (std::vector<double>{0, 0, 1, 1, 2.5, 2.5}));
}

TEST(Schedule, WarmupAndCosine) {
  EXPECT_DOUBLE_EQ(scheduledLr("", 0.1, 5, 100, 0, 0), 0.1);
  EXPECT_DOUBLE_EQ(scheduledLr("warmup", 0.1, 5, 100, 10, 0), 0.05);
  EXPECT_DOUBLE_EQ(scheduledLr("warmup", 0.1, 50, 100, 10, 0), 0.1);
  EXPECT_DOUBLE_EQ(scheduledLr("cosine", 0.1, 10, 110, 10, 0), 0.1);  // end of warm-up
  EXPECT_NEAR(scheduledLr("cosine", 0.1, 60, 110, 10, 0), 0.05, 1e-12); // half way
  EXPECT_NEAR(scheduledLr("cosine", 0.1, 110, 110, 10, 0.01), 0.01, 1e-12); // the end
}
