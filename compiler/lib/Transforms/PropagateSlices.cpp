//===- PropagateSlices.cpp - Compute only what a slice keeps --------------===//
//
// `cross_entropy(net(x)[:, -1], y)` reads one position of the network's
// output; this pass moves every `lm.slice` towards the values it is computed
// from, so ops produce only the slice that is used: through elementwise ops,
// broadcasts, transposes, softmaxes along other axes, einsums (slicing the
// inputs that carry the sliced letters) and other slices. It stops at values
// with other uses, which need the whole tensor anyway. In a transformer the
// MLP, the unembedding and the attention queries then run at the last
// position only. Run before --lm-autodiff, so the gradient is also that of
// the smaller program.
//
//===----------------------------------------------------------------------===//
#include "lm/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace lm {
#define GEN_PASS_DEF_LMPROPAGATESLICES
#include "lm/Transforms/Passes.h.inc"
} // namespace lm

using namespace mlir;
using namespace lm;

namespace {

struct SliceSpec {
  SmallVector<int64_t> offsets, sizes, strides;
  bool isFull(ArrayRef<int64_t> shape) const {
    for (size_t d = 0; d < shape.size(); ++d)
      if (offsets[d] != 0 || sizes[d] != shape[d] || (sizes[d] > 1 && strides[d] != 1))
        return false;
    return true;
  }
};

Value applySlice(PatternRewriter &rw, Location loc, Value v, const SliceSpec &s) {
  auto t = cast<RankedTensorType>(v.getType());
  if (s.isFull(t.getShape()))
    return v;
  auto type = RankedTensorType::get(s.sizes, t.getElementType());
  return rw.create<SliceOp>(loc, type, v, rw.getDenseI64ArrayAttr(s.offsets),
                            rw.getDenseI64ArrayAttr(s.strides));
}

struct PushSliceUp : OpRewritePattern<SliceOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SliceOp slice, PatternRewriter &rw) const override {
    Operation *producer = slice.getInput().getDefiningOp();
    if (!producer || !producer->hasOneUse())
      return failure();
    Location loc = slice.getLoc();
    SliceSpec s{SmallVector<int64_t>(slice.getOffsets()),
                SmallVector<int64_t>(slice.getType().getShape()),
                SmallVector<int64_t>(slice.getStrides())};
    RankedTensorType resultType = slice.getType();

    // Elementwise (and softmax along an axis the slice keeps whole): slice
    // every operand the same way.
    bool elementwise = producer->hasTrait<OpTrait::SameOperandsAndResultType>() &&
                       producer->getDialect() == slice->getDialect();
    if (auto sm = dyn_cast<SoftmaxOp>(producer))
      elementwise &= s.offsets[sm.getAxis()] == 0 &&
                     s.sizes[sm.getAxis()] == sm.getType().getDimSize(sm.getAxis());
    if (auto lsm = dyn_cast<LogSoftmaxOp>(producer))
      elementwise &= s.offsets[lsm.getAxis()] == 0 &&
                     s.sizes[lsm.getAxis()] == lsm.getType().getDimSize(lsm.getAxis());
    if (elementwise) {
      OperationState state(producer->getLoc(), producer->getName());
      for (Value operand : producer->getOperands())
        state.addOperands(applySlice(rw, loc, operand, s));
      state.addTypes(resultType);
      state.addAttributes(producer->getAttrs());
      rw.replaceOp(slice, rw.create(state)->getResults());
      return success();
    }
    if (auto bc = dyn_cast<BroadcastOp>(producer)) {
      SliceSpec in;
      for (int64_t d : bc.getDims()) {
        in.offsets.push_back(s.offsets[d]);
        in.sizes.push_back(s.sizes[d]);
        in.strides.push_back(s.strides[d]);
      }
      Value sliced = applySlice(rw, loc, bc.getInput(), in);
      rw.replaceOpWithNewOp<BroadcastOp>(slice, resultType, sliced, bc.getDimsAttr());
      return success();
    }
    if (auto tr = dyn_cast<TransposeOp>(producer)) {
      SliceSpec in = s;
      for (auto [i, p] : llvm::enumerate(tr.getPerm())) {
        in.offsets[p] = s.offsets[i];
        in.sizes[p] = s.sizes[i];
        in.strides[p] = s.strides[i];
      }
      Value sliced = applySlice(rw, loc, tr.getInput(), in);
      rw.replaceOpWithNewOp<TransposeOp>(slice, resultType, sliced, tr.getPermAttr());
      return success();
    }
    if (auto inner = dyn_cast<SliceOp>(producer)) {
      SliceSpec in = s;
      for (size_t d = 0; d < s.offsets.size(); ++d) {
        in.offsets[d] = inner.getOffsets()[d] + s.offsets[d] * inner.getStrides()[d];
        in.strides[d] = inner.getStrides()[d] * s.strides[d];
      }
      rw.replaceOp(slice, applySlice(rw, loc, inner.getInput(), in));
      return success();
    }
    if (auto es = dyn_cast<EinsumOp>(producer)) {
      SmallVector<std::string> ins;
      std::string out;
      es.parseSpec(ins, out);
      SmallVector<Value> operands;
      for (auto [i, letters] : llvm::enumerate(ins)) {
        Value v = es.getInputs()[i];
        auto t = cast<RankedTensorType>(v.getType());
        SliceSpec in{SmallVector<int64_t>(t.getRank(), 0), SmallVector<int64_t>(t.getShape()),
                     SmallVector<int64_t>(t.getRank(), 1)};
        for (auto [d, c] : llvm::enumerate(letters))
          if (size_t o = out.find(c); o != std::string::npos) {
            in.offsets[d] = s.offsets[o];
            in.sizes[d] = s.sizes[o];
            in.strides[d] = s.strides[o];
          }
        operands.push_back(applySlice(rw, loc, v, in));
      }
      rw.replaceOpWithNewOp<EinsumOp>(slice, resultType, es.getSpecAttr(), operands);
      return success();
    }
    return failure();
  }
};

struct PropagateSlices : lm::impl::LMPropagateSlicesBase<PropagateSlices> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<PushSliceUp>(&getContext());
    GreedyRewriteConfig config;
    config.maxIterations = 1000;
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns), config)))
      signalPassFailure();
  }
};

} // namespace
