//===- Pipeline.h - Compilation stages and the CPU pipeline ----*- C++ -*-===//
#ifndef LM_CONVERSION_PIPELINE_H
#define LM_CONVERSION_PIPELINE_H

#include "mlir/Pass/PassManager.h"

namespace lm {

/// The stages `lmc emit --stage=` can stop after, in pipeline order.
enum class Stage { Ast, Lm, Grad, Linalg, LLVM, Asm };

/// Adds the passes that take a module from after `from` to after `to`.
mlir::LogicalResult buildPipeline(mlir::OpPassManager &pm, Stage from, Stage to);

/// Registers `--lm-to-linalg` and `--lm-cpu-pipeline` (for lm-opt).
void registerPipelines();

} // namespace lm

#endif
