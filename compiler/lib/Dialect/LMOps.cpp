//===- LMOps.cpp - lm dialect: verifiers and VJP rules --------------------===//
//
// Each op's verifier and its vector-Jacobian product live here side by side,
// so an op's math is in one place. VJPs are written in lm ops (the gradient of
// an einsum is an einsum), so gradient programs go through the same pipeline.
//
//===----------------------------------------------------------------------===//
#include "lm/Dialect/LMDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/InliningUtils.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace lm;

#include "lm/Dialect/LMDialect.cpp.inc"
#include "lm/Dialect/LMInterfaces.cpp.inc"

namespace {
/// lm ops are pure tensor computations: inlining them anywhere is legal.
struct LMInlinerInterface : DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;
  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
};
} // namespace

void LMDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "lm/Dialect/LMOps.cpp.inc"
      >();
  addInterfaces<LMInlinerInterface>();
}

//===----------------------------------------------------------------------===//
// Helpers for VJP rules
//===----------------------------------------------------------------------===//

static RankedTensorType tensorType(Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// A tensor of the type of `like` filled with `value`.
static Value splat(OpBuilder &b, Location loc, Value like, double value) {
  auto type = tensorType(like);
  return b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(type, b.getFloatAttr(type.getElementType(), value)));
}

//===----------------------------------------------------------------------===//
// Elementwise VJPs
//===----------------------------------------------------------------------===//

void AddOp::buildVJP(OpBuilder &, ValueRange ct, SmallVectorImpl<Value> &out) {
  out.append({ct[0], ct[0]});
}

void SubOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  out.append({ct[0], b.create<NegOp>(getLoc(), ct[0])});
}

void MulOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  out.push_back(b.create<MulOp>(getLoc(), ct[0], getRhs()));
  out.push_back(b.create<MulOp>(getLoc(), ct[0], getLhs()));
}

// d(a/b) = da/b - a db / b^2 = da/b - (a/b) db / b
void DivOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  Location loc = getLoc();
  Value da = b.create<DivOp>(loc, ct[0], getRhs());
  Value q = b.create<DivOp>(loc, getResult(), getRhs());
  out.push_back(da);
  out.push_back(b.create<NegOp>(loc, b.create<MulOp>(loc, ct[0], q)));
}

void NegOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  out.push_back(b.create<NegOp>(getLoc(), ct[0]));
}

void ExpOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  out.push_back(b.create<MulOp>(getLoc(), ct[0], getResult()));
}

void LogOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  out.push_back(b.create<DivOp>(getLoc(), ct[0], getInput()));
}

// d sqrt(x) = dx / (2 sqrt(x))
void SqrtOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  Location loc = getLoc();
  Value twice = b.create<AddOp>(loc, getResult(), getResult());
  out.push_back(b.create<DivOp>(loc, ct[0], twice));
}

// d tanh(x) = (1 - tanh(x)^2) dx
void TanhOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  Location loc = getLoc();
  Value y = getResult();
  Value one = splat(b, loc, y, 1.0);
  Value d = b.create<SubOp>(loc, one, b.create<MulOp>(loc, y, y));
  out.push_back(b.create<MulOp>(loc, ct[0], d));
}

// d relu(x) = step(x) dx, with step(x) = step(relu(x)): the mask reads the
// output, so the pre-activation has one use and fuses into the relu.
void ReluOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  Location loc = getLoc();
  out.push_back(b.create<MulOp>(loc, ct[0], b.create<StepOp>(loc, getResult())));
}

// d x^c = c x^(c-1) dx
void PowOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  Location loc = getLoc();
  double c = getExponent().convertToDouble();
  Value d = c == 2.0 ? getInput()
                     : b.create<PowOp>(loc, getInput(), b.getF64FloatAttr(c - 1))
                           .getResult();
  Value scaled = b.create<MulOp>(loc, d, splat(b, loc, d, c));
  out.push_back(b.create<MulOp>(loc, ct[0], scaled));
}

