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
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

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

/// Any static row-major reshape: collapse to 1-D, then expand to the result.
Value reshapeTo(OpBuilder &rw, Location loc, Value v, RankedTensorType out) {
  RankedTensorType in = tensorType(v);
  if (in == out)
    return v;
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
  return v;
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

/// Transposes `v` (letters `have`) into the order `want`.
Value permuteTo(OpBuilder &b, Location loc, Value v, const std::string &have,
                const std::string &want) {
  if (have == want)
    return v;
  RankedTensorType t = tensorType(v);
  SmallVector<int64_t> perm, shape;
  for (char c : want) {
    perm.push_back(have.find(c));
    shape.push_back(t.getDimSize(have.find(c)));
  }
  auto outType = RankedTensorType::get(shape, t.getElementType());
  return b.create<linalg::TransposeOp>(loc, v, emptyLike(b, loc, outType), perm).getResult()[0];
}

/// Below this many multiply-adds per batch entry a batched product stays a
/// plain contraction loop nest.
constexpr int64_t kMinMatmulWork = 4096;

/// A two-input einsum that is a (batched) matrix product — every letter is
/// batch (in A, B and the result), M (A and result), N (B and result) or K
/// (A and B only) — becomes transposes into [batch, M, K] x [batch, K, N],
/// one `linalg.batch_matmul` on the flattened groups, and a transpose back.
/// Named matmuls are what the fast contraction path recognizes.
FailureOr<Value> asBatchMatmul(OpBuilder &b, Location loc, EinsumOp op, ValueRange inputs) {
  SmallVector<std::string> ins;
  std::string out;
  op.parseSpec(ins, out);
  if (ins.size() != 2)
    return failure();
  const std::string &a = ins[0], &c = ins[1];
  auto has = [](const std::string &s, char ch) { return s.find(ch) != std::string::npos; };
  std::string batch, m, n, k;
  for (char ch : a) {
    if (has(c, ch) && has(out, ch))
      batch += ch;
    else if (has(out, ch))
      m += ch;
    else if (has(c, ch))
      k += ch;
    else
      return failure(); // summed over A alone
  }
  for (char ch : c)
    if (!has(a, ch)) {
      if (!has(out, ch))
        return failure(); // summed over B alone
      n += ch;
    }
  RankedTensorType ta = tensorType(inputs[0]), tc = tensorType(inputs[1]);
  auto extent = [&](char ch) {
    return has(a, ch) ? ta.getDimSize(a.find(ch)) : tc.getDimSize(c.find(ch));
  };
  auto product = [&](const std::string &letters) {
    int64_t p = 1;
    for (char ch : letters)
      p *= extent(ch);
    return p;
  };
  Type f = ta.getElementType();
  int64_t nb = product(batch), nm = product(m), nn = product(n), nk = product(k);
  // Many tiny products (attention over a few tokens: 1 x 32 x 3 per head
  // and example) are faster as one loop nest over the operands as they lie
  // than as transposed copies feeding a GEMM call per batch. The choice
  // depends on the per-batch product only, so a replicated (ensemble)
  // program sums in the same order as a single run.
  if (nm * nn * nk < kMinMatmulWork)
    return failure();
  // An operand already laid out as [batch, K, M] (A) or [batch, N, K] (B) is
  // used as it is, through batch_matmul_transpose_a/b (the GEMM kernel takes
  // any strides), instead of being copied into the other order.
  auto prodType = RankedTensorType::get({nb, nm, nn}, f);
  Value init = zerosOf(b, loc, prodType);
  bool transA = a == batch + k + m && a != batch + m + k;
  bool transB = !transA && c == batch + n + k && c != batch + k + n;
  Value lhs = transA ? reshapeTo(b, loc, inputs[0], RankedTensorType::get({nb, nk, nm}, f))
                     : reshapeTo(b, loc, permuteTo(b, loc, inputs[0], a, batch + m + k),
                                 RankedTensorType::get({nb, nm, nk}, f));
  Value rhs = transB ? reshapeTo(b, loc, inputs[1], RankedTensorType::get({nb, nn, nk}, f))
                     : reshapeTo(b, loc, permuteTo(b, loc, inputs[1], c, batch + k + n),
                                 RankedTensorType::get({nb, nk, nn}, f));
  SmallVector<Value, 2> operands{lhs, rhs};
  Type types[] = {prodType};
  Value prod =
      transA   ? b.create<linalg::BatchMatmulTransposeAOp>(loc, types, operands, init).getResult(0)
      : transB ? b.create<linalg::BatchMatmulTransposeBOp>(loc, types, operands, init).getResult(0)
               : b.create<linalg::BatchMatmulOp>(loc, types, operands, init).getResult(0);
  std::string order = batch + m + n;
  SmallVector<int64_t> shape;
  for (char ch : order)
    shape.push_back(extent(ch));
  Value grouped = reshapeTo(b, loc, prod, RankedTensorType::get(shape, f));
  return permuteTo(b, loc, grouped, order, out);
}

struct EinsumPattern : OpConversionPattern<EinsumOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(EinsumOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    if (FailureOr<Value> mm = asBatchMatmul(rw, op.getLoc(), op, adaptor.getInputs());
        succeeded(mm)) {
      rw.replaceOp(op, *mm);
      return success();
    }
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

struct ReshapePattern : OpConversionPattern<ReshapeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ReshapeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    rw.replaceOp(op, reshapeTo(rw, op.getLoc(), adaptor.getInput(), op.getType()));
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
    int64_t k = static_cast<int64_t>(op.getBatchDims());
    auto id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    // One sum per batch index: the first k dimensions are parallel.
    SmallVector<AffineExpr> kept;
    for (int64_t d = 0; d < k; ++d)
      kept.push_back(getAffineDimExpr(d, ctx));
    auto scalar = AffineMap::get(rank, 0, kept, ctx);
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::reduction);
    for (int64_t d = 0; d < k; ++d)
      iters[d] = utils::IteratorType::parallel;
    auto sum = rw.create<linalg::GenericOp>(
        loc, TypeRange{op.getType()},
        ValueRange{adaptor.getPrediction(), adaptor.getTarget()},
        ValueRange{zerosOf(rw, loc, op.getType())}, ArrayRef<AffineMap>{id, id, scalar},
        iters, [](OpBuilder &b, Location l, ValueRange a) {
          Value d = b.create<arith::SubFOp>(l, a[0], a[1]);
          Value sq = b.create<arith::MulFOp>(l, d, d);
          b.create<linalg::YieldOp>(l, ValueRange{b.create<arith::AddFOp>(l, a[2], sq)});
        });
    double inv = double(std::max<int64_t>(op.getType().getNumElements(), 1)) /
                 double(in.getNumElements());
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


/// The map of a tensor that lacks dimension `axis` of a rank-`rank` loop nest.
AffineMap dropDim(unsigned rank, int64_t axis, MLIRContext *ctx) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d = 0; d < rank; ++d)
    if (d != axis)
      exprs.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

