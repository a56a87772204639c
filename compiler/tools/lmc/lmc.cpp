//===- lmc.cpp - The lm compiler driver -----------------------------------===//
//
//   lmc build FILE.lm [-o exe] [--set name=value]...   native executable
//   lmc run FILE.lm [--name value]...                   build (cached) and run
//   lmc emit --stage=ast|lm|grad|linalg|llvm-dialect|llvm|asm|desc FILE.lm
//   lmc check FILE.lm                                   diagnostics only
//
// Exit codes: 0 success, 1 a diagnosed error in the input, 2 bad usage or an
// environment problem (missing runtime, linker).
//
//===----------------------------------------------------------------------===//
#include "lm/AST/AST.h"
#include "lm/Conversion/Pipeline.h"
#include "lm/Dialect/LMDialect.h"
#include "lm/MLIRGen/MLIRGen.h"
#include "lm/Sema/Sema.h"
#include "lm/Target/ObjectEmitter.h"
#include "lm/Transforms/Passes.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Threading.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/ToolOutputFile.h"

#include <algorithm>

using namespace llvm;

#ifndef LM_VERSION
#define LM_VERSION "dev"
#endif

namespace {

cl::SubCommand buildCmd("build", "Compile an experiment into a native executable");
cl::SubCommand emitCmd("emit", "Print the program after a compilation stage");
cl::SubCommand checkCmd("check", "Report diagnostics only");

cl::opt<std::string> inputFile(cl::Positional, cl::desc("<file.lm>"), cl::Required,
                               cl::sub(buildCmd), cl::sub(emitCmd), cl::sub(checkCmd));
cl::opt<std::string> outputFile("o", cl::desc("Output file"), cl::value_desc("path"),
                                cl::sub(buildCmd), cl::sub(emitCmd));
cl::list<std::string> setValues("set", cl::desc("Set an experiment hyperparameter"),
                                cl::value_desc("name=value"), cl::sub(buildCmd),
                                cl::sub(emitCmd), cl::sub(checkCmd));
cl::list<std::string> includeDirs("I", cl::desc("Add a directory to the module search path"),
                                  cl::value_desc("dir"), cl::Prefix, cl::sub(buildCmd),
                                  cl::sub(emitCmd), cl::sub(checkCmd));
cl::opt<std::string> experimentName("experiment", cl::desc("Experiment to compile"),
                                    cl::value_desc("name"), cl::sub(buildCmd),
                                    cl::sub(emitCmd), cl::sub(checkCmd));
cl::opt<std::string> dtype("dtype", cl::desc("Float type of all tensors: f32 or f64"),
                           cl::init("f32"), cl::sub(buildCmd), cl::sub(emitCmd),
                           cl::sub(checkCmd));
cl::opt<bool> referencePath(
    "reference",
    cl::desc("Compile the naive reference path (no gather factoring or slice propagation, "
             "matmuls as plain loops, no threads) that tests compare the fast path with"),
    cl::sub(buildCmd), cl::sub(emitCmd));
cl::opt<std::string> matmulKernel(
    "matmul",
    cl::desc("GEMM kernels of the fast path: mlir (default: MLIR-generated tiled, "
             "vectorized loop nests wherever the shape allows, Eigen calls elsewhere) or "
             "eigen (calls of the runtime's Eigen GEMM for every matmul)"),
    cl::init("mlir"), cl::sub(buildCmd), cl::sub(emitCmd));
cl::opt<unsigned> optLevel("O", cl::desc("LLVM optimization level of the generated code (0-3)"),
                           cl::init(3), cl::Prefix, cl::sub(buildCmd), cl::sub(emitCmd));
cl::opt<std::string> stageName(
    "stage", cl::desc("ast|lm|grad|linalg|llvm-dialect|llvm|asm|desc"), cl::Required,
    cl::sub(emitCmd));

/// Everything one compilation needs; owns the source buffers and contexts.
struct Session {
  SourceMgr srcMgr;
  lm::DiagEngine diag{srcMgr};
  std::unique_ptr<lm::Program> program;
  mlir::MLIRContext ctx;
  const char *argv0;

  explicit Session(const char *argv0) : ctx(makeRegistry()), argv0(argv0) {
    ctx.loadDialect<lm::LMDialect>();
  }
  static mlir::DialectRegistry makeRegistry() {
    mlir::DialectRegistry registry;
    mlir::registerAllDialects(registry);
    mlir::registerAllExtensions(registry);
    registry.insert<lm::LMDialect>();
    return registry;
  }