//===----------------------------------------------------------------------===//
// EinsumOp
//===----------------------------------------------------------------------===//

void EinsumOp::parseSpec(SmallVectorImpl<std::string> &inputs, std::string &output) {
  StringRef spec = getSpec();
  auto [lhs, rhs] = spec.split("->");
  SmallVector<StringRef> parts;
  lhs.split(parts, ',');
  for (StringRef p : parts)
    inputs.push_back(p.trim().str());
  output = rhs.trim().str();
}

LogicalResult EinsumOp::verify() {
  StringRef spec = getSpec();
  if (!spec.contains("->"))
    return emitOpError("spec '") << spec << "' has no '->'";
  SmallVector<std::string> ins;
  std::string out;
  parseSpec(ins, out);
  if (ins.size() != getInputs().size())
    return emitOpError("spec names ") << ins.size() << " inputs but "
                                      << getInputs().size() << " were given";
  if (ins.empty() || ins.size() > 3)
    return emitOpError("takes one to three inputs");
  llvm::DenseMap<char, int64_t> extent;
  auto check = [&](StringRef letters, RankedTensorType type,
                   StringRef what) -> LogicalResult {
    if ((int64_t)letters.size() != type.getRank())
      return emitOpError() << what << " has rank " << type.getRank()
                           << " but the spec gives it " << letters.size()
                           << " letters ('" << letters << "')";
    for (auto [i, c] : llvm::enumerate(letters)) {
      if (!llvm::isAlpha(c))
        return emitOpError("spec letter '") << c << "' is not a letter";
      if (llvm::count(letters, c) != 1)
        return emitOpError("letter '") << c << "' repeats within one operand";
      auto [it, inserted] = extent.try_emplace(c, type.getDimSize(i));
      if (!inserted && it->second != type.getDimSize(i))
        return emitOpError("letter '")
               << c << "' has extent " << it->second << " and "
               << type.getDimSize(i);
    }
    return success();
  };
  for (auto [i, letters] : llvm::enumerate(ins))
    if (failed(check(letters, tensorType(getInputs()[i]), "input #" + std::to_string(i))))
      return failure();
  for (char c : out)
    if (!extent.count(c))
      return emitOpError("result letter '") << c << "' appears in no input";
  return check(out, getType(), "result");
}

// The cotangent of input i contracts the result cotangent with the other
// inputs: einsum("<out>,<others>-><in_i>"). Letters of input i that appear
// nowhere else (summed in the forward pass) are broadcast back.
void EinsumOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  Location loc = getLoc();
  SmallVector<std::string> ins;
  std::string res;
  parseSpec(ins, res);
  for (auto [i, letters] : llvm::enumerate(ins)) {
    std::string spec = res;
    SmallVector<Value> operands{ct[0]};
    std::string available = res;
    for (auto [j, other] : llvm::enumerate(ins)) {
      if (j == i)
        continue;
      spec += "," + other;
      available += other;
      operands.push_back(getInputs()[j]);
    }
    // Letters of input i found in no other operand are summed away in the
    // forward pass: the cotangent is constant along them.
    std::string kept, dropped;
    for (char c : letters)
      (available.find(c) != std::string::npos ? kept : dropped) += c;
    RankedTensorType inType = tensorType(getInputs()[i]);
    if (dropped.empty()) {
      out.push_back(b.create<EinsumOp>(loc, inType, b.getStringAttr(spec + "->" + letters),
                                       operands));
      continue;
    }
    SmallVector<int64_t> keptShape;
    SmallVector<int64_t> dims;
    for (auto [d, c] : llvm::enumerate(letters))
      if (kept.find(c) != std::string::npos) {
        keptShape.push_back(inType.getDimSize(d));
        dims.push_back(d);
      }
    auto keptType = RankedTensorType::get(keptShape, inType.getElementType());
    Value partial = b.create<EinsumOp>(loc, keptType, b.getStringAttr(spec + "->" + kept),
                                       operands);
    out.push_back(b.create<BroadcastOp>(loc, inType, partial, b.getDenseI64ArrayAttr(dims)));
  }
}

