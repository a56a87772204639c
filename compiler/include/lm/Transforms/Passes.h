//===- Passes.h - lm passes and pipelines ----------------------*- C++ -*-===//
#ifndef LM_TRANSFORMS_PASSES_H
#define LM_TRANSFORMS_PASSES_H

#include "lm/Dialect/LMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace lm {

#define GEN_PASS_DECL
#include "lm/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lm/Transforms/Passes.h.inc"

/// The `linalg.fill` of zero into `c` that `op` (in the same block) reads
/// next, with nothing else touching `c` in between; null otherwise. A
/// matmul whose accumulator is such a fill can drop it and overwrite C.
mlir::Operation *zeroFillBefore(mlir::Operation *op, mlir::Value c);

} // namespace lm

#endif
