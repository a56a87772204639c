//===- ObjectEmitter.cpp --------------------------------------------------===//
#include "lm/Target/ObjectEmitter.h"

#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/Path.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Transforms/Instrumentation/AddressSanitizer.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/Transforms/Utils/SplitModule.h"

#include <thread>

using namespace lm;

#ifndef LM_LINKER_DRIVER
#define LM_LINKER_DRIVER "c++"
#endif

static std::unique_ptr<llvm::TargetMachine> hostMachine(unsigned optLevel, std::string &error) {
  static bool initialized = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)initialized;
  std::string triple = llvm::sys::getProcessTriple();
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  llvm::SubtargetFeatures features;
  for (const auto &[name, on] : llvm::sys::getHostCPUFeatures())
    features.AddFeature(name, on);
  llvm::TargetOptions opts;
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      triple, llvm::sys::getHostCPUName(), features.getString(), opts, llvm::Reloc::PIC_,
      std::nullopt,
      optLevel >= 3 ? llvm::CodeGenOptLevel::Aggressive
      : optLevel == 2 ? llvm::CodeGenOptLevel::Default
      : optLevel == 1 ? llvm::CodeGenOptLevel::Less
                      : llvm::CodeGenOptLevel::None));
}

/// The O`optLevel` pipeline for `tm`'s CPU.
static void optimizeModule(llvm::Module &module, llvm::TargetMachine &tm, unsigned optLevel) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  // Generated loop nests have small constant trip counts (heads, tokens)
  // that full unrolling turns into huge blocks: slow to schedule, no faster.
  llvm::PipelineTuningOptions tuning;
  tuning.LoopUnrolling = false;
  llvm::PassBuilder pb(&tm, tuning);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  static const llvm::OptimizationLevel levels[] = {
      llvm::OptimizationLevel::O0, llvm::OptimizationLevel::O1, llvm::OptimizationLevel::O2,
      llvm::OptimizationLevel::O3};
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(levels[std::min(optLevel, 3u)]);
  // LM_SANITIZE=address instruments the generated code (link with
  // LM_CXX pointing at a driver that adds -fsanitize=address).
  if (const char *san = std::getenv("LM_SANITIZE"); san && llvm::StringRef(san) == "address") {
    for (llvm::Function &f : module)
      if (!f.isDeclaration())
        f.addFnAttr(llvm::Attribute::SanitizeAddress);
    mpm.addPass(llvm::AddressSanitizerPass(llvm::AddressSanitizerOptions{}));
  }
  mpm.run(module, mam);
}

std::unique_ptr<llvm::Module>
lm::translateToLLVMIR(mlir::ModuleOp module, llvm::LLVMContext &llvmCtx,
                      const std::string &descriptorJson,
                      const std::vector<std::string> &entries, unsigned optLevel,
                      std::string &error, bool optimize) {
  mlir::registerBuiltinDialectTranslation(*module.getContext());
  mlir::registerLLVMDialectTranslation(*module.getContext());
  mlir::registerOpenMPDialectTranslation(*module.getContext());
  auto llvmModule = mlir::translateModuleToLLVMIR(module, llvmCtx, "lm");
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return nullptr;
  }
  auto tm = hostMachine(optLevel, error);
  if (!tm)
    return nullptr;
  llvmModule->setDataLayout(tm->createDataLayout());
  llvmModule->setTargetTriple(tm->getTargetTriple().str());

  // Packed wrappers and the entry table.
  llvm::IRBuilder<> b(llvmCtx);
  llvm::Type *ptr = b.getPtrTy();
  std::vector<llvm::Constant *> table;
  for (const std::string &name : entries) {
    llvm::Function *f = llvmModule->getFunction(name);
    if (!f) {
      error = "entry point '" + name + "' is missing from the generated code";
      return nullptr;
    }
    auto *wrapper = llvm::Function::Create(
        llvm::FunctionType::get(b.getVoidTy(), {ptr}, false),
        llvm::GlobalValue::InternalLinkage, name + "_packed", *llvmModule);
    b.SetInsertPoint(llvm::BasicBlock::Create(llvmCtx, "entry", wrapper));
    std::vector<llvm::Value *> args;
    for (auto [i, param] : llvm::enumerate(f->args())) {
      if (!param.getType()->isPointerTy()) {
        error = "entry point '" + name + "' takes a non-pointer argument";
        return nullptr;
      }
      llvm::Value *slot = b.CreateConstGEP1_64(ptr, wrapper->getArg(0), i);
      args.push_back(b.CreateLoad(ptr, slot));
    }
    b.CreateCall(f, args);
    b.CreateRetVoid();
    table.push_back(wrapper);
  }
  auto *tableType = llvm::ArrayType::get(ptr, table.size());
  new llvm::GlobalVariable(*llvmModule, tableType, true, llvm::GlobalValue::ExternalLinkage,
                           llvm::ConstantArray::get(tableType, table), "lm_entries");
  new llvm::GlobalVariable(*llvmModule, b.getInt64Ty(), true,
                           llvm::GlobalValue::ExternalLinkage,
                           b.getInt64(table.size()), "lm_num_entries");
  auto *json = llvm::ConstantDataArray::getString(llvmCtx, descriptorJson, true);
  new llvm::GlobalVariable(*llvmModule, json->getType(), true,
                           llvm::GlobalValue::ExternalLinkage, json, "lm_descriptor");

  if (llvm::verifyModule(*llvmModule, &llvm::errs())) {
    error = "the generated LLVM IR does not verify";
    return nullptr;
  }
  if (optimize)
    optimizeModule(*llvmModule, *tm, optLevel);
  return llvmModule;
}

