//===- LMToLinalg.cpp - lm ops to linalg/tensor/arith/math ----------------===//
//
// The reference lowering: every lm op becomes one linalg op on tensors.
// Elementwise ops are `linalg.generic`s that later fuse; `lm.einsum` becomes a
// `linalg.generic` whose loop dimensions are the spec's letters (result
// letters parallel, the others reductions).
//
//===----------------------------------------------------------------------===//
#include "lm/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

namespace lm {
#define GEN_PASS_DEF_CONVERTLMTOLINALG
#include "lm/Transforms/Passes.h.inc"
} // namespace lm

using namespace mlir;
using namespace lm;

namespace {

RankedTensorType tensorType(Value v) { return cast<RankedTensorType>(v.getType()); }

Value emptyLike(OpBuilder &b, Location loc, RankedTensorType t) {
  return b.create<tensor::EmptyOp>(loc, t.getShape(), t.getElementType());
}

Value zerosOf(OpBuilder &b, Location loc, RankedTensorType t) {
  Value zero = b.create<arith::ConstantOp>(loc, b.getFloatAttr(t.getElementType(), 0.0));
  return b.create<linalg::FillOp>(loc, zero, emptyLike(b, loc, t)).getResult(0);
}

using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// A parallel linalg.generic over `inputs` (all of the result's shape).
Value elementwise(OpBuilder &b, Location loc, RankedTensorType type, ValueRange inputs,
                  BodyFn body) {
  unsigned rank = type.getRank();
  SmallVector<AffineMap> maps(inputs.size() + 1,
                              AffineMap::getMultiDimIdentityMap(rank, b.getContext()));
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  auto op = b.create<linalg::GenericOp>(
      loc, TypeRange{type}, inputs, ValueRange{emptyLike(b, loc, type)}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        nb.create<linalg::YieldOp>(nl, body(nb, nl, args.drop_back()));
      });
  return op.getResult(0);
}

template <typename LMOp>
struct ElementwisePattern : OpConversionPattern<LMOp> {
  ElementwisePattern(MLIRContext *ctx,
                     std::function<Value(OpBuilder &, Location, ValueRange, LMOp)> body)
      : OpConversionPattern<LMOp>(ctx), body(std::move(body)) {}
  LogicalResult matchAndRewrite(LMOp op, typename LMOp::Adaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    Value r = elementwise(rw, op.getLoc(), op.getType(), adaptor.getOperands(),
                          [&](OpBuilder &b, Location l, ValueRange a) {
                            return body(b, l, a, op);
                          });
    rw.replaceOp(op, r);
    return success();
  }
  std::function<Value(OpBuilder &, Location, ValueRange, LMOp)> body;
};

template <typename LMOp, typename ArithOp>
void addSimple(RewritePatternSet &patterns) {
  patterns.add<ElementwisePattern<LMOp>>(
      patterns.getContext(),
      [](OpBuilder &b, Location l, ValueRange a, LMOp) -> Value {
        return b.create<ArithOp>(l, a);
      });
}

struct EinsumPattern : OpConversionPattern<EinsumOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(EinsumOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    SmallVector<std::string> ins;
    std::string out;
    op.parseSpec(ins, out);
    // Loop order: result letters, then summed letters in order of appearance.
    std::string dims = out;
    for (const std::string &in : ins)
      for (char c : in)
        if (dims.find(c) == std::string::npos)
          dims += c;
    MLIRContext *ctx = op.getContext();
    auto mapOf = [&](const std::string &letters) {
      SmallVector<AffineExpr> exprs;
      for (char c : letters)
        exprs.push_back(getAffineDimExpr(dims.find(c), ctx));
      return AffineMap::get(dims.size(), 0, exprs, ctx);
    };
    SmallVector<AffineMap> maps;
    for (const std::string &in : ins)
      maps.push_back(mapOf(in));
    maps.push_back(mapOf(out));
    SmallVector<utils::IteratorType> iters;
    for (size_t i = 0; i < dims.size(); ++i)
      iters.push_back(i < out.size() ? utils::IteratorType::parallel
                                     : utils::IteratorType::reduction);
    Location loc = op.getLoc();
    auto generic = rw.create<linalg::GenericOp>(
        loc, TypeRange{op.getType()}, adaptor.getInputs(),
        ValueRange{zerosOf(rw, loc, op.getType())}, maps, iters,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value prod = args[0];
          for (Value v : args.drop_front().drop_back())
            prod = b.create<arith::MulFOp>(l, prod, v);
          b.create<linalg::YieldOp>(l, ValueRange{b.create<arith::AddFOp>(l, args.back(), prod)});
        });
    generic->setAttr("lm.einsum", op.getSpecAttr());
    rw.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct TransposePattern : OpConversionPattern<TransposeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(TransposeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    auto t = rw.create<linalg::TransposeOp>(op.getLoc(), adaptor.getInput(),
                                            emptyLike(rw, op.getLoc(), op.getType()),
                                            op.getPerm());
    rw.replaceOp(op, t.getResult());
    return success();
  }
};

struct BroadcastPattern : OpConversionPattern<BroadcastOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(BroadcastOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    SmallVector<int64_t> added;
    for (int64_t d = 0; d < op.getType().getRank(); ++d)
      if (!llvm::is_contained(op.getDims(), d))
        added.push_back(d);
    auto bc = rw.create<linalg::BroadcastOp>(op.getLoc(), adaptor.getInput(),
                                             emptyLike(rw, op.getLoc(), op.getType()), added);
    rw.replaceOp(op, bc.getResult());
    return success();
  }
};

