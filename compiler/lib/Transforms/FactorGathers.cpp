//===- FactorGathers.cpp - Contract before gathering or broadcasting ------===//
//
// Embedding lookups produce many rows from a small table: in the grokking
// transformer 3 831 x 3 token rows from a 114-row table. Projecting the
// gathered rows (x W for queries, keys, values) costs 11 493 row products;
// projecting the table and gathering the results costs 114, and the
// gradient becomes a scatter-add into the projected table. The same holds
// for a broadcast operand (positional embeddings repeated over the batch):
// contract the small tensor, then broadcast. A contraction of a sum whose
// terms are both of these kinds is distributed over the sum first.
//
// Each rewrite is exact up to float reassociation.
//
//===----------------------------------------------------------------------===//
#include "lm/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace lm {
#define GEN_PASS_DEF_LMFACTORGATHERS
#include "lm/Transforms/Passes.h.inc"
} // namespace lm

using namespace mlir;
using namespace lm;

namespace {

RankedTensorType tensorType(Value v) { return cast<RankedTensorType>(v.getType()); }

/// A letter used nowhere in `used`.
char freshLetter(StringRef used) {
  for (char c = 'a'; c <= 'z'; ++c)
    if (!used.contains(c))
      return c;
  for (char c = 'A'; c <= 'Z'; ++c)
    if (!used.contains(c))
      return c;
  return 0;
}

/// The parsed spec of a two-input einsum with the operand of interest at
/// index `which`.
struct Spec {
  std::string in[2], out;
};

std::optional<Spec> specOf(EinsumOp op) {
  if (op.getInputs().size() != 2)
    return std::nullopt;
  SmallVector<std::string> ins;
  Spec s;
  op.parseSpec(ins, s.out);
  s.in[0] = ins[0];
  s.in[1] = ins[1];
  return s;
}

/// einsum of `mine` (letters `mineLetters`) with `other`, keeping operand
/// `which`'s position, into the letters `out`; the result shape follows
/// from the letters' extents.
Value contract(PatternRewriter &rw, Location loc, int which, const std::string &mineLetters,
               Value mine, const std::string &otherLetters, Value other,
               const std::string &out, Type elem) {
  llvm::DenseMap<char, int64_t> extent;
  for (auto [letters, v] : {std::pair{mineLetters, mine}, std::pair{otherLetters, other}})
    for (auto [i, c] : llvm::enumerate(letters))
      extent[c] = tensorType(v).getDimSize(i);
  SmallVector<int64_t> shape;
  for (char c : out)
    shape.push_back(extent[c]);
  std::string spec = which == 0 ? mineLetters + "," + otherLetters : otherLetters + "," + mineLetters;
  SmallVector<Value> ins{mine, other};
  if (which == 1)
    std::swap(ins[0], ins[1]);
  return rw.create<EinsumOp>(loc, RankedTensorType::get(shape, elem),
                             rw.getStringAttr(spec + "->" + out), ins);
}

/// Whether operand `which` of `op` is a gather the einsum can be moved
/// before: its gathered (index) letters are kept in the result and absent
/// from the other operand, and the table has fewer rows than gathered.
bool pushableGather(Value v, const Spec &s, int which) {
  auto g = v.getDefiningOp<GatherOp>();
  if (!g || g.getBatchDims() != 0)
    return false;
  int64_t axis = static_cast<int64_t>(g.getAxis());
  auto idx = tensorType(g.getIndices());
  std::string letters = s.in[which], other = s.in[1 - which];
  for (int64_t d = 0; d < idx.getRank(); ++d) {
    char c = letters[axis + d];
    if (!StringRef(s.out).contains(c) || StringRef(other).contains(c))
      return false;
  }
  return tensorType(g.getInput()).getDimSize(axis) < idx.getNumElements();
}

/// Whether operand `which` is a broadcast whose new dimensions are kept in
/// the result and absent from the other operand.
bool pushableBroadcast(Value v, const Spec &s, int which) {
  auto bc = v.getDefiningOp<BroadcastOp>();
  if (!bc)
    return false;
  std::string letters = s.in[which], other = s.in[1 - which];
  bool added = false;
  for (int64_t d = 0; d < bc.getType().getRank(); ++d) {
    if (llvm::is_contained(bc.getDims(), d))
      continue;
    added = true;
    if (!StringRef(s.out).contains(letters[d]) || StringRef(other).contains(letters[d]))
      return false;
  }
  return added;
}

/// einsum(gather(T, idx, axis), W) -> transpose(gather(einsum(T, W), idx, 0)).
struct GatherFirst : OpRewritePattern<EinsumOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EinsumOp op, PatternRewriter &rw) const override {
    auto s = specOf(op);
    if (!s)
      return failure();
    for (int which = 0; which < 2; ++which) {
      Value v = op.getInputs()[which];
      if (!pushableGather(v, *s, which))
        continue;
      auto g = v.getDefiningOp<GatherOp>();
      int64_t axis = static_cast<int64_t>(g.getAxis());
      int64_t r = tensorType(g.getIndices()).getRank();
      std::string letters = s->in[which];
      std::string idxLetters = letters.substr(axis, r);
      char n = freshLetter(s->in[0] + s->in[1] + s->out);
      if (!n)
        return failure();
      // The table's letters: the gathered run replaced by n.
      std::string tableLetters = letters.substr(0, axis) + n + letters.substr(axis + r);
      // The contraction's result: n first, then the result's other letters.
      std::string rest;
      for (char c : s->out)
        if (!StringRef(idxLetters).contains(c))
          rest += c;
      Location loc = op.getLoc();
      Type elem = op.getType().getElementType();
      Value other = op.getInputs()[1 - which];
      Value projected = contract(rw, loc, which, tableLetters, g.getInput(), s->in[1 - which],
                                 other, std::string(1, n) + rest, elem);
      // Gather rows of the projected table: letters idxLetters + rest.
      SmallVector<int64_t> shape(tensorType(g.getIndices()).getShape());
      auto pt = tensorType(projected);
      shape.append(pt.getShape().begin() + 1, pt.getShape().end());
      Value gathered = rw.create<GatherOp>(loc, RankedTensorType::get(shape, elem), projected,
                                           g.getIndices(), rw.getI64IntegerAttr(0),
                                           rw.getI64IntegerAttr(0));
      std::string gatheredLetters = idxLetters + rest;
      Value result = gathered;
      if (gatheredLetters != s->out) {
        SmallVector<int64_t> perm;
        for (char c : s->out)
          perm.push_back(gatheredLetters.find(c));
        result = rw.create<TransposeOp>(loc, op.getType(), gathered,
                                        rw.getDenseI64ArrayAttr(perm));
      }
      rw.replaceOp(op, result);
      return success();
    }
    return failure();
  }
};