bool lm::emitMachineCode(llvm::Module &module, llvm::raw_pwrite_stream &os, bool assembly,
                         unsigned optLevel, std::string &error) {
  auto tm = hostMachine(optLevel, error);
  if (!tm)
    return false;
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, os, nullptr,
                              assembly ? llvm::CodeGenFileType::AssemblyFile
                                       : llvm::CodeGenFileType::ObjectFile)) {
    error = "the host target cannot emit this file type";
    return false;
  }
  pm.run(module);
  return true;
}

bool lm::emitObjects(std::unique_ptr<llvm::Module> module, unsigned optLevel,
                     const std::vector<std::string> &paths, std::string &error) {
  auto emit = [&](llvm::Module &m, const std::string &path, std::string &err) {
    auto tm = hostMachine(optLevel, err);
    if (!tm)
      return false;
    optimizeModule(m, *tm, optLevel);
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    if (ec) {
      err = "cannot write " + path + ": " + ec.message();
      return false;
    }
    return emitMachineCode(m, os, false, optLevel, err);
  };
  if (paths.size() == 1)
    return emit(*module, paths[0], error);
  // One partition per object, each optimized and compiled on its own thread
  // in its own LLVMContext (handed over as bitcode). Local symbols become
  // hidden globals so that the partitions link; the entry points were
  // inlined into in MLIR already, so little is lost to the split.
  std::vector<llvm::SmallString<0>> bitcode;
  llvm::SplitModule(*module, paths.size(), [&](std::unique_ptr<llvm::Module> part) {
    llvm::raw_svector_ostream os(bitcode.emplace_back());
    llvm::WriteBitcodeToFile(*part, os);
  });
  module.reset();
  std::vector<std::string> errors(paths.size());
  std::vector<char> ok(paths.size(), 0);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < paths.size(); ++i)
    threads.emplace_back([&, i] {
      llvm::LLVMContext ctx;
      auto part = llvm::parseBitcodeFile(
          llvm::MemoryBufferRef(llvm::StringRef(bitcode[i].data(), bitcode[i].size()), "part"),
          ctx);
      if (!part) {
        errors[i] = llvm::toString(part.takeError());
        return;
      }
      ok[i] = emit(**part, paths[i], errors[i]);
    });
  for (std::thread &t : threads)
    t.join();
  for (size_t i = 0; i < paths.size(); ++i)
    if (!ok[i]) {
      error = errors[i];
      return false;
    }
  return true;
}

bool lm::linkExecutable(const std::vector<std::string> &objectPaths, const std::string &runtimeLib,
                        const std::string &outPath, std::string &error) {
  std::string driver = LM_LINKER_DRIVER;
  if (const char *env = std::getenv("LM_CXX"))
    driver = env;
  auto found = llvm::sys::findProgramByName(driver);
  if (!found) {
    error = "cannot find the linker driver '" + driver + "' (set LM_CXX)";
    return false;
  }
  // libomp (OpenMP) by absolute path, found again at run time via rpath.
  std::string omp = LM_OMP_LIBRARY;
  std::string rpath = "-Wl,-rpath," + llvm::sys::path::parent_path(omp).str();
  std::vector<llvm::StringRef> args = {*found};
  args.insert(args.end(), objectPaths.begin(), objectPaths.end());
  args.insert(args.end(), {runtimeLib, omp, rpath, "-o", outPath, "-lm", "-lpthread"});
  std::string msg;
  int rc = llvm::sys::ExecuteAndWait(*found, args, std::nullopt, {}, 0, 0, &msg);
  if (rc != 0) {
    error = "linking failed (" + driver + " exited with " + std::to_string(rc) + ")" +
            (msg.empty() ? "" : ": " + msg);
    return false;
  }
  return true;
}
