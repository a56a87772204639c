//===- MatmulToCall.cpp - Batched matmuls on memrefs to a GEMM kernel -----===//
//
// After bufferization, every `linalg.batch_matmul` (C += A B on [batch, M, K]
// x [batch, K, N]) becomes a call of liblmrt's `lm_batch_matmul_f32/f64`,
// passing each buffer's aligned address, offset and strides. The kernel is a
// tuned GEMM: measured ~50x faster on this machine than the loop lowering of
// the same op (bench/RESULTS.md); the loop path stays the reference
// (`lmc build --reference`) and the tests compare the two.
//
//===----------------------------------------------------------------------===//
#include "lm/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace lm {
#define GEN_PASS_DEF_LMMATMULTOCALL
#include "lm/Transforms/Passes.h.inc"
} // namespace lm

using namespace mlir;

Operation *lm::zeroFillBefore(Operation *op, Value c) {
  linalg::FillOp fill;
  Block *block = op->getBlock();
  for (Operation *user : c.getUsers()) {
    Operation *at = block->findAncestorOpInBlock(*user);
    if (!at)
      return nullptr; // used somewhere we do not follow
    if (at == op || op->isBeforeInBlock(at))
      continue; // op itself and later readers
    auto f = dyn_cast<linalg::FillOp>(user);
    if (!f || fill)
      return nullptr; // anything but one fill touches c before op
    fill = f;
  }
  if (!fill || fill.getDpsInits()[0] != c)
    return nullptr;
  auto cst = fill.getInputs()[0].getDefiningOp<arith::ConstantOp>();
  auto zero = cst ? dyn_cast<FloatAttr>(cst.getValue()) : FloatAttr();
  if (!zero || !zero.getValue().isZero())
    return nullptr;
  return fill;
}

namespace {

struct MatmulToCall : lm::impl::LMMatmulToCallBase<MatmulToCall> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Plain, transposed-A and transposed-B batched products: a transposed
    // operand is passed with its two inner strides swapped.
    SmallVector<linalg::LinalgOp> ops;
    module.walk([&](linalg::LinalgOp op) {
      if (isa<linalg::BatchMatmulOp, linalg::BatchMatmulTransposeAOp,
              linalg::BatchMatmulTransposeBOp>(op.getOperation()) &&
          op.hasPureBufferSemantics())
        ops.push_back(op);
    });
    OpBuilder b(module.getContext());
    for (linalg::LinalgOp op : ops) {
      Type elem = cast<MemRefType>(op.getDpsInits()[0].getType()).getElementType();
      if (!elem.isF32() && !elem.isF64())
        continue;
      bool transA = isa<linalg::BatchMatmulTransposeAOp>(op.getOperation());
      bool transB = isa<linalg::BatchMatmulTransposeBOp>(op.getOperation());
      std::string name = elem.isF32() ? "lm_batch_matmul_f32" : "lm_batch_matmul_f64";
      b.setInsertionPoint(op);
      Location loc = op.getLoc();
      SmallVector<Value> args;
      auto describe = [&](Value m, bool transposed) {
        auto meta = b.create<memref::ExtractStridedMetadataOp>(loc, m);
        args.push_back(b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, m));
        args.push_back(meta.getOffset());
        auto strides = meta.getStrides();
        args.push_back(strides[0]);
        args.push_back(transposed ? strides[2] : strides[1]);
        args.push_back(transposed ? strides[1] : strides[2]);
      };
      Value a = op.getDpsInputs()[0], bm = op.getDpsInputs()[1], c = op.getDpsInits()[0];
      // C freshly zero-filled (the usual accumulator): drop the fill and let
      // the kernel overwrite C instead of reading zeros and adding to them.
      bool accumulate = true;
      if (auto fill = lm::zeroFillBefore(op, c)) {
        fill->erase();
        accumulate = false;
      }
      describe(a, transA);
      describe(bm, transB);
      describe(c, false);
      auto cType = cast<MemRefType>(c.getType());
      auto aType = cast<MemRefType>(a.getType());
      int64_t k = transA ? aType.getDimSize(1) : aType.getDimSize(2);
      for (int64_t d : {cType.getDimSize(0), cType.getDimSize(1), cType.getDimSize(2), k})
        args.push_back(b.create<arith::ConstantIndexOp>(loc, d));
      args.push_back(b.create<arith::ConstantIndexOp>(loc, accumulate ? 1 : 0));
      auto fnType = b.getFunctionType(SmallVector<Type>(args.size(), b.getIndexType()), {});
      if (!module.lookupSymbol(name)) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(module.getBody());
        b.create<func::FuncOp>(loc, name, fnType).setPrivate();
      }
      b.create<func::CallOp>(loc, name, TypeRange{}, args);
      op.erase();
    }
  }
};

} // namespace