namespace {
/// einsum(transpose(x), ...) -> einsum(x, ...) with the letters permuted: the
/// contraction reads x in place (e.g. `x @ W.T` becomes "bk,nk->bn" on W).
struct FoldTransposeIntoEinsum : OpRewritePattern<EinsumOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EinsumOp op, PatternRewriter &rw) const override {
    SmallVector<std::string> ins;
    std::string out;
    op.parseSpec(ins, out);
    SmallVector<Value> operands(op.getInputs());
    bool changed = false;
    for (auto [i, v] : llvm::enumerate(operands)) {
      auto tr = v.getDefiningOp<TransposeOp>();
      if (!tr)
        continue;
      // Result dim j of the transpose is input dim perm[j].
      std::string letters(ins[i].size(), ' ');
      for (auto [j, p] : llvm::enumerate(tr.getPerm()))
        letters[p] = ins[i][j];
      ins[i] = letters;
      operands[i] = tr.getInput();
      changed = true;
    }
    if (!changed)
      return failure();
    std::string spec = llvm::join(ins, ",") + "->" + out;
    rw.replaceOpWithNewOp<EinsumOp>(op, op.getType(), rw.getStringAttr(spec), operands);
    return success();
  }
};
} // namespace

void EinsumOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *ctx) {
  results.add<FoldTransposeIntoEinsum>(ctx);
}

//===----------------------------------------------------------------------===//
// TransposeOp
//===----------------------------------------------------------------------===//

LogicalResult TransposeOp::verify() {
  auto in = tensorType(getInput());
  ArrayRef<int64_t> perm = getPerm();
  if ((int64_t)perm.size() != in.getRank())
    return emitOpError("permutation has ") << perm.size()
                                           << " entries for rank " << in.getRank();
  SmallVector<bool> seen(perm.size());
  for (auto [i, p] : llvm::enumerate(perm)) {
    if (p < 0 || p >= (int64_t)perm.size() || seen[p])
      return emitOpError("perm is not a permutation");
    seen[p] = true;
    if (getType().getDimSize(i) != in.getDimSize(p))
      return emitOpError("result dimension ") << i << " should be " << in.getDimSize(p);
  }
  return success();
}

void TransposeOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  ArrayRef<int64_t> perm = getPerm();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = i;
  out.push_back(b.create<TransposeOp>(getLoc(), getInput().getType(), ct[0],
                                      b.getDenseI64ArrayAttr(inverse)));
}

//===----------------------------------------------------------------------===//
// BroadcastOp
//===----------------------------------------------------------------------===//

LogicalResult BroadcastOp::verify() {
  auto in = tensorType(getInput());
  ArrayRef<int64_t> dims = getDims();
  if ((int64_t)dims.size() != in.getRank())
    return emitOpError("needs one result dimension per input dimension");
  for (auto [i, d] : llvm::enumerate(dims)) {
    if (d < 0 || d >= getType().getRank() || (i > 0 && d <= dims[i - 1]))
      return emitOpError("dims must be increasing result dimensions");
    if (getType().getDimSize(d) != in.getDimSize(i))
      return emitOpError("input dimension ")
             << i << " (" << in.getDimSize(i) << ") differs from result dimension "
             << d << " (" << getType().getDimSize(d) << ")";
  }
  return success();
}

void BroadcastOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  SmallVector<int64_t> axes;
  for (int64_t d = 0; d < getType().getRank(); ++d)
    if (!llvm::is_contained(getDims(), d))
      axes.push_back(d);
  out.push_back(b.create<ReduceSumOp>(getLoc(), getInput().getType(), ct[0],
                                      b.getDenseI64ArrayAttr(axes)));
}

//===----------------------------------------------------------------------===//
// ReduceSumOp
//===----------------------------------------------------------------------===//

