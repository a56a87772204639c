//===- CostModel.cpp - FLOPs of a function, counted on linalg -------------===//
//
// The cost report (`run.json`'s FLOPs per step and GFLOP/s) comes from here:
// the compiler counts the floating-point work of each entry point on its
// linalg form, where every op states its iteration space.
//
//===----------------------------------------------------------------------===//
#include "lm/Conversion/Pipeline.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;

namespace {

/// Float arith/math operations in a linalg body.
int64_t bodyOps(Block &body) {
  int64_t n = 0;
  body.walk([&](Operation *op) {
    bool isMath = isa<math::MathDialect>(op->getDialect());
    bool isArith = isa<arith::ArithDialect>(op->getDialect()) && !isa<arith::ConstantOp>(op);
    if (!(isMath || isArith) || op->getNumResults() != 1)
      return;
    Type t = op->getResult(0).getType();
    // Float results, and float comparisons (max/min via cmpf + select).
    bool flt = isa<FloatType>(t) ||
               (isa<arith::CmpFOp>(op) && isa<FloatType>(op->getOperand(0).getType()));
    if (flt && !isa<arith::SelectOp, arith::ExtFOp, arith::TruncFOp, arith::SIToFPOp>(op))
      ++n;
  });
  return n;
}

} // namespace

int64_t lm::countFlops(Operation *fn) {
  int64_t total = 0;
  fn->walk([&](linalg::LinalgOp op) {
    if (isa<linalg::FillOp, linalg::CopyOp, linalg::TransposeOp, linalg::BroadcastOp>(
            op.getOperation()))
      return;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    int64_t iters = 1;
    for (int64_t r : ranges) {
      if (ShapedType::isDynamic(r))
        return;
      iters *= r;
    }
    if (isa<linalg::MatmulOp, linalg::BatchMatmulOp, linalg::BatchMatmulTransposeAOp,
            linalg::BatchMatmulTransposeBOp>(op.getOperation())) {
      total += 2 * iters;
      return;
    }
    total += iters * bodyOps(*op.getBlock());
  });
  return total;
}