struct ReduceSumPattern : OpConversionPattern<ReduceSumOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ReduceSumOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto red = rw.create<linalg::ReduceOp>(
        loc, ValueRange{adaptor.getInput()}, ValueRange{zerosOf(rw, loc, op.getType())},
        op.getAxes(), [](OpBuilder &b, Location l, ValueRange args) {
          b.create<linalg::YieldOp>(l, ValueRange{b.create<arith::AddFOp>(l, args[0], args[1])});
        });
    rw.replaceOp(op, red.getResult(0));
    return success();
  }
};

/// Any static reshape: collapse to 1-D, then expand to the result shape.
struct ReshapePattern : OpConversionPattern<ReshapeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ReshapeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    Value v = adaptor.getInput();
    RankedTensorType in = tensorType(v), out = op.getType();
    auto flatType = RankedTensorType::get({in.getNumElements()}, in.getElementType());
    auto all = [](int64_t rank) {
      ReassociationIndices r;
      for (int64_t i = 0; i < rank; ++i)
        r.push_back(i);
      return SmallVector<ReassociationIndices>{r};
    };
    if (in.getRank() == 0)
      v = rw.create<tensor::ExpandShapeOp>(loc, flatType, v, SmallVector<ReassociationIndices>{});
    else if (in.getRank() > 1)
      v = rw.create<tensor::CollapseShapeOp>(loc, flatType, v, all(in.getRank()));
    if (out.getRank() == 0)
      v = rw.create<tensor::CollapseShapeOp>(loc, out, v, SmallVector<ReassociationIndices>{});
    else if (out.getRank() > 1)
      v = rw.create<tensor::ExpandShapeOp>(loc, out, v, all(out.getRank()));
    rw.replaceOp(op, v);
    return success();
  }
};

/// mse = sum((p - t)^2) / N: one reduction generic, then a 0-d scale.
struct MsePattern : OpConversionPattern<MseOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MseOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    RankedTensorType in = tensorType(adaptor.getPrediction());
    MLIRContext *ctx = op.getContext();
    unsigned rank = in.getRank();
    auto id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    auto scalar = AffineMap::get(rank, 0, {}, ctx);
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::reduction);
    auto sum = rw.create<linalg::GenericOp>(
        loc, TypeRange{op.getType()},
        ValueRange{adaptor.getPrediction(), adaptor.getTarget()},
        ValueRange{zerosOf(rw, loc, op.getType())}, ArrayRef<AffineMap>{id, id, scalar},
        iters, [](OpBuilder &b, Location l, ValueRange a) {
          Value d = b.create<arith::SubFOp>(l, a[0], a[1]);
          Value sq = b.create<arith::MulFOp>(l, d, d);
          b.create<linalg::YieldOp>(l, ValueRange{b.create<arith::AddFOp>(l, a[2], sq)});
        });
    double inv = 1.0 / double(in.getNumElements());
    Value r = elementwise(rw, loc, op.getType(), sum.getResults(),
                          [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                            Value c = b.create<arith::ConstantOp>(
                                l, b.getFloatAttr(in.getElementType(), inv));
                            return b.create<arith::MulFOp>(l, a[0], c);
                          });
    rw.replaceOp(op, r);
    return success();
  }
};

struct ConvertLMToLinalg : lm::impl::ConvertLMToLinalgBase<ConvertLMToLinalg> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    addSimple<AddOp, arith::AddFOp>(patterns);
    addSimple<SubOp, arith::SubFOp>(patterns);
    addSimple<MulOp, arith::MulFOp>(patterns);
    addSimple<DivOp, arith::DivFOp>(patterns);
    addSimple<NegOp, arith::NegFOp>(patterns);
    addSimple<ExpOp, math::ExpOp>(patterns);
    addSimple<LogOp, math::LogOp>(patterns);
    addSimple<SqrtOp, math::SqrtOp>(patterns);
    addSimple<TanhOp, math::TanhOp>(patterns);
    patterns.add<ElementwisePattern<ReluOp>>(
        ctx, [](OpBuilder &b, Location l, ValueRange a, ReluOp) -> Value {
          Value zero = b.create<arith::ConstantOp>(l, b.getFloatAttr(a[0].getType(), 0.0));
          return b.create<arith::MaximumFOp>(l, a[0], zero);
        });
    patterns.add<ElementwisePattern<StepOp>>(
        ctx, [](OpBuilder &b, Location l, ValueRange a, StepOp) -> Value {
          Type t = a[0].getType();
          Value zero = b.create<arith::ConstantOp>(l, b.getFloatAttr(t, 0.0));
          Value one = b.create<arith::ConstantOp>(l, b.getFloatAttr(t, 1.0));
          Value pos = b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT, a[0], zero);
          return b.create<arith::SelectOp>(l, pos, one, zero);
        });
    patterns.add<ElementwisePattern<PowOp>>(
        ctx, [](OpBuilder &b, Location l, ValueRange a, PowOp op) -> Value {
          double c = op.getExponent().convertToDouble();
          if (c == 1.0)
            return a[0];
          if (c == 2.0)
            return b.create<arith::MulFOp>(l, a[0], a[0]);
          Value e = b.create<arith::ConstantOp>(l, b.getFloatAttr(a[0].getType(), c));
          return b.create<math::PowFOp>(l, a[0], e);
        });
    patterns.add<EinsumPattern, TransposePattern, BroadcastPattern, ReduceSumPattern,
                 ReshapePattern, MsePattern>(ctx);
    ConversionTarget target(*ctx);
    target.addIllegalDialect<LMDialect>();
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect,
                           arith::ArithDialect, math::MathDialect, func::FuncDialect>();
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