  bool load(const std::string &file, const std::vector<std::string> &includes) {
    std::vector<std::string> path = includes;
    path.push_back(lm::defaultStdlibDir(argv0));
    program = std::make_unique<lm::Program>(diag, path);
    return program->load(file);
  }
};

bool parseSets(const std::vector<std::string> &sets, std::map<std::string, std::string> &out) {
  for (const std::string &s : sets) {
    auto [k, v] = StringRef(s).split('=');
    if (k.empty() || !StringRef(s).contains('=')) {
      errs() << "lmc: error: --set expects name=value, got '" << s << "'\n";
      return false;
    }
    out[k.str()] = v.str();
  }
  return true;
}

std::string runtimeLibrary(const char *argv0) {
  if (const char *env = std::getenv("LM_RUNTIME"))
    return env;
  std::string exe = sys::fs::getMainExecutable(argv0, (void *)&runtimeLibrary);
  SmallString<256> p(sys::path::parent_path(exe));
  sys::path::append(p, "..", "lib", "liblmrt.a");
  sys::path::remove_dots(p, true);
  return std::string(p);
}

/// Runs the pipeline from after `from` to after `to` on `module`.
bool lower(mlir::ModuleOp module, lm::Stage from, lm::Stage to) {
  mlir::PassManager pm(module.getContext(), mlir::ModuleOp::getOperationName());
  lm::MatmulKernels kernels =
      matmulKernel == "eigen" ? lm::MatmulKernels::Eigen : lm::MatmulKernels::Mlir;
  if (failed(lm::buildPipeline(pm, from, to, referencePath, kernels))) {
    errs() << "lmc: internal error: cannot build the pass pipeline\n";
    return false;
  }
  if (failed(pm.run(module))) {
    errs() << "lmc: internal error: compilation failed in the pass pipeline\n";
    return false;
  }
  return true;
}

std::vector<std::string> entryNames(const json::Object &desc) {
  std::vector<std::string> out;
  if (const json::Array *a = desc.getArray("entries"))
    for (const json::Value &v : *a)
      out.push_back(v.getAsString()->str());
  return out;
}

std::string descriptorText(lm::GeneratedExperiment &gen, const std::string &source) {
  gen.descriptor["compiler"] = json::Object{{"name", "lmc"}, {"version", LM_VERSION}};
  gen.descriptor["source"] = source;
  std::string s;
  raw_string_ostream os(s);
  os << formatv("{0:2}", json::Value(json::Object(gen.descriptor)));
  return os.str();
}

/// lm IR → executable at `outPath`. Returns the exit code.
int buildExecutable(Session &s, lm::GeneratedExperiment &gen, const std::string &outPath) {
  if (!lower(*gen.module, lm::Stage::Lm, lm::Stage::Linalg))
    return 1;
  // The cost report: FLOPs per call of each entry point, counted on linalg.
  json::Object flops;
  for (const std::string &name : entryNames(gen.descriptor))
    if (auto fn = gen.module->lookupSymbol(name))
      flops[name] = lm::countFlops(fn);
  gen.descriptor["flops"] = std::move(flops);
  std::string desc = descriptorText(gen, inputFile.empty() ? "" : inputFile.getValue());
  if (!lower(*gen.module, lm::Stage::Linalg, lm::Stage::LLVM))
    return 1;
  LLVMContext llvmCtx;
  std::string error;
  auto llvmModule = lm::translateToLLVMIR(*gen.module, llvmCtx, desc, entryNames(gen.descriptor),
                                          optLevel, error, /*optimize=*/false);
  if (!llvmModule) {
    errs() << "lmc: error: " << error << "\n";
    return 1;
  }
  // LLVM's optimization and code generation, the larger part of a build,
  // in one partition per core (two at most: the generated code is not large).
  unsigned parts = std::clamp(llvm::hardware_concurrency().compute_thread_count(), 1u, 2u);
  std::vector<std::string> objects;
  std::vector<std::unique_ptr<FileRemover>> removers;
  for (unsigned i = 0; i < parts; ++i) {
    SmallString<128> obj;
    if (auto ec = sys::fs::createTemporaryFile("lm", "o", obj)) {
      errs() << "lmc: error: cannot create a temporary file: " << ec.message() << "\n";
      return 2;
    }
    objects.push_back(std::string(obj));
    removers.push_back(std::make_unique<FileRemover>(obj));
  }
  if (!lm::emitObjects(std::move(llvmModule), optLevel, objects, error)) {
    errs() << "lmc: error: " << error << "\n";
    return 2;
  }
  std::string rt = runtimeLibrary(s.argv0);
  if (!sys::fs::exists(rt)) {
    errs() << "lmc: error: runtime library not found at " << rt << " (set LM_RUNTIME)\n";
    return 2;
  }
  if (!lm::linkExecutable(objects, rt, outPath, error)) {
    errs() << "lmc: error: " << error << "\n";
    return 2;
  }
  return 0;
}

int emit(Session &s, lm::GeneratedExperiment &gen, raw_ostream &os) {
  lm::Stage stage = StringSwitch<lm::Stage>(stageName)
                        .Case("lm", lm::Stage::Lm)
                        .Case("grad", lm::Stage::Grad)
                        .Case("linalg", lm::Stage::Linalg)
                        .Default(lm::Stage::LLVM);
  if (stageName == "desc") {
    os << descriptorText(gen, inputFile) << "\n";
    return 0;
  }
  if (!lower(*gen.module, lm::Stage::Lm, stage))
    return 1;
  if (stageName != "llvm" && stageName != "asm") {
    gen.module->print(os);
    return 0;
  }
  LLVMContext llvmCtx;
  std::string error;
  auto llvmModule = lm::translateToLLVMIR(*gen.module, llvmCtx, descriptorText(gen, inputFile),
                                          entryNames(gen.descriptor), optLevel, error);
  if (!llvmModule) {
    errs() << "lmc: error: " << error << "\n";
    return 1;
  }
  if (stageName == "llvm") {
    llvmModule->print(os, nullptr);
    return 0;
  }
  SmallString<0> buf;
  raw_svector_ostream asmOs(buf);
  if (!lm::emitMachineCode(*llvmModule, asmOs, true, optLevel, error)) {
    errs() << "lmc: error: " << error << "\n";
    return 2;
  }
  os << buf;
  return 0;
}

/// `lmc run FILE [lmc options] [--flag value]...`: sorts flags into
/// compile-time (`--set`) and run-time ones, builds into a cache keyed by a
/// hash of the sources and compile-time values, and runs the executable.
int runCommand(int argc, char **argv) {
  if (argc < 3 || StringRef(argv[2]).starts_with("-")) {
    errs() << "usage: lmc run FILE.lm [--set name=value] [-I dir] [--name value]...\n";
    return 2;
  }
  inputFile = argv[2];
  std::vector<std::string> includes, passthrough;
  std::map<std::string, std::string> overrides;
  std::vector<std::pair<std::string, std::string>> flagArgs;
  for (int i = 3; i < argc; ++i) {
    StringRef a = argv[i];
    if (a == "--set" && i + 1 < argc) {
      if (!parseSets({argv[++i]}, overrides))
        return 2;
    } else if (a.starts_with("-I")) {
      includes.push_back(a.size() > 2 ? a.drop_front(2).str() : (i + 1 < argc ? argv[++i] : ""));
    } else if (a == "--experiment" && i + 1 < argc) {
      experimentName = argv[++i];
    } else if (a == "--dtype" && i + 1 < argc) {
      dtype = argv[++i];
    } else if (a.starts_with("--") && i + 1 < argc && !StringRef(argv[i + 1]).starts_with("--")) {
      flagArgs.emplace_back(a.drop_front(2).str(), argv[++i]);
    } else {
      passthrough.push_back(a.str());
    }
  }
  // First pass: which flags are compile-time?
  std::set<std::string> compileTime;
  {
    Session s(argv[0]);
    if (!s.load(inputFile, includes))
      return 1;
    auto gen = lm::generateExperiment(*s.program, s.ctx, {experimentName, overrides, dtype});
    if (!gen)
      return 1;
    for (const json::Value &f : *gen->descriptor.getArray("flags"))
      if (f.getAsObject()->getBoolean("compile_time").value_or(false))
        compileTime.insert(f.getAsObject()->getString("name")->str());
  }
  for (const auto &[name, value] : flagArgs) {
    if (compileTime.count(name)) {
      overrides[name] = value;
    } else {
      passthrough.push_back("--" + name);
      passthrough.push_back(value);
    }
  }
  Session s(argv[0]);
  if (!s.load(inputFile, includes))
    return 1;
  SHA256 hash;
  hash.update(LM_VERSION);
  for (const std::string &text : s.program->sourceTexts())
    hash.update(text);
  for (const auto &[k, v] : overrides)
    hash.update(k + "=" + v + ";");
  hash.update(experimentName.getValue() + "/" + dtype.getValue());
  // The toolchain itself: a rebuilt lmc or runtime library must not reuse
  // executables the old one built (their size and modification time).
  for (const std::string &path :
       {sys::fs::getMainExecutable(argv[0], (void *)&runtimeLibrary), runtimeLibrary(argv[0])}) {
    sys::fs::file_status st;
    if (!sys::fs::status(path, st))
      hash.update(path + ":" + std::to_string(st.getSize()) + ":" +
                  std::to_string(st.getLastModificationTime().time_since_epoch().count()) + ";");
  }
  std::string key = toHex(hash.final()).substr(0, 16);
  SmallString<256> cache;
  if (const char *env = std::getenv("LM_CACHE"))
    cache = env;
  else if (!sys::path::cache_directory(cache))
    cache = ".lm-cache";
  else
    sys::path::append(cache, "lm");
  sys::path::append(cache, key);
  SmallString<256> exe(cache);
  sys::path::append(exe, sys::path::stem(inputFile.getValue()));
  if (!sys::fs::exists(exe)) {
    auto gen = lm::generateExperiment(*s.program, s.ctx, {experimentName, overrides, dtype});
    if (!gen)
      return 1;
    if (auto ec = sys::fs::create_directories(cache)) {
      errs() << "lmc: error: cannot create cache directory " << cache << ": " << ec.message()
             << "\n";
      return 2;
    }
    SmallString<256> tmp(exe);
    tmp += ".tmp";
    if (int rc = buildExecutable(s, *gen, std::string(tmp)))
      return rc;
    sys::fs::rename(tmp, exe);
  }
  std::vector<StringRef> args{exe};
  for (const std::string &a : passthrough)
    args.push_back(a);
  std::string msg;
  int rc = sys::ExecuteAndWait(exe, args, std::nullopt, {}, 0, 0, &msg);
  if (rc < 0)
    errs() << "lmc: error: running " << exe << " failed: " << msg << "\n";
  return rc < 0 ? 2 : rc;
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  mlir::registerAllPasses();
  lm::registerLMPasses();
  if (argc >= 2 && StringRef(argv[1]) == "run")
    return runCommand(argc, argv);
  cl::SetVersionPrinter([](raw_ostream &os) { os << "lmc " << LM_VERSION << "\n"; });
  if (!cl::ParseCommandLineOptions(argc, argv, "lm: compile learning experiments\n"))
    return 2;
  if (!buildCmd && !emitCmd && !checkCmd) {
    errs() << "usage: lmc build|run|emit|check FILE.lm (lmc --help for more)\n";
    return 2;
  }
  std::map<std::string, std::string> overrides;
  if (!parseSets(setValues, overrides))
    return 2;
  Session s(argv[0]);
  if (!s.load(inputFile, includeDirs))
    return 1;
  if (emitCmd && stageName == "ast") {
    lm::ast::print(s.program->mainModule(), outs());
    return 0;
  }
  static const char *const stages[] = {"lm", "grad", "linalg", "llvm-dialect",
                                       "llvm", "asm", "desc"};
  if (emitCmd && !llvm::is_contained(stages, stageName.getValue())) {
    errs() << "lmc: error: unknown stage '" << stageName
           << "' (ast, lm, grad, linalg, llvm-dialect, llvm, asm, desc)\n";
    return 2;
  }
  if (dtype != "f32" && dtype != "f64") {
    errs() << "lmc: error: --dtype must be f32 or f64, not '" << dtype << "'\n";
    return 2;
  }
  if (matmulKernel != "eigen" && matmulKernel != "mlir") {
    errs() << "lmc: error: --matmul must be mlir or eigen, not '" << matmulKernel << "'\n";
    return 2;
  }
  auto gen = lm::generateExperiment(*s.program, s.ctx, {experimentName, overrides, dtype});
  if (!gen)
    return 1;
  if (checkCmd)
    return 0;
  if (emitCmd) {
    std::error_code ec;
    ToolOutputFile out(outputFile.empty() ? "-" : outputFile.getValue(), ec, sys::fs::OF_None);
    if (ec) {
      errs() << "lmc: error: " << ec.message() << "\n";
      return 2;
    }
    int rc = emit(s, *gen, out.os());
    if (rc == 0)
      out.keep();
    return rc;
  }
  std::string out = outputFile.empty() ? sys::path::stem(inputFile.getValue()).str()
                                       : outputFile.getValue();
  return buildExecutable(s, *gen, out);
}
