//===- Runtime.cpp - Flags, initialization, training loop, outputs --------===//
#include "lm/Rng.h"
#include "lm/Alloc.h"
#include "lm/Runtime.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <deque>
#include <exception>
#include <numeric>
#include <iostream>
#include <limits>
#include <malloc.h>
#include <omp.h>
#include <sstream>
#include <unistd.h>

using namespace lm::rt;
namespace fs = std::filesystem;

//===----------------------------------------------------------------------===//
// Flags
//===----------------------------------------------------------------------===//

/// A flag's default as a number (bools are JSON booleans in the descriptor).
static double defaultValue(const json &flag) {
  const json &d = flag.at("default");
  return d.is_boolean() ? (d.get<bool>() ? 1.0 : 0.0) : d.get<double>();
}

static std::string formatValue(const json &flag, double v) {
  std::string type = flag.at("type");
  if (type == "bool")
    return v != 0 ? "true" : "false";
  std::ostringstream os;
  if (type == "int")
    os << int64_t(v);
  else
    os << v;
  return os.str();
}

static double parseValue(const json &flag, const std::string &text) {
  std::string type = flag.at("type");
  std::string name = flag.at("name");
  if (type == "bool") {
    if (text == "true" || text == "1")
      return 1;
    if (text == "false" || text == "0")
      return 0;
    throw Error{"--" + name + " expects true or false, got '" + text + "'"};
  }
  char *end = nullptr;
  errno = 0;
  double v = type == "int" ? double(std::strtoll(text.c_str(), &end, 10))
                           : std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
    throw Error{"--" + name + " expects " + (type == "int" ? "an integer" : "a number") +
                ", got '" + text + "'"};
  return v;
}

std::string lm::rt::helpText(const json &desc, const std::string &argv0) {
  std::ostringstream os;
  os << "usage: " << argv0 << " [--flag value]... [--out DIR]\n\n"
     << "Experiment '" << desc.at("experiment").get<std::string>() << "'"
     << " (compiled by lmc from " << desc.value("source", std::string("?")) << ")\n\n"
     << "Run-time flags:\n";
  std::ostringstream fixed;
  for (const json &f : desc.at("flags")) {
    std::string line = "  --" + f.at("name").get<std::string>() + " <" +
                       f.at("type").get<std::string>() + ">";
    std::string def = formatValue(f, defaultValue(f));
    if (f.at("compile_time").get<bool>())
      fixed << "  " << f.at("name").get<std::string>() << " = " << def << "\n";
    else
      os << line << std::string(line.size() < 28 ? 28 - line.size() : 1, ' ') << "default "
         << def << "\n";
  }
  os << "\nOther options:\n"
     << "  --out DIR                   output directory (default runs/<experiment>)\n"
     << "  --window N                  observations in the fluctuation window (default 10)\n"
     << "  --threads N                 threads for kernels and parallel loops (default: all cores)\n"
     << "  --quiet                     no progress line or summary\n"
     << "  --check-grad N              check the compiled gradient against central\n"
     << "                              finite differences along N random directions\n"
     << "  --check-grad-tol X          relative tolerance of that check\n"
     << "                              (default 1e-2 in f32, 1e-6 in f64)\n"
     << "  --check-grad-eps X          finite-difference step (default 3e-3 f32, 1e-5 f64)\n"
     << "  --help                      this text\n";
  if (!fixed.str().empty())
    os << "\nCompiled in (rebuild with `lmc build FILE --set name=value` to change):\n"
       << fixed.str();
  return os.str();
}

FlagValues lm::rt::parseFlags(const json &desc, const std::vector<std::string> &args,
                              Options &opts) {
  FlagValues fv;
  const json &flags = desc.at("flags");
  for (const json &f : flags) {
    fv.names.push_back(f.at("name"));
    fv.values.push_back(defaultValue(f));
    fv.given.push_back(false);
  }
  opts.outDir = "runs/" + desc.at("experiment").get<std::string>();
  if (desc.value("dtype", std::string("f32")) == "f64") {
    // In f64 central differences are accurate to ~1e-9 at this step.
    opts.checkGradEps = 1e-5;
    opts.checkGradTol = 1e-6;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    if (a == "--help" || a == "-h") {
      opts.help = true;
      continue;
    }
    if (a == "--quiet") {
      opts.quiet = true;
      continue;
    }
    if (a.rfind("--", 0) != 0)
      throw Error{"unexpected argument '" + a + "' (flags look like --name value)"};
    std::string name = a.substr(2), value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      throw Error{"--" + name + " needs a value"};
    }
    auto number = [&](const char *what) {
      char *end = nullptr;
      double v = std::strtod(value.c_str(), &end);
      if (value.empty() || *end || !std::isfinite(v))
        throw Error{"--" + name + " expects " + what + ", got '" + value + "'"};
      return v;
    };
    if (name == "out") {
      opts.outDir = value;
      continue;
    }
    if (name == "window") {
      double v = number("a count");
      if (v < 2 || v > 100000 || v != std::floor(v))
        throw Error{"--window expects a count of observations in 2..100000"};
      opts.window = int(v);
      continue;
    }
    if (name == "threads") {
      double v = number("a count");
      if (v < 1 || v > 1024 || v != std::floor(v))
        throw Error{"--threads expects a count in 1..1024"};
      opts.threads = int(v);
      continue;
    }
    if (name == "check-grad") {
      double v = number("a count");
      if (v < 1 || v > 1000 || v != std::floor(v))
        throw Error{"--check-grad expects a count in 1..1000"};
      opts.checkGrad = int(v);
      continue;
    }
    if (name == "check-grad-tol") {
      opts.checkGradTol = number("a number");
      continue;
    }
    if (name == "check-grad-eps") {
      opts.checkGradEps = number("a number");
      continue;
    }
    auto it = std::find(fv.names.begin(), fv.names.end(), name);
    if (it == fv.names.end())
      throw Error{"unknown flag --" + name + " (see --help)"};
    size_t k = it - fv.names.begin();
    const json &f = flags[k];
    double v = parseValue(f, value);
    if (f.at("compile_time").get<bool>() && v != fv.values[k])
      throw Error{"this executable was built with " + name + " = " +
                  formatValue(f, fv.values[k]) + ", which fixes shapes; rebuild for " +
                  formatValue(f, v) + " with `lmc build " +
                  desc.value("source", std::string("FILE.lm")) + " --set " + name + "=" +
                  value + "` (or use `lmc run`, which does it for you)"};
    fv.values[k] = v;
    fv.given[k] = true;
  }
  return fv;
}

