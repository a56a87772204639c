//===- Pipeline.h - Compilation stages and the CPU pipeline ----*- C++ -*-===//
#ifndef LM_CONVERSION_PIPELINE_H
#define LM_CONVERSION_PIPELINE_H

#include "mlir/Pass/PassManager.h"

namespace lm {

/// The stages `lmc emit --stage=` can stop after, in pipeline order.
enum class Stage { Ast, Lm, Grad, Linalg, LLVM, Asm };

/// Adds the passes that take a module from after `from` to after `to`.
/// `reference`: the naive path the tests compare the fast one with — no
/// gather factoring or slice propagation, matmuls and everything else as
/// plain sequential loops.
enum class MatmulKernels {
  Mlir, // MLIR-generated tiled, vectorized loop nests where the shape allows
        // (measured faster than Eigen here), Eigen calls elsewhere
  Eigen // calls of the runtime's Eigen GEMM for every matmul
};
mlir::LogicalResult buildPipeline(mlir::OpPassManager &pm, Stage from, Stage to,
                                  bool reference = false,
                                  MatmulKernels matmuls = MatmulKernels::Mlir);

/// Floating-point operations one call of `fn` performs, counted on linalg
/// (after the linalg stage): 2 M N K per (batch) matmul, and for every other
/// linalg op its iteration count times the float arith/math ops in its body
/// (exp, log, max... count 1 each); copies, fills, transposes and broadcasts
/// count 0. Loops with dynamic extents are not counted.
int64_t countFlops(mlir::Operation *fn);

/// Registers `--lm-to-linalg` and `--lm-cpu-pipeline` (for lm-opt).
void registerPipelines();

} // namespace lm

#endif