RankedTensorType withoutDim(RankedTensorType t, int64_t axis) {
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < t.getRank(); ++d)
    if (d != axis)
      shape.push_back(t.getDimSize(d));
  return RankedTensorType::get(shape, t.getElementType());
}

/// A generic over `type`'s loop nest: `full` operands have the full shape,
/// `reduced` ones lack `axis`; the result has `resultType` (full or reduced).
Value alongAxis(OpBuilder &b, Location loc, RankedTensorType type, int64_t axis,
                ValueRange full, ValueRange reduced, RankedTensorType resultType, Value init,
                BodyFn body) {
  MLIRContext *ctx = b.getContext();
  unsigned rank = type.getRank();
  auto id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  auto drop = dropDim(rank, axis, ctx);
  SmallVector<AffineMap> maps(full.size(), id);
  maps.append(reduced.size(), drop);
  bool reducing = resultType.getRank() < type.getRank();
  maps.push_back(reducing ? drop : id);
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  if (reducing)
    iters[axis] = utils::IteratorType::reduction;
  SmallVector<Value> ins(full);
  ins.append(reduced.begin(), reduced.end());
  auto op = b.create<linalg::GenericOp>(
      loc, TypeRange{resultType}, ins, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        nb.create<linalg::YieldOp>(nl, body(nb, nl, args));
      });
  return op.getResult(0);
}