/// einsum(broadcast(P), W) -> broadcast(einsum(P, W)).
struct BroadcastLast : OpRewritePattern<EinsumOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EinsumOp op, PatternRewriter &rw) const override {
    auto s = specOf(op);
    if (!s)
      return failure();
    for (int which = 0; which < 2; ++which) {
      Value v = op.getInputs()[which];
      if (!pushableBroadcast(v, *s, which))
        continue;
      auto bc = v.getDefiningOp<BroadcastOp>();
      std::string letters = s->in[which], kept, added;
      for (int64_t d = 0; d < bc.getType().getRank(); ++d)
        (llvm::is_contained(bc.getDims(), d) ? kept : added) += letters[d];
      std::string smallOut;
      SmallVector<int64_t> dims;
      for (auto [i, c] : llvm::enumerate(s->out))
        if (!StringRef(added).contains(c)) {
          smallOut += c;
          dims.push_back(i);
        }
      Location loc = op.getLoc();
      Type elem = op.getType().getElementType();
      Value other = op.getInputs()[1 - which];
      Value small = contract(rw, loc, which, kept, bc.getInput(), s->in[1 - which], other,
                             smallOut, elem);
      rw.replaceOpWithNewOp<BroadcastOp>(op, op.getType(), small,
                                         rw.getDenseI64ArrayAttr(dims));
      return success();
    }
    return failure();
  }
};

/// einsum(add(X, Y), W) -> add(einsum(X, W), einsum(Y, W)) when X and Y are
/// each a pushable gather or broadcast.
struct Distribute : OpRewritePattern<EinsumOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EinsumOp op, PatternRewriter &rw) const override {
    auto s = specOf(op);
    if (!s)
      return failure();
    for (int which = 0; which < 2; ++which) {
      auto add = op.getInputs()[which].getDefiningOp<AddOp>();
      if (!add)
        continue;
      auto pushable = [&](Value t) {
        return pushableGather(t, *s, which) || pushableBroadcast(t, *s, which);
      };
      if (!pushable(add.getLhs()) || !pushable(add.getRhs()))
        continue;
      Value other = op.getInputs()[1 - which];
      auto part = [&](Value t) -> Value {
        SmallVector<Value> ins{t, other};
        if (which == 1)
          std::swap(ins[0], ins[1]);
        return rw.create<EinsumOp>(op.getLoc(), op.getType(), op.getSpecAttr(), ins);
      };
      rw.replaceOpWithNewOp<AddOp>(op, part(add.getLhs()), part(add.getRhs()));
      return success();
    }
    return failure();
  }
};

struct FactorGathers : lm::impl::LMFactorGathersBase<FactorGathers> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<GatherFirst, BroadcastLast, Distribute>(&getContext());
    // Best effort: a rewrite that did not reach a fixed point still left
    // valid IR.
    (void)applyPatternsAndFoldGreedily(getOperation(), std::move(patterns));
  }
};

} // namespace