/// A reduction's result is its input without the (in-range) reduced axes.
static LogicalResult verifyReduction(Operation *op, RankedTensorType in, ArrayRef<int64_t> axes,
                                     RankedTensorType result) {
  SmallVector<int64_t> expected;
  for (int64_t a : axes)
    if (a < 0 || a >= in.getRank())
      return op->emitOpError("axis ") << a << " is out of range for rank " << in.getRank();
  for (int64_t d = 0; d < in.getRank(); ++d)
    if (!llvm::is_contained(axes, d))
      expected.push_back(in.getDimSize(d));
  if (result.getShape() != ArrayRef<int64_t>(expected))
    return op->emitOpError("result shape does not match the input without the reduced axes");
  return success();
}

LogicalResult ReduceSumOp::verify() {
  return verifyReduction(*this, tensorType(getInput()), getAxes(), getType());
}

void ReduceSumOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  SmallVector<int64_t> dims;
  for (int64_t d = 0; d < tensorType(getInput()).getRank(); ++d)
    if (!llvm::is_contained(getAxes(), d))
      dims.push_back(d);
  out.push_back(b.create<BroadcastOp>(getLoc(), getInput().getType(), ct[0],
                                      b.getDenseI64ArrayAttr(dims)));
}

//===----------------------------------------------------------------------===//
// ReduceMaxOp
//===----------------------------------------------------------------------===//

LogicalResult ReduceMaxOp::verify() {
  return verifyReduction(*this, tensorType(getInput()), getAxes(), getType());
}

// dx = [x == max] * g / (number of maximal entries), broadcast back.
void ReduceMaxOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  Location loc = getLoc();
  auto inType = tensorType(getInput());
  SmallVector<int64_t> dims;
  for (int64_t d = 0; d < inType.getRank(); ++d)
    if (!llvm::is_contained(getAxes(), d))
      dims.push_back(d);
  auto dimsAttr = b.getDenseI64ArrayAttr(dims);
  Value wideMax = b.create<BroadcastOp>(loc, inType, getResult(), dimsAttr);
  Value hit = b.create<EqualOp>(loc, getInput(), wideMax);
  Value ties = b.create<ReduceSumOp>(loc, getType(), hit, getAxesAttr());
  Value share = b.create<DivOp>(loc, ct[0], ties);
  out.push_back(b.create<MulOp>(loc, hit, b.create<BroadcastOp>(loc, inType, share, dimsAttr)));
}

//===----------------------------------------------------------------------===//
// ConcatOp
//===----------------------------------------------------------------------===//

LogicalResult ConcatOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one input");
  auto rt = getType();
  int64_t axis = static_cast<int64_t>(getAxis());
  if (axis < 0 || axis >= rt.getRank())
    return emitOpError("axis ") << axis << " is out of range for rank " << rt.getRank();
  int64_t total = 0;
  for (Value v : getInputs()) {
    auto t = tensorType(v);
    if (t.getRank() != rt.getRank())
      return emitOpError("inputs must have the result's rank");
    for (int64_t d = 0; d < rt.getRank(); ++d)
      if (d != axis && t.getDimSize(d) != rt.getDimSize(d))
        return emitOpError("input dimension ") << d << " is " << t.getDimSize(d)
                                               << ", the result's is " << rt.getDimSize(d);
    total += t.getDimSize(axis);
  }
  if (total != rt.getDimSize(axis))
    return emitOpError("the inputs' extents along the axis sum to ")
           << total << ", not " << rt.getDimSize(axis);
  return success();
}

void ConcatOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  int64_t axis = static_cast<int64_t>(getAxis()), at = 0;
  int64_t rank = getType().getRank();
  for (Value v : getInputs()) {
    SmallVector<int64_t> offsets(rank, 0), strides(rank, 1);
    offsets[axis] = at;
    out.push_back(b.create<SliceOp>(getLoc(), v.getType(), ct[0],
                                    b.getDenseI64ArrayAttr(offsets),
                                    b.getDenseI64ArrayAttr(strides)));
    at += tensorType(v).getDimSize(axis);
  }
}