Value filled(OpBuilder &b, Location loc, RankedTensorType t, double v) {
  Value c = b.create<arith::ConstantOp>(loc, b.getFloatAttr(t.getElementType(), v));
  return b.create<linalg::FillOp>(loc, c, emptyLike(b, loc, t)).getResult(0);
}

/// softmax and log_softmax: m = max(x); s = sum(exp(x - m)); then
/// exp(x - m) / s, or x - m - log(s).
template <typename Op, bool Log>
struct SoftmaxPattern : OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  LogicalResult matchAndRewrite(Op op, typename Op::Adaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    RankedTensorType type = op.getType();
    int64_t axis = op.getAxis();
    RankedTensorType red = withoutDim(type, axis);
    Value m = alongAxis(rw, loc, type, axis, {x}, {}, red,
                        filled(rw, loc, red, -std::numeric_limits<double>::infinity()),
                        [](OpBuilder &b, Location l, ValueRange a) -> Value {
                          return b.create<arith::MaximumFOp>(l, a[0], a[1]);
                        });
    // The normalizer is accumulated (and its log taken) in f64 even for f32
    // data: in f32, log-softmax of a near-certain class is quantized at
    // ~1e-7, which late in training (grokking) turns into loss spikes. Each
    // term exp(x - max) <= 1 is computed in the data's type (an f32 exp is
    // accurate to an ulp of the term itself) and widened for the sum.
    Type acc = rw.getF64Type();
    auto accRed = RankedTensorType::get(red.getShape(), acc);
    auto widen = [&](OpBuilder &b, Location l, Value v) -> Value {
      return v.getType() == acc ? v : b.create<arith::ExtFOp>(l, acc, v).getResult();
    };
    Value s = alongAxis(rw, loc, type, axis, {x}, {m}, accRed, filled(rw, loc, accRed, 0.0),
                        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                          Value d = b.create<arith::SubFOp>(l, a[0], a[1]);
                          return b.create<arith::AddFOp>(
                              l, a[2], widen(b, l, b.create<math::ExpOp>(l, d)));
                        });
    Type elem = type.getElementType();
    Value r = alongAxis(rw, loc, type, axis, {x}, {m, s}, type, emptyLike(rw, loc, type),
                        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                          Value shifted = b.create<arith::SubFOp>(l, a[0], a[1]);
                          Value v = Log ? b.create<arith::SubFOp>(l, widen(b, l, shifted),
                                                                  b.create<math::LogOp>(l, a[2]))
                                              .getResult()
                                        : b.create<arith::DivFOp>(
                                                 l, widen(b, l, b.create<math::ExpOp>(l, shifted)),
                                                 a[2])
                                              .getResult();
                          return elem == acc ? v : b.create<arith::TruncFOp>(l, elem, v).getResult();
                        });
    rw.replaceOp(op, r);
    return success();
  }
};

