//===- Autodiff.cpp - Reverse-mode differentiation of lm functions --------===//
//
// For `lm.value_and_grad @f(args) {num_wrt = n}` this pass generates
// `@f_grad`: a copy of `f` followed by its reverse sweep. The sweep visits ops
// from last to first; an op whose results carry cotangents asks its
// DifferentiableOpInterface for operand cotangents, which are summed (lm.add)
// into the cotangents of values that depend on a wrt argument ("active"
// values). `@f_grad` returns f's value and the cotangents of the first n
// arguments (zeros for arguments f does not use). Functions must be a single
// block: MLIRGen has unrolled every loop and inlined every call.
//
//===----------------------------------------------------------------------===//
#include "lm/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

namespace lm {
#define GEN_PASS_DEF_LMAUTODIFF
#include "lm/Transforms/Passes.h.inc"
} // namespace lm

using namespace mlir;
using namespace lm;

namespace {

Value zerosLike(OpBuilder &b, Location loc, Type type) {
  auto t = cast<RankedTensorType>(type);
  return b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(t, b.getFloatAttr(t.getElementType(), 0.0)));
}

/// Builds `<name>_grad` for `fn` with respect to its first `numWrt` arguments.
FailureOr<func::FuncOp> buildGradient(func::FuncOp fn, int64_t numWrt,
                                      SymbolTable &symbols) {
  if (!fn.getBody().hasOneBlock())
    return fn.emitError("cannot differentiate a function with control flow");
  OpBuilder b(fn);
  FunctionType type = fn.getFunctionType();
  SmallVector<Type> results{type.getResult(0)};
  for (int64_t i = 0; i < numWrt; ++i)
    results.push_back(type.getInput(i));
  auto grad = b.create<func::FuncOp>(fn.getLoc(), (fn.getSymName() + "_grad").str(),
                                     b.getFunctionType(type.getInputs(), results));
  grad.setPrivate();
  symbols.insert(grad); // renames on collision
  IRMapping map;
  fn.getBody().cloneInto(&grad.getBody(), map);
  Block &block = grad.getBody().front();
  auto ret = cast<func::ReturnOp>(block.getTerminator());
  Value value = ret.getOperand(0);

  // Forward activity: values that depend on a wrt argument.
  llvm::DenseSet<Value> active;
  for (int64_t i = 0; i < numWrt; ++i)
    active.insert(block.getArgument(i));
  for (Operation &op : block.without_terminator())
    if (llvm::any_of(op.getOperands(), [&](Value v) { return active.count(v); }))
      for (Value r : op.getResults())
        active.insert(r);

  b.setInsertionPoint(ret);
  llvm::DenseMap<Value, Value> cot;
  auto accumulate = [&](Value v, Value ct, Location loc) {
    auto [it, inserted] = cot.try_emplace(v, ct);
    if (!inserted)
      it->second = b.create<AddOp>(loc, it->second, ct);
  };
  if (active.count(value)) {
    auto one = DenseElementsAttr::get(cast<RankedTensorType>(value.getType()),
                                      b.getFloatAttr(getElementTypeOrSelf(value), 1.0));
    cot[value] = b.create<arith::ConstantOp>(ret.getLoc(), one);
  }
  SmallVector<Operation *> forward;
  for (Operation &op : block.without_terminator())
    forward.push_back(&op);
  for (Operation *op : llvm::reverse(forward)) {
    if (llvm::none_of(op->getResults(), [&](Value r) { return cot.count(r); }))
      continue;
    auto diff = dyn_cast<DifferentiableOpInterface>(op);
    if (!diff)
      return op->emitError("cannot differentiate '")
             << op->getName() << "': it has no VJP rule";
    SmallVector<Value> resultCts;
    for (Value r : op->getResults())
      resultCts.push_back(cot.count(r) ? cot[r] : zerosLike(b, op->getLoc(), r.getType()));
    SmallVector<Value> operandCts;
    diff.buildVJP(b, resultCts, operandCts);
    assert(operandCts.size() == op->getNumOperands() && "one cotangent per operand");
    for (auto [operand, ct] : llvm::zip(op->getOperands(), operandCts))
      if (ct && active.count(operand))
        accumulate(operand, ct, op->getLoc());
  }
  SmallVector<Value> outs{value};
  for (int64_t i = 0; i < numWrt; ++i) {
    Value arg = block.getArgument(i);
    outs.push_back(cot.count(arg) ? cot[arg] : zerosLike(b, ret.getLoc(), arg.getType()));
  }
  b.create<func::ReturnOp>(ret.getLoc(), outs);
  ret.erase();
  return grad;
}

struct AutodiffPass : lm::impl::LMAutodiffBase<AutodiffPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    std::map<std::pair<std::string, int64_t>, func::FuncOp> generated;
    SmallVector<ValueAndGradOp> ops;
    module.walk([&](ValueAndGradOp op) { ops.push_back(op); });
    for (ValueAndGradOp op : ops) {
      auto key = std::make_pair(op.getCallee().str(), op.getNumWrt());
      func::FuncOp grad = generated[key];
      if (!grad) {
        auto fn = symbols.lookup<func::FuncOp>(op.getCallee());
        FailureOr<func::FuncOp> built = buildGradient(fn, op.getNumWrt(), symbols);
        if (failed(built))
          return signalPassFailure();
        grad = generated[key] = *built;
      }
      OpBuilder b(op);
      auto call = b.create<func::CallOp>(op.getLoc(), grad, op.getOperands());
      op.replaceAllUsesWith(call.getResults());
      op.erase();
    }
  }
};

} // namespace