//===----------------------------------------------------------------------===//
// GatherOp
//===----------------------------------------------------------------------===//

/// Batch dimensions shared by a gather's (scatter_add's) table and indices.
static LogicalResult verifyBatchDims(Operation *op, RankedTensorType table,
                                     RankedTensorType idx, int64_t axis, int64_t k) {
  if (k < 0 || k > axis || k > idx.getRank())
    return op->emitOpError("batch_dims ")
           << k << " must be in 0..min(axis, rank of the indices)";
  if (table.getShape().take_front(k) != idx.getShape().take_front(k))
    return op->emitOpError("the first ") << k << " (batch) dimensions of the table and the "
                                                 "indices must agree";
  return success();
}

LogicalResult GatherOp::verify() {
  auto in = tensorType(getInput()), idx = tensorType(getIndices());
  int64_t axis = static_cast<int64_t>(getAxis());
  int64_t k = static_cast<int64_t>(getBatchDims());
  if (axis < 0 || axis >= in.getRank())
    return emitOpError("axis ") << axis << " is out of range for rank " << in.getRank();
  if (failed(verifyBatchDims(*this, in, idx, axis, k)))
    return failure();
  SmallVector<int64_t> expected(in.getShape().take_front(axis));
  llvm::append_range(expected, idx.getShape().drop_front(k));
  llvm::append_range(expected, in.getShape().drop_front(axis + 1));
  if (getType().getShape() != ArrayRef<int64_t>(expected))
    return emitOpError("result shape must be the input's with the axis replaced by the "
                       "indices' shape");
  if (in.getRank() + idx.getRank() > 25)
    return emitOpError("too many dimensions");
  return success();
}

// d input[p, n, q] = sum_{i: indices[i] == n} g[p, i, q]: a scatter-add.
// Indices get no cotangent.
void GatherOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  out.push_back(b.create<ScatterAddOp>(getLoc(), getInput().getType(), ct[0], getIndices(),
                                       getAxisAttr(), getBatchDimsAttr()));
  out.push_back(Value());
}

//===----------------------------------------------------------------------===//
// ScatterAddOp
//===----------------------------------------------------------------------===//

LogicalResult ScatterAddOp::verify() {
  auto res = getType(), idx = tensorType(getIndices()), upd = tensorType(getUpdates());
  int64_t axis = static_cast<int64_t>(getAxis());
  int64_t k = static_cast<int64_t>(getBatchDims());
  if (axis < 0 || axis >= res.getRank())
    return emitOpError("axis ") << axis << " is out of range for rank " << res.getRank();
  if (failed(verifyBatchDims(*this, res, idx, axis, k)))
    return failure();
  SmallVector<int64_t> expected(res.getShape().take_front(axis));
  llvm::append_range(expected, idx.getShape().drop_front(k));
  llvm::append_range(expected, res.getShape().drop_front(axis + 1));
  if (upd.getShape() != ArrayRef<int64_t>(expected))
    return emitOpError("updates must have the result's shape with the axis replaced by the "
                       "indices' shape");
  return success();
}

void ScatterAddOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  out.push_back(b.create<GatherOp>(getLoc(), getUpdates().getType(), ct[0], getIndices(),
                                   getAxisAttr(), getBatchDimsAttr()));
  out.push_back(Value());
}

//===----------------------------------------------------------------------===//
// ReshapeOp
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  if (tensorType(getInput()).getNumElements() != getType().getNumElements())
    return emitOpError("changes the number of elements");
  return success();
}

void ReshapeOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  out.push_back(b.create<ReshapeOp>(getLoc(), getInput().getType(), ct[0]));
}


//===----------------------------------------------------------------------===//
// Softmax family
//===----------------------------------------------------------------------===//