struct OneHotPattern : OpConversionPattern<OneHotOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(OneHotOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    unsigned rank = type.getRank();
    MLIRContext *ctx = op.getContext();
    SmallVector<AffineMap> maps{dropDim(rank, rank - 1, ctx),
                                AffineMap::getMultiDimIdentityMap(rank, ctx)};
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    auto g = rw.create<linalg::GenericOp>(
        loc, TypeRange{type}, ValueRange{adaptor.getIndices()},
        ValueRange{emptyLike(rw, loc, type)}, maps, iters,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value k = b.create<linalg::IndexOp>(l, rank - 1);
          Value k32 = b.create<arith::IndexCastOp>(l, b.getI32Type(), k);
          Value hit = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, a[0], k32);
          Type f = type.getElementType();
          Value one = b.create<arith::ConstantOp>(l, b.getFloatAttr(f, 1.0));
          Value zero = b.create<arith::ConstantOp>(l, b.getFloatAttr(f, 0.0));
          b.create<linalg::YieldOp>(l, ValueRange{b.create<arith::SelectOp>(l, hit, one, zero)});
        });
    rw.replaceOp(op, g.getResult(0));
    return success();
  }
};

SmallVector<OpFoldResult> foldResults(OpBuilder &b, ArrayRef<int64_t> v) {
  SmallVector<OpFoldResult> out;
  for (int64_t x : v)
    out.push_back(b.getIndexAttr(x));
  return out;
}

struct SlicePattern : OpConversionPattern<SliceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(SliceOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    rw.replaceOpWithNewOp<tensor::ExtractSliceOp>(
        op, op.getType(), adaptor.getInput(), foldResults(rw, op.getOffsets()),
        foldResults(rw, op.getType().getShape()), foldResults(rw, op.getStrides()));
    return success();
  }
};

struct UnslicePattern : OpConversionPattern<UnsliceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(UnsliceOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    Value zeros = zerosOf(rw, op.getLoc(), op.getType());
    auto part = cast<RankedTensorType>(adaptor.getInput().getType());
    rw.replaceOpWithNewOp<tensor::InsertSliceOp>(
        op, adaptor.getInput(), zeros, foldResults(rw, op.getOffsets()),
        foldResults(rw, part.getShape()), foldResults(rw, op.getStrides()));
    return success();
  }
};

struct ReduceMaxPattern : OpConversionPattern<ReduceMaxOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ReduceMaxOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    Value init = filled(rw, loc, op.getType(), -std::numeric_limits<double>::infinity());
    auto red = rw.create<linalg::ReduceOp>(
        loc, ValueRange{adaptor.getInput()}, ValueRange{init}, op.getAxes(),
        [](OpBuilder &b, Location l, ValueRange args) {
          b.create<linalg::YieldOp>(l,
                                    ValueRange{b.create<arith::MaximumFOp>(l, args[0], args[1])});
        });
    rw.replaceOp(op, red.getResult(0));
    return success();
  }
};

/// concat: each input inserted into one result tensor at its offset.
struct ConcatPattern : OpConversionPattern<ConcatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ConcatOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    int64_t axis = static_cast<int64_t>(op.getAxis()), at = 0;
    int64_t rank = op.getType().getRank();
    Value acc = emptyLike(rw, loc, op.getType());
    for (Value v : adaptor.getInputs()) {
      auto t = tensorType(v);
      SmallVector<int64_t> offsets(rank, 0), strides(rank, 1);
      offsets[axis] = at;
      acc = rw.create<tensor::InsertSliceOp>(loc, v, acc, foldResults(rw, offsets),
                                             foldResults(rw, t.getShape()),
                                             foldResults(rw, strides));
      at += t.getDimSize(axis);
    }
    rw.replaceOp(op, acc);
    return success();
  }
};

/// An i32 index as `index`, and whether it lies in [0, extent).
std::pair<Value, Value> indexInRange(OpBuilder &b, Location l, Value i32, Value extent) {
  Value i = b.create<arith::IndexCastOp>(l, b.getIndexType(), i32);
  Value zero = b.create<arith::ConstantIndexOp>(l, 0);
  Value ok = b.create<arith::AndIOp>(
      l, b.create<arith::CmpIOp>(l, arith::CmpIPredicate::sge, i, zero),
      b.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, i, extent));
  return {i, ok};
}

