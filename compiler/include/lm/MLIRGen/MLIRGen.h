//===- MLIRGen.h - AST → lm dialect for one experiment ----------*- C++ -*-===//
//
// MLIRGen specializes one experiment on its shape-determining hyperparameters
// and emits it as lm IR plus a JSON descriptor the runtime reads.
//
// It evaluates the experiment like a staged interpreter: numbers are known at
// compile time (their value under the current flag settings) and also carry a
// symbolic form over the experiment's flags. A flag whose value reaches a
// static position (a shape, a model hyperparameter, a loop count, a tensor
// constant) becomes compile-time; every other flag stays a run-time flag of the
// executable, and the scalars the runtime needs (learning rate, steps, seeds,
// init scales) are compiled into `lm_hyper(flags) -> values`. Models are
// instantiated and their functions inlined, with shape checks and source-
// located diagnostics at every op.
//
// The module holds, for the trained model group, private functions in lm ops
// (`@loss`, `@obs_<name>`, `@forward_<model>`) and public entry points with a
// flat parameter buffer (`@lm_train_step`, `@lm_obs_<name>`, ...), which use
// `lm.value_and_grad` where gradients are needed.
//
//===----------------------------------------------------------------------===//
#ifndef LM_MLIRGEN_MLIRGEN_H
#define LM_MLIRGEN_MLIRGEN_H

#include "lm/Sema/Sema.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/JSON.h"
#include <map>
#include <optional>

namespace lm {

struct GenOptions {
  /// Empty: the main file's only experiment.
  std::string experiment;
  /// `--set name=value`: values for the experiment's hyperparameters.
  std::map<std::string, std::string> overrides;
  /// The float type of every tensor: "f32", or "f64" for precise checks.
  std::string dtype = "f32";
};

struct GeneratedExperiment {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  /// What the runtime needs: flags, parameter layout, data, training,
  /// observations, entry points.
  llvm::json::Object descriptor;
};

std::optional<GeneratedExperiment> generateExperiment(Program &program,
                                                      mlir::MLIRContext &ctx,
                                                      const GenOptions &options);

} // namespace lm

#endif
