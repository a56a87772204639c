//===- Runtime.h - liblmrt: running a compiled experiment ------*- C++ -*-===//
//
// The runtime owns main(): it reads the descriptor the compiler embedded,
// parses run-time flags, builds the data, initializes parameters, runs the
// training loop, calls the compiled observables on schedule and writes
// metrics.csv (one row per observation, flushed as written) and run.json.
// All model math happens in generated code; the runtime moves buffers.
//
//===----------------------------------------------------------------------===//
#ifndef LM_RUNTIME_H
#define LM_RUNTIME_H

#include "lm/abi.h"

#include <nlohmann/json.hpp>
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lm::rt {

using json = nlohmann::json;

/// A user-facing error: printed as "error: <message>" and exit code `code`.
struct Error {
  std::string message;
  int code = 2;
};

/// Values of the experiment's flags (declared order), with defaults from the
/// descriptor and `--name value` overrides. Compile-time flags may only be
/// given the value the executable was built with.
struct FlagValues {
  std::vector<double> values;
  std::vector<std::string> names;
  std::vector<bool> given; // set on the command line
  json asJson(const json &desc) const;
};

/// Runtime options that are not experiment flags.
struct Options {
  std::string outDir;
  bool help = false;
  bool quiet = false;
  int window = 10;   // observations in the fluctuation window
  int threads = 0;   // OpenMP threads; 0: all cores
  int checkGrad = 0; // > 0: gradient check along this many random directions
  double checkGradTol = 1e-2;
  double checkGradEps = 3e-3;
};

/// Parses argv against the descriptor's flags. Throws Error.
FlagValues parseFlags(const json &desc, const std::vector<std::string> &args, Options &opts);
std::string helpText(const json &desc, const std::string &argv0);

/// A dataset split: x [n, xShape...], y [n, yShape...], row-major, in the
/// experiment's float type T (f32, or f64 for `lmc build --dtype f64`).
/// Integer data (tokens, class labels) is i32 and lives in xi / yi instead.
template <typename T> struct Split {
  int64_t n = 0;
  int64_t xSize = 1, ySize = 1; // per example
  bool xInt = false, yInt = false;
  std::vector<T> x, y;
  std::vector<int32_t> xi, yi;

  void *xData() { return xInt ? (void *)xi.data() : (void *)x.data(); }
  void *yData() { return yInt ? (void *)yi.data() : (void *)y.data(); }
  /// Copies example `src` of this split into row `dst` of `out`'s buffers.
  void copyExample(int64_t src, Split &out, int64_t dst) const {
    if (xInt)
      std::copy_n(&xi[src * xSize], xSize, &out.xi[dst * xSize]);
    else
      std::copy_n(&x[src * xSize], xSize, &out.x[dst * xSize]);
    if (yInt)
      std::copy_n(&yi[src * ySize], ySize, &out.yi[dst * ySize]);
    else
      std::copy_n(&y[src * ySize], ySize, &out.y[dst * ySize]);
  }
  /// Asks for example `src`'s cache lines ahead of a copyExample.
  void prefetchExample(int64_t src) const {
    auto lines = [](const void *p, size_t bytes) {
      for (size_t o = 0; o < bytes; o += 64)
        __builtin_prefetch(static_cast<const char *>(p) + o);
    };
    if (xInt)
      lines(&xi[src * xSize], xSize * sizeof(int32_t));
    else
      lines(&x[src * xSize], xSize * sizeof(T));
    if (yInt)
      lines(&yi[src * ySize], ySize * sizeof(int32_t));
    else
      lines(&y[src * ySize], ySize * sizeof(T));
  }
  /// An empty split of `n` examples shaped like this one.
  Split shaped(int64_t rows) const {
    Split s;
    s.n = rows;
    s.xSize = xSize;
    s.ySize = ySize;
    s.xInt = xInt;
    s.yInt = yInt;
    (xInt ? s.xi.resize(rows * xSize) : s.x.resize(rows * xSize));
    (yInt ? s.yi.resize(rows * ySize) : s.y.resize(rows * ySize));
    return s;
  }
};

template <typename T> struct Dataset {
  Split<T> train, test;
};

/// Calls a compiled function by name: `args` are the buffers in ABI order.
class Entries {
public:
  Entries(const json &desc, const lm_entry_fn *table, int64_t count);
  void call(const std::string &name, std::vector<void *> args) const;
  bool has(const std::string &name) const { return index.count(name) != 0; }

private:
  std::map<std::string, lm_entry_fn> index;
};

/// Parameter initialization of one model group, element by element from the
/// counter-based RNG keyed by (seed, group, parameter).
template <typename T>
std::vector<T> initGroup(const json &group, const std::vector<double> &hyper);

/// Builds the experiment's data (see Tasks.cpp).
template <typename T>
Dataset<T> makeDataset(const json &desc, const std::vector<double> &hyper,
                       const Entries &entries,
                       const std::map<std::string, std::vector<T>> &groupParams);

/// The learning rate at `step` (1-based) of `steps` under a schedule:
/// none (constant), warmup (linear over W steps), or cosine (warm-up, then
/// cosine decay from lr to min_lr at the last step).
double scheduledLr(const std::string &kind, double lr, int64_t step, int64_t steps,
                   double warmupSteps, double minLr);

/// Runs a whole experiment; returns the process exit code.
int runExperiment(const char *descriptor, const lm_entry_fn *entries, int64_t numEntries,
                  int argc, char **argv);

} // namespace lm::rt

#endif