/// gather: a parallel generic over the result reading the index tensor and
/// extracting from the input; out-of-range indices give zero.
struct GatherPattern : OpConversionPattern<GatherOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(GatherOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    RankedTensorType type = op.getType();
    auto in = tensorType(adaptor.getInput());
    auto idx = tensorType(adaptor.getIndices());
    int64_t axis = static_cast<int64_t>(op.getAxis());
    int64_t k = static_cast<int64_t>(op.getBatchDims());
    unsigned rank = type.getRank();
    int64_t ir = idx.getRank() - k; // index dimensions past the batch ones
    SmallVector<AffineExpr> idxExprs;
    for (int64_t d = 0; d < k; ++d)
      idxExprs.push_back(getAffineDimExpr(d, ctx));
    for (int64_t d = 0; d < ir; ++d)
      idxExprs.push_back(getAffineDimExpr(axis + d, ctx));
    SmallVector<AffineMap> maps{AffineMap::get(rank, 0, idxExprs, ctx),
                                AffineMap::getMultiDimIdentityMap(rank, ctx)};
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    Value table = adaptor.getInput();
    int64_t extent = in.getDimSize(axis);
    auto g = rw.create<linalg::GenericOp>(
        loc, TypeRange{type}, ValueRange{adaptor.getIndices()},
        ValueRange{emptyLike(rw, loc, type)}, maps, iters,
        [&](OpBuilder &b, Location l, ValueRange a) {
          auto [i, ok] = indexInRange(b, l, a[0], b.create<arith::ConstantIndexOp>(l, extent));
          Value zero = b.create<arith::ConstantIndexOp>(l, 0);
          Value safe = b.create<arith::SelectOp>(l, ok, i, zero);
          SmallVector<Value> at;
          for (int64_t d = 0; d < axis; ++d)
            at.push_back(b.create<linalg::IndexOp>(l, d));
          at.push_back(safe);
          for (int64_t d = axis + ir; d < int64_t(rank); ++d)
            at.push_back(b.create<linalg::IndexOp>(l, d));
          Value v = b.create<tensor::ExtractOp>(l, table, at);
          Value z = b.create<arith::ConstantOp>(l, b.getFloatAttr(type.getElementType(), 0.0));
          b.create<linalg::YieldOp>(l, ValueRange{b.create<arith::SelectOp>(l, ok, v, z)});
        });
    rw.replaceOp(op, g.getResult(0));
    return success();
  }
};

