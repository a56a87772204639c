//===- ObjectEmitter.h - LLVM dialect → object file → executable -*- C++ -*-===//
//
// The ABI between generated code and liblmrt (see runtime/include/lm/abi.h):
//   const char lm_descriptor[];               the experiment descriptor (JSON)
//   void (*const lm_entries[])(void **args);   one per descriptor "entries"
//   const int64_t lm_num_entries;
// Each entry `f(ptr, ..., ptr)` (bare-pointer convention: one pointer per
// buffer, inputs first, then outputs) gets a wrapper `f_packed(void **args)`
// so the runtime can call every entry the same way.
//
//===----------------------------------------------------------------------===//
#ifndef LM_TARGET_OBJECTEMITTER_H
#define LM_TARGET_OBJECTEMITTER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/raw_ostream.h"
#include <memory>
#include <string>
#include <vector>

namespace lm {

/// Translates `module` (LLVM dialect) to LLVM IR, adds the runtime ABI
/// symbols and, when `optimize`, optimizes it (O`optLevel`, host CPU).
/// Returns null and sets `error`.
std::unique_ptr<llvm::Module>
translateToLLVMIR(mlir::ModuleOp module, llvm::LLVMContext &llvmCtx,
                  const std::string &descriptorJson,
                  const std::vector<std::string> &entries, unsigned optLevel,
                  std::string &error, bool optimize = true);

/// Optimizes the unoptimized `module` and writes it as object files, one
/// per path: with more than one, the module is split into that many
/// partitions compiled in parallel threads.
bool emitObjects(std::unique_ptr<llvm::Module> module, unsigned optLevel,
                 const std::vector<std::string> &paths, std::string &error);

/// Writes an object file (or assembly when `assembly`) for the host CPU.
bool emitMachineCode(llvm::Module &module, llvm::raw_pwrite_stream &os, bool assembly,
                     unsigned optLevel, std::string &error);

/// Links the objects with the runtime library into an executable.
bool linkExecutable(const std::vector<std::string> &objectPaths, const std::string &runtimeLib,
                    const std::string &outPath, std::string &error);

} // namespace lm

#endif
