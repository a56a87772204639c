//===- SerializeSmallLoops.cpp - Keep only worthwhile loops parallel ------===//
//
// `convert-linalg-to-parallel-loops` makes every parallel dimension of every
// linalg op an `scf.parallel`, and `convert-scf-to-openmp` would fork threads
// for each: for a 16-element bias add the fork costs more than the loop. This
// pass serializes (scf.for) parallel loops whose work — static iteration
// count times the operations executed per iteration, nested loops included —
// is below a threshold, and parallel loops nested in other parallel loops
// or in sequential loops (one level of threads is enough on a few cores,
// and a fork per outer iteration costs more than it gains), and loops whose
// outermost dimension has a single iteration.
//
//===----------------------------------------------------------------------===//
#include "lm/Transforms/Passes.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

#include <optional>

namespace lm {
#define GEN_PASS_DEF_LMSERIALIZESMALLLOOPS
#include "lm/Transforms/Passes.h.inc"
} // namespace lm

using namespace mlir;

namespace {

std::optional<int64_t> tripCount(Value lb, Value ub, Value step) {
  auto l = getConstantIntValue(lb), u = getConstantIntValue(ub), s = getConstantIntValue(step);
  if (!l || !u || !s || *s <= 0)
    return std::nullopt;
  return *u > *l ? (*u - *l + *s - 1) / *s : 0;
}

/// Operations executed by one pass over `block`, counting nested loops'
/// bodies times their static trip counts (dynamic ones count once).
int64_t workOf(Block &block) {
  int64_t work = 0;
  for (Operation &op : block) {
    // A vector op does the work of its elements (the generated GEMM
    // kernels' 64-lane FMAs), in 16-lane units.
    int64_t inner = 1;
    for (Type t : op.getResultTypes())
      if (auto v = dyn_cast<VectorType>(t))
        inner = std::max<int64_t>(inner, v.getNumElements() / 16);
    for (Region &r : op.getRegions())
      for (Block &b : r)
        inner += workOf(b);
    int64_t times = 1;
    if (auto f = dyn_cast<scf::ForOp>(op))
      times = tripCount(f.getLowerBound(), f.getUpperBound(), f.getStep()).value_or(1);
    if (auto p = dyn_cast<scf::ParallelOp>(op))
      for (auto [l, u, s] : llvm::zip(p.getLowerBound(), p.getUpperBound(), p.getStep()))
        times *= tripCount(l, u, s).value_or(1);
    work += times * inner;
  }
  return work;
}

void serialize(scf::ParallelOp op) {
  OpBuilder b(op);
  IRMapping map;
  Block &body = *op.getBody();
  scf::buildLoopNest(b, op.getLoc(), op.getLowerBound(), op.getUpperBound(), op.getStep(),
                     [&](OpBuilder &nb, Location, ValueRange ivs) {
                       for (auto [from, to] : llvm::zip(op.getInductionVars(), ivs))
                         map.map(from, to);
                       for (Operation &inner : body.without_terminator())
                         nb.clone(inner, map);
                     });
  op.erase();
}

/// Keeps only the outermost dimension of a multi-dimensional parallel loop
/// parallel: OpenMP would collapse the dimensions into one index and recover
/// each with a division per iteration, which also stops vectorization.
void outermostOnly(scf::ParallelOp op) {
  if (op.getNumLoops() < 2)
    return;
  OpBuilder b(op);
  IRMapping map;
  Block &body = *op.getBody();
  auto outer = b.create<scf::ParallelOp>(
      op.getLoc(), op.getLowerBound().take_front(), op.getUpperBound().take_front(),
      op.getStep().take_front(), [&](OpBuilder &ob, Location loc, ValueRange outerIv) {
        map.map(op.getInductionVars()[0], outerIv[0]);
        scf::buildLoopNest(ob, loc, op.getLowerBound().drop_front(),
                           op.getUpperBound().drop_front(), op.getStep().drop_front(),
                           [&](OpBuilder &nb, Location, ValueRange ivs) {
                             for (auto [from, to] :
                                  llvm::zip(ArrayRef<Value>(op.getInductionVars()).drop_front(), ivs))
                               map.map(from, to);
                             for (Operation &inner : body.without_terminator())
                               nb.clone(inner, map);
                           });
      });
  (void)outer;
  op.erase();
}

struct SerializeSmallLoops : lm::impl::LMSerializeSmallLoopsBase<SerializeSmallLoops> {
  using LMSerializeSmallLoopsBase::LMSerializeSmallLoopsBase;
  void runOnOperation() override {
    SmallVector<scf::ParallelOp> small, kept;
    getOperation().walk([&](scf::ParallelOp op) {
      if (op.getNumReductions() != 0)
        return;
      // Inside another loop a fork would happen once per outer iteration.
      bool nested = op->getParentOfType<scf::ParallelOp>() || op->getParentOfType<scf::ForOp>();
      std::optional<int64_t> trips = 1;
      for (auto [l, u, s] : llvm::zip(op.getLowerBound(), op.getUpperBound(), op.getStep())) {
        auto t = tripCount(l, u, s);
        trips = t && trips ? std::optional<int64_t>(*trips * *t) : std::nullopt;
      }
      auto outerTrips = tripCount(op.getLowerBound()[0], op.getUpperBound()[0], op.getStep()[0]);
      if (nested || (outerTrips && *outerTrips < 2) ||
          (trips && *trips * workOf(*op.getBody()) < minWork))
        small.push_back(op);
      else
        kept.push_back(op);
    });
    // Inner loops first (walk is post-order), so cloning an outer body copies
    // already-serialized loops.
    for (scf::ParallelOp op : small)
      serialize(op);
    for (scf::ParallelOp op : kept)
      outermostOnly(op);
  }
};

} // namespace
