//===- Replicate.cpp - Batch functions over a replica dimension (vmap) ----===//
//
// An ensemble (`ensemble seed in 0..K`) trains K replicas as one program:
// MLIRGen marks the training and observation entries with `lm.replicas = K`
// and this pass rewrites each into its batched form, every argument and
// result with a leading replica dimension. The rewrite walks the body once;
// a value is "batched" when it depends on an argument. Ops with no batched
// operand are cloned as they are (constants stay small); the others get a
// batching rule below. Each rule keeps the per-replica arithmetic of the
// original op (same reduction order, same constants), so a replica computes
// what a separate run of the unbatched program computes.
//
//===----------------------------------------------------------------------===//
#include "lm/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

namespace lm {
#define GEN_PASS_DEF_LMREPLICATE
#include "lm/Transforms/Passes.h.inc"
} // namespace lm

using namespace mlir;
using namespace lm;

namespace {

RankedTensorType withReplicas(Type t, int64_t r) {
  auto rt = cast<RankedTensorType>(t);
  SmallVector<int64_t> shape{r};
  llvm::append_range(shape, rt.getShape());
  return RankedTensorType::get(shape, rt.getElementType());
}

SmallVector<int64_t> shifted(ArrayRef<int64_t> v, bool prependZero) {
  SmallVector<int64_t> out;
  if (prependZero)
    out.push_back(0);
  for (int64_t x : v)
    out.push_back(x + 1);
  return out;
}

class Replicator {
public:
  Replicator(ModuleOp module, int64_t replicas) : module(module), symbols(module), r(replicas) {}

  /// Rewrites `fn` in place into its batched form.
  LogicalResult replicateInPlace(func::FuncOp fn) {
    FailureOr<func::FuncOp> batched = build(fn, (fn.getSymName() + ".replicated").str());
    if (failed(batched))
      return failure();
    StringAttr name = fn.getSymNameAttr();
    for (NamedAttribute a : fn->getDiscardableAttrs())
      if (a.getName() != "lm.replicas")
        (*batched)->setAttr(a.getName(), a.getValue());
    (*batched)->setAttr("lm.replicated", IntegerAttr::get(IntegerType::get(fn.getContext(), 64), r));
    (*batched).setVisibility(fn.getVisibility());
    symbols.erase(fn);
    (*batched).setSymName(name);
    return success();
  }

private:
  ModuleOp module;
  SymbolTable symbols;
  int64_t r;
  llvm::DenseMap<StringAttr, func::FuncOp> callees;

  /// The batched version of a callee, built once.
  FailureOr<func::FuncOp> callee(StringAttr name, Operation *user) {
    if (auto it = callees.find(name); it != callees.end())
      return it->second;
    auto fn = symbols.lookup<func::FuncOp>(name);
    if (!fn)
      return user->emitError("cannot replicate a call of unknown function ") << name;
    llvm::DenseSet<Value> caller = std::move(batched); // building nests
    FailureOr<func::FuncOp> built = build(fn, (name.getValue() + "_x" + Twine(r)).str());
    batched = std::move(caller);
    if (failed(built))
      return failure();
    (*built).setPrivate();
    callees[name] = *built;
    return *built;
  }

  /// A new function `name`: `fn` batched over every argument.
  FailureOr<func::FuncOp> build(func::FuncOp fn, const std::string &name) {
    if (!fn.getBody().hasOneBlock())
      return fn.emitError("cannot replicate a function with control flow");
    OpBuilder b(fn);
    SmallVector<Type> inputs;
    for (Type t : fn.getArgumentTypes()) {
      if (!isa<RankedTensorType>(t))
        return fn.emitError("cannot replicate an argument of type ") << t;
      inputs.push_back(withReplicas(t, r));
    }
    auto out = b.create<func::FuncOp>(fn.getLoc(), name, b.getFunctionType(inputs, {}));
    symbols.insert(out); // renames on collision
    for (unsigned i = 0; i < fn.getNumArguments(); ++i)
      if (DictionaryAttr attrs = fn.getArgAttrDict(i))
        out.setArgAttrs(i, attrs);
    Block *block = out.addEntryBlock();
    b.setInsertionPointToStart(block);
    IRMapping map;
    batched.clear();
    for (auto [from, to] : llvm::zip(fn.getArguments(), block->getArguments())) {
      map.map(from, to);
      batched.insert(to);
    }
    for (Operation &op : fn.getBody().front()) {
      if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        SmallVector<Value> results;
        for (Value v : ret.getOperands()) {
          FailureOr<Value> lifted = lift(b, map.lookup(v), ret.getLoc());
          if (failed(lifted))
            return failure();
          results.push_back(*lifted);
        }
        b.create<func::ReturnOp>(ret.getLoc(), results);
        out.setFunctionType(b.getFunctionType(inputs, ValueRange(results).getTypes()));
        continue;
      }
      if (llvm::none_of(op.getOperands(), [&](Value v) { return batched.count(map.lookup(v)); })) {
        b.clone(op, map);
        continue;
      }
      if (failed(rewrite(b, op, map))) {
        out.erase();
        return failure();
      }
    }
    return out;
  }

