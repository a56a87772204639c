//===- ApproximateMath.cpp - Vectorizable f32 transcendental functions ----===//
//
// `lm-approximate-math` (fast path only) replaces f32 math.exp, log, tanh,
// erf, ... by MLIR's polynomial approximations: plain arithmetic that LLVM
// vectorizes, where a libm call keeps a softmax or GELU loop scalar. The
// approximations are accurate to a few ulp in f32; f64 math (the softmax
// normalizer, f64 builds) keeps libm. The reference path keeps libm too.
//
//===----------------------------------------------------------------------===//
#include "lm/Transforms/Passes.h"

#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace lm {
#define GEN_PASS_DEF_LMAPPROXIMATEMATH
#include "lm/Transforms/Passes.h.inc"
} // namespace lm

using namespace mlir;

namespace {
struct ApproximateMath : lm::impl::LMApproximateMathBase<ApproximateMath> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