/// scatter_add: updates viewed as [P, I, Q] (pre, index, post dims), a
/// sequential loop over the I index positions adds each [P, 1, Q] slice
/// into row indices[i] of a zero [P, N, Q] tensor (a loop-carried tensor
/// that bufferizes in place). Out-of-range indices are skipped.
struct ScatterAddPattern : OpConversionPattern<ScatterAddOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ScatterAddOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    auto idx = tensorType(adaptor.getIndices());
    int64_t axis = static_cast<int64_t>(op.getAxis());
    int64_t k = static_cast<int64_t>(op.getBatchDims());
    // Viewed as [Bt, P, I, Q]: batch, pre, index and post dimensions.
    int64_t Bt = 1, P = 1, Q = 1, N = type.getDimSize(axis);
    for (int64_t d = 0; d < k; ++d)
      Bt *= type.getDimSize(d);
    int64_t I = idx.getNumElements() / std::max<int64_t>(Bt, 1);
    for (int64_t d = k; d < axis; ++d)
      P *= type.getDimSize(d);
    for (int64_t d = axis + 1; d < type.getRank(); ++d)
      Q *= type.getDimSize(d);
    Type elem = type.getElementType();
    auto upd4 = RankedTensorType::get({Bt, P, I, Q}, elem);
    auto res4 = RankedTensorType::get({Bt, P, N, Q}, elem);
    auto row = RankedTensorType::get({1, P, 1, Q}, elem);
    Value updates = reshapeTo(rw, loc, adaptor.getUpdates(), upd4);
    Value flatIdx = reshapeTo(rw, loc, adaptor.getIndices(),
                              RankedTensorType::get({Bt * I}, idx.getElementType()));
    Value zero = rw.create<arith::ConstantIndexOp>(loc, 0);
    Value one = rw.create<arith::ConstantIndexOp>(loc, 1);
    Value count = rw.create<arith::ConstantIndexOp>(loc, Bt * I);
    Value perBatch = Bt > 1 ? rw.create<arith::ConstantIndexOp>(loc, I).getResult() : Value();
    Value extent = rw.create<arith::ConstantIndexOp>(loc, N);
    auto sizes = foldResults(rw, {1, P, 1, Q});
    auto unit = foldResults(rw, {1, 1, 1, 1});
    auto loop = rw.create<scf::ForOp>(
        loc, zero, count, one, ValueRange{zerosOf(rw, loc, res4)},
        [&](OpBuilder &b, Location l, Value j, ValueRange acc) {
          auto [n, ok] = indexInRange(
              b, l, b.create<tensor::ExtractOp>(l, flatIdx, ValueRange{j}), extent);
          // Position j of the flat indices is (batch r, index i).
          OpFoldResult r = b.getIndexAttr(0);
          Value i = j;
          if (Bt > 1) {
            r = b.create<arith::DivUIOp>(l, j, perBatch).getResult();
            i = b.create<arith::RemUIOp>(l, j, perBatch);
          }
          auto ifOp = b.create<scf::IfOp>(
              l, ok,
              [&](OpBuilder &tb, Location tl) {
                SmallVector<OpFoldResult> src{r, tb.getIndexAttr(0), i, tb.getIndexAttr(0)};
                SmallVector<OpFoldResult> dst{r, tb.getIndexAttr(0), n, tb.getIndexAttr(0)};
                Value u = tb.create<tensor::ExtractSliceOp>(tl, row, updates, src, sizes, unit);
                Value cur = tb.create<tensor::ExtractSliceOp>(tl, row, acc[0], dst, sizes, unit);
                // Accumulate into the slice itself (destination passing),
                // so the loop bufferizes without copies.
                auto id = AffineMap::getMultiDimIdentityMap(4, tb.getContext());
                SmallVector<utils::IteratorType> iters(4, utils::IteratorType::parallel);
                Value sum =
                    tb.create<linalg::GenericOp>(
                          tl, TypeRange{row}, ValueRange{u}, ValueRange{cur},
                          ArrayRef<AffineMap>{id, id}, iters,
                          [](OpBuilder &eb, Location el, ValueRange a) {
                            eb.create<linalg::YieldOp>(
                                el, ValueRange{eb.create<arith::AddFOp>(el, a[1], a[0])});
                          })
                        .getResult(0);
                Value next =
                    tb.create<tensor::InsertSliceOp>(tl, sum, acc[0], dst, sizes, unit);
                tb.create<scf::YieldOp>(tl, next);
              },
              [&](OpBuilder &eb, Location el) { eb.create<scf::YieldOp>(el, acc[0]); });
          b.create<scf::YieldOp>(l, ifOp.getResult(0));
        });
    rw.replaceOp(op, reshapeTo(rw, loc, loop.getResult(0), type));
    return success();
  }
};

