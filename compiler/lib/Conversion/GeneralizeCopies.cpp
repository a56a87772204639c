//===- GeneralizeCopies.cpp - Transposes and broadcasts as generics -------===//
//
// `linalg-fuse-elementwise-ops` fuses generics only. A transpose feeding an
// add, or a broadcast bias, would otherwise be materialized as a copy and
// read again; as generics they fuse into their consumers (or producers).
//
//===----------------------------------------------------------------------===//
#include "lm/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

namespace lm {
#define GEN_PASS_DEF_LMGENERALIZECOPIES
#include "lm/Transforms/Passes.h.inc"
} // namespace lm

using namespace mlir;

namespace {

// A contraction (named, or a generic with a multiply-add body) whose
// contracted loops all have extent 1 (an outer product: dy ⊗ W in a
// backward pass, or attention's gradient for a single query position) has
// no reduction at all. As an
// all-parallel generic, `out + a * b` (or `a * b` when `out` is a zero fill),
// it fuses with the elementwise op that consumes it instead of writing and
// re-reading the product.
static bool isUnitContraction(linalg::LinalgOp op) {
  if (!linalg::isaContractionOpInterface(op) ||
      !op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1)
    return false;
  Type elem = getElementTypeOrSelf(op.getDpsInits()[0].getType());
  for (Value v : op->getOperands())
    if (getElementTypeOrSelf(v.getType()) != elem)
      return false;
  if (!isa<FloatType>(elem))
    return false;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  bool anyReduction = false;
  for (auto [extent, kind] : llvm::zip(ranges, op.getIteratorTypesArray())) {
    if (kind != utils::IteratorType::reduction)
      continue;
    anyReduction = true;
    if (extent != 1)
      return false;
  }
  return anyReduction;
}

static bool isZeroFill(Value v) {
  auto fill = v.getDefiningOp<linalg::FillOp>();
  if (!fill)
    return false;
  FloatAttr c;
  return matchPattern(fill.getInputs()[0], m_Constant(&c)) && c.getValue().isZero();
}

static void rewriteUnitContraction(IRRewriter &rw, linalg::LinalgOp op) {
  MLIRContext *ctx = op.getContext();
  SmallVector<utils::IteratorType> kinds = op.getIteratorTypesArray();
  // Contracted dims become the constant 0; the others are renumbered.
  SmallVector<AffineExpr> replace;
  unsigned next = 0;
  for (utils::IteratorType kind : kinds)
    replace.push_back(kind == utils::IteratorType::reduction ? getAffineConstantExpr(0, ctx)
                                                             : getAffineDimExpr(next++, ctx));
  SmallVector<AffineMap> maps;
  for (AffineMap m : op.getIndexingMapsArray())
    maps.push_back(m.replaceDimsAndSymbols(replace, {}, next, 0));
  SmallVector<utils::IteratorType> parallel(next, utils::IteratorType::parallel);

  Value init = op.getDpsInits()[0];
  bool zero = isZeroFill(init);
  if (zero)
    init = init.getDefiningOp<linalg::FillOp>().getOutputs()[0];
  auto generic = rw.create<linalg::GenericOp>(
      op.getLoc(), op->getResultTypes(), op.getDpsInputs(), ValueRange{init}, maps, parallel,
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value prod = b.create<arith::MulFOp>(loc, args[0], args[1]);
        if (!zero)
          prod = b.create<arith::AddFOp>(loc, args[2], prod);
        b.create<linalg::YieldOp>(loc, prod);
      });
  rw.replaceOp(op, generic->getResults());
}

struct GeneralizeCopies : lm::impl::LMGeneralizeCopiesBase<GeneralizeCopies> {
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops, products;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (isa<linalg::TransposeOp, linalg::BroadcastOp>(op.getOperation()))
        ops.push_back(op);
      else if (isUnitContraction(op))
        products.push_back(op);
    });
    IRRewriter rw(&getContext());
    for (linalg::LinalgOp op : ops) {
      rw.setInsertionPoint(op);
      if (failed(linalg::generalizeNamedOp(rw, op)))
        return signalPassFailure();
    }
    for (linalg::LinalgOp op : products) {
      rw.setInsertionPoint(op);
      rewriteUnitContraction(rw, op);
    }
  }
};

} // namespace

//===----------------------------------------------------------------------===//
// lm-reassociate
//===----------------------------------------------------------------------===//

namespace lm {
#define GEN_PASS_DEF_LMREASSOCIATE
#include "lm/Transforms/Passes.h.inc"
} // namespace lm

namespace {

struct Reassociate : lm::impl::LMReassociateBase<Reassociate> {
  void runOnOperation() override {
    auto flags = arith::FastMathFlags::reassoc | arith::FastMathFlags::contract;
    getOperation().walk([&](linalg::LinalgOp op) {
      op->walk([&](arith::ArithFastMathInterface fm) {
        auto attr = arith::FastMathFlagsAttr::get(&getContext(), flags);
        fm->setAttr(fm.getFastMathAttrName(), attr);
      });
    });
  }
};

} // namespace

//===----------------------------------------------------------------------===//
// lm-unshare-fills
//===----------------------------------------------------------------------===//

namespace lm {
#define GEN_PASS_DEF_LMUNSHAREFILLS
#include "lm/Transforms/Passes.h.inc"
} // namespace lm

namespace {

struct UnshareFills : lm::impl::LMUnshareFillsBase<UnshareFills> {
  void runOnOperation() override {
    SmallVector<linalg::FillOp> fills;
    getOperation().walk([&](linalg::FillOp op) {
      if (op.hasPureTensorSemantics() && !op->getResult(0).hasOneUse())
        fills.push_back(op);
    });
    OpBuilder b(&getContext());
    for (linalg::FillOp fill : fills) {
      SmallVector<OpOperand *> uses;
      for (OpOperand &use : fill->getResult(0).getUses())
        uses.push_back(&use);
      // The first use keeps the original; the others get clones placed
      // right before them (after the original, so operands dominate).
      for (OpOperand *use : llvm::drop_begin(uses)) {
        b.setInsertionPoint(use->getOwner());
        Operation *empty = fill.getDpsInits()[0].getDefiningOp();
        IRMapping map;
        if (empty && isa<tensor::EmptyOp>(empty))
          map.map(empty->getResult(0), b.clone(*empty)->getResult(0));
        use->set(b.clone(*fill, map)->getResult(0));
      }
    }
  }
};

} // namespace
