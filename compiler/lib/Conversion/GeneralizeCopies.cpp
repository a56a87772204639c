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
#include "mlir/IR/PatternMatch.h"

namespace lm {
#define GEN_PASS_DEF_LMGENERALIZECOPIES
#include "lm/Transforms/Passes.h.inc"
} // namespace lm

using namespace mlir;

namespace {

struct GeneralizeCopies : lm::impl::LMGeneralizeCopiesBase<GeneralizeCopies> {
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (isa<linalg::TransposeOp, linalg::BroadcastOp>(op.getOperation()))
        ops.push_back(op);
    });
    IRRewriter rw(&getContext());
    for (linalg::LinalgOp op : ops) {
      rw.setInsertionPoint(op);
      if (failed(linalg::generalizeNamedOp(rw, op)))
        return signalPassFailure();
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