template <typename Op> static LogicalResult verifyAxis(Op op) {
  int64_t rank = tensorType(op.getInput()).getRank();
  int64_t axis = static_cast<int64_t>(op.getAxis());
  if (axis < 0 || axis >= rank)
    return op.emitOpError("axis ") << axis << " is out of range for rank " << rank;
  return success();
}
LogicalResult SoftmaxOp::verify() { return verifyAxis(*this); }
LogicalResult LogSoftmaxOp::verify() { return verifyAxis(*this); }

/// sum(x, axis) broadcast back over `axis`.
static Value sumAlong(OpBuilder &b, Location loc, Value x, int64_t axis) {
  auto type = tensorType(x);
  SmallVector<int64_t> shape, dims;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (d != axis) {
      shape.push_back(type.getDimSize(d));
      dims.push_back(d);
    }
  auto reducedType = RankedTensorType::get(shape, type.getElementType());
  Value s = b.create<ReduceSumOp>(loc, reducedType, x, b.getDenseI64ArrayAttr({axis}));
  return b.create<BroadcastOp>(loc, type, s, b.getDenseI64ArrayAttr(dims));
}

// y = softmax(x): dx = y * (g - sum(g * y))
void SoftmaxOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  Location loc = getLoc();
  Value y = getResult();
  Value inner = sumAlong(b, loc, b.create<MulOp>(loc, ct[0], y), getAxis());
  out.push_back(b.create<MulOp>(loc, y, b.create<SubOp>(loc, ct[0], inner)));
}

// y = log_softmax(x): dx = g - softmax(x) * sum(g)
void LogSoftmaxOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  Location loc = getLoc();
  Value p = b.create<ExpOp>(loc, getResult());
  Value total = sumAlong(b, loc, ct[0], getAxis());
  out.push_back(b.create<SubOp>(loc, ct[0], b.create<MulOp>(loc, p, total)));
}

//===----------------------------------------------------------------------===//
// OneHotOp, AccuracyOp
//===----------------------------------------------------------------------===//

LogicalResult OneHotOp::verify() {
  auto in = tensorType(getIndices());
  if (getType().getRank() != in.getRank() + 1 ||
      getType().getShape().drop_back() != in.getShape())
    return emitOpError("result must be the indices' shape plus one (depth) dimension");
  return success();
}

LogicalResult AccuracyOp::verify() {
  auto logits = tensorType(getLogits()), labels = tensorType(getLabels());
  if (logits.getRank() < 2 || labels.getRank() != logits.getRank() - 1 ||
      logits.getShape().drop_back() != labels.getShape())
    return emitOpError("expects logits [B..., N, C] and labels [B..., N], got ")
           << logits << " and " << labels;
  if (getType().getShape() != labels.getShape().drop_back())
    return emitOpError("result must have the labels' batch dimensions [B...]");
  return success();
}

//===----------------------------------------------------------------------===//
// SliceOp, UnsliceOp
//===----------------------------------------------------------------------===//

/// Checks that `part` fits into `whole` at offsets with strides.
static LogicalResult verifySlice(Operation *op, RankedTensorType whole, RankedTensorType part,
                                 ArrayRef<int64_t> offsets, ArrayRef<int64_t> strides) {
  if (whole.getRank() != part.getRank() || (int64_t)offsets.size() != whole.getRank() ||
      (int64_t)strides.size() != whole.getRank())
    return op->emitOpError("needs one offset and one stride per dimension, and equal ranks");
  for (int64_t d = 0; d < whole.getRank(); ++d) {
    if (offsets[d] < 0 || strides[d] < 1)
      return op->emitOpError("offsets must be >= 0 and strides >= 1");
    if (part.getDimSize(d) > 0 &&
        offsets[d] + (part.getDimSize(d) - 1) * strides[d] >= whole.getDimSize(d))
      return op->emitOpError("dimension ") << d << " of the slice runs past the end";
  }
  return success();
}

LogicalResult SliceOp::verify() {
  return verifySlice(*this, tensorType(getInput()), getType(), getOffsets(), getStrides());
}
LogicalResult UnsliceOp::verify() {
  return verifySlice(*this, getType(), tensorType(getInput()), getOffsets(), getStrides());
}

void SliceOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  out.push_back(b.create<UnsliceOp>(getLoc(), getInput().getType(), ct[0], getOffsetsAttr(),
                                    getStridesAttr()));
}
void UnsliceOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  out.push_back(b.create<SliceOp>(getLoc(), getInput().getType(), ct[0], getOffsetsAttr(),
                                  getStridesAttr()));
}

//===----------------------------------------------------------------------===//
// MseOp
//===----------------------------------------------------------------------===//

LogicalResult MseOp::verify() {
  if (getPrediction().getType() != getTarget().getType())
    return emitOpError("prediction and target differ in type: ")
           << getPrediction().getType() << " vs " << getTarget().getType();
  auto pred = tensorType(getPrediction());
  int64_t k = static_cast<int64_t>(getBatchDims());
  if (k < 0 || k > pred.getRank())
    return emitOpError("batch_dims ") << k << " is out of range for rank " << pred.getRank();
  if (getType().getShape() != pred.getShape().take_front(k))
    return emitOpError("result must have the prediction's first ") << k << " dimensions";
  return success();
}

// d/dpred mean((pred - y)^2) = 2 (pred - y) / N, scaled by the cotangent.
void MseOp::buildVJP(OpBuilder &b, ValueRange ct, SmallVectorImpl<Value> &out) {
  Location loc = getLoc();
  auto type = tensorType(getPrediction());
  Value diff = b.create<SubOp>(loc, getPrediction(), getTarget());
  // One mean per batch index: the cotangent keeps the batch dimensions.
  SmallVector<int64_t> batchDims;
  for (int64_t d = 0; d < static_cast<int64_t>(getBatchDims()); ++d)
    batchDims.push_back(d);
  double perMean = double(type.getNumElements()) /
                   double(std::max<int64_t>(getType().getNumElements(), 1));
  Value scale = b.create<MulOp>(loc, ct[0], splat(b, loc, ct[0], 2.0 / perMean));
  Value wide = b.create<BroadcastOp>(loc, type, scale, b.getDenseI64ArrayAttr(batchDims));
  Value dPred = b.create<MulOp>(loc, diff, wide);
  out.push_back(dPred);
  out.push_back(b.create<NegOp>(loc, dPred));
}

//===----------------------------------------------------------------------===//
// ValueAndGradOp
//===----------------------------------------------------------------------===//

LogicalResult ValueAndGradOp::verifySymbolUses(SymbolTableCollection &symbols) {
  auto fn = symbols.lookupNearestSymbolFrom<func::FuncOp>(*this, getCalleeAttr());
  if (!fn)
    return emitOpError("'") << getCallee() << "' does not name a function";
  FunctionType type = fn.getFunctionType();
  if (type.getInputs() != getOperands().getTypes())
    return emitOpError("operand types do not match '") << getCallee() << "'";
  // A replicated (ensemble) loss is one value per replica; its gradient is
  // that of the sum, which is each replica's own gradient.
  if (type.getNumResults() != 1 || !isa<RankedTensorType>(type.getResult(0)) ||
      cast<RankedTensorType>(type.getResult(0)).getRank() > 1)
    return emitOpError("'") << getCallee()
                            << "' must return one 0-d tensor (or one value per replica)";
  int64_t n = getNumWrt();
  if (n < 0 || n > (int64_t)getOperands().size())
    return emitOpError("num_wrt is out of range");
  if ((int64_t)getNumResults() != n + 1 || getResult(0).getType() != type.getResult(0))
    return emitOpError("must return the value and one gradient per wrt operand");
  for (int64_t i = 0; i < n; ++i)
    if (getResult(i + 1).getType() != getOperands()[i].getType())
      return emitOpError("gradient #") << i << " must have its operand's type";
  return success();
}

#define GET_OP_CLASSES
#include "lm/Dialect/LMOps.cpp.inc"