json FlagValues::asJson(const json &desc) const {
  json out = json::object();
  for (size_t i = 0; i < names.size(); ++i) {
    const json &f = desc.at("flags")[i];
    std::string type = f.at("type");
    if (type == "int")
      out[names[i]] = int64_t(values[i]);
    else if (type == "bool")
      out[names[i]] = values[i] != 0;
    else
      out[names[i]] = values[i];
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Entries and parameters
//===----------------------------------------------------------------------===//

Entries::Entries(const json &desc, const lm_entry_fn *table, int64_t count) {
  const json &names = desc.at("entries");
  if (int64_t(names.size()) != count)
    throw Error{"the descriptor lists " + std::to_string(names.size()) +
                " entries but the executable has " + std::to_string(count)};
  for (int64_t i = 0; i < count; ++i)
    index[names[i].get<std::string>()] = table[i];
}

void Entries::call(const std::string &name, std::vector<void *> args) const {
  auto it = index.find(name);
  if (it == index.end())
    throw Error{"missing compiled entry '" + name + "'"};
  it->second(args.data());
}

template <typename T>
std::vector<T> lm::rt::initGroup(const json &group, const std::vector<double> &hyper) {
  std::vector<T> flat(std::max<int64_t>(group.at("size").get<int64_t>(), 1), 0.f);
  uint64_t seed = uint64_t(int64_t(hyper.at(group.at("seed").get<int>())));
  std::string gname = group.at("name");
  for (const json &p : group.at("params")) {
    int64_t off = p.at("offset"), size = p.at("size");
    const json &init = p.at("init");
    std::string kind = init.at("kind");
    std::vector<double> args;
    for (const json &a : init.at("args"))
      args.push_back(hyper.at(a.get<int>()));
    uint64_t key = streamKey(seed, "init/" + gname + "/" + p.at("name").get<std::string>());
    for (int64_t j = 0; j < size; ++j) {
      double v = 0;
      if (kind == "normal")
        v = args[0] + args[1] * normal(key, j);
      else if (kind == "uniform")
        v = args[0] + (args[1] - args[0]) * uniform01(key, j);
      else if (kind == "ones")
        v = 1;
      else if (kind == "constant")
        v = args[0];
      else if (kind == "linspace")
        v = size > 1 ? args[0] + (args[1] - args[0]) * double(j) / double(size - 1) : args[0];
      flat[off + j] = T(v);
    }
  }
  return flat;
}
template std::vector<float> lm::rt::initGroup(const json &, const std::vector<double> &);
template std::vector<double> lm::rt::initGroup(const json &, const std::vector<double> &);

double lm::rt::scheduledLr(const std::string &kind, double lr, int64_t step, int64_t steps,
                           double warmupSteps, double minLr) {
  if (kind.empty())
    return lr;
  if (warmupSteps > 0 && double(step) <= warmupSteps)
    return lr * double(step) / warmupSteps;
  if (kind == "warmup")
    return lr;
  double span = double(steps) - warmupSteps;
  double progress = span > 0 ? (double(step) - warmupSteps) / span : 1.0;
  return minLr + (lr - minLr) * 0.5 * (1 + std::cos(M_PI * std::min(progress, 1.0)));
}

//===----------------------------------------------------------------------===//
// The run
//===----------------------------------------------------------------------===//

namespace {

std::atomic<bool> interrupted{false};

/// A value while evaluating an `expect`: a number, a recorded series (one
/// value per observation), or an event (an observation index; -1: never).
struct ExpectValue {
  enum Kind { Number, Series, Event } kind = Number;
  double num = NAN;
  std::vector<double> series;
  int64_t event = -1;
};

/// Evaluates an expect tree (see MLIRGen's expectTree) over the history.
ExpectValue evalExpect(const json &t, const std::map<std::string, std::vector<double>> &history,
                       const std::vector<double> &steps, const std::vector<double> &hyper) {
  ExpectValue out;
  if (t.contains("series")) {
    out.kind = ExpectValue::Series;
    auto it = history.find(t.at("series").get<std::string>());
    if (it != history.end())
      out.series = it->second;
    return out;
  }
  if (t.contains("hyper")) {
    out.num = hyper.at(t.at("hyper").get<int>());
    return out;
  }
  std::string op = t.at("op");
  std::vector<ExpectValue> a;
  for (const json &arg : t.at("args"))
    a.push_back(evalExpect(arg, history, steps, hyper));
  auto scalarOf = [](double x) { return x; };
  if (op == "first" || op == "argmax" || op == "argmin") {
    out.kind = ExpectValue::Event;
    const auto &s = a[0].series;
    for (size_t i = 0; i < s.size(); ++i) {
      if (std::isnan(s[i]))
        continue;
      if (op == "first") {
        if (s[i] != 0) {
          out.event = int64_t(i);
          break;
        }
      } else if (out.event < 0 || (op == "argmax" ? s[i] > s[out.event] : s[i] < s[out.event])) {
        out.event = int64_t(i);
      }
    }
    return out;
  }
  if (op == "step_of") {
    out.num = a[0].event >= 0 ? steps.at(a[0].event) : NAN;
    return out;
  }
  if (op == "last" || op == "max" || op == "min" || op == "mean") {
    const auto &s = a[0].series;
    if (s.empty())
      return out;
    if (op == "last")
      out.num = s.back();
    else if (op == "mean")
      out.num = std::accumulate(s.begin(), s.end(), 0.0) / double(s.size());
    else
      out.num = op == "max" ? *std::max_element(s.begin(), s.end())
                            : *std::min_element(s.begin(), s.end());
    return out;
  }
  // Elementwise arithmetic and comparisons on numbers and series.
  auto apply = [&](double x, double y) -> double {
    if (op == "+") return x + y;
    if (op == "-") return x - y;
    if (op == "*") return x * y;
    if (op == "/") return x / y;
    if (std::isnan(x) || std::isnan(y)) return op == "!=" ? 1 : 0;
    if (op == "<") return x < y;
    if (op == "<=") return x <= y;
    if (op == ">") return x > y;
    if (op == ">=") return x >= y;
    if (op == "==") return x == y;
    if (op == "!=") return x != y;
    if (op == "and") return x != 0 && y != 0;
    if (op == "or") return x != 0 || y != 0;
    return NAN;
  };
  if (op == "neg" || op == "not") {
    auto f = [&](double x) { return op == "neg" ? -x : double(!(x != 0) || std::isnan(x)); };
    out = a[0];
    if (out.kind == ExpectValue::Series)
      for (double &x : out.series)
        x = f(x);
    else
      out.num = f(scalarOf(out.num));
    return out;
  }
  if (a[0].kind != ExpectValue::Series && a[1].kind != ExpectValue::Series) {
    out.num = apply(a[0].num, a[1].num);
    return out;
  }
  out.kind = ExpectValue::Series;
  size_t n = std::max(a[0].series.size(), a[1].series.size());
  for (size_t i = 0; i < n; ++i) {
    double x = a[0].kind == ExpectValue::Series ? (i < a[0].series.size() ? a[0].series[i] : NAN)
                                                : a[0].num;
    double y = a[1].kind == ExpectValue::Series ? (i < a[1].series.size() ? a[1].series[i] : NAN)
                                                : a[1].num;
    out.series.push_back(apply(x, y));
  }
  return out;
}

/// Running statistics over the last `window` observations of one column.
struct Window {
  std::deque<double> values;
  void push(double v, size_t window) {
    values.push_back(v);
    if (values.size() > window)
      values.pop_front();
  }
  double mean() const {
    double s = 0;
    for (double v : values)
      s += v;
    return s / double(values.size());
  }
  /// Population variance; NaN until two observations exist.
  double var() const {
    if (values.size() < 2)
      return NAN;
    double m = mean(), s = 0;
    for (double v : values)
      s += (v - m) * (v - m);
    return s / double(values.size());
  }
};

/// The columns that get window statistics: every plain observable and the
/// head-averaged thermo quantities (not per-head or across-example columns).
std::vector<std::string> windowedColumns(const json &item) {
  if (!item.contains("columns"))
    return {item.at("name").get<std::string>()};
  std::vector<std::string> out;
  for (const char *q : {"F", "U", "S", "C"})
    out.push_back(item.at("name").get<std::string>() + "." + q);
  return out;
}

/// What a column means; thermo columns are <site>.<Q>[.h<i>|.var].
std::string thermoLegend(const std::string &column) {
  static const std::map<std::string, std::string> q = {
      {"F", "free energy -T ln Z"},
      {"U", "internal energy <E>"},
      {"S", "entropy -sum p ln p"},
      {"C", "specific heat Var_p(E)/T^2"}};
  size_t dot = column.find('.');
  if (dot == std::string::npos)
    return "observable";
  std::string rest = column.substr(dot + 1), head = rest.substr(0, rest.find('.'));
  auto it = q.find(head);
  if (it == q.end())
    return "observable";
  std::string suffix = rest.size() > head.size() ? rest.substr(head.size() + 1) : "";
  if (suffix == "var")
    return it->second + ": variance across examples of the per-example mean";
  if (!suffix.empty())
    return it->second + " of head " + suffix.substr(1) + ", mean over examples and queries";
  return it->second + ", mean over heads, queries and examples";
}

/// The metrics.csv columns of one observable: its name, or name.column for
/// vector observables such as thermo (attn.F.h0, attn.F, attn.F.var, ...).
std::vector<std::string> columnNames(const json &item) {
  std::string name = item.at("name");
  if (!item.contains("columns"))
    return {name};
  std::vector<std::string> out;
  for (const json &c : item.at("columns"))
    out.push_back(name + "." + c.get<std::string>());
  return out;
}

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string fmt(double v, int digits = 6) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

/// What one replica records: its own metrics.csv, fluctuation windows,
/// history (for `expect`), status and first/last rows. A plain run has one,
/// writing into the output directory; an ensemble has one per replica, each
/// in <out>/<flag>=<value>/, exactly what a separate run would write.
struct Log {
  fs::path dir;
  std::ofstream csv;
  std::map<std::string, Window> windows;
  std::map<std::string, std::vector<double>> history;
  std::vector<double> historySteps;
  json lastRow = json::object(), firstRow = json::object();
  std::string status = "running";
  int64_t stepsDone = 0;
  FlagValues flags;
  std::vector<double> hyper;
  bool running() const { return status == "running"; }
};

/// One run with float type T (f32 or f64, as compiled): a single model, or
/// an ensemble of R replicas trained by one batched program (the compiled
/// entries take every buffer with a leading replica dimension).
template <typename T> struct Run {
  Run(const json &desc, const Entries &entries, Options opts, FlagValues flags)
      : desc(desc), entries(entries), opts(std::move(opts)), flags(std::move(flags)) {}

  const json &desc;
  const Entries &entries;
  Options opts;
  FlagValues flags;
  int64_t R = 1;          // replicas
  bool ensemble = false;  // outputs per replica plus ensemble statistics
  std::vector<double> hyper; // replica 0's: training settings are shared
  /// Parameters per group; the trained group holds R replicas back to back.
  std::map<std::string, std::vector<T>> params;
  Dataset<T> data; // the replicas' splits stacked (R x n examples)
  std::vector<Dataset<T>> replicaData;
  std::vector<Log> logs;

  std::ofstream csv; // an ensemble's metrics.csv: mean and variance across replicas
  double currentLr = NAN; // the learning rate of the last step (schedules)
  double observeSeconds = 0, trainSeconds = 0;
  std::vector<double> stepSeconds; // wall time of each training step
  // Heap allocations generated code made inside the first training step,
  // inside all later ones, and all its allocations (pool reuses included)
  // in the last step.
  int64_t firstStepSystemAllocs = 0, laterStepsSystemAllocs = 0, lastStepAllocs = 0;
  int64_t stepsDone = 0;
  std::string status = "running";

  double hyperAt(const json &idx) const { return hyper.at(idx.get<int>()); }

  /// Per-replica losses and the gradient of the trained group on one batch
  /// (x, y hold R batches back to back).
  std::vector<T> lossAndGrad(std::vector<T> &p, const void *x, const void *y,
                             std::vector<T> &grad) {
    std::vector<T> loss(R, T(0));
    entries.call(desc.at("train").at("entry"),
                 {p.data(), (void *)x, (void *)y, loss.data(), grad.data()});
    return loss;
  }

  /// Sets up replicas: per-replica flags, hyperparameters, parameters and
  /// data (each from its own seed), stacked for the batched entries.
  void setup(std::vector<double> flagBuf) {
    const json *ens = desc.contains("ensemble") ? &desc.at("ensemble") : nullptr;
    ensemble = ens != nullptr;
    R = ens ? ens->at("count").get<int64_t>() : 1;
    if (flagBuf.empty())
      flagBuf.push_back(0);
    logs.resize(R);
    for (int64_t r = 0; r < R; ++r) {
      Log &log = logs[r];
      log.flags = flags;
      std::vector<double> fb = flagBuf;
      if (ens) {
        size_t k = ens->at("flag_index").get<size_t>();
        double v = double(ens->at("from").get<int64_t>() + r);
        log.flags.values[k] = fb[k] = v;
        log.dir = fs::path(opts.outDir) /
                  (ens->at("flag").get<std::string>() + "=" + std::to_string(int64_t(v)));
      } else {
        log.dir = opts.outDir;
      }
      log.hyper.assign(std::max<size_t>(desc.at("hyper").size(), 1), 0.0);
      entries.call("lm_hyper", {fb.data(), log.hyper.data()});
    }
    hyper = logs[0].hyper;
    checkSharedSettings();
    const std::string trained = desc.at("train").at("group");
    // Replicas are independent (counter-based streams keyed by their own
    // seeds): build them on all threads.
    std::vector<std::map<std::string, std::vector<T>>> groups(R);
    replicaData.resize(R);
    std::exception_ptr failure;
#pragma omp parallel for schedule(dynamic) if (R > 1)
    for (int64_t r = 0; r < R; ++r) {
      try {
        for (const json &g : desc.at("groups"))
          groups[r][g.at("name")] = initGroup<T>(g, logs[r].hyper);
        replicaData[r] = makeDataset<T>(desc, logs[r].hyper, entries, groups[r]);
      } catch (...) {
#pragma omp critical
        if (!failure)
          failure = std::current_exception();
      }
    }
    if (failure)
      std::rethrow_exception(failure);
    params = groups[0];
    for (int64_t r = 1; r < R; ++r) {
      std::vector<T> &p = groups[r].at(trained);
      params.at(trained).insert(params.at(trained).end(), p.begin(), p.end());
    }
    if (R == 1) {
      data = std::move(replicaData[0]);
      replicaData.clear();
      return;
    }
    auto stack = [&](Split<T> Dataset<T>::*which) {
      const Split<T> &first = replicaData[0].*which;
      Split<T> s = first.shaped(first.n * R);
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < R; ++r)
        for (int64_t i = 0; i < first.n; ++i)
          (replicaData[r].*which).copyExample(i, s, r * first.n + i);
      return s;
    };
    data.train = stack(&Dataset<T>::train);
    data.test = stack(&Dataset<T>::test);
  }

  /// Replicas share the optimizer, schedule and observation settings (one
  /// batched update); the ensemble variable may only change seeds and data.
  void checkSharedSettings() const {
    if (R == 1)
      return;
    std::vector<std::pair<std::string, int>> used;
    std::function<void(const json &, const std::string &)> collect = [&](const json &j,
                                                                      const std::string &at) {
      if (j.is_number_integer() && at != "batch" && at != "group")
        used.push_back({at, j.get<int>()});
      else if (j.is_object())
        for (auto &[k, v] : j.items())
          if (k != "entry" && k != "kind" && k != "items")
            collect(v, at.empty() ? k : at + "." + k);
    };
    collect(desc.at("train"), "");
    if (desc.at("observe").at("every").get<int>() >= 0)
      used.push_back({"observe every", desc.at("observe").at("every").get<int>()});
    for (const auto &[what, idx] : used)
      for (int64_t r = 1; r < R; ++r)
        if (logs[r].hyper.at(idx) != logs[0].hyper.at(idx))
          throw Error{"the ensemble variable '" + desc.at("ensemble").at("flag").get<std::string>() +
                      "' changes " + what + " (" + fmt(logs[0].hyper.at(idx)) + " vs " +
                      fmt(logs[r].hyper.at(idx)) +
                      "); replicas share the training settings, only seeds and data may differ"};
  }

  /// The header of a metrics.csv: observation columns, then window columns.
  std::string header() const {
    std::ostringstream os;
    os << "step,time_s,batch_loss";
    if (desc.at("train").contains("schedule"))
      os << ",lr";
    for (const json &item : desc.at("observe").at("items"))
      for (const std::string &name : columnNames(item))
        os << "," << name;
    for (const json &item : desc.at("observe").at("items")) {
      for (const std::string &c : windowedColumns(item))
        os << "," << c << ".wmean," << c << ".wvar";
      if (item.value("kind", std::string()) == "thermo")
        os << "," << item.at("name").get<std::string>() << ".Cwin";
    }
    return os.str();
  }

  /// The columns an ensemble's metrics.csv averages over replicas.
  std::vector<std::string> ensembleColumns() const {
    std::vector<std::string> cols = {"batch_loss"};
    for (const json &item : desc.at("observe").at("items"))
      for (const std::string &name : columnNames(item))
        cols.push_back(name);
    return cols;
  }

  void observe(int64_t step, const std::vector<T> &batchLoss, Clock::time_point start) {
    auto t0 = Clock::now();
    std::vector<T> &p = params.at(desc.at("train").at("group"));
    const auto &items = desc.at("observe").at("items");
    // One call per observable computes it for every replica.
    std::vector<std::vector<T>> outs;
    for (const json &item : items) {
      std::vector<T> out(columnNames(item).size() * R);
      if (item.contains("split")) {
        Split<T> &s = item.at("split") == "train" ? data.train : data.test;
        entries.call(item.at("entry"), {p.data(), s.xData(), s.yData(), out.data()});
      } else {
        entries.call(item.at("entry"), {p.data(), out.data()});
      }
      outs.push_back(std::move(out));
    }
    double elapsed = secondsSince(start);
    for (int64_t r = 0; r < R; ++r) {
      Log &log = logs[r];
      if (!log.running())
        continue;
      json row = json::object();
      row["step"] = step;
      std::vector<std::string> cells = {std::to_string(step), fmt(elapsed),
                                        fmt(batchLoss.empty() ? NAN : double(batchLoss[r]))};
      row["batch_loss"] = batchLoss.empty() ? NAN : double(batchLoss[r]);
      if (desc.at("train").contains("schedule")) {
        cells.push_back(fmt(currentLr, 9));
        row["lr"] = currentLr;
      }
      for (size_t i = 0; i < items.size(); ++i) {
        std::vector<std::string> names = columnNames(items[i]);
        for (size_t k = 0; k < names.size(); ++k) {
          T v = outs[i][r * names.size() + k];
          row[names[k]] = v;
          // Enough digits to read back the exact value of the run's float type.
          cells.push_back(fmt(v, std::numeric_limits<T>::max_digits10));
        }
      }
      // Fluctuations over the window: mean and variance of each observable,
      // and for thermo sites the window specific heat Var_window(U) / T^2.
      for (const json &item : items) {
        for (const std::string &c : windowedColumns(item)) {
          Window &w = log.windows[c];
          w.push(row[c].get<double>(), size_t(opts.window));
          row[c + ".wmean"] = w.mean();
          row[c + ".wvar"] = w.var();
          cells.push_back(fmt(w.mean(), 9));
          cells.push_back(fmt(w.var(), 9));
        }
        if (item.value("kind", std::string()) == "thermo") {
          double temp = item.at("temperature");
          std::string site = item.at("name");
          double cw = log.windows[site + ".U"].var() / (temp * temp);
          row[site + ".Cwin"] = cw;
          cells.push_back(fmt(cw, 9));
        }
      }
      log.historySteps.push_back(double(step));
      for (auto &[k, v] : row.items())
        if (v.is_number())
          log.history[k].push_back(v.template get<double>());
      for (size_t i = 0; i < cells.size(); ++i)
        log.csv << (i ? "," : "") << cells[i];
      log.csv << "\n";
      log.csv.flush();
      if (log.firstRow.empty())
        log.firstRow = row;
      log.lastRow = row;
    }
    if (ensemble)
      writeEnsembleRow(step, elapsed);
    observeSeconds += secondsSince(t0);
  }

  /// The ensemble's row: for every column, the mean and the variance
  /// (population, over the replicas still training) across replicas.
  void writeEnsembleRow(int64_t step, double elapsed) {
    std::vector<std::string> cells = {std::to_string(step), fmt(elapsed)};
    int64_t alive = 0;
    for (const Log &log : logs)
      alive += log.running();
    cells.push_back(std::to_string(alive));
    for (const std::string &c : ensembleColumns()) {
      std::vector<double> vs;
      for (const Log &log : logs)
        if (log.running() && log.lastRow.contains(c) && log.lastRow[c].is_number() &&
            !std::isnan(log.lastRow[c].get<double>()))
          vs.push_back(log.lastRow[c].get<double>());
      double n = double(vs.size()), mean = NAN, var = NAN;
      if (!vs.empty())
        mean = std::accumulate(vs.begin(), vs.end(), 0.0) / n;
      if (vs.size() > 1) {
        var = 0;
        for (double v : vs)
          var += (v - mean) * (v - mean);
        var /= n;
      }
      cells.push_back(fmt(mean, 9));
      cells.push_back(fmt(var, 9));
    }
    for (size_t i = 0; i < cells.size(); ++i)
      csv << (i ? "," : "") << cells[i];
    csv << "\n";
    csv.flush();
  }

  /// FLOPs per step (counted by the compiler on the step's linalg IR), the
  /// median step time (batch assembly, gradient and update), achieved
  /// GFLOP/s, and the share of the run spent observing.
  json costReport() const {
    json cost;
    const std::string entry = desc.at("train").at("entry");
    double flops = desc.contains("flops") && desc.at("flops").contains(entry)
                       ? desc.at("flops").at(entry).get<double>()
                       : NAN;
    cost["flops_per_step"] = flops;
    cost["threads"] = omp_get_max_threads();
    cost["replicas"] = R;
    if (!stepSeconds.empty()) {
      std::vector<double> t = stepSeconds;
      std::sort(t.begin(), t.end());
      auto at = [&](double q) { return t[std::min(t.size() - 1, size_t(q * double(t.size())))]; };
      double median = t.size() % 2 ? t[t.size() / 2] : (t[t.size() / 2 - 1] + t[t.size() / 2]) / 2;
      cost["median_step_s"] = median;
      cost["p10_step_s"] = at(0.1);
      cost["p90_step_s"] = at(0.9);
      cost["gflops_per_s"] = flops / median / 1e9;
    }
    cost["allocations"] = {{"heap_allocs_first_step", firstStepSystemAllocs},
                           {"heap_allocs_later_steps", laterStepsSystemAllocs},
                           {"buffers_per_step", lastStepAllocs}};
    cost["train_s"] = trainSeconds;
    cost["observe_s"] = observeSeconds;
    cost["observe_fraction"] = observeSeconds / std::max(1e-12, observeSeconds + trainSeconds);
    return cost;
  }

  json legend() const {
    json legend = {{"step", "optimizer steps taken before this observation"},
                   {"time_s", "wall-clock seconds since training started"},
                   {"batch_loss", "training loss of the most recent minibatch"}};
    for (const json &item : desc.at("observe").at("items")) {
      std::string over =
          item.contains("split") ? " over data." + item.at("split").get<std::string>() : "";
      for (const std::string &name : columnNames(item))
        legend[name] = thermoLegend(name) + over;
      for (const std::string &c : windowedColumns(item)) {
        legend[c + ".wmean"] = "mean of " + c + " over the last --window observations";
        legend[c + ".wvar"] = "variance of " + c + " over the last --window observations";
      }
      if (item.value("kind", std::string()) == "thermo")
        legend[item.at("name").get<std::string>() + ".Cwin"] =
            "window specific heat Var_window(U) / T^2 (T = " +
            fmt(item.at("temperature").get<double>()) + ")";
    }
    return legend;
  }

  json runJson(const Log &log, double totalSeconds) const {
    json run;
    run["experiment"] = desc.at("experiment");
    run["source"] = desc.value("source", "");
    run["compiler"] = desc.value("compiler", json::object());
    run["flags"] = log.flags.asJson(desc);
    json compileTime = json::array();
    for (const json &f : desc.at("flags"))
      if (f.at("compile_time").get<bool>())
        compileTime.push_back(f.at("name"));
    run["compile_time_flags"] = compileTime;
    run["status"] = log.status;
    run["steps_done"] = log.stepsDone;
    run["timings"] = {{"total_s", totalSeconds},
                      {"train_s", trainSeconds},
                      {"observe_s", observeSeconds}};
    run["cost"] = costReport();
    run["first"] = log.firstRow;
    run["last"] = log.lastRow;
    run["window"] = opts.window;
    run["legend"] = legend();
    return run;
  }

  void writeRunJson(double totalSeconds) {
    for (const Log &log : logs) {
      if (!log.csv.is_open())
        continue;
      json run = runJson(log, totalSeconds);
      if (ensemble)
        run["ensemble_dir"] = fs::path(opts.outDir).string();
      std::ofstream os(log.dir / "run.json");
      os << run.dump(2) << "\n";
    }
    if (!ensemble)
      return;
    // The ensemble's run.json: shared settings, cost, and each replica.
    json run = runJson(logs[0], totalSeconds);
    run["flags"] = flags.asJson(desc);
    const json &ens = desc.at("ensemble");
    std::string flag = ens.at("flag");
    json values = json::array(), replicas = json::array();
    for (int64_t r = 0; r < R; ++r) {
      values.push_back(ens.at("from").get<int64_t>() + r);
      replicas.push_back({{flag, ens.at("from").get<int64_t>() + r},
                          {"dir", logs[r].dir.filename().string()},
                          {"status", logs[r].status},
                          {"steps_done", logs[r].stepsDone},
                          {"last", logs[r].lastRow}});
    }
    run["flags"].erase(flag);
    run["ensemble"] = {{"flag", flag}, {"values", values}, {"replicas", R}};
    run["replicas"] = replicas;
    run["status"] = status;
    run["steps_done"] = stepsDone;
    run.erase("first");
    run.erase("last");
    json leg = json::object();
    leg["step"] = run["legend"]["step"];
    leg["time_s"] = run["legend"]["time_s"];
    leg["replicas"] = "replicas still training (not diverged)";
    for (const std::string &c : ensembleColumns()) {
      std::string what = run["legend"].contains(c) ? run["legend"][c].get<std::string>() : c;
      leg[c + ".emean"] = "mean across replicas of " + c + " (" + what + ")";
      leg[c + ".evar"] = "variance across replicas of " + c;
    }
    run["legend"] = leg;
    std::ofstream os(fs::path(opts.outDir) / "run.json");
    os << run.dump(2) << "\n";
  }

  /// Evaluates every `expect` over each replica's recorded series, prints
  /// the results and writes summary.json (per replica, and for an ensemble
  /// the count of replicas in which each held). A failed expectation is a
  /// scientific result: it does not change the exit code.
  void evaluateExpectations() {
    const json expects = desc.value("expect", json::array());
    if (expects.empty())
      return;
    std::vector<int64_t> passedIn(expects.size(), 0);
    std::vector<std::string> details(expects.size());
    for (Log &log : logs) {
      if (!log.csv.is_open())
        continue;
      json results = json::array();
      for (size_t i = 0; i < expects.size(); ++i) {
        const json &e = expects[i];
        const json &tree = e.at("tree");
        ExpectValue v = evalExpect(tree, log.history, log.historySteps, log.hyper);
        bool passed = v.kind == ExpectValue::Number && v.num != 0 && !std::isnan(v.num);
        json r = {{"text", e.at("text")}, {"passed", passed}};
        std::string detail;
        if (tree.contains("op") && tree.at("args").size() == 2) {
          ExpectValue l = evalExpect(tree.at("args")[0], log.history, log.historySteps, log.hyper);
          ExpectValue rt =
              evalExpect(tree.at("args")[1], log.history, log.historySteps, log.hyper);
          if (l.kind == ExpectValue::Number && rt.kind == ExpectValue::Number) {
            r["left"] = std::isnan(l.num) ? json(nullptr) : json(l.num);
            r["right"] = std::isnan(rt.num) ? json(nullptr) : json(rt.num);
            detail = " (" + fmt(l.num) + " " + tree.at("op").get<std::string>() + " " +
                     fmt(rt.num) + ")";
          }
        }
        results.push_back(r);
        passedIn[i] += passed;
        if (!ensemble)
          details[i] = (passed ? "PASSED " : "FAILED ") + e.at("text").get<std::string>() + detail;
      }
      size_t failed = std::count_if(results.begin(), results.end(),
                                    [](const json &r) { return !r.at("passed").get<bool>(); });
      json summary = {{"experiment", desc.at("experiment")},
                      {"status", log.status},
                      {"expectations", results},
                      {"passed", results.size() - failed},
                      {"failed", failed}};
      std::ofstream os(log.dir / "summary.json");
      os << summary.dump(2) << "\n";
    }
    if (ensemble) {
      json results = json::array();
      for (size_t i = 0; i < expects.size(); ++i) {
        results.push_back({{"text", expects[i].at("text")},
                           {"passed_in", passedIn[i]},
                           {"replicas", R},
                           {"passed", passedIn[i] == R}});
        details[i] = std::string(passedIn[i] == R ? "PASSED " : "FAILED ") + "in " +
                     std::to_string(passedIn[i]) + "/" + std::to_string(R) + " replicas: " +
                     expects[i].at("text").get<std::string>();
      }
      json summary = {{"experiment", desc.at("experiment")},
                      {"status", status},
                      {"expectations", results}};
      std::ofstream os(fs::path(opts.outDir) / "summary.json");
      os << summary.dump(2) << "\n";
    }
    if (!opts.quiet)
      for (const std::string &d : details)
        std::cout << d << "\n";
  }

  int checkGradient() {
    const json &train = desc.at("train");
    std::vector<T> &p = params.at(train.at("group"));
    int64_t b = train.at("batch");
    std::vector<T> grad(p.size()), scratch(p.size());
    // The first batch of each replica (the stacked train split's first b
    // examples are replica 0's; with replicas, use the full stacked split).
    Split<T> batch = data.train.shaped(b * R);
    int64_t n = data.train.n / R;
    for (int64_t r = 0; r < R; ++r)
      for (int64_t i = 0; i < b; ++i)
        data.train.copyExample(r * n + i, batch, r * b + i);
    const void *x = batch.xData(), *y = batch.yData();
    // With replicas the checked function is the sum of their losses.
    auto total = [](const std::vector<T> &l) {
      double s = 0;
      for (T v : l)
        s += double(v);
      return s;
    };
    double loss = total(lossAndGrad(p, x, y, grad));
    double eps = opts.checkGradEps, worst = 0;
    uint64_t key = streamKey(0, "check-grad");
    std::cout << "gradient check: " << opts.checkGrad << " random directions, batch " << b
              << (R > 1 ? ", " + std::to_string(R) + " replicas (summed losses)" : "")
              << ", loss " << loss << ", eps " << eps << "\n";
    for (int k = 0; k < opts.checkGrad; ++k) {
      std::vector<double> dir(p.size());
      double norm = 0;
      for (size_t i = 0; i < p.size(); ++i) {
        dir[i] = normal(key, uint64_t(k) * p.size() + i);
        norm += dir[i] * dir[i];
      }
      norm = std::sqrt(norm);
      double ad = 0;
      for (size_t i = 0; i < p.size(); ++i) {
        dir[i] /= norm;
        ad += double(grad[i]) * dir[i];
      }
      auto lossAt = [&](double t) {
        std::vector<T> q(p.size());
        for (size_t i = 0; i < p.size(); ++i)
          q[i] = T(p[i] + t * dir[i]);
        return total(lossAndGrad(q, x, y, scratch));
      };
      double fd = (lossAt(eps) - lossAt(-eps)) / (2 * eps);
      double rel = std::fabs(fd - ad) / std::max({std::fabs(fd), std::fabs(ad), 1e-6});
      worst = std::max(worst, rel);
      std::cout << "  direction " << k << ": autodiff " << fmt(ad) << "  finite-diff "
                << fmt(fd) << "  rel.err " << fmt(rel) << "\n";
    }
    bool ok = worst <= opts.checkGradTol;
    std::cout << "max relative error " << fmt(worst) << (ok ? " <= " : " > ") << "tolerance "
              << fmt(opts.checkGradTol) << ": " << (ok ? "PASSED" : "FAILED") << "\n";
    return ok ? 0 : 1;
  }

  /// Opens the output files and writes their headers.
  void openOutputs() {
    for (Log &log : logs) {
      std::error_code ec;
      fs::create_directories(log.dir, ec);
      log.csv.open(log.dir / "metrics.csv");
      if (ec || !log.csv)
        throw Error{"cannot write to output directory '" + log.dir.string() + "'"};
      log.csv << header() << "\n";
    }
    if (ensemble) {
      csv.open(fs::path(opts.outDir) / "metrics.csv");
      if (!csv)
        throw Error{"cannot write to output directory '" + opts.outDir + "'"};
      csv << "step,time_s,replicas";
      for (const std::string &c : ensembleColumns())
        csv << "," << c << ".emean," << c << ".evar";
      csv << "\n";
    }
  }

  int train() {
    const json &tr = desc.at("train");
    std::vector<T> &p = params.at(tr.at("group"));
    const size_t P = p.size() / size_t(R); // parameters per replica
    int64_t steps = int64_t(hyperAt(tr.at("steps")));
    int64_t b = tr.at("batch");
    const json &opt = tr.at("optimizer");
    std::string kind = opt.at("kind");
    double lr = hyperAt(opt.at("lr"));
    double momentum = opt.contains("momentum") ? hyperAt(opt.at("momentum")) : 0;
    bool adam = kind == "adam" || kind == "adamw";
    const bool plainGd = kind == "gd";
    double beta1 = adam ? hyperAt(opt.at("beta1")) : 0, beta2 = adam ? hyperAt(opt.at("beta2")) : 0;
    double eps = adam ? hyperAt(opt.at("eps")) : 0;
    bool nesterov = opt.contains("nesterov") && hyperAt(opt.at("nesterov")) != 0;
    double wd = opt.contains("weight_decay") ? hyperAt(opt.at("weight_decay")) : 0;
    const double baseLr = lr;
    std::string schedule;
    double warmupSteps = 0, minLr = 0;
    if (tr.contains("schedule")) {
      const json &sc = tr.at("schedule");
      schedule = sc.at("kind");
      warmupSteps = hyperAt(sc.contains("steps") ? sc.at("steps") : sc.at("warmup"));
      minLr = sc.contains("min_lr") ? hyperAt(sc.at("min_lr")) : 0;
    }
    const double clip = tr.contains("clip") ? hyperAt(tr.at("clip")) : 0;
    int64_t every = desc.at("observe").at("every").get<int>() >= 0
                        ? int64_t(hyperAt(desc.at("observe").at("every")))
                        : 0;
    if (steps < 0)
      throw Error{"steps must not be negative (got " + std::to_string(steps) + ")"};
    if (!(lr > 0) || !std::isfinite(lr))
      throw Error{"the learning rate must be positive (got " + fmt(lr) + ")"};
    if (every < 0)
      throw Error{"observe every N steps: N must be positive"};

    Split<T> &s = data.train;
    const int64_t n = s.n / R; // examples per replica
    std::vector<T> grad(p.size()), velocity(p.size(), T(0)), second(adam ? p.size() : 0, T(0));
    Split<T> batch = s.shaped(b * R);
    // Each replica draws its minibatches from its own seed's stream.
    std::vector<std::vector<int64_t>> order(R, std::vector<int64_t>(n));
    std::vector<uint64_t> batchKey(R);
    for (int64_t r = 0; r < R; ++r) {
      for (int64_t i = 0; i < n; ++i)
        order[r][i] = i;
      uint64_t seed = 0;
      for (size_t i = 0; i < logs[r].flags.names.size(); ++i)
        if (logs[r].flags.names[i] == "seed")
          seed = uint64_t(int64_t(logs[r].flags.values[i]));
      batchKey[r] = streamKey(seed, "batches");
    }
    int64_t perEpoch = n / b, epoch = -1;

    auto start = Clock::now();
    bool tty = isatty(2) && !opts.quiet;
    std::vector<T> batchLoss;
    observe(0, batchLoss, start);
    auto lastPrint = Clock::now();
    for (int64_t step = 1; step <= steps; ++step) {
      if (interrupted) {
        status = "interrupted";
        for (Log &log : logs)
          if (log.running())
            log.status = status;
        break;
      }
      // Minibatches: a fresh seeded permutation every epoch (Fisher-Yates
      // with counter-based draws); full batch uses the data as is.
      auto t0 = Clock::now();
      const void *x = s.xData(), *y = s.yData();
      if (b < n) {
        int64_t k = (step - 1) % perEpoch;
        int64_t e = (step - 1) / perEpoch;
        if (e != epoch) {
          epoch = e;
          for (int64_t r = 0; r < R; ++r)
            for (int64_t i = n - 1; i > 0; --i) {
              int64_t j = int64_t(uniform01(batchKey[r], uint64_t(e) * n + i) * (i + 1));
              std::swap(order[r][i], order[r][std::min(j, i)]);
            }
        }
        // Gathering R x b rows from R datasets is memory-bound (an
        // ensemble's data does not fit in cache): on all threads, each row
        // prefetched a few rows ahead of its copy so the misses overlap.
        auto source = [&](int64_t j) { return (j / b) * n + order[j / b][k * b + j % b]; };
        const int64_t rows = R * b;
        constexpr int64_t ahead = 16;
#pragma omp parallel for schedule(static) if (rows * (s.xSize + s.ySize) >= (1 << 16))
        for (int64_t j = 0; j < rows; ++j) {
          if (j + ahead < rows)
            s.prefetchExample(source(j + ahead));
          s.copyExample(source(j), batch, j);
        }
        x = batch.xData();
        y = batch.yData();
      }
      lr = scheduledLr(schedule, baseLr, step, steps, warmupSteps, minLr);
      AllocCounts before = allocCounts();
      batchLoss = lossAndGrad(p, x, y, grad);
      AllocCounts after = allocCounts();
      (step == 1 ? firstStepSystemAllocs : laterStepsSystemAllocs) += after.system - before.system;
      lastStepAllocs = (after.system - before.system) + (after.reused - before.reused);
      if (clip > 0) { // global gradient-norm clipping, per replica
        for (int64_t r = 0; r < R; ++r) {
          T *g = grad.data() + r * P;
          double norm = 0;
          for (size_t i = 0; i < P; ++i)
            norm += double(g[i]) * double(g[i]);
          norm = std::sqrt(norm);
          if (norm > clip)
            for (size_t i = 0; i < P; ++i)
              g[i] = T(double(g[i]) * clip / norm);
        }
      }
      int64_t alive = 0;
      for (int64_t r = 0; r < R; ++r) {
        Log &log = logs[r];
        if (log.running() && !std::isfinite(batchLoss[r])) {
          log.status = "diverged";
          log.stepsDone = step - 1;
          std::cerr << "\nerror: training diverged at step " << step << " (loss = "
                    << batchLoss[r] << "); metrics so far are in " << log.dir.string() << "\n";
        }
        alive += log.running();
      }
      if (alive == 0) {
        status = "diverged";
        stepsDone = step - 1;
        return 3;
      }
      const T tlr = T(lr), twd = T(wd), tmom = T(momentum);
      if (adam) {
        // Adam (Kingma & Ba) with bias correction; adamw decouples the weight
        // decay (p -= lr wd p), adam adds wd p to the gradient. As PyTorch.
        const double c1 = 1 - std::pow(beta1, double(step)), c2 = 1 - std::pow(beta2, double(step));
        const T b1 = T(beta1), b2 = T(beta2);
        const bool decoupled = kind == "adamw";
        const int64_t np = int64_t(p.size());
#pragma omp parallel for schedule(static) if (np >= (1 << 17))
        for (int64_t i = 0; i < np; ++i) {
          T g = decoupled ? grad[i] : grad[i] + twd * p[i];
          if (decoupled)
            p[i] -= tlr * twd * p[i];
          velocity[i] = b1 * velocity[i] + (1 - b1) * g;
          second[i] = b2 * second[i] + (1 - b2) * g * g;
          T mhat = T(velocity[i] / c1), vhat = T(second[i] / c2);
          p[i] -= tlr * mhat / (std::sqrt(vhat) + T(eps));
        }
      }
      // SGD with momentum (PyTorch's convention), optional Nesterov and
      // L2 weight decay. One branch-free loop per case, so each vectorizes.
      // Elementwise, so splitting it across threads changes no bits; worth
      // it for large parameter vectors (ensembles).
      const int64_t np = int64_t(p.size());
      const bool wide = np >= (1 << 17);
      T *pp = p.data(), *vp = velocity.data();
      const T *gp = grad.data();
      if (!adam && (plainGd || momentum == 0)) {
#pragma omp parallel for simd schedule(static) if (parallel : wide)
        for (int64_t i = 0; i < np; ++i)
          pp[i] -= tlr * (gp[i] + twd * pp[i]);
      } else if (!adam && nesterov) {
#pragma omp parallel for simd schedule(static) if (parallel : wide)
        for (int64_t i = 0; i < np; ++i) {
          T g = gp[i] + twd * pp[i];
          vp[i] = tmom * vp[i] + g;
          pp[i] -= tlr * (g + tmom * vp[i]);
        }
      } else if (!adam) {
#pragma omp parallel for simd schedule(static) if (parallel : wide)
        for (int64_t i = 0; i < np; ++i) {
          vp[i] = tmom * vp[i] + gp[i] + twd * pp[i];
          pp[i] -= tlr * vp[i];
        }
      }
      double dt = secondsSince(t0);
      trainSeconds += dt;
      stepSeconds.push_back(dt);
      stepsDone = step;
      for (Log &log : logs)
        if (log.running())
          log.stepsDone = step;
      currentLr = lr;
      if ((every > 0 && step % every == 0) || step == steps)
        observe(step, batchLoss, start);
      if (tty && secondsSince(lastPrint) > 0.2) {
        lastPrint = Clock::now();
        std::fprintf(stderr, "\r  step %lld/%lld  batch loss %.4g   ", (long long)step,
                     (long long)steps, double(batchLoss[0]));
      }
    }
    if (tty)
      std::fprintf(stderr, "\r%60s\r", "");
    if (status == "running")
      status = "completed";
    for (Log &log : logs)
      if (log.running())
        log.status = "completed";
    return interrupted ? 130 : 0;
  }
};

} // namespace

namespace {
template <typename T>
int runTyped(const json &desc, const lm_entry_fn *table, int64_t count, int argc, char **argv) {
  auto start = Clock::now();
  std::optional<Run<T>> run;
  try {
    Entries entries(desc, table, count);
    Options opts;
    FlagValues flags = parseFlags(desc, std::vector<std::string>(argv + 1, argv + argc), opts);
    if (opts.help) {
      std::cout << helpText(desc, argv[0]);
      return 0;
    }
    if (desc.contains("ensemble")) {
      const json &ens = desc.at("ensemble");
      size_t k = ens.at("flag_index");
      if (flags.given.at(k))
        throw Error{"--" + ens.at("flag").get<std::string>() + " is the ensemble variable: this "
                    "executable runs " + ens.at("flag").get<std::string>() + " = " +
                    std::to_string(ens.at("from").get<int64_t>()) + ".." +
                    std::to_string(ens.at("from").get<int64_t>() + ens.at("count").get<int64_t>()) +
                    " (end excluded) as one batched program"};
    }
    if (opts.threads > 0)
      omp_set_num_threads(opts.threads);
    run.emplace(desc, entries, opts, flags);
    Run<T> &r = *run;
    r.setup(flags.values);
    if (opts.checkGrad)
      return r.checkGradient();

    r.openOutputs();
    std::signal(SIGINT, [](int) { interrupted = true; });
    std::signal(SIGTERM, [](int) { interrupted = true; });
    int rc = r.train();
    r.writeRunJson(secondsSince(start));
    if (!opts.quiet) {
      std::cout << desc.at("experiment").get<std::string>() << ": " << r.status << ", "
                << r.stepsDone << " steps"
                << (r.ensemble ? " x " + std::to_string(r.R) + " replicas" : "") << " in "
                << fmt(secondsSince(start)) << " s (" << fmt(r.trainSeconds) << " s training, "
                << fmt(r.observeSeconds) << " s observing)\n";
      json cost = r.costReport();
      if (cost.contains("median_step_s") && cost.at("flops_per_step").is_number() &&
          std::isfinite(cost.at("flops_per_step").get<double>()))
        std::cout << "  cost: " << fmt(cost.at("flops_per_step").get<double>() / 1e9)
                  << " GFLOP/step, median step " << fmt(cost.at("median_step_s").get<double>())
                  << " s, " << fmt(cost.at("gflops_per_s").get<double>()) << " GFLOP/s on "
                  << cost.at("threads").get<int>() << " thread(s), observing "
                  << fmt(100 * cost.at("observe_fraction").get<double>(), 3) << " % of the time\n";
      for (const json &item : desc.at("observe").at("items")) {
        std::string name = item.at("name");
        // Across replicas: the mean, and the standard deviation.
        double a = 0, z = 0, zz = 0;
        int64_t m = 0;
        for (const Log &log : r.logs) {
          if (!log.firstRow.contains(name) || !log.lastRow.contains(name))
            continue;
          a += log.firstRow[name].get<double>();
          double v = log.lastRow[name].get<double>();
          z += v;
          zz += v * v;
          ++m;
        }
        if (!m)
          continue;
        a /= double(m);
        z /= double(m);
        std::cout << "  " << name << ": " << fmt(a) << " -> " << fmt(z);
        if (m > 1)
          std::cout << " +- " << fmt(std::sqrt(std::max(0.0, zz / double(m) - z * z)), 3)
                    << " (mean +- sd over " << m << " replicas)";
        if (z != 0 && a / z > 1)
          std::cout << "  (" << fmt(a / z) << "x lower)";
        std::cout << "\n";
      }
    }
    r.evaluateExpectations();
    if (!opts.quiet)
      std::cout << "results: " << (fs::path(opts.outDir) / "metrics.csv").string() << ", "
                << (fs::path(opts.outDir) / "run.json").string()
                << (desc.value("expect", json::array()).empty() ? "" : ", summary.json")
                << (r.ensemble ? "; per replica in " +
                                     (fs::path(opts.outDir) / (desc.at("ensemble").at("flag").get<std::string>() + "=*")).string()
                               : "")
                << "\n";
    return rc;
  } catch (const Error &e) {
    std::cerr << "error: " << e.message << "\n";
    if (run)
      run->writeRunJson(secondsSince(start));
    return e.code;
  } catch (const std::exception &e) {
    std::cerr << "error: " << e.what() << "\n";
    if (run)
      run->writeRunJson(secondsSince(start));
    return 2;
  }
}
} // namespace

int lm::rt::runExperiment(const char *descriptor, const lm_entry_fn *table, int64_t count,
                          int argc, char **argv) {
  // Generated code allocates its temporaries every step; keeping freed
  // memory in the heap (instead of mmap/munmap per buffer) avoids paying page
  // faults for them again on every step.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  json desc;
  try {
    desc = json::parse(descriptor);
  } catch (const std::exception &e) {
    std::cerr << "error: corrupt experiment descriptor: " << e.what() << "\n";
    return 2;
  }
  if (desc.value("dtype", std::string("f32")) == "f64")
    return runTyped<double>(desc, table, count, argc, argv);
  return runTyped<float>(desc, table, count, argc, argv);
}