  llvm::DenseSet<Value> batched;

  /// `v` with a replica dimension: itself when batched, else repeated R
  /// times (a fresh tensor.empty for an empty destination).
  FailureOr<Value> lift(OpBuilder &b, Value v, Location loc) {
    if (batched.count(v))
      return v;
    auto type = cast<RankedTensorType>(v.getType());
    Value out;
    if (v.getDefiningOp<tensor::EmptyOp>()) {
      out = b.create<tensor::EmptyOp>(loc, withReplicas(type, r).getShape(),
                                      type.getElementType());
    } else if (isa<FloatType>(type.getElementType())) {
      SmallVector<int64_t> dims;
      for (int64_t d = 0; d < type.getRank(); ++d)
        dims.push_back(d + 1);
      out = b.create<BroadcastOp>(loc, withReplicas(type, r), v, b.getDenseI64ArrayAttr(dims));
    } else {
      return emitError(loc, "cannot replicate: an integer tensor that does not depend on the "
                            "replica would have to be repeated (not supported yet)");
    }
    batched.insert(out);
    return out;
  }

  /// Marks the results of a batched op as batched.
  Operation *record(Operation *newOp) {
    for (Value v : newOp->getResults())
      batched.insert(v);
    return newOp;
  }

  /// Creates `op`'s batched form from batched (or deliberately unbatched)
  /// operands, with `attrs` and the results' types given a replica dimension.
  Operation *emit(OpBuilder &b, Operation &op, ValueRange operands, NamedAttrList attrs) {
    OperationState st(op.getLoc(), op.getName());
    st.addOperands(operands);
    for (Type t : op.getResultTypes())
      st.addTypes(withReplicas(t, r));
    st.addAttributes(attrs);
    return record(b.create(st));
  }