/// accuracy: a row-wise (max, argmax) reduction, then the mean of
/// (argmax == label) over the N rows; leading batch dimensions [B...] are
/// parallel and give one accuracy each.
struct AccuracyPattern : OpConversionPattern<AccuracyOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(AccuracyOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    auto logits = cast<RankedTensorType>(adaptor.getLogits().getType());
    Type f = logits.getElementType();
    unsigned rank = logits.getRank(); // k batch dims, N, C
    int64_t n = logits.getDimSize(rank - 2);
    auto rowF = RankedTensorType::get(logits.getShape().drop_back(), f);
    auto rowI = RankedTensorType::get(logits.getShape().drop_back(), rw.getI32Type());
    Value maxInit = filled(rw, loc, rowF, -std::numeric_limits<double>::infinity());
    Value zeroI = rw.create<arith::ConstantOp>(loc, rw.getI32IntegerAttr(-1));
    Value idxInit = rw.create<linalg::FillOp>(loc, zeroI, emptyLike(rw, loc, rowI)).getResult(0);
    auto id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    auto row = dropDim(rank, rank - 1, ctx);
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    iters.back() = utils::IteratorType::reduction;
    auto argmax = rw.create<linalg::GenericOp>(
        loc, TypeRange{rowF, rowI}, ValueRange{adaptor.getLogits()}, ValueRange{maxInit, idxInit},
        ArrayRef<AffineMap>{id, row, row}, iters,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value c = b.create<arith::IndexCastOp>(l, b.getI32Type(),
                                                 b.create<linalg::IndexOp>(l, rank - 1));
          Value better = b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT, a[0], a[1]);
          b.create<linalg::YieldOp>(l, ValueRange{b.create<arith::SelectOp>(l, better, a[0], a[1]),
                                                  b.create<arith::SelectOp>(l, better, c, a[2])});
        });
    auto outType = op.getType();
    auto rowId = AffineMap::getMultiDimIdentityMap(rank - 1, ctx);
    SmallVector<utils::IteratorType> countIters(rank - 1, utils::IteratorType::parallel);
    countIters.back() = utils::IteratorType::reduction;
    auto count = rw.create<linalg::GenericOp>(
        loc, TypeRange{outType}, ValueRange{argmax.getResult(1), adaptor.getLabels()},
        ValueRange{zerosOf(rw, loc, outType)},
        ArrayRef<AffineMap>{rowId, rowId, dropDim(rank - 1, rank - 2, ctx)}, countIters,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value hit = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, a[0], a[1]);
          Value one = b.create<arith::ConstantOp>(l, b.getFloatAttr(f, 1.0));
          Value zero = b.create<arith::ConstantOp>(l, b.getFloatAttr(f, 0.0));
          b.create<linalg::YieldOp>(
              l, ValueRange{b.create<arith::AddFOp>(l, a[2], b.create<arith::SelectOp>(l, hit, one, zero))});
        });
    // Count in whole numbers (exact in f32 up to 2^24), then divide once.
    Value r = elementwise(rw, loc, outType, count.getResults(),
                          [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                            Value nf = b.create<arith::ConstantOp>(l, b.getFloatAttr(f, double(n)));
                            return b.create<arith::DivFOp>(l, a[0], nf);
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
    patterns.add<ElementwisePattern<EqualOp>>(
        ctx, [](OpBuilder &b, Location l, ValueRange a, EqualOp) -> Value {
          Type t = a[0].getType();
          Value zero = b.create<arith::ConstantOp>(l, b.getFloatAttr(t, 0.0));
          Value one = b.create<arith::ConstantOp>(l, b.getFloatAttr(t, 1.0));
          Value eq = b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OEQ, a[0], a[1]);
          return b.create<arith::SelectOp>(l, eq, one, zero);
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
                 ReshapePattern, MsePattern, SoftmaxPattern<SoftmaxOp, false>,
                 SoftmaxPattern<LogSoftmaxOp, true>, OneHotPattern, SlicePattern, UnslicePattern,
                 AccuracyPattern, ReduceMaxPattern, ConcatPattern, GatherPattern,
                 ScatterAddPattern>(ctx);
    ConversionTarget target(*ctx);
    target.addIllegalDialect<LMDialect>();
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect,
                           arith::ArithDialect, math::MathDialect, func::FuncDialect,
                           scf::SCFDialect>();
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