  LogicalResult rewrite(OpBuilder &b, Operation &op, IRMapping &map) {
    Location loc = op.getLoc();
    SmallVector<Value> ops;
    SmallVector<bool> isB;
    for (Value v : op.getOperands()) {
      ops.push_back(map.lookup(v));
      isB.push_back(batched.count(ops.back()) != 0);
    }
    auto liftAll = [&]() -> FailureOr<SmallVector<Value>> {
      SmallVector<Value> out;
      for (Value v : ops) {
        FailureOr<Value> l = lift(b, v, loc);
        if (failed(l))
          return failure();
        out.push_back(*l);
      }
      return out;
    };
    NamedAttrList attrs(op.getAttrDictionary());
    auto shiftI64 = [&](StringRef name) {
      attrs.set(name, b.getI64IntegerAttr(cast<IntegerAttr>(attrs.get(name)).getInt() + 1));
    };
    auto shiftArray = [&](StringRef name, bool prependZero) {
      attrs.set(name, b.getDenseI64ArrayAttr(
                          shifted(cast<DenseI64ArrayAttr>(attrs.get(name)).asArrayRef(),
                                  prependZero)));
    };
    auto prependTo = [&](StringRef name, int64_t first) {
      SmallVector<int64_t> v{first};
      llvm::append_range(v, cast<DenseI64ArrayAttr>(attrs.get(name)).asArrayRef());
      attrs.set(name, b.getDenseI64ArrayAttr(v));
    };
    Operation *result = nullptr;

    // Elementwise ops and shape ops whose attributes do not name axes.
    if (isa<AddOp, SubOp, MulOp, DivOp, NegOp, ExpOp, LogOp, SqrtOp, TanhOp, ReluOp, StepOp,
            PowOp, EqualOp, ReshapeOp, OneHotOp>(op)) {
      auto lifted = liftAll();
      if (failed(lifted))
        return failure();
      result = emit(b, op, *lifted, attrs);
    } else if (auto e = dyn_cast<EinsumOp>(op)) {
      // A fresh letter for the replica dimension, on batched operands only.
      SmallVector<std::string> ins;
      std::string outLetters;
      e.parseSpec(ins, outLetters);
      std::string spec = e.getSpec().str();
      char letter = 0;
      for (char c : std::string("rzyxwvutsqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA"))
        if (spec.find(c) == std::string::npos) {
          letter = c;
          break;
        }
      if (!letter)
        return op.emitError("cannot replicate an einsum that uses every letter");
      std::string newSpec;
      for (size_t i = 0; i < ins.size(); ++i) {
        if (i)
          newSpec.push_back(',');
        if (isB[i])
          newSpec.push_back(letter);
        newSpec.append(ins[i]);
      }
      newSpec.append("->");
      newSpec.push_back(letter);
      newSpec.append(outLetters);
      attrs.set("spec", b.getStringAttr(newSpec));
      result = emit(b, op, ops, attrs);
    } else if (isa<TransposeOp>(op)) {
      shiftArray("perm", true);
      result = emit(b, op, ops, attrs);
    } else if (isa<BroadcastOp>(op)) {
      shiftArray("dims", true);
      result = emit(b, op, ops, attrs);
    } else if (isa<ReduceSumOp, ReduceMaxOp>(op)) {
      shiftArray("axes", false);
      result = emit(b, op, ops, attrs);
    } else if (isa<SoftmaxOp, LogSoftmaxOp, ConcatOp>(op)) {
      auto lifted = liftAll();
      if (failed(lifted))
        return failure();
      shiftI64("axis");
      result = emit(b, op, *lifted, attrs);
    } else if (isa<SliceOp, UnsliceOp>(op)) {
      prependTo("offsets", 0);
      prependTo("strides", 1);
      result = emit(b, op, ops, attrs);
    } else if (isa<GatherOp, ScatterAddOp>(op)) {
      // Batched table and shared indices: the table's axis moves by one.
      // Batched indices: one index tensor per replica (batch_dims = 1).
      int64_t k = cast<IntegerAttr>(attrs.get("batch_dims")).getInt();
      if (k != 0)
        return op.emitError("cannot replicate a gather or scatter_add with batch_dims");
      shiftI64("axis");
      SmallVector<Value> operands = ops;
      if (isB[1]) {
        FailureOr<Value> table = lift(b, ops[0], loc);
        if (failed(table))
          return failure();
        operands[0] = *table;
        attrs.set("batch_dims", b.getI64IntegerAttr(1));
      }
      result = emit(b, op, operands, attrs);
    } else if (isa<MseOp>(op)) {
      auto lifted = liftAll();
      if (failed(lifted))
        return failure();
      shiftI64("batch_dims");
      result = emit(b, op, *lifted, attrs);
    } else if (isa<AccuracyOp>(op)) {
      if (!isB[1])
        return op.emitError("cannot replicate an accuracy whose labels do not depend on the "
                            "replica (not supported yet)");
      FailureOr<Value> logits = lift(b, ops[0], loc);
      if (failed(logits))
        return failure();
      result = emit(b, op, {*logits, ops[1]}, attrs);
    } else if (isa<ValueAndGradOp, func::CallOp>(op)) {
      auto sym = op.getAttrOfType<FlatSymbolRefAttr>("callee");
      FailureOr<func::FuncOp> fn = callee(sym.getAttr(), &op);
      if (failed(fn))
        return failure();
      auto lifted = liftAll();
      if (failed(lifted))
        return failure();
      attrs.set("callee", FlatSymbolRefAttr::get((*fn).getSymNameAttr()));
      result = emit(b, op, *lifted, attrs);
    } else if (isa<tensor::ExtractSliceOp, tensor::InsertSliceOp>(op)) {
      // The entry's flat parameter and gradient vectors: [R, P], sliced per
      // parameter with the whole replica dimension.
      auto s = cast<OffsetSizeAndStrideOpInterface>(op);
      if (!s.getOffsets().empty() || !s.getSizes().empty() || !s.getStrides().empty())
        return op.emitError("cannot replicate a slice with dynamic offsets or sizes");
      auto lifted = liftAll();
      if (failed(lifted))
        return failure();
      SmallVector<int64_t> off{0}, size{r}, stride{1};
      llvm::append_range(off, s.getStaticOffsets());
      llvm::append_range(size, s.getStaticSizes());
      llvm::append_range(stride, s.getStaticStrides());
      auto offA = b.getDenseI64ArrayAttr(off), sizeA = b.getDenseI64ArrayAttr(size),
           strideA = b.getDenseI64ArrayAttr(stride);
      if (auto ex = dyn_cast<tensor::ExtractSliceOp>(op))
        result = record(b.create<tensor::ExtractSliceOp>(
            loc, withReplicas(ex.getType(), r), (*lifted)[0], ValueRange{}, ValueRange{},
            ValueRange{}, offA, sizeA, strideA));
      else
        result = record(b.create<tensor::InsertSliceOp>(loc, (*lifted)[0], (*lifted)[1],
                                                        ValueRange{}, ValueRange{}, ValueRange{},
                                                        offA, sizeA, strideA));
    } else {
      return op.emitError("cannot replicate '")
             << op.getName() << "' over an ensemble: it has no batching rule";
    }
    for (auto [from, to] : llvm::zip(op.getResults(), result->getResults()))
      map.map(from, to);
    return success();
  }
};

struct ReplicatePass : lm::impl::LMReplicateBase<ReplicatePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<func::FuncOp, int64_t>> marked;
    for (auto fn : module.getOps<func::FuncOp>())
      if (auto attr = fn->getAttrOfType<IntegerAttr>("lm.replicas")) {
        if (attr.getInt() < 1) {
          fn.emitError("lm.replicas must be positive");
          return signalPassFailure();
        }
        marked.push_back({fn, attr.getInt()});
      }
    if (marked.empty())
      return;
    Replicator rep(module, marked.front().second);
    for (auto [fn, count] : marked) {
      if (count != marked.front().second) {
        fn.emitError("all replicated functions of a module need the same lm.replicas");
        return signalPassFailure();
      }
      if (failed(rep.replicateInPlace(fn)))
        return signalPassFailure();
    }
  }
};

} // namespace
