//===- MLIRGen.cpp - Specialize an experiment and emit lm IR --------------===//
//
// See MLIRGen.h for the model of evaluation. Dimension legend used in comments:
// B = batch, N = split size, P = number of parameters of a model group.
//
//===----------------------------------------------------------------------===//
#include "lm/MLIRGen/MLIRGen.h"
#include "Scalar.h"
#include "lm/Dialect/LMDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <deque>
#include <set>

using namespace lm;
using namespace lm::ast;
using llvm::cast;
using llvm::dyn_cast;
using llvm::isa;
using llvm::SmallVector;
using llvm::StringRef;

namespace {

struct ModelInst;
struct ParamInst;
struct DataInst;

/// A value of the staged evaluation.
struct Value {
  enum class Kind {
    Error, None, Int, Float, Bool, Str, List, Tuple, Tensor, Param, Model,
    ModelList, Fn, Builtin, Init, Optim, Data, Split, Full, Tap
  };
  Kind kind = Kind::None;
  double num = 0; // Int, Float, Bool: the value under the current flags
  SymRef sym;     // Int, Float, Bool: symbolic over experiment flags
  std::string str; // Str; Builtin name; Init/Optim kind; Split name
  std::vector<Value> elems;    // List, Tuple; Init/Optim arguments
  std::vector<std::string> names; // Init/Optim argument names
  mlir::Value tensor;
  ParamInst *param = nullptr;
  ModelInst *model = nullptr; // Model; Fn: the bound model (null: experiment fn)
  std::vector<ModelInst *> models;
  const FnDecl *fn = nullptr;
  DataInst *data = nullptr;
  /// A vector-valued observable (thermo) names its entries.
  std::vector<std::string> columns;

  static Value error() { return make(Kind::Error); }
  static Value none() { return make(Kind::None); }
  static Value make(Kind k) {
    Value v;
    v.kind = k;
    return v;
  }
  static Value number(Kind k, double x, SymRef s = nullptr) {
    Value v = make(k);
    v.num = x;
    v.sym = s ? std::move(s) : Sym::constant(x);
    return v;
  }
  static Value integer(int64_t x) { return number(Kind::Int, double(x)); }
  static Value real(double x) { return number(Kind::Float, x); }
  static Value boolean(bool x) { return number(Kind::Bool, x ? 1 : 0); }
  static Value ofTensor(mlir::Value t) {
    Value v = make(Kind::Tensor);
    v.tensor = t;
    return v;
  }
  bool isError() const { return kind == Kind::Error; }
  bool isNumber() const {
    return kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool;
  }
};

std::string kindName(const Value &v) {
  switch (v.kind) {
  case Value::Kind::Error: return "<error>";
  case Value::Kind::None: return "nothing";
  case Value::Kind::Int: return "int";
  case Value::Kind::Float: return "f64";
  case Value::Kind::Bool: return "bool";
  case Value::Kind::Str: return "str";
  case Value::Kind::List: return "list";
  case Value::Kind::Tuple: return "tuple";
  case Value::Kind::Tensor: {
    auto t = cast<mlir::RankedTensorType>(v.tensor.getType());
    std::string s = t.getElementType().isInteger(32) ? "i32[" : "f32[";
    llvm::raw_string_ostream os(s);
    llvm::interleaveComma(t.getShape(), os);
    return os.str() + "]";
  }
  case Value::Kind::Param: return "param";
  case Value::Kind::Model: return "model";
  case Value::Kind::ModelList: return "list of models";
  case Value::Kind::Fn: return "function";
  case Value::Kind::Builtin: return "builtin function";
  case Value::Kind::Init: return "initializer";
  case Value::Kind::Optim: return "optimizer";
  case Value::Kind::Data: return "dataset";
  case Value::Kind::Split: return "data split";
  case Value::Kind::Full: return "full";
  case Value::Kind::Tap: return "tap";
  }
  return "?";
}

/// Variables of one lexical scope.
struct Scope {
  Scope *parent = nullptr;
  std::map<std::string, Value> vars;
  std::set<std::string> mutables;

  Value *find(const std::string &n) {
    for (Scope *s = this; s; s = s->parent)
      if (auto it = s->vars.find(n); it != s->vars.end())
        return &it->second;
    return nullptr;
  }
  Scope *owner(const std::string &n) {
    for (Scope *s = this; s; s = s->parent)
      if (s->vars.count(n))
        return s;
    return nullptr;
  }
};

/// An initializer: kind and (dynamic) arguments, each an index into lm_hyper.
struct InitSpec {
  std::string kind;
  std::vector<int> args;
};

struct ParamInst {
  std::string path; // "layers[0].W"
  SmallVector<int64_t> shape;
  int64_t offset = 0;
  int64_t size = 1;
  InitSpec init;
};

/// A top-level model instance and all parameters below it, which live in one
/// flat buffer at run time.
struct Group {
  std::string name;
  ModelInst *root = nullptr;
  std::vector<ParamInst *> params;
  int64_t size = 0;
  bool frozen = false;
  int seed = -1; // lm_hyper index
};

struct ModelInst {
  const ModelDecl *decl = nullptr;
  std::string path;
  Group *group = nullptr;
  Scope members;
};

struct DataInst {
  std::string task;
  Loc loc;
  llvm::json::Object desc;
  SmallVector<int64_t> xShape, yShape; // per example
  bool xInt = false, yInt = false;      // i32 tokens / labels
  int64_t nTrain = 0, nTest = 0;
  Group *teacher = nullptr;
};

/// The function being emitted.
/// What a `softmax(...) tap name` site saw in the function being emitted:
/// the raw logits, the temperature and the mask (null: none).
struct TapRecord {
  mlir::Value logits;
  double temperature = 1;
  mlir::Value mask;
};

struct FnContext {
  Group *group;
  llvm::DenseMap<ParamInst *, mlir::Value> params;
  std::map<std::pair<ModelInst *, std::string>, TapRecord> taps;
};

struct Flag {
  std::string name;
  std::string type;
  Value value;
  bool compileTime = false;
  Loc loc;
};

/// Thrown-free error propagation: every helper returns Value::error() after
/// reporting, and callers pass errors through without new messages.
#define TRY(v)                                                                 \
  if ((v).isError())                                                           \
    return Value::error();

class Generator {
public:
  /// `f32` is the experiment's float type: source-level `f32` tensors are
  /// compiled as f64 under `--dtype f64`.
  Generator(Program &prog, mlir::MLIRContext &ctx, bool useF64)
      : prog(prog), diag(prog.getDiag()), ctx(ctx), b(&ctx) {
    f32 = useF64 ? mlir::Type(b.getF64Type()) : mlir::Type(b.getF32Type());
  }

  std::optional<GeneratedExperiment> run(const GenOptions &opts);

private:
  //===--------------------------------------------------------------------===//
  // Diagnostics
  //===--------------------------------------------------------------------===//
  Value fail(Loc loc, const llvm::Twine &msg, const llvm::Twine &hint = "") {
    diag.error(loc, msg, hint);
    return Value::error();
  }

  mlir::Location mloc(Loc loc) {
    if (!loc.isValid())
      return b.getUnknownLoc();
    auto &sm = diag.getSourceMgr();
    unsigned id = sm.FindBufferContainingLoc(loc);
    auto [line, col] = sm.getLineAndColumn(loc, id);
    return mlir::FileLineColLoc::get(
        &ctx, sm.getMemoryBuffer(id)->getBufferIdentifier(), line, col);
  }

  //===--------------------------------------------------------------------===//
  // Numbers and flags
  //===--------------------------------------------------------------------===//

  /// Marks every flag `v` depends on as compile-time.
  void markStatic(const Value &v) {
    if (!v.sym)
      return;
    SmallVector<int> deps;
    v.sym->collectFlags(deps);
    for (int f : deps)
      flags[f].compileTime = true;
  }

  std::optional<int64_t> staticInt(const Value &v, Loc loc, StringRef what) {
    if (v.isError())
      return std::nullopt;
    if (v.kind != Value::Kind::Int) {
      fail(loc, what + " must be an int, not " + kindName(v));
      return std::nullopt;
    }
    markStatic(v);
    return int64_t(v.num);
  }

  std::optional<double> staticNumber(const Value &v, Loc loc, StringRef what) {
    if (v.isError())
      return std::nullopt;
    if (!v.isNumber()) {
      fail(loc, what + " must be a number, not " + kindName(v));
      return std::nullopt;
    }
    markStatic(v);
    return v.num;
  }

  std::optional<bool> staticBool(const Value &v, Loc loc, StringRef what) {
    if (v.isError())
      return std::nullopt;
    if (v.kind != Value::Kind::Bool) {
      fail(loc, what + " must be a bool, not " + kindName(v));
      return std::nullopt;
    }
    markStatic(v);
    return v.num != 0;
  }

  /// Registers a run-time scalar computed by lm_hyper; returns its index.
  int dynamic(const Value &v, const std::string &name) {
    hyper.emplace_back(name, v.sym ? v.sym : Sym::constant(v.num));
    return int(hyper.size() - 1);
  }

  std::optional<int> dynamicNumber(const Value &v, Loc loc, const std::string &name) {
    if (v.isError())
      return std::nullopt;
    if (!v.isNumber()) {
      fail(loc, "'" + name + "' must be a number, not " + kindName(v));
      return std::nullopt;
    }
    return dynamic(v, name);
  }

  //===--------------------------------------------------------------------===//
  // Evaluation
  //===--------------------------------------------------------------------===//
  Value eval(const Expr *e, Scope &scope);
  Value evalName(const NameExpr *e, Scope &scope);
  Value evalMember(const MemberExpr *e, Scope &scope);
  Value evalCall(const CallExpr *e, Scope &scope);
  Value evalIndex(const IndexExpr *e, Scope &scope);
  Value evalUnary(const UnaryExpr *e, Scope &scope);
  Value evalBinary(const BinaryExpr *e, Scope &scope);
  Value numberOp(Sym::Op op, const Value &a, const Value &c, Loc loc);
  /// Calls a model, function or builtin; `preset` (if given) are argument
  /// values already evaluated, used instead of `args`.
  Value callValue(const Value &callee, const std::vector<Arg> &args, Scope &scope, Loc loc,
                  std::optional<std::vector<Value>> preset = std::nullopt);
  Value callFunction(const FnDecl &fn, ModelInst *self, std::vector<Value> args,
                     Loc loc);
  Value callBuiltin(const std::string &name, const std::vector<Arg> &args,
                    Scope &scope, Loc loc);
  bool execBlock(const std::vector<StmtPtr> &body, Scope &scope, Value &result,
                 bool &returned);
  /// Binds call arguments (positional, then named) to `names`; `defaults`
  /// holds Kind::Error for required arguments.
  std::optional<std::vector<Value>>
  bindArgs(const std::vector<Arg> &args, Scope &scope, Loc loc, StringRef callee,
           llvm::ArrayRef<std::string> names, std::vector<Value> defaults,
           std::vector<bool> *givenOut = nullptr);

  Value materialize(Value v, Loc loc);

  //===--------------------------------------------------------------------===//
  // Models
  //===--------------------------------------------------------------------===//
  Value instantiate(const ModelDecl &decl, const std::vector<Arg> &args,
                    Scope &callerScope, Loc loc, const std::string &path,
                    Group *group);
  Value instantiateBody(const ModelDecl &decl, const std::vector<Arg> &args,
                        Scope &callerScope, Loc loc, const std::string &path, Group *group);
  bool checkHParamType(const HParam &h, const Value &v, Loc loc);
  bool checkTensorType(const TypeRef &t, const Value &v, Scope &scope,
                       Loc loc, StringRef what);

  //===--------------------------------------------------------------------===//
  // Tensors
  //===--------------------------------------------------------------------===//
  bool inFunction(Loc loc) {
    if (cur)
      return true;
    fail(loc, "tensor computations are only allowed inside functions");
    return false;
  }
  mlir::RankedTensorType ttype(llvm::ArrayRef<int64_t> shape) {
    return mlir::RankedTensorType::get(shape, f32);
  }
  mlir::RankedTensorType itype(llvm::ArrayRef<int64_t> shape) {
    return mlir::RankedTensorType::get(shape, b.getI32Type());
  }
  /// The type of `n` examples of per-example shape `perExample`.
  mlir::RankedTensorType dataType(llvm::ArrayRef<int64_t> perExample, bool isInt, int64_t n) {
    SmallVector<int64_t> s{n};
    s.append(perExample.begin(), perExample.end());
    return isInt ? itype(s) : ttype(s);
  }
  static bool isIntTensor(const Value &v) {
    return v.kind == Value::Kind::Tensor &&
           cast<mlir::RankedTensorType>(v.tensor.getType()).getElementType().isInteger(32);
  }
  /// A float tensor argument of a builtin, or an error.
  bool needFloat(const Value &v, Loc loc, StringRef what) {
    if (v.kind == Value::Kind::Tensor && !isIntTensor(v))
      return true;
    fail(loc, what + " needs a float tensor, not " + kindName(v));
    return false;
  }
  /// A normalized axis (negative counts from the end), or an error.
  std::optional<int64_t> axisOf(const Value &axis, int64_t rank, Loc loc) {
    auto a = staticInt(axis, loc, "an axis");
    if (!a)
      return std::nullopt;
    int64_t k = *a < 0 ? *a + rank : *a;
    if (k < 0 || k >= rank) {
      fail(loc, "axis " + llvm::Twine(*a) + " is out of range for rank " + llvm::Twine(rank));
      return std::nullopt;
    }
    return k;
  }
  Value sliceTensor(const Value &base, const std::vector<Slice> &slices, Scope &scope, Loc loc);
  Value thermo(const TapRecord &tap, Loc loc);
  /// A specification of named numbers (an initializer, optimizer or
  /// schedule): `kind` named `name` with arguments `names` = `values`, each of
  /// which must be a number.
  Value numberSpec(Value::Kind kind, const std::string &name, std::vector<std::string> names,
                   std::vector<Value> values, Loc loc) {
    for (auto [i, x] : llvm::enumerate(values))
      if (!x.isNumber())
        return fail(loc, name + ": '" + names[i] + "' must be a number, not " + kindName(x));
    Value v = Value::make(kind);
    v.str = name;
    v.names = std::move(names);
    v.elems = std::move(values);
    return v;
  }
  static llvm::ArrayRef<int64_t> shapeOf(mlir::Value v) {
    return cast<mlir::RankedTensorType>(v.getType()).getShape();
  }
  std::string shapeStr(llvm::ArrayRef<int64_t> s) {
    std::string out = "[";
    llvm::raw_string_ostream os(out);
    llvm::interleaveComma(s, os);
    return os.str() + "]";
  }
  Value toTensor(const Value &v, Loc loc);
  mlir::Value broadcastTo(mlir::Value v, llvm::ArrayRef<int64_t> shape, Loc loc);
  Value elementwise(StringRef op, const Value &a, const Value &c, Loc loc);
  Value unaryTensor(StringRef op, const Value &a, Loc loc);
  Value matmul(const Value &a, const Value &c, Loc loc);
  Value reduce(const Value &x, const Value *axis, bool mean, Loc loc);
  /// With `keepdims` true, reshapes the reduction `r` of `x` so that the
  /// reduced axes stay as size-1 dimensions (NumPy's keepdims).
  Value keepDims(const Value &r, const Value &x, const Value *axis, const Value &keepdims,
                 Loc loc) {
    TRY(r);
    auto keep = staticBool(keepdims, loc, "keepdims");
    if (!keep)
      return Value::error();
    if (!*keep)
      return r;
    SmallVector<int64_t> shape(shapeOf(x.tensor));
    auto axes = reduceAxes(shape, axis, loc);
    if (!axes)
      return Value::error();
    for (int64_t d : *axes)
      shape[d] = 1;
    return Value::ofTensor(b.create<ReshapeOp>(mloc(loc), ttype(shape), r.tensor));
  }
  /// The sorted, normalized axes `axis` names for shape `s` (all if none).
  std::optional<SmallVector<int64_t>> reduceAxes(llvm::ArrayRef<int64_t> s, const Value *axis,
                                                 Loc loc);
  Value einsum(const std::string &spec, std::vector<Value> inputs, Loc loc);
  Value transposeAll(const Value &x, Loc loc);

  //===--------------------------------------------------------------------===//
  // Experiment
  //===--------------------------------------------------------------------===//
  bool setupFlags(const ExperimentDecl &exp, const GenOptions &opts);
  bool elaborateExperiment(const ExperimentDecl &exp);
  Value instantiateGroup(const std::string &name, const Expr *value, Loc loc);
  Value makeTask(const std::string &name, const std::vector<Arg> &args,
                 Scope &scope, Loc loc);
  bool emitTrain(const TrainBlock &t);
  bool setupEnsemble(const Setting &s);
  bool emitObserve(const ObserveBlock &o);
  std::optional<llvm::json::Value> expectTree(const Expr *e);
  /// Every metrics.csv column an observation records (for `expect`).
  std::set<std::string> observedColumns;
  /// Emits `@name(group params..., data...) -> results` with `body` building
  /// the results; returns null after errors.
  mlir::func::FuncOp
  emitFunction(const std::string &name, Group &g,
               llvm::ArrayRef<mlir::Type> dataTypes,
               const std::function<std::optional<SmallVector<mlir::Value>>(
                   llvm::ArrayRef<mlir::Value>)> &body);
  /// Emits the flat-buffer entry point `entry` around `inner`.
  void emitEntry(const std::string &entry, mlir::func::FuncOp inner, Group &g,
                 bool withGrad);
  void emitHyper();
  void layoutGroup(Group &g);
  llvm::json::Value groupJson(const Group &g);

  Program &prog;
  DiagEngine &diag;
  mlir::MLIRContext &ctx;
  mlir::OpBuilder b;
  mlir::Type f32;
  mlir::ModuleOp module;

  std::vector<Flag> flags;
  std::vector<std::pair<std::string, SymRef>> hyper;
  std::deque<ModelInst> instances;
  std::deque<ParamInst> paramInsts;
  std::deque<Group> groups;
  std::deque<DataInst> datasets;
  Scope expScope;
  FnContext *cur = nullptr;
  /// Set while evaluating a tapped softmax: the tap's name.
  const std::string *pendingTap = nullptr;
  /// The model whose function is being evaluated (taps belong to it).
  ModelInst *currentSelf = nullptr;
  int callDepth = 0;
  int instDepth = 0;
  int seedFlag = -1;
  /// `ensemble <flag> in lo..lo+count`: the flag's index (-1: no ensemble).
  struct Ensemble {
    int flag = -1;
    int64_t from = 0, count = 0;
    Loc loc;
  } ensemble;
  std::vector<std::string> entries;
  llvm::json::Object desc;
  Group *trained = nullptr;
  DataInst *trainData = nullptr;
};

//===----------------------------------------------------------------------===//
// Builtins
//===----------------------------------------------------------------------===//

const char *const kTensorUnary[] = {"relu", "tanh", "exp", "log", "sqrt"};
const char *const kBuiltins[] = {
    "relu", "tanh", "exp", "log", "sqrt", "sum", "mean", "mse", "einsum",
    "len", "min", "max", "abs", "normal", "uniform", "zeros", "ones",
    "constant", "sgd", "gd", "adam", "adamw", "gaussian", "linear_map", "modular",
    "full", "float", "int", "softmax", "log_softmax", "cross_entropy", "accuracy",
    "sigmoid", "gelu", "var", "one_hot", "causal_tril", "reshape", "thermo", "linspace",
    "warmup", "cosine", "parity", "concat", "gather"};
const char *const kNotYet[] = {
    "norm", "grad_norm", "sharpness", "hessian_trace",
    "sgd_temperature", "grad_noise_scale", "ntk_spectrum", "effective_rank",
    "svd_modes", "fourier_norms", "llc", "power_law_regression", "csv",
    "npy", "embed", "where", "first", "last", "argmax",
    "step_of", "logspace"};

bool isBuiltin(StringRef n) { return llvm::is_contained(kBuiltins, n); }

/// Whether `e` (or an expression inside it) is `... tap name`.
bool containsTap(const Expr *e, StringRef name) {
  if (!e)
    return false;
  if (auto *t = dyn_cast<TapExpr>(e))
    return t->name == name || containsTap(t->value.get(), name);
  if (auto *b = dyn_cast<BinaryExpr>(e))
    return containsTap(b->lhs.get(), name) || containsTap(b->rhs.get(), name);
  if (auto *u = dyn_cast<UnaryExpr>(e))
    return containsTap(u->operand.get(), name);
  if (auto *c = dyn_cast<CallExpr>(e))
    return llvm::any_of(c->args, [&](const Arg &a) { return containsTap(a.value.get(), name); });
  if (auto *c = dyn_cast<CondExpr>(e))
    return containsTap(c->then.get(), name) || containsTap(c->otherwise.get(), name);
  if (auto *i = dyn_cast<IndexExpr>(e))
    return containsTap(i->base.get(), name);
  if (auto *m = dyn_cast<MemberExpr>(e))
    return containsTap(m->base.get(), name);
  return false;
}

bool containsTap(const std::vector<StmtPtr> &body, StringRef name) {
  for (const StmtPtr &s : body) {
    if (auto *b = dyn_cast<BindStmt>(s.get()); b && containsTap(b->value.get(), name))
      return true;
    if (auto *r = dyn_cast<ReturnStmt>(s.get()); r && containsTap(r->value.get(), name))
      return true;
    if (auto *f = dyn_cast<ForStmt>(s.get()); f && containsTap(f->body, name))
      return true;
  }
  return false;
}

/// Whether a function of model `decl` names a tap `name`.
bool declaresTap(const ModelDecl &decl, StringRef name) {
  for (const ModelItem &it : decl.items)
    if (it.kind == ModelItem::Kind::Fn && containsTap(it.fn->body, name))
      return true;
  return false;
}

std::string closestName(StringRef n, llvm::ArrayRef<std::string> candidates) {
  // Short names only tolerate one typo, so "Mlp" is not taken for "exp".
  std::string best;
  unsigned limit = n.size() <= 3 ? 1 : 2, bestDist = limit + 1;
  for (const std::string &c : candidates) {
    unsigned d = n.edit_distance(c, true, limit + 1);
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return best;
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

Value Generator::eval(const Expr *e, Scope &scope) {
  switch (e->getKind()) {
  case Expr::Kind::Int: {
    int64_t v = cast<IntExpr>(e)->value;
    if (v == INT64_MIN)
      return fail(e->getLoc(), "integer literal is too large",
                  "integers are 64-bit; write a float (e.g. 1e30) for huge values");
    return Value::integer(v);
  }
  case Expr::Kind::Float: {
    double v = cast<FloatExpr>(e)->value;
    if (!std::isfinite(v))
      return fail(e->getLoc(), "number literal is out of range for f64");
    return Value::real(v);
  }
  case Expr::Kind::String: {
    Value v = Value::make(Value::Kind::Str);
    v.str = cast<StringExpr>(e)->value;
    return v;
  }
  case Expr::Kind::Bool:
    return Value::boolean(cast<BoolExpr>(e)->value);
  case Expr::Kind::Name:
    return evalName(cast<NameExpr>(e), scope);
  case Expr::Kind::Member:
    return evalMember(cast<MemberExpr>(e), scope);
  case Expr::Kind::Call:
    return evalCall(cast<CallExpr>(e), scope);
  case Expr::Kind::Index:
    return evalIndex(cast<IndexExpr>(e), scope);
  case Expr::Kind::Unary:
    return evalUnary(cast<UnaryExpr>(e), scope);
  case Expr::Kind::Binary:
    return evalBinary(cast<BinaryExpr>(e), scope);
  case Expr::Kind::Range: {
    auto *r = cast<RangeExpr>(e);
    Value lo = eval(r->lo.get(), scope), hi = eval(r->hi.get(), scope);
    TRY(lo);
    TRY(hi);
    auto l = staticInt(lo, r->lo->getLoc(), "a range bound");
    auto h = staticInt(hi, r->hi->getLoc(), "a range bound");
    if (!l || !h)
      return Value::error();
    if (*h - *l > 1000000)
      return fail(e->getLoc(), "range is too long (" + llvm::Twine(*h - *l) + " elements)");
    Value list = Value::make(Value::Kind::List);
    for (int64_t i = *l; i < *h; ++i)
      list.elems.push_back(Value::integer(i));
    return list;
  }
  case Expr::Kind::Cond: {
    auto *c = cast<CondExpr>(e);
    Value cond = eval(c->cond.get(), scope);
    TRY(cond);
    if (cond.kind == Value::Kind::Bool && cond.sym->op != Sym::Op::Const &&
        !cur) {
      // A run-time condition on plain numbers stays symbolic.
      Value t = eval(c->then.get(), scope);
      TRY(t);
      Value f = c->otherwise ? eval(c->otherwise.get(), scope) : Value::none();
      TRY(f);
      if (t.isNumber() && f.isNumber()) {
        Value::Kind k = t.kind == Value::Kind::Float || f.kind == Value::Kind::Float
                            ? Value::Kind::Float
                            : t.kind;
        return Value::number(k, cond.num ? t.num : f.num,
                             Sym::select(cond.sym, t.sym, f.sym));
      }
    }
    auto cv = staticBool(cond, c->cond->getLoc(), "the condition of `if`");
    if (!cv)
      return Value::error();
    if (*cv)
      return eval(c->then.get(), scope);
    return c->otherwise ? eval(c->otherwise.get(), scope) : Value::none();
  }
  case Expr::Kind::Tap: {
    // Only softmax sites are tapped: record what thermo() needs, then
    // compute the softmax as usual.
    auto *t = cast<TapExpr>(e);
    auto *call = dyn_cast<CallExpr>(t->value.get());
    auto *callee = call ? dyn_cast<NameExpr>(call->callee.get()) : nullptr;
    if (!callee || callee->name != "softmax" || scope.find("softmax"))
      return fail(e->getLoc(), "only a softmax(...) call can be tapped",
                  "write `softmax(logits, ...) tap name`");
    pendingTap = &t->name;
    Value v = callBuiltin("softmax", call->args, scope, call->getLoc());
    pendingTap = nullptr;
    return v;
  }
  case Expr::Kind::Tuple:
  case Expr::Kind::List: {
    bool tuple = e->getKind() == Expr::Kind::Tuple;
    const auto &elems = tuple ? cast<TupleExpr>(e)->elems : cast<ListExpr>(e)->elems;
    Value v = Value::make(tuple ? Value::Kind::Tuple : Value::Kind::List);
    for (const ExprPtr &x : elems) {
      Value ev = eval(x.get(), scope);
      TRY(ev);
      v.elems.push_back(ev);
    }
    return v;
  }
  }
  return Value::error();
}

Value Generator::materialize(Value v, Loc loc) {
  if (v.kind != Value::Kind::Param)
    return v;
  if (!cur)
    return v;
  auto it = cur->params.find(v.param);
  if (it == cur->params.end())
    return fail(loc, "parameter '" + v.param->path +
                         "' belongs to a model that is not the one being trained",
                "functions compiled here read the trained model's parameters only; "
                "using other models inside them is not supported yet");
  return Value::ofTensor(it->second);
}

/// Enumeration constants of task arguments (`op: add`, `split: unordered`).
const char *const kSymbols[] = {"add", "sub", "mul", "div", "ordered", "unordered"};

Value Generator::evalName(const NameExpr *e, Scope &scope) {
  if (Value *v = scope.find(e->name))
    return materialize(*v, e->getLoc());
  if (llvm::is_contained(kSymbols, e->name)) {
    Value v = Value::make(Value::Kind::Str);
    v.str = e->name;
    return v;
  }
  if (isBuiltin(e->name)) {
    Value v = Value::make(e->name == "full" ? Value::Kind::Full : Value::Kind::Builtin);
    v.str = e->name;
    return v;
  }
  if (llvm::is_contained(kNotYet, e->name))
    return fail(e->getLoc(), "'" + e->name + "' is not supported yet");
  if (prog.findModel(e->name)) {
    Value v = Value::make(Value::Kind::Builtin);
    v.str = e->name; // a model type, instantiated by a call
    return v;
  }
  std::vector<std::string> cands;
  for (Scope *s = &scope; s; s = s->parent)
    for (const auto &[n, _] : s->vars)
      cands.push_back(n);
  for (const char *bname : kBuiltins)
    cands.push_back(bname);
  std::string near = closestName(e->name, cands);
  if (near.empty() && llvm::isUpper(e->name[0]))
    return fail(e->getLoc(), "unknown name '" + e->name + "'",
                "models come from imports: is `import std.nn` (or a file) missing?");
  return fail(e->getLoc(), "unknown name '" + e->name + "'",
              near.empty() ? "" : "did you mean '" + near + "'?");
}

Value Generator::evalMember(const MemberExpr *e, Scope &scope) {
  Value base = eval(e->base.get(), scope);
  TRY(base);
  const std::string &m = e->member;
  switch (base.kind) {
  case Value::Kind::Tensor:
    if (m == "T")
      return transposeAll(base, e->memberLoc);
    if (m == "shape") {
      Value t = Value::make(Value::Kind::Tuple);
      for (int64_t d : shapeOf(base.tensor))
        t.elems.push_back(Value::integer(d));
      return t;
    }
    return fail(e->memberLoc, "a tensor has no member '" + m + "'",
                "tensors have .T and .shape");
  case Value::Kind::Model: {
    if (Value *v = base.model->members.find(m))
      return materialize(*v, e->memberLoc);
    if (declaresTap(*base.model->decl, m)) {
      Value t = Value::make(Value::Kind::Tap);
      t.model = base.model;
      t.str = m;
      return t;
    }
    std::vector<std::string> cands;
    for (const auto &[n, _] : base.model->members.vars)
      cands.push_back(n);
    std::string near = closestName(m, cands);
    return fail(e->memberLoc,
                "model '" + base.model->decl->name + "' has no member '" + m + "'",
                near.empty() ? "" : "did you mean '" + near + "'?");
  }
  case Value::Kind::Data:
    if (m == "train" || m == "test") {
      Value s = Value::make(Value::Kind::Split);
      s.data = base.data;
      s.str = m;
      return s;
    }
    return fail(e->memberLoc, "a dataset has splits 'train' and 'test', not '" + m + "'");
  default:
    return fail(e->memberLoc, "a value of type " + kindName(base) +
                                  " has no member '" + m + "'");
  }
}

Value Generator::evalIndex(const IndexExpr *e, Scope &scope) {
  Value base = eval(e->base.get(), scope);
  TRY(base);
  if (base.kind == Value::Kind::Tensor)
    return sliceTensor(base, e->slices, scope, e->getLoc());
  if (e->slices.size() != 1 || e->slices[0].isRange)
    return fail(e->getLoc(), "lists take one index");
  size_t n = base.kind == Value::Kind::ModelList ? base.models.size() : base.elems.size();
  if (base.kind != Value::Kind::List && base.kind != Value::Kind::Tuple &&
      base.kind != Value::Kind::ModelList)
    return fail(e->getLoc(), "a value of type " + kindName(base) + " cannot be indexed");
  Value idx = eval(e->slices[0].index.get(), scope);
  TRY(idx);
  auto i = staticInt(idx, e->slices[0].loc, "an index");
  if (!i)
    return Value::error();
  int64_t k = *i < 0 ? *i + int64_t(n) : *i;
  if (k < 0 || k >= int64_t(n))
    return fail(e->slices[0].loc, "index " + llvm::Twine(*i) +
                                      " is out of range for a list of " +
                                      llvm::Twine(n) + " elements");
  if (base.kind == Value::Kind::ModelList) {
    Value v = Value::make(Value::Kind::Model);
    v.model = base.models[k];
    return v;
  }
  return base.elems[k];
}

/// The thermodynamics of a softmax over keys (LANGUAGE.md section 6). With
/// l = logits / T (the temperature) and E = -logits per key, over unmasked
/// keys: log p = log_softmax(l), A = sum p l, S = -sum p log p,
/// log Z = S + A, F = -T log Z, U = -T A, C = Var_p(E) / T^2 = sum p l^2 - A^2.
/// Each is averaged over examples and queries per head, then over heads;
/// `.var` is the variance across examples of the per-example mean.
/// Result: [F.h0.., F, F.var, U.., S.., C..] as one f32 vector.
Value Generator::thermo(const TapRecord &tap, Loc loc) {
  mlir::Location ml = mloc(loc);
  llvm::ArrayRef<int64_t> shape = shapeOf(tap.logits);
  if (shape.size() != 4 && shape.size() != 3)
    return fail(loc, "thermo expects logits [B, heads, queries, keys] or [B, queries, keys], "
                     "got " + shapeStr(shape));
  Value raw = Value::ofTensor(tap.logits);
  if (shape.size() == 3) // one head
    raw = Value::ofTensor(b.create<ReshapeOp>(
        ml, ttype({shape[0], 1, shape[1], shape[2]}), tap.logits));
  int64_t heads = shapeOf(raw.tensor)[1];
  double T = tap.temperature;
  Value l = elementwise("div", raw, Value::real(T), loc);
  Value shifted = l, lz = l;
  if (tap.mask) {
    Value mask = Value::ofTensor(tap.mask);
    Value bias = elementwise("mul", elementwise("sub", mask, Value::real(1), loc),
                             Value::real(1e30), loc);
    shifted = elementwise("add", l, bias, loc);
    lz = elementwise("mul", l, mask, loc); // masked keys: l = 0, p = 0
  }
  TRY(shifted);
  TRY(lz);
  Value logp = Value::ofTensor(b.create<LogSoftmaxOp>(ml, shifted.tensor, 3));
  Value p = unaryTensor("exp", logp, loc);
  Value last = Value::integer(-1);
  auto sumKeys = [&](const Value &v) { return reduce(v, &last, false, loc); };
  Value pl = elementwise("mul", p, lz, loc);
  Value A = sumKeys(pl);
  Value Bm = sumKeys(elementwise("mul", pl, lz, loc));
  Value S = unaryTensor("neg", sumKeys(elementwise("mul", p, logp, loc)), loc);
  TRY(A);
  TRY(Bm);
  TRY(S);
  Value logZ = elementwise("add", S, A, loc);
  Value F = elementwise("mul", logZ, Value::real(-T), loc);
  Value U = elementwise("mul", A, Value::real(-T), loc);
  Value C = elementwise("sub", Bm, elementwise("mul", A, A, loc), loc);
  TRY(F);
  TRY(U);
  TRY(C);
  int64_t width = 4 * (heads + 2);
  Value result = Value::ofTensor(b.create<mlir::arith::ConstantOp>(
      ml, mlir::DenseElementsAttr::get(ttype({width}), b.getFloatAttr(f32, 0.0))));
  Value perHeadAxes = Value::make(Value::Kind::Tuple);
  perHeadAxes.elems = {Value::integer(0), Value::integer(2)};
  Value perExampleAxes = Value::make(Value::Kind::Tuple);
  perExampleAxes.elems = {Value::integer(1), Value::integer(2)};
  int64_t offset = 0;
  std::vector<std::string> columns;
  const std::pair<const char *, Value> quantities[] = {{"F", F}, {"U", U}, {"S", S}, {"C", C}};
  for (const auto &[qname, q] : quantities) {
    Value perHead = reduce(q, &perHeadAxes, true, loc);          // [H]
    Value mean = reduce(perHead, nullptr, true, loc);             // []
    Value perExample = reduce(q, &perExampleAxes, true, loc);    // [B]
    TRY(perHead);
    TRY(mean);
    TRY(perExample);
    Value dev = elementwise("sub", perExample, mean, loc);
    Value var = reduce(elementwise("mul", dev, dev, loc), nullptr, true, loc);
    TRY(var);
    // Scatter a piece into `result` through a constant selection matrix:
    // result += piece @ E with E[i, offset + i] = 1.
    auto place = [&](mlir::Value piece, int64_t size) {
      if (shapeOf(piece).empty())
        piece = b.create<ReshapeOp>(ml, ttype({1}), piece);
      SmallVector<mlir::Attribute> sel;
      for (int64_t i = 0; i < size; ++i)
        for (int64_t w = 0; w < width; ++w)
          sel.push_back(b.getFloatAttr(f32, w == offset + i ? 1.0 : 0.0));
      mlir::Value e = b.create<mlir::arith::ConstantOp>(
          ml, mlir::DenseElementsAttr::get(ttype({size, width}), sel));
      mlir::Value wide = b.create<EinsumOp>(ml, ttype({width}), b.getStringAttr("i,iw->w"),
                                            mlir::ValueRange{piece, e});
      result = Value::ofTensor(b.create<AddOp>(ml, result.tensor, wide));
      offset += size;
    };
    place(perHead.tensor, heads);
    place(mean.tensor, 1);
    place(var.tensor, 1);
    for (int64_t h = 0; h < heads; ++h)
      columns.push_back(std::string(qname) + ".h" + std::to_string(h));
    columns.push_back(qname);
    columns.push_back(std::string(qname) + ".var");
  }
  result.columns = std::move(columns);
  result.num = T; // the runtime needs T for Var_window(U) / T^2
  return result;
}

/// `x[i, lo:hi, :]`: static offsets and sizes; an integer index drops its
/// dimension. Negative indices and bounds count from the end, as in NumPy.
Value Generator::sliceTensor(const Value &base, const std::vector<Slice> &slices, Scope &scope,
                             Loc loc) {
  if (base.kind != Value::Kind::Tensor)
    return fail(loc, "indexing needs a tensor, not " + kindName(base));
  llvm::ArrayRef<int64_t> shape = shapeOf(base.tensor);
  auto type = [&](llvm::ArrayRef<int64_t> s) -> mlir::RankedTensorType {
    return isIntTensor(base) ? itype(s) : ttype(s);
  };
  if (slices.size() > shape.size())
    return fail(loc, "too many indices (" + llvm::Twine(slices.size()) + ") for shape " +
                         shapeStr(shape));
  SmallVector<int64_t> offsets, sizes, strides, kept;
  for (size_t d = 0; d < shape.size(); ++d) {
    int64_t n = shape[d], lo = 0, hi = n;
    bool drop = false;
    if (d < slices.size()) {
      const Slice &sl = slices[d];
      auto bound = [&](const ExprPtr &e, int64_t dflt) -> std::optional<int64_t> {
        if (!e)
          return dflt;
        Value v = eval(e.get(), scope);
        auto k = staticInt(v, e->getLoc(), "an index");
        if (!k)
          return std::nullopt;
        return *k < 0 ? *k + n : *k;
      };
      if (sl.isRange) {
        auto l = bound(sl.lo, 0), h = bound(sl.hi, n);
        if (!l || !h)
          return Value::error();
        lo = std::clamp<int64_t>(*l, 0, n);
        hi = std::clamp<int64_t>(*h, lo, n);
        if (hi == lo)
          return fail(sl.loc, "the slice of dimension " + llvm::Twine(d) + " is empty");
      } else {
        auto k = bound(sl.index, 0);
        if (!k)
          return Value::error();
        if (*k < 0 || *k >= n)
          return fail(sl.loc, "index is out of range for dimension " + llvm::Twine(d) +
                                  " of size " + llvm::Twine(n));
        lo = *k;
        hi = *k + 1;
        drop = true;
      }
    }
    offsets.push_back(lo);
    sizes.push_back(hi - lo);
    strides.push_back(1);
    if (!drop)
      kept.push_back(hi - lo);
  }
  if (!inFunction(loc))
    return Value::error();
  mlir::Value v = base.tensor;
  if (llvm::ArrayRef<int64_t>(sizes) != shape)
    v = b.create<SliceOp>(mloc(loc), type(sizes), v, b.getDenseI64ArrayAttr(offsets),
                          b.getDenseI64ArrayAttr(strides));
  if (kept.size() != sizes.size())
    v = b.create<ReshapeOp>(mloc(loc), type(kept), v);
  return Value::ofTensor(v);
}

Value Generator::evalUnary(const UnaryExpr *e, Scope &scope) {
  Value x = eval(e->operand.get(), scope);
  TRY(x);
  if (e->op == "+")
    return x;
  if (e->op == "not") {
    if (x.kind != Value::Kind::Bool)
      return fail(e->getLoc(), "`not` needs a bool, not " + kindName(x));
    return Value::number(Value::Kind::Bool, x.num == 0, Sym::unary(Sym::Op::Not, x.sym));
  }
  if (x.isNumber())
    return Value::number(x.kind == Value::Kind::Bool ? Value::Kind::Int : x.kind, -x.num,
                         Sym::unary(Sym::Op::Neg, x.sym));
  if (x.kind == Value::Kind::Tensor)
    return unaryTensor("neg", x, e->getLoc());
  return fail(e->getLoc(), "cannot negate a value of type " + kindName(x));
}

Value Generator::numberOp(Sym::Op op, const Value &a, const Value &c, Loc loc) {
  bool isInt = a.kind == Value::Kind::Int && c.kind == Value::Kind::Int;
  double r = applyOp(op, a.num, c.num);
  Value::Kind k = isInt ? Value::Kind::Int : Value::Kind::Float;
  switch (op) {
  case Sym::Op::Div:
    if (c.num == 0)
      return fail(loc, "division by zero");
    // int / int stays an int when it divides exactly (d_model / heads).
    if (isInt && std::fmod(a.num, c.num) != 0)
      k = Value::Kind::Float;
    break;
  case Sym::Op::Mod:
    if (c.num == 0)
      return fail(loc, "modulo by zero");
    break;
  case Sym::Op::Pow:
    if (isInt && c.num < 0)
      k = Value::Kind::Float;
    break;
  case Sym::Op::Lt: case Sym::Op::Le: case Sym::Op::Gt: case Sym::Op::Ge:
  case Sym::Op::Eq: case Sym::Op::Ne: case Sym::Op::And: case Sym::Op::Or:
    k = Value::Kind::Bool;
    break;
  default:
    break;
  }
  if (k == Value::Kind::Int && std::fabs(r) > 9.0e15)
    return fail(loc, "integer overflow: the result is too large");
  if (!std::isfinite(r) && k != Value::Kind::Bool)
    return fail(loc, "the result is not a finite number");
  return Value::number(k, r, Sym::binary(op, a.sym, c.sym));
}

Value Generator::evalBinary(const BinaryExpr *e, Scope &scope) {
  const std::string &op = e->op;
  if (op == "~")
    return fail(e->opLoc, "`~` (predictions) is not supported yet");
  Value a = eval(e->lhs.get(), scope);
  TRY(a);
  Value c = eval(e->rhs.get(), scope);
  TRY(c);
  static const std::map<std::string, Sym::Op> ops = {
      {"+", Sym::Op::Add}, {"-", Sym::Op::Sub}, {"*", Sym::Op::Mul},
      {"/", Sym::Op::Div}, {"%", Sym::Op::Mod}, {"^", Sym::Op::Pow},
      {"<", Sym::Op::Lt}, {"<=", Sym::Op::Le}, {">", Sym::Op::Gt},
      {">=", Sym::Op::Ge}, {"==", Sym::Op::Eq}, {"!=", Sym::Op::Ne},
      {"and", Sym::Op::And}, {"or", Sym::Op::Or}};
  if (a.isNumber() && c.isNumber()) {
    if ((op == "and" || op == "or") &&
        (a.kind != Value::Kind::Bool || c.kind != Value::Kind::Bool))
      return fail(e->opLoc, "`" + op + "` needs bools");
    if (op == "@")
      return fail(e->opLoc, "`@` needs tensors");
    return numberOp(ops.at(op), a, c, e->opLoc);
  }
  if (a.kind == Value::Kind::Str && c.kind == Value::Kind::Str &&
      (op == "==" || op == "!="))
    return Value::boolean((a.str == c.str) == (op == "=="));
  if (a.kind == Value::Kind::List && c.kind == Value::Kind::List && op == "+") {
    Value v = a;
    v.elems.insert(v.elems.end(), c.elems.begin(), c.elems.end());
    return v;
  }
  bool tensors = a.kind == Value::Kind::Tensor || c.kind == Value::Kind::Tensor;
  if (tensors && (a.kind == Value::Kind::Tensor || a.isNumber()) &&
      (c.kind == Value::Kind::Tensor || c.isNumber())) {
    if (op == "@")
      return matmul(a, c, e->opLoc);
    if (op == "^") {
      if (a.kind != Value::Kind::Tensor)
        return fail(e->opLoc, "a tensor exponent is not supported yet");
      auto p = staticNumber(c, e->rhs->getLoc(), "the exponent");
      if (!p)
        return Value::error();
      if (!inFunction(e->opLoc))
        return Value::error();
      return Value::ofTensor(b.create<PowOp>(mloc(e->opLoc), a.tensor,
                                             b.getF64FloatAttr(*p)));
    }
    static const std::map<std::string, std::string> names = {
        {"+", "add"}, {"-", "sub"}, {"*", "mul"}, {"/", "div"}};
    auto it = names.find(op);
    if (it == names.end())
      return fail(e->opLoc, "`" + op + "` on tensors is not supported yet");
    return elementwise(it->second, a, c, e->opLoc);
  }
  return fail(e->opLoc, "`" + op + "` cannot combine " + kindName(a) + " and " +
                            kindName(c));
}

std::optional<std::vector<Value>>
Generator::bindArgs(const std::vector<Arg> &args, Scope &scope, Loc loc,
                    StringRef callee, llvm::ArrayRef<std::string> names,
                    std::vector<Value> defaults, std::vector<bool> *givenOut) {
  std::vector<Value> out(names.size(), Value::error());
  std::vector<bool> given(names.size(), false);
  bool named = false, ok = true;
  for (auto [i, a] : llvm::enumerate(args)) {
    size_t slot = i;
    if (!a.name.empty()) {
      named = true;
      auto it = llvm::find(names, a.name);
      if (it == names.end()) {
        std::vector<std::string> cands(names.begin(), names.end());
        std::string near = closestName(a.name, cands);
        std::string all = llvm::join(names, ", ");
        fail(a.loc, "'" + callee + "' has no argument named '" + a.name + "'",
             near.empty() ? "its arguments are: " + all
                          : "did you mean '" + near + "'?");
        ok = false;
        continue;
      }
      slot = it - names.begin();
    } else if (named) {
      fail(a.loc, "a positional argument cannot follow named ones");
      ok = false;
      continue;
    } else if (i >= names.size()) {
      fail(a.loc, "'" + callee + "' takes at most " + llvm::Twine(names.size()) +
                      " arguments");
      ok = false;
      continue;
    }
    if (given[slot]) {
      fail(a.loc, "argument '" + names[slot] + "' is given twice");
      ok = false;
      continue;
    }
    given[slot] = true;
    out[slot] = eval(a.value.get(), scope);
    ok &= !out[slot].isError();
  }
  if (!ok)
    return std::nullopt;
  if (givenOut)
    *givenOut = given;
  for (size_t i = 0; i < names.size(); ++i) {
    if (given[i])
      continue;
    if (i < defaults.size() && !defaults[i].isError()) {
      out[i] = defaults[i];
      continue;
    }
    fail(loc, "'" + callee + "' needs argument '" + names[i] + "'");
    return std::nullopt;
  }
  return out;
}

Value Generator::evalCall(const CallExpr *e, Scope &scope) {
  if (auto *n = dyn_cast<NameExpr>(e->callee.get())) {
    if (!scope.find(n->name)) {
      if (const ModelDecl *md = prog.findModel(n->name))
        return fail(e->getLoc(), "model '" + md->name +
                                     "' can only be instantiated in an experiment "
                                     "binding or a `sub` declaration",
                    "write `net = " + md->name + "(...)` in the experiment");
      if (isBuiltin(n->name))
        return callBuiltin(n->name, e->args, scope, e->getLoc());
    }
  }
  Value callee = eval(e->callee.get(), scope);
  TRY(callee);
  return callValue(callee, e->args, scope, e->getLoc());
}

Value Generator::callValue(const Value &callee, const std::vector<Arg> &args,
                           Scope &scope, Loc loc, std::optional<std::vector<Value>> preset) {
  const FnDecl *fn = nullptr;
  ModelInst *self = nullptr;
  if (callee.kind == Value::Kind::Builtin)
    return callBuiltin(callee.str, args, scope, loc);
  if (callee.kind == Value::Kind::Model) {
    self = callee.model;
    for (const ModelItem &it : self->decl->items)
      if (it.kind == ModelItem::Kind::Fn && it.fn->name.empty())
        fn = it.fn.get();
    if (!fn)
      return fail(loc, "model '" + self->decl->name + "' has no unnamed fn to call",
                  "declare `fn (x: ...) -> ... = ...` in the model");
  } else if (callee.kind == Value::Kind::Fn) {
    fn = callee.fn;
    self = callee.model;
  } else {
    return fail(loc, "a value of type " + kindName(callee) + " cannot be called");
  }
  std::vector<std::string> names;
  for (const FnArg &a : fn->args)
    names.push_back(a.name);
  std::string calleeName = fn->name.empty() ? self->decl->name : fn->name;
  if (preset && preset->size() != names.size())
    return fail(loc, "'" + calleeName + "' takes " + llvm::Twine(names.size()) +
                         " arguments, not " + llvm::Twine(preset->size()));
  auto vals = preset ? preset : bindArgs(args, scope, loc, calleeName, names, {});
  if (!vals)
    return Value::error();
  return callFunction(*fn, self, std::move(*vals), loc);
}

Value Generator::callFunction(const FnDecl &fn, ModelInst *self,
                              std::vector<Value> args, Loc loc) {
  if (callDepth > 64)
    return fail(loc, "calls nest more than 64 deep: is a function recursive?",
                "functions are inlined at compile time, so recursion cannot end");
  Scope local;
  local.parent = self ? &self->members : &expScope;
  bool ok = true;
  for (auto [i, a] : llvm::enumerate(fn.args)) {
    if (a.type)
      ok &= checkTensorType(*a.type, args[i], local, loc,
                            "argument '" + a.name + "'");
    local.vars[a.name] = args[i];
  }
  if (!ok)
    return Value::error();
  ++callDepth;
  ModelInst *savedSelf = currentSelf;
  currentSelf = self;
  Value result = Value::none();
  bool returned = false;
  ok = execBlock(fn.body, local, result, returned);
  currentSelf = savedSelf;
  --callDepth;
  if (!ok)
    return Value::error();
  if (!returned)
    return fail(fn.loc, "function ends without `return`");
  if (fn.result && !checkTensorType(*fn.result, result, local, fn.loc, "the result"))
    return Value::error();
  return result;
}

bool Generator::execBlock(const std::vector<StmtPtr> &body, Scope &scope,
                          Value &result, bool &returned) {
  for (const StmtPtr &s : body) {
    if (returned) {
      diag.error(s->getLoc(), "statement after `return` is never executed");
      return false;
    }
    if (auto *bs = dyn_cast<BindStmt>(s.get())) {
      Value v = eval(bs->value.get(), scope);
      if (v.isError())
        return false;
      if (bs->getKind() == Stmt::Kind::Assign) {
        Scope *owner = scope.owner(bs->name);
        if (!owner) {
          diag.error(s->getLoc(), "assignment to undeclared '" + bs->name + "'",
                     "declare it first with `var " + bs->name + " = ...`");
          return false;
        }
        if (!owner->mutables.count(bs->name)) {
          diag.error(s->getLoc(), "'" + bs->name + "' is not a `var` and cannot be assigned");
          return false;
        }
        // Loops are unrolled, so a var may change shape (h = layer(h)).
        Value &old = owner->vars[bs->name];
        old = v;
        continue;
      }
      if (scope.vars.count(bs->name)) {
        diag.error(s->getLoc(), "'" + bs->name + "' is already defined in this scope");
        return false;
      }
      scope.vars[bs->name] = v;
      if (bs->getKind() == Stmt::Kind::Var)
        scope.mutables.insert(bs->name);
    } else if (auto *f = dyn_cast<ForStmt>(s.get())) {
      Value range = eval(f->range.get(), scope);
      if (range.isError())
        return false;
      std::vector<Value> items;
      if (range.kind == Value::Kind::ModelList) {
        for (ModelInst *m : range.models) {
          Value v = Value::make(Value::Kind::Model);
          v.model = m;
          items.push_back(v);
        }
      } else if (range.kind == Value::Kind::List || range.kind == Value::Kind::Tuple) {
        items = range.elems;
      } else {
        diag.error(f->range->getLoc(), "`for` iterates over a list, a range or "
                                       "repeated submodels, not " + kindName(range));
        return false;
      }
      for (const Value &item : items) {
        Scope inner;
        inner.parent = &scope;
        inner.vars[f->var] = item;
        if (!execBlock(f->body, inner, result, returned))
          return false;
        if (returned)
          return true;
      }
    } else if (auto *r = dyn_cast<ReturnStmt>(s.get())) {
      result = eval(r->value.get(), scope);
      if (result.isError())
        return false;
      returned = true;
    }
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

bool Generator::checkHParamType(const HParam &h, const Value &v, Loc loc) {
  const std::string &t = h.type.base;
  bool ok = (t == "int" && v.kind == Value::Kind::Int) ||
            ((t == "f64" || t == "f32") &&
             (v.kind == Value::Kind::Float || v.kind == Value::Kind::Int)) ||
            (t == "bool" && v.kind == Value::Kind::Bool) ||
            (t == "str" && v.kind == Value::Kind::Str) ||
            (t == "fn" && (v.kind == Value::Kind::Builtin || v.kind == Value::Kind::Fn)) ||
            (t == "list" && (v.kind == Value::Kind::List || v.kind == Value::Kind::Tuple));
  if (!ok)
    fail(loc, "hyperparameter '" + h.name + "' is " + t + ", but the value is " +
                  kindName(v));
  return ok;
}

bool Generator::checkTensorType(const TypeRef &t, const Value &v, Scope &scope,
                                Loc loc, StringRef what) {
  bool tensorType = (t.base == "f32" || t.base == "i32") && t.hasDims;
  if (!tensorType) {
    Value::Kind want = t.base == "int" ? Value::Kind::Int
                       : t.base == "bool" ? Value::Kind::Bool
                                          : Value::Kind::Float;
    if (v.kind == want || (want == Value::Kind::Float && v.kind == Value::Kind::Int))
      return true;
    if (t.base == "f32" && v.kind == Value::Kind::Tensor)
      return true;
    fail(loc, what + " should be " + t.base + ", not " + kindName(v));
    return false;
  }
  if (v.kind != Value::Kind::Tensor) {
    fail(loc, what + " should be a tensor, not " + kindName(v));
    return false;
  }
  if (isIntTensor(v) != (t.base == "i32")) {
    fail(loc, what + " should be " + t.base + "[...], not " + kindName(v));
    return false;
  }
  llvm::ArrayRef<int64_t> shape = shapeOf(v.tensor);
  size_t fixed = llvm::count_if(t.dims, [](const ExprPtr &d) { return d != nullptr; });
  bool ellipsis = fixed != t.dims.size();
  if (shape.size() < fixed || (!ellipsis && shape.size() != fixed)) {
    fail(loc, what + " has shape " + shapeStr(shape) + " but the declared type has " +
                  llvm::Twine(fixed) + (ellipsis ? " or more" : "") + " dimensions");
    diag.note(t.loc, "declared here");
    return false;
  }
  // Dimensions after `...` align with the end of the shape.
  size_t s = 0;
  for (auto [i, d] : llvm::enumerate(t.dims)) {
    if (!d) {
      s = shape.size() - (t.dims.size() - i - 1);
      continue;
    }
    int64_t actual = shape[s++];
    if (auto *n = dyn_cast<NameExpr>(d.get()); n && !scope.find(n->name)) {
      scope.vars[n->name] = Value::integer(actual); // binds a shape variable (B, T)
      continue;
    }
    Value dv = eval(d.get(), scope);
    auto want = staticInt(dv, d->getLoc(), "a dimension");
    if (!want)
      return false;
    if (*want != actual) {
      fail(loc, what + " has shape " + shapeStr(shape) + ", but dimension " +
                    llvm::Twine(s - 1) + " should be " + llvm::Twine(*want));
      diag.note(d->getLoc(), "the expected size comes from here");
      return false;
    }
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Model instances
//===----------------------------------------------------------------------===//

Value Generator::instantiate(const ModelDecl &decl, const std::vector<Arg> &args,
                             Scope &callerScope, Loc loc, const std::string &path,
                             Group *group) {
  unsigned errorsBefore = diag.errorCount();
  Value v = instantiateBody(decl, args, callerScope, loc, path, group);
  // A backtrace through the instantiations that led to an error elsewhere.
  if (v.isError() && diag.errorCount() > errorsBefore && loc.isValid())
    diag.note(loc, "in model '" + decl.name + "' instantiated here");
  return v;
}

Value Generator::instantiateBody(const ModelDecl &decl, const std::vector<Arg> &args,
                                 Scope &callerScope, Loc loc, const std::string &path,
                                 Group *group) {
  if (instDepth > 32)
    return fail(loc, "models nest more than 32 deep");
  ModelInst &inst = instances.emplace_back();
  inst.decl = &decl;
  inst.path = path;
  inst.group = group;
  std::vector<std::string> names;
  std::vector<Value> defaults;
  for (const HParam &h : decl.hparams) {
    names.push_back(h.name);
    defaults.push_back(h.defaultValue ? Value::none() : Value::error());
  }
  std::vector<bool> given;
  auto vals = bindArgs(args, callerScope, loc, decl.name, names, defaults, &given);
  if (!vals)
    return Value::error();
  // Defaults are evaluated in the model's own scope, after earlier
  // hyperparameters (so `d_out: int = d_in` works).
  for (auto [i, h] : llvm::enumerate(decl.hparams)) {
    Value v = (*vals)[i];
    bool isDefault = !given[i];
    if (isDefault) {
      v = eval(h.defaultValue.get(), inst.members);
      TRY(v);
    }
    if (!checkHParamType(h, v, isDefault ? h.defaultValue->getLoc() : loc))
      return Value::error();
    if ((h.type.base == "f64" || h.type.base == "f32") && v.kind == Value::Kind::Int)
      v.kind = Value::Kind::Float;
    inst.members.vars[h.name] = v;
  }
  ++instDepth;
  auto done = llvm::make_scope_exit([&] { --instDepth; });
  std::string prefix = path.empty() ? "" : path + ".";
  for (const ModelItem &it : decl.items) {
    switch (it.kind) {
    case ModelItem::Kind::Let: {
      Value v = eval(it.let->value.get(), inst.members);
      TRY(v);
      inst.members.vars[it.let->name] = v;
      break;
    }
    case ModelItem::Kind::Param: {
      const ParamDecl &pd = *it.param;
      SmallVector<int64_t> shape;
      int64_t size = 1;
      for (const ExprPtr &d : pd.type.dims) {
        if (!d)
          return fail(pd.type.loc, "a param's shape cannot contain `...`");
        Value dv = eval(d.get(), inst.members);
        auto n = staticInt(dv, d->getLoc(), "a parameter dimension");
        if (!n)
          return Value::error();
        if (*n <= 0)
          return fail(d->getLoc(), "parameter dimension must be positive, got " +
                                       llvm::Twine(*n));
        if (*n > (int64_t(1) << 31) || size > (int64_t(1) << 34) / *n)
          return fail(d->getLoc(), "parameter is too large");
        shape.push_back(*n);
        size *= *n;
      }
      Value init = eval(pd.init.get(), inst.members);
      TRY(init);
      if (init.kind == Value::Kind::None)
        break; // an optional parameter that is switched off
      if (init.kind != Value::Kind::Init)
        return fail(pd.init->getLoc(), "a param's initializer must be normal(...), "
                                       "uniform(...), zeros(), ones() or constant(...), "
                                       "not " + kindName(init));
      for (const auto &[name, nloc] : pd.names) {
        ParamInst &p = paramInsts.emplace_back();
        p.path = prefix + name;
        p.shape = shape;
        p.size = size;
        p.init.kind = init.str;
        for (auto [k, a] : llvm::enumerate(init.elems))
          p.init.args.push_back(dynamic(a, group->name + "." + p.path + ".init." +
                                               init.names[k]));
        group->params.push_back(&p);
        Value pv = Value::make(Value::Kind::Param);
        pv.param = &p;
        inst.members.vars[name] = pv;
      }
      break;
    }
    case ModelItem::Kind::Sub: {
      const SubDecl &sd = *it.sub;
      if (sd.cond) {
        Value c = eval(sd.cond.get(), inst.members);
        auto on = staticBool(c, sd.cond->getLoc(), "the condition of a submodel");
        if (!on)
          return Value::error();
        if (!*on)
          break;
      }
      const ModelDecl *subDecl = prog.findModel(sd.model);
      if (!sd.count && !sd.range) {
        Value v = instantiate(*subDecl, sd.args, inst.members, sd.loc,
                              prefix + sd.name, group);
        TRY(v);
        inst.members.vars[sd.name] = v;
        break;
      }
      Value list = Value::make(Value::Kind::ModelList);
      std::vector<Value> iters;
      if (sd.count) {
        Value c = eval(sd.count.get(), inst.members);
        auto n = staticInt(c, sd.count->getLoc(), "a repeat count");
        if (!n)
          return Value::error();
        if (*n < 0 || *n > 10000)
          return fail(sd.count->getLoc(), "repeat count must be in 0..10000, got " +
                                              llvm::Twine(*n));
        iters.assign(*n, Value::none());
      } else {
        Value r = eval(sd.range.get(), inst.members);
        TRY(r);
        if (r.kind != Value::Kind::List)
          return fail(sd.range->getLoc(), "`for` needs a range or list, not " + kindName(r));
        iters = r.elems;
      }
      for (auto [i, iv] : llvm::enumerate(iters)) {
        Scope argScope;
        argScope.parent = &inst.members;
        if (sd.range)
          argScope.vars[sd.iter] = iv;
        Value v = instantiate(*subDecl, sd.args, argScope, sd.loc,
                              prefix + sd.name + "[" + std::to_string(i) + "]", group);
        TRY(v);
        list.models.push_back(v.model);
      }
      inst.members.vars[sd.name] = list;
      break;
    }
    case ModelItem::Kind::Fn:
      if (!it.fn->name.empty()) {
        Value f = Value::make(Value::Kind::Fn);
        f.fn = it.fn.get();
        f.model = &inst;
        inst.members.vars[it.fn->name] = f;
      }
      break;
    }
  }
  Value v = Value::make(Value::Kind::Model);
  v.model = &inst;
  return v;
}

//===----------------------------------------------------------------------===//
// Tensor operations
//===----------------------------------------------------------------------===//

Value Generator::toTensor(const Value &v, Loc loc) {
  if (v.kind == Value::Kind::Tensor)
    return v;
  auto x = staticNumber(v, loc, "a number used in a tensor expression");
  if (!x)
    return Value::error();
  auto type = ttype({});
  return Value::ofTensor(b.create<mlir::arith::ConstantOp>(
      mloc(loc), mlir::DenseElementsAttr::get(type, b.getFloatAttr(f32, *x))));
}

mlir::Value Generator::broadcastTo(mlir::Value v, llvm::ArrayRef<int64_t> shape,
                                   Loc loc) {
  llvm::ArrayRef<int64_t> in = shapeOf(v);
  if (in == shape)
    return v;
  size_t offset = shape.size() - in.size();
  SmallVector<int64_t> kept, dims;
  for (auto [i, d] : llvm::enumerate(in))
    if (d == shape[offset + i]) {
      kept.push_back(d);
      dims.push_back(offset + i);
    }
  if (kept.size() != in.size())
    v = b.create<ReshapeOp>(mloc(loc), ttype(kept), v);
  return b.create<BroadcastOp>(mloc(loc), ttype(shape), v, b.getDenseI64ArrayAttr(dims));
}

Value Generator::elementwise(StringRef op, const Value &a, const Value &c, Loc loc) {
  if (!inFunction(loc))
    return Value::error();
  Value ta = toTensor(a, loc), tc = toTensor(c, loc);
  TRY(ta);
  TRY(tc);
  if (isIntTensor(ta) || isIntTensor(tc))
    return fail(loc, "arithmetic on integer tensors is not supported",
                "integer tensors hold tokens and labels: use one_hot(...) or an embedding");
  llvm::ArrayRef<int64_t> sa = shapeOf(ta.tensor), sc = shapeOf(tc.tensor);
  size_t rank = std::max(sa.size(), sc.size());
  SmallVector<int64_t> shape(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t x = i < rank - sa.size() ? 1 : sa[i - (rank - sa.size())];
    int64_t y = i < rank - sc.size() ? 1 : sc[i - (rank - sc.size())];
    if (x != y && x != 1 && y != 1)
      return fail(loc, "shapes " + shapeStr(sa) + " and " + shapeStr(sc) +
                           " do not broadcast (dimension " + llvm::Twine(i) +
                           ": " + llvm::Twine(x) + " vs " + llvm::Twine(y) + ")",
                  "broadcasting aligns trailing dimensions; sizes must match or be 1");
    shape[i] = std::max(x, y);
  }
  mlir::Value l = broadcastTo(ta.tensor, shape, loc);
  mlir::Value r = broadcastTo(tc.tensor, shape, loc);
  mlir::Location ml = mloc(loc);
  mlir::Value out;
  if (op == "add")
    out = b.create<AddOp>(ml, l, r);
  else if (op == "sub")
    out = b.create<SubOp>(ml, l, r);
  else if (op == "mul")
    out = b.create<MulOp>(ml, l, r);
  else
    out = b.create<DivOp>(ml, l, r);
  return Value::ofTensor(out);
}

Value Generator::unaryTensor(StringRef op, const Value &a, Loc loc) {
  if (!inFunction(loc) || !needFloat(a, loc, op))
    return Value::error();
  mlir::Location ml = mloc(loc);
  mlir::Value x = a.tensor, out;
  if (op == "neg")
    out = b.create<NegOp>(ml, x);
  else if (op == "relu")
    out = b.create<ReluOp>(ml, x);
  else if (op == "tanh")
    out = b.create<TanhOp>(ml, x);
  else if (op == "exp")
    out = b.create<ExpOp>(ml, x);
  else if (op == "log")
    out = b.create<LogOp>(ml, x);
  else
    out = b.create<SqrtOp>(ml, x);
  return Value::ofTensor(out);
}

Value Generator::einsum(const std::string &spec, std::vector<Value> inputs, Loc loc) {
  if (!inFunction(loc))
    return Value::error();
  auto arrow = spec.find("->");
  if (arrow == std::string::npos)
    return fail(loc, "einsum spec '" + spec + "' needs '->' and the result's letters");
  SmallVector<StringRef> parts;
  StringRef(spec).substr(0, arrow).split(parts, ',');
  std::string out = StringRef(spec).substr(arrow + 2).trim().str();
  if (parts.size() != inputs.size())
    return fail(loc, "einsum spec '" + spec + "' names " + llvm::Twine(parts.size()) +
                         " inputs but " + llvm::Twine(inputs.size()) + " were given");
  if (inputs.empty() || inputs.size() > 3)
    return fail(loc, "einsum takes one to three tensors");
  std::map<char, int64_t> extent;
  std::string clean;
  for (auto [i, p] : llvm::enumerate(parts)) {
    std::string letters = p.trim().str();
    clean += (i ? "," : "") + letters;
    if (inputs[i].kind != Value::Kind::Tensor || isIntTensor(inputs[i]))
      return fail(loc, "einsum input #" + llvm::Twine(i) + " is " + kindName(inputs[i]) +
                           ", not a float tensor");
    llvm::ArrayRef<int64_t> shape = shapeOf(inputs[i].tensor);
    if (letters.size() != shape.size())
      return fail(loc, "einsum input #" + llvm::Twine(i) + " has shape " + shapeStr(shape) +
                           " but the spec gives it " + llvm::Twine(letters.size()) +
                           " letters ('" + letters + "')");
    for (auto [j, ch] : llvm::enumerate(letters)) {
      if (!llvm::isAlpha(ch) || llvm::count(letters, ch) != 1)
        return fail(loc, "einsum letters must be distinct letters within an input ('" +
                             letters + "')");
      auto [it, inserted] = extent.try_emplace(ch, shape[j]);
      if (!inserted && it->second != shape[j])
        return fail(loc, "einsum letter '" + std::string(1, ch) + "' is " +
                             llvm::Twine(it->second) + " in one place and " +
                             llvm::Twine(shape[j]) + " in another");
    }
  }
  SmallVector<int64_t> shape;
  for (char ch : out) {
    if (!extent.count(ch) || llvm::count(out, ch) != 1)
      return fail(loc, "einsum result letter '" + std::string(1, ch) +
                           "' must appear once, and in some input");
    shape.push_back(extent[ch]);
  }
  SmallVector<mlir::Value> ins;
  for (const Value &v : inputs)
    ins.push_back(v.tensor);
  return Value::ofTensor(b.create<EinsumOp>(mloc(loc), ttype(shape),
                                            b.getStringAttr(clean + "->" + out), ins));
}

Value Generator::matmul(const Value &a, const Value &c, Loc loc) {
  if (a.kind != Value::Kind::Tensor || c.kind != Value::Kind::Tensor)
    return fail(loc, "`@` needs two tensors");
  llvm::ArrayRef<int64_t> sa = shapeOf(a.tensor), sc = shapeOf(c.tensor);
  if (sa.empty() || sc.empty() || (sc.size() > 2 && sc.size() != sa.size()))
    return fail(loc, "`@` cannot multiply shapes " + shapeStr(sa) + " and " + shapeStr(sc),
                "supported: [..., k] @ [k, n], [..., k] @ [k], and batched "
                "[..., m, k] @ [..., k, n] of equal rank");
  int64_t ka = sa.back(), kc = sc.size() == 1 ? sc[0] : sc[sc.size() - 2];
  if (ka != kc)
    return fail(loc, "`@` inner dimensions differ: " + shapeStr(sa) + " @ " +
                         shapeStr(sc) + " (" + llvm::Twine(ka) + " vs " +
                         llvm::Twine(kc) + ")",
                "the last dimension of the left side must equal the first (or "
                "second-to-last) of the right side; is a .T missing?");
  const std::string letters = "abcdefghijlmopqrstuvwxyz"; // k and n are reserved
  std::string la, lc, lo;
  if (sc.size() <= 2) {
    la = letters.substr(0, sa.size() - 1) + "k";
    lc = sc.size() == 1 ? "k" : "kn";
    lo = letters.substr(0, sa.size() - 1) + (sc.size() == 1 ? "" : "n");
  } else {
    std::string batch = letters.substr(0, sa.size() - 2);
    la = batch + "mk";
    lc = batch + "kn";
    lo = batch + "mn";
  }
  return einsum(la + "," + lc + "->" + lo, {a, c}, loc);
}

Value Generator::transposeAll(const Value &x, Loc loc) {
  llvm::ArrayRef<int64_t> s = shapeOf(x.tensor);
  if (s.size() < 2)
    return x;
  if (!inFunction(loc))
    return Value::error();
  SmallVector<int64_t> perm, shape;
  for (int64_t i = s.size() - 1; i >= 0; --i) {
    perm.push_back(i);
    shape.push_back(s[i]);
  }
  return Value::ofTensor(b.create<TransposeOp>(mloc(loc), ttype(shape), x.tensor,
                                               b.getDenseI64ArrayAttr(perm)));
}

std::optional<SmallVector<int64_t>> Generator::reduceAxes(llvm::ArrayRef<int64_t> s,
                                                         const Value *axis, Loc loc) {
  SmallVector<int64_t> axes;
  if (!axis || axis->kind == Value::Kind::None) {
    for (size_t i = 0; i < s.size(); ++i)
      axes.push_back(i);
    return axes;
  }
  std::vector<Value> list =
      axis->kind == Value::Kind::Int ? std::vector<Value>{*axis} : axis->elems;
  for (const Value &a : list) {
    auto n = staticInt(a, loc, "an axis");
    if (!n)
      return std::nullopt;
    int64_t k = *n < 0 ? *n + int64_t(s.size()) : *n;
    if (k < 0 || k >= int64_t(s.size()) || llvm::is_contained(axes, k)) {
      fail(loc, "axis " + llvm::Twine(*n) + " is out of range (or repeated) for shape " +
                    shapeStr(s));
      return std::nullopt;
    }
    axes.push_back(k);
  }
  llvm::sort(axes);
  return axes;
}

Value Generator::reduce(const Value &x, const Value *axis, bool mean, Loc loc) {
  if (x.kind != Value::Kind::Tensor || isIntTensor(x))
    return fail(loc, "sum/mean need a float tensor, not " + kindName(x));
  if (!inFunction(loc))
    return Value::error();
  llvm::ArrayRef<int64_t> s = shapeOf(x.tensor);
  auto maybeAxes = reduceAxes(s, axis, loc);
  if (!maybeAxes)
    return Value::error();
  SmallVector<int64_t> axes = *maybeAxes;
  SmallVector<int64_t> shape;
  int64_t count = 1;
  for (size_t i = 0; i < s.size(); ++i)
    if (llvm::is_contained(axes, int64_t(i)))
      count *= s[i];
    else
      shape.push_back(s[i]);
  Value r = Value::ofTensor(b.create<ReduceSumOp>(mloc(loc), ttype(shape), x.tensor,
                                                  b.getDenseI64ArrayAttr(axes)));
  if (!mean)
    return r;
  return elementwise("mul", r, Value::real(1.0 / double(count)), loc);
}

//===----------------------------------------------------------------------===//
// Builtin functions
//===----------------------------------------------------------------------===//

Value Generator::callBuiltin(const std::string &name, const std::vector<Arg> &args,
                             Scope &scope, Loc loc) {
  auto bind = [&](std::vector<std::string> names, std::vector<Value> defaults = {}) {
    return bindArgs(args, scope, loc, name, names, std::move(defaults));
  };
  Value req = Value::error();
  if (llvm::is_contained(kTensorUnary, name)) {
    auto a = bind({"x"});
    if (!a)
      return Value::error();
    Value x = (*a)[0];
    if (x.isNumber()) {
      static const std::map<std::string, Sym::Op> ops = {
          {"exp", Sym::Op::Exp}, {"log", Sym::Op::Log}, {"sqrt", Sym::Op::Sqrt}};
      if (name == "relu")
        return numberOp(Sym::Op::Max, x, Value::real(0), loc);
      if (name == "tanh")
        return fail(loc, "tanh of a number is not supported yet");
      if ((name == "log" || name == "sqrt") && x.num < 0)
        return fail(loc, name + " of a negative number");
      return Value::number(Value::Kind::Float, applyOp(ops.at(name), x.num),
                           Sym::unary(ops.at(name), x.sym));
    }
    if (x.kind != Value::Kind::Tensor)
      return fail(loc, name + " needs a tensor or a number, not " + kindName(x));
    return unaryTensor(name, x, loc);
  }
  if (name == "abs" || name == "float" || name == "int") {
    auto a = bind({"x"});
    if (!a)
      return Value::error();
    Value x = (*a)[0];
    if (!x.isNumber())
      return fail(loc, name + " needs a number, not " + kindName(x));
    if (name == "abs")
      return Value::number(x.kind, std::fabs(x.num),
                           Sym::binary(Sym::Op::Max, x.sym, Sym::unary(Sym::Op::Neg, x.sym)));
    if (name == "float")
      return Value::number(Value::Kind::Float, x.num, x.sym);
    return Value::number(Value::Kind::Int, std::floor(x.num),
                         Sym::binary(Sym::Op::FloorDiv, x.sym, Sym::constant(1)));
  }
  if (name == "min" || name == "max") {
    // max(x, axis:, keepdims:) reduces a tensor; max(a, b) of two numbers.
    auto a = bind({"x", "axis", "keepdims"}, {req, Value::none(), Value::boolean(false)});
    if (!a)
      return Value::error();
    Value x = (*a)[0];
    if (x.kind == Value::Kind::Tensor) {
      if (!needFloat(x, loc, name) || !inFunction(loc))
        return Value::error();
      llvm::ArrayRef<int64_t> s = shapeOf(x.tensor);
      auto axes = reduceAxes(s, &(*a)[1], loc);
      if (!axes)
        return Value::error();
      SmallVector<int64_t> shape;
      for (size_t i = 0; i < s.size(); ++i)
        if (!llvm::is_contained(*axes, int64_t(i)))
          shape.push_back(s[i]);
      // min(x) = -max(-x).
      Value in = name == "min" ? unaryTensor("neg", x, loc) : x;
      TRY(in);
      Value r = Value::ofTensor(b.create<ReduceMaxOp>(mloc(loc), ttype(shape), in.tensor,
                                                      b.getDenseI64ArrayAttr(*axes)));
      if (name == "min")
        r = unaryTensor("neg", r, loc);
      return keepDims(r, x, &(*a)[1], (*a)[2], loc);
    }
    if (!x.isNumber() || !(*a)[1].isNumber())
      return fail(loc, name + " needs two numbers, or a tensor (with an optional axis)");
    return numberOp(name == "min" ? Sym::Op::Min : Sym::Op::Max, x, (*a)[1], loc);
  }
  if (name == "concat") {
    // concat([a, b, ...], axis: 0), like jnp.concatenate.
    auto a = bind({"xs", "axis"}, {req, Value::integer(0)});
    if (!a || !inFunction(loc))
      return Value::error();
    const Value &xs = (*a)[0];
    if ((xs.kind != Value::Kind::List && xs.kind != Value::Kind::Tuple) || xs.elems.empty())
      return fail(loc, "concat needs a non-empty list of tensors, e.g. concat([a, b], axis: 1)");
    for (const Value &x : xs.elems)
      if (!needFloat(x, loc, "concat"))
        return Value::error();
    SmallVector<int64_t> shape(shapeOf(xs.elems[0].tensor));
    auto axis = axisOf((*a)[1], shape.size(), loc);
    if (!axis)
      return Value::error();
    SmallVector<mlir::Value> ins;
    int64_t total = 0;
    for (auto [i, x] : llvm::enumerate(xs.elems)) {
      llvm::ArrayRef<int64_t> s = shapeOf(x.tensor);
      bool ok = s.size() == shape.size();
      for (size_t d = 0; ok && d < s.size(); ++d)
        ok = int64_t(d) == *axis || s[d] == shape[d];
      if (!ok)
        return fail(loc, "concat: tensor " + llvm::Twine(i) + " has shape " + shapeStr(s) +
                             ", which does not match " + shapeStr(shape) + " except along axis " +
                             llvm::Twine(*axis));
      total += s[*axis];
      ins.push_back(x.tensor);
    }
    shape[*axis] = total;
    return Value::ofTensor(
        b.create<ConcatOp>(mloc(loc), ttype(shape), ins, b.getI64IntegerAttr(*axis)));
  }
  if (name == "gather") {
    // gather(x, indices, axis: 0), like jnp.take: embedding lookup is
    // gather(table, tokens).
    auto a = bind({"x", "indices", "axis"}, {req, req, Value::integer(0)});
    if (!a || !needFloat((*a)[0], loc, name) || !inFunction(loc))
      return Value::error();
    if (!isIntTensor((*a)[1]))
      return fail(loc, "gather needs integer indices, not " + kindName((*a)[1]));
    llvm::ArrayRef<int64_t> s = shapeOf((*a)[0].tensor), is = shapeOf((*a)[1].tensor);
    auto axis = axisOf((*a)[2], s.size(), loc);
    if (!axis)
      return Value::error();
    if (s.size() + is.size() > 25)
      return fail(loc, "gather: too many dimensions");
    SmallVector<int64_t> shape(s.take_front(*axis));
    shape.append(is.begin(), is.end());
    shape.append(s.begin() + *axis + 1, s.end());
    return Value::ofTensor(b.create<GatherOp>(mloc(loc), ttype(shape), (*a)[0].tensor,
                                              (*a)[1].tensor, b.getI64IntegerAttr(*axis),
                                              b.getI64IntegerAttr(0)));
  }
  if (name == "len") {
    auto a = bind({"x"});
    if (!a)
      return Value::error();
    const Value &x = (*a)[0];
    if (x.kind == Value::Kind::ModelList)
      return Value::integer(x.models.size());
    if (x.kind != Value::Kind::List && x.kind != Value::Kind::Tuple)
      return fail(loc, "len needs a list, not " + kindName(x));
    return Value::integer(x.elems.size());
  }
  if (name == "sum" || name == "mean") {
    auto a = bind({"x", "axis", "keepdims"}, {req, Value::none(), Value::boolean(false)});
    if (!a)
      return Value::error();
    Value r = reduce((*a)[0], &(*a)[1], name == "mean", loc);
    return keepDims(r, (*a)[0], &(*a)[1], (*a)[2], loc);
  }
  if (name == "mse") {
    auto a = bind({"prediction", "target"});
    if (!a)
      return Value::error();
    const Value &p = (*a)[0], &t = (*a)[1];
    if (p.kind != Value::Kind::Tensor || t.kind != Value::Kind::Tensor)
      return fail(loc, "mse needs two tensors");
    if (shapeOf(p.tensor) != shapeOf(t.tensor))
      return fail(loc, "mse: the prediction has shape " + shapeStr(shapeOf(p.tensor)) +
                           " but the target has shape " + shapeStr(shapeOf(t.tensor)));
    if (!inFunction(loc))
      return Value::error();
    return Value::ofTensor(b.create<MseOp>(mloc(loc), ttype({}), p.tensor, t.tensor,
                                                     b.getI64IntegerAttr(0)));
  }
  if (name == "einsum") {
    if (args.empty())
      return fail(loc, "einsum needs a spec string and tensors");
    std::vector<Value> vals;
    for (const Arg &a : args) {
      if (!a.name.empty())
        return fail(a.loc, "einsum takes positional arguments only");
      Value v = eval(a.value.get(), scope);
      TRY(v);
      vals.push_back(v);
    }
    if (vals[0].kind != Value::Kind::Str)
      return fail(args[0].loc, "einsum's first argument is the spec string, e.g. \"bk,nk->bn\"");
    std::string spec = vals[0].str;
    vals.erase(vals.begin());
    return einsum(spec, std::move(vals), loc);
  }
  // Initializers: `param W: f32[m, n] = normal(0, 1 / sqrt(n))`.
  static const std::map<std::string, std::pair<std::vector<std::string>, std::vector<double>>>
      inits = {{"normal", {{"mean", "std"}, {0, 1}}},
               {"uniform", {{"low", "high"}, {-1, 1}}},
               {"zeros", {{}, {}}},
               {"linspace", {{"low", "high"}, {0, 1}}},
               {"ones", {{}, {}}},
               {"constant", {{"value"}, {0}}}};
  if (auto it = inits.find(name); it != inits.end()) {
    std::vector<Value> defaults;
    for (double d : it->second.second)
      defaults.push_back(Value::real(d));
    if (name == "constant")
      defaults = {req};
    auto a = bind(it->second.first, defaults);
    if (!a)
      return Value::error();
    Value v = numberSpec(Value::Kind::Init, name, it->second.first, *a, loc);
    TRY(v);
    if (name == "normal" && v.elems[1].sym->op == Sym::Op::Const && v.elems[1].num < 0)
      return fail(loc, "normal: std must not be negative");
    return v;
  }
  if (name == "softmax" || name == "log_softmax") {
    std::vector<std::string> names = {"x", "axis"};
    std::vector<Value> defaults = {req, Value::integer(-1)};
    if (name == "softmax") {
      names.insert(names.end(), {"temperature", "mask"});
      defaults.insert(defaults.end(), {Value::real(1), Value::none()});
    }
    auto a = bind(names, defaults);
    if (!a || !needFloat((*a)[0], loc, name) || !inFunction(loc))
      return Value::error();
    Value x = (*a)[0];
    auto axis = axisOf((*a)[1], shapeOf(x.tensor).size(), loc);
    if (!axis)
      return Value::error();
    if (name == "softmax") {
      // Logits l at temperature T: p = softmax(l / T); masked entries (mask 0)
      // get -1e30 added, so they carry no probability.
      auto t = staticNumber((*a)[2], loc, "temperature");
      if (!t)
        return Value::error();
      if (!(*t > 0))
        return fail(loc, "softmax: the temperature must be positive");
      if (pendingTap) {
        if (!currentSelf)
          return fail(loc, "a tap must be inside a model's function");
        if (*axis != int64_t(shapeOf(x.tensor).size()) - 1)
          return fail(loc, "a tapped softmax must normalize over the last axis");
        TapRecord rec{x.tensor, *t, mlir::Value()};
        if ((*a)[3].kind == Value::Kind::Tensor)
          rec.mask = (*a)[3].tensor;
        cur->taps[{currentSelf, *pendingTap}] = rec;
      }
      if (*t != 1)
        x = elementwise("div", x, Value::real(*t), loc);
      if ((*a)[3].kind != Value::Kind::None) {
        if (!needFloat((*a)[3], loc, "a softmax mask"))
          return Value::error();
        Value shifted = elementwise("sub", (*a)[3], Value::real(1), loc);
        TRY(shifted);
        Value bias = elementwise("mul", shifted, Value::real(1e30), loc);
        TRY(bias);
        x = elementwise("add", x, bias, loc);
      }
      TRY(x);
      return Value::ofTensor(b.create<SoftmaxOp>(mloc(loc), x.tensor, *axis));
    }
    return Value::ofTensor(b.create<LogSoftmaxOp>(mloc(loc), x.tensor, *axis));
  }
  if (name == "thermo") {
    auto a = bind({"site"});
    if (!a)
      return Value::error();
    const Value &site = (*a)[0];
    if (site.kind != Value::Kind::Tap)
      return fail(loc, "thermo needs a tapped softmax site (e.g. net.blocks[0].attn.probs), "
                       "not " + kindName(site));
    Value *x = scope.find("x");
    if (!cur || !x || !trained || site.model->group != trained)
      return fail(loc, "thermo(site) is an observable of the trained model over a split",
                  "write `attn = thermo(net.blocks[0].attn.probs) over data.train`");
    // Run the model on the split; its tapped softmax records the logits.
    Value root = Value::make(Value::Kind::Model);
    root.model = trained->root;
    Value out = callValue(root, {}, scope, loc, std::vector<Value>{*x});
    TRY(out);
    auto it = cur->taps.find({site.model, site.str});
    if (it == cur->taps.end())
      return fail(loc, "the tap '" + site.str + "' was not reached by the model's forward pass");
    return thermo(it->second, loc);
  }
  if (name == "one_hot") {
    auto a = bind({"indices", "depth"});
    if (!a)
      return Value::error();
    if (!isIntTensor((*a)[0]))
      return fail(loc, "one_hot needs an integer tensor, not " + kindName((*a)[0]));
    auto depth = staticInt((*a)[1], loc, "one_hot depth");
    if (!depth || !inFunction(loc))
      return Value::error();
    if (*depth < 1)
      return fail(loc, "one_hot depth must be positive");
    SmallVector<int64_t> shape(shapeOf((*a)[0].tensor));
    shape.push_back(*depth);
    return Value::ofTensor(b.create<OneHotOp>(mloc(loc), ttype(shape), (*a)[0].tensor));
  }
  if (name == "cross_entropy" || name == "accuracy") {
    auto a = bind({"logits", "labels"});
    if (!a || !needFloat((*a)[0], loc, name) || !inFunction(loc))
      return Value::error();
    const Value &logits = (*a)[0], &labels = (*a)[1];
    llvm::ArrayRef<int64_t> ls = shapeOf(logits.tensor);
    if (!isIntTensor(labels) || ls.size() != 2 || shapeOf(labels.tensor).size() != 1 ||
        shapeOf(labels.tensor)[0] != ls[0])
      return fail(loc, name + " needs logits f32[N, C] and labels i32[N], got " +
                           kindName(logits) + " and " + kindName(labels));
    if (name == "accuracy")
      return Value::ofTensor(
          b.create<AccuracyOp>(mloc(loc), ttype({}), logits.tensor, labels.tensor));
    // -mean_n log p(y_n): one-hot picks the label's log-probability.
    mlir::Location ml = mloc(loc);
    Value logp = Value::ofTensor(b.create<LogSoftmaxOp>(ml, logits.tensor, 1));
    Value oh = Value::ofTensor(b.create<OneHotOp>(ml, ttype(ls), labels.tensor));
    Value picked = elementwise("mul", oh, logp, loc);
    TRY(picked);
    Value total = reduce(picked, nullptr, false, loc);
    TRY(total);
    return elementwise("mul", total, Value::real(-1.0 / double(ls[0])), loc);
  }
  if (name == "sigmoid" || name == "gelu") {
    auto a = bind({"x"});
    if (!a || !needFloat((*a)[0], loc, name))
      return Value::error();
    Value x = (*a)[0];
    if (name == "sigmoid") { // 1 / (1 + exp(-x))
      Value e = unaryTensor("exp", unaryTensor("neg", x, loc), loc);
      TRY(e);
      Value d = elementwise("add", e, Value::real(1), loc);
      TRY(d);
      return elementwise("div", Value::real(1), d, loc);
    }
    // GELU, tanh form: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    Value cube = Value::ofTensor(b.create<PowOp>(mloc(loc), x.tensor, b.getF64FloatAttr(3)));
    Value inner = elementwise("add", x, elementwise("mul", cube, Value::real(0.044715), loc), loc);
    TRY(inner);
    Value t = unaryTensor("tanh", elementwise("mul", inner, Value::real(std::sqrt(2 / M_PI)), loc),
                          loc);
    TRY(t);
    Value half = elementwise("mul", x, Value::real(0.5), loc);
    return elementwise("mul", half, elementwise("add", t, Value::real(1), loc), loc);
  }
  if (name == "var") {
    // Population variance along `axis` (all axes by default).
    auto a = bind({"x", "axis", "keepdims"}, {req, Value::none(), Value::boolean(false)});
    if (!a || !needFloat((*a)[0], loc, name) || !inFunction(loc))
      return Value::error();
    Value x = (*a)[0];
    llvm::ArrayRef<int64_t> shape = shapeOf(x.tensor);
    Value m = reduce(x, &(*a)[1], true, loc);
    TRY(m);
    auto axes = reduceAxes(shape, &(*a)[1], loc);
    if (!axes)
      return Value::error();
    SmallVector<int64_t> keep;
    for (int64_t d = 0; d < int64_t(shape.size()); ++d)
      if (!llvm::is_contained(*axes, d))
        keep.push_back(d);
    Value wide = Value::ofTensor(b.create<BroadcastOp>(mloc(loc), ttype(shape), m.tensor,
                                                       b.getDenseI64ArrayAttr(keep)));
    Value c = elementwise("sub", x, wide, loc);
    TRY(c);
    Value sq = elementwise("mul", c, c, loc);
    TRY(sq);
    return keepDims(reduce(sq, &(*a)[1], true, loc), x, &(*a)[1], (*a)[2], loc);
  }
  if (name == "causal_tril") {
    auto a = bind({"n"});
    if (!a)
      return Value::error();
    auto n = staticInt((*a)[0], loc, "causal_tril size");
    if (!n || !inFunction(loc))
      return Value::error();
    if (*n < 1 || *n > 4096)
      return fail(loc, "causal_tril size must be in 1..4096");
    // mask[t, s] = 1 where key s is visible from query t (s <= t).
    SmallVector<mlir::Attribute> vals;
    for (int64_t t = 0; t < *n; ++t)
      for (int64_t k = 0; k < *n; ++k)
        vals.push_back(b.getFloatAttr(f32, k <= t ? 1.0 : 0.0));
    auto type = ttype({*n, *n});
    return Value::ofTensor(b.create<mlir::arith::ConstantOp>(
        mloc(loc), mlir::DenseElementsAttr::get(type, vals)));
  }
  if (name == "reshape") {
    auto a = bind({"x", "shape"});
    if (!a || !needFloat((*a)[0], loc, name) || !inFunction(loc))
      return Value::error();
    const Value &shapeV = (*a)[1];
    if (shapeV.kind != Value::Kind::List && shapeV.kind != Value::Kind::Tuple)
      return fail(loc, "reshape: the shape is a list or tuple of ints");
    int64_t total = mlir::ShapedType::getNumElements(shapeOf((*a)[0].tensor)), known = 1;
    SmallVector<int64_t> shape;
    int infer = -1;
    for (auto [i, d] : llvm::enumerate(shapeV.elems)) {
      auto n = staticInt(d, loc, "a reshape dimension");
      if (!n)
        return Value::error();
      if (*n == -1 && infer < 0) {
        infer = i;
      } else if (*n < 1) {
        return fail(loc, "reshape dimensions must be positive (one may be -1)");
      } else {
        known *= *n;
      }
      shape.push_back(*n);
    }
    if (infer >= 0 && known > 0 && total % known == 0)
      shape[infer] = total / known;
    if (mlir::ShapedType::getNumElements(shape) != total || llvm::is_contained(shape, -1))
      return fail(loc, "reshape: " + kindName((*a)[0]) + " has " + llvm::Twine(total) +
                           " elements, which shape " + shapeStr(shape) + " does not hold");
    return Value::ofTensor(b.create<ReshapeOp>(mloc(loc), ttype(shape), (*a)[0].tensor));
  }
  if (name == "adam" || name == "adamw") {
    // adamw decouples weight decay (Loshchilov & Hutter); adam adds it to the
    // gradient. Betas as in PyTorch.
    Value betas = Value::make(Value::Kind::Tuple);
    betas.elems = {Value::real(0.9), Value::real(0.999)};
    auto a = bind({"lr", "betas", "eps", "weight_decay"},
                  {req, betas, Value::real(1e-8), Value::real(name == "adamw" ? 0.01 : 0)});
    if (!a)
      return Value::error();
    const Value &bt = (*a)[1];
    if ((bt.kind != Value::Kind::Tuple && bt.kind != Value::Kind::List) ||
        bt.elems.size() != 2 || !bt.elems[0].isNumber() || !bt.elems[1].isNumber())
      return fail(loc, name + ": betas is a pair of numbers, e.g. (0.9, 0.98)");
    return numberSpec(Value::Kind::Optim, name, {"lr", "beta1", "beta2", "eps", "weight_decay"},
                      {(*a)[0], bt.elems[0], bt.elems[1], (*a)[2], (*a)[3]}, loc);
  }
  if (name == "warmup" || name == "cosine") {
    // Learning-rate schedules: linear warm-up over `steps`, then constant;
    // cosine: warm-up, then cosine decay to min_lr at the last step.
    std::vector<std::string> names = name == "warmup" ? std::vector<std::string>{"steps"}
                                                      : std::vector<std::string>{"warmup", "min_lr"};
    std::vector<Value> defaults = name == "warmup" ? std::vector<Value>{req}
                                                   : std::vector<Value>{Value::integer(0), Value::real(0)};
    auto a = bind(names, defaults);
    if (!a)
      return Value::error();
    return numberSpec(Value::Kind::Optim, name, names, *a, loc);
  }
  if (name == "sgd" || name == "gd") {
    std::vector<std::string> names = {"lr", "momentum", "nesterov", "weight_decay"};
    std::vector<Value> defaults = {req, Value::real(0), Value::boolean(false),
                                   Value::real(0)};
    if (name == "gd") {
      names.resize(1);
      defaults.resize(1);
    }
    auto a = bind(names, defaults);
    if (!a)
      return Value::error();
    return numberSpec(Value::Kind::Optim, name, names, *a, loc);
  }
  if (name == "gaussian" || name == "linear_map" || name == "modular" || name == "parity")
    return fail(loc, "a task like '" + name + "' is created by an experiment binding",
                "write `data = " + name + "(...)` in the experiment");
  return fail(loc, "'" + name + "' cannot be called here");
}

//===----------------------------------------------------------------------===//
// Experiment
//===----------------------------------------------------------------------===//

bool Generator::setupFlags(const ExperimentDecl &exp, const GenOptions &opts) {
  llvm::StringSet<> known;
  for (const HParam &h : exp.hparams) {
    if (!known.insert(h.name).second) {
      diag.error(h.loc, "hyperparameter '" + h.name + "' is declared twice");
      return false;
    }
    const std::string &t = h.type.base;
    if (t != "int" && t != "f64" && t != "f32" && t != "bool") {
      diag.error(h.type.loc, "experiment hyperparameters are int, f64 or bool, not '" +
                                 t + "'");
      return false;
    }
    if (!h.defaultValue) {
      diag.error(h.loc, "experiment hyperparameter '" + h.name + "' needs a default",
                 "write `" + h.name + ": " + t + " = <value>`");
      return false;
    }
    Flag f;
    f.name = h.name;
    f.type = t == "f32" ? "f64" : t;
    f.loc = h.loc;
    Value v;
    if (auto it = opts.overrides.find(h.name); it != opts.overrides.end()) {
      StringRef text = it->second;
      double x = 0;
      if (f.type == "bool") {
        if (text != "true" && text != "false") {
          diag.error({}, "--set " + h.name + "=" + text + ": expected true or false");
          return false;
        }
        v = Value::boolean(text == "true");
      } else if (f.type == "int") {
        int64_t n;
        if (text.getAsInteger(10, n)) {
          diag.error({}, "--set " + h.name + "=" + text + ": expected an integer");
          return false;
        }
        v = Value::integer(n);
      } else {
        if (text.getAsDouble(x) || !std::isfinite(x)) {
          diag.error({}, "--set " + h.name + "=" + text + ": expected a number");
          return false;
        }
        v = Value::real(x);
      }
    } else {
      v = eval(h.defaultValue.get(), expScope);
      if (v.isError())
        return false;
      if (!checkHParamType(h, v, h.defaultValue->getLoc()))
        return false;
      markStatic(v); // defaults are fixed numbers in the descriptor
    }
    if (f.type == "f64")
      v.kind = Value::Kind::Float;
    v.sym = Sym::flagRef(flags.size());
    f.value = v;
    if (h.name == "seed" && f.type == "int")
      seedFlag = flags.size();
    expScope.vars[h.name] = v;
    flags.push_back(f);
  }
  for (const auto &[name, _] : opts.overrides)
    if (!known.count(name)) {
      std::vector<std::string> cands;
      for (const auto &k : known)
        cands.push_back(k.getKey().str());
      std::string near = closestName(name, cands);
      diag.error({}, "--set " + name + ": experiment '" + exp.name +
                         "' has no hyperparameter '" + name + "'",
                 near.empty() ? "" : "did you mean '" + near + "'?");
      return false;
    }
  return true;
}

void Generator::layoutGroup(Group &g) {
  int64_t offset = 0;
  for (ParamInst *p : g.params) {
    p->offset = offset;
    offset += p->size;
  }
  g.size = offset;
}

Value Generator::makeTask(const std::string &name, const std::vector<Arg> &args,
                          Scope &scope, Loc loc) {
  Value req = Value::error();
  Value seed = seedFlag >= 0 ? flags[seedFlag].value : Value::integer(0);
  DataInst &d = datasets.emplace_back();
  d.task = name;
  d.loc = loc;
  auto dyn = [&](const Value &v, const std::string &what) -> std::optional<int> {
    return dynamicNumber(v, loc, "data." + what);
  };
  auto positive = [&](const Value &v, const std::string &what) -> std::optional<int64_t> {
    auto n = staticInt(v, loc, name + ": '" + what + "'");
    if (n && (*n <= 0 || *n > (int64_t(1) << 28))) {
      fail(loc, name + ": '" + what + "' must be in 1..2^28, got " + llvm::Twine(*n));
      return std::nullopt;
    }
    return n;
  };
  if (name == "gaussian") {
    auto a = bindArgs(args, scope, loc, name,
                      {"d", "n_train", "n_test", "target", "seed", "noise"},
                      {req, req, req, req, seed, Value::real(0)});
    if (!a)
      return Value::error();
    auto dIn = positive((*a)[0], "d"), nTrain = positive((*a)[1], "n_train"),
         nTest = positive((*a)[2], "n_test");
    if (!dIn || !nTrain || !nTest)
      return Value::error();
    const Value &target = (*a)[3];
    if (target.kind != Value::Kind::Model || !target.model->group ||
        target.model->group->root != target.model)
      return fail(loc, "gaussian: 'target' must be a model bound in the experiment "
                       "(e.g. `teacher = Mlp(...) frozen seed 1234`)");
    auto s = dyn((*a)[4], "seed"), noise = dyn((*a)[5], "noise");
    if (!s || !noise)
      return Value::error();
    d.xShape = {*dIn};
    d.nTrain = *nTrain;
    d.nTest = *nTest;
    d.teacher = target.model->group;
    // The teacher's forward pass over all examples, compiled like any other
    // function; its output shape is the label shape.
    int64_t n = *nTrain + *nTest;
    Group &tg = *d.teacher;
    auto fn = emitFunction("forward_" + tg.name, tg, {ttype({n, *dIn})},
                           [&](llvm::ArrayRef<mlir::Value> data)
                               -> std::optional<SmallVector<mlir::Value>> {
                             Value x = Value::ofTensor(data[0]);
                             Value root = Value::make(Value::Kind::Model);
                             root.model = tg.root;
                             Value y = callValue(root, {}, scope, loc, std::vector<Value>{x});
                             if (y.isError())
                               return std::nullopt;
                             if (y.kind != Value::Kind::Tensor ||
                                 shapeOf(y.tensor).size() != 2 || shapeOf(y.tensor)[0] != n) {
                               fail(loc, "gaussian: the target model must map f32[N, d] to "
                                         "f32[N, k], but it returned " + kindName(y));
                               return std::nullopt;
                             }
                             return SmallVector<mlir::Value>{y.tensor};
                           });
    if (!fn)
      return Value::error();
    d.yShape = {cast<mlir::RankedTensorType>(fn.getFunctionType().getResult(0)).getDimSize(1)};
    emitEntry("lm_forward_" + tg.name, fn, tg, false);
    d.desc = llvm::json::Object{{"task", "gaussian"},
                                {"seed", *s},
                                {"noise", *noise},
                                {"teacher", tg.name},
                                {"teacher_entry", "lm_forward_" + tg.name}};
  } else if (name == "parity") {
    // Sparse parity: x uniform in {-1, +1}^n, label 1 when the product of k
    // hidden coordinates (chosen by the seed) is -1, else 0.
    auto a = bindArgs(args, scope, loc, name, {"n", "k", "n_train", "n_test", "seed"},
                      {req, req, req, req, seed});
    if (!a)
      return Value::error();
    auto n = positive((*a)[0], "n"), k = positive((*a)[1], "k"),
         nTrain = positive((*a)[2], "n_train"), nTest = positive((*a)[3], "n_test");
    auto s = dyn((*a)[4], "seed");
    if (!n || !k || !nTrain || !nTest || !s)
      return Value::error();
    if (*k > *n)
      return fail(loc, "parity: k must be at most n");
    d.xShape = {*n};
    d.yShape = {};
    d.yInt = true;
    d.nTrain = *nTrain;
    d.nTest = *nTest;
    d.desc = llvm::json::Object{{"task", "parity"}, {"seed", *s}, {"n", *n}, {"k", *k}};
  } else if (name == "modular") {
    Value ordered = Value::make(Value::Kind::Str);
    ordered.str = "ordered";
    auto a = bindArgs(args, scope, loc, name, {"op", "p", "train_frac", "seed", "split"},
                      {req, req, req, seed, ordered});
    if (!a)
      return Value::error();
    const Value &op = (*a)[0], &split = (*a)[4];
    if (op.kind != Value::Kind::Str ||
        !llvm::is_contained({"add", "sub", "mul", "div"}, StringRef(op.str)))
      return fail(loc, "modular: op is add, sub, mul or div");
    if (split.kind != Value::Kind::Str || (split.str != "ordered" && split.str != "unordered"))
      return fail(loc, "modular: split is ordered or unordered");
    auto p = positive((*a)[1], "p");
    auto frac = staticNumber((*a)[2], loc, "modular: 'train_frac'");
    auto s = dyn((*a)[3], "seed");
    if (!p || !frac || !s)
      return Value::error();
    if (*p < 2 || *p > 4096)
      return fail(loc, "modular: p must be in 2..4096, got " + llvm::Twine(*p));
    if (op.str == "div")
      for (int64_t k = 2; k * k <= *p; ++k)
        if (*p % k == 0)
          return fail(loc, "modular: division needs a prime p (" + llvm::Twine(*p) +
                               " = " + llvm::Twine(k) + " x " + llvm::Twine(*p / k) + ")");
    int64_t total = op.str == "div" ? *p * (*p - 1) : *p * *p;
    int64_t nTrain = int64_t(std::llround(*frac * double(total)));
    if (!(*frac > 0 && *frac < 1) || nTrain < 1 || nTrain >= total)
      return fail(loc, "modular: train_frac must leave both splits non-empty (got " +
                           llvm::formatv("{0}", *frac).str() + " of " + llvm::Twine(total) + " pairs)");
    d.xShape = {3};
    d.yShape = {};
    d.xInt = d.yInt = true;
    d.nTrain = nTrain;
    d.nTest = total - nTrain;
    d.desc = llvm::json::Object{{"task", "modular"}, {"seed", *s}, {"op", op.str},
                                {"p", *p}, {"split", split.str}};
  } else {
    auto a = bindArgs(args, scope, loc, name,
                      {"d_in", "d_out", "singular_values", "n", "n_test", "whitened", "seed"},
                      {req, req, req, req, Value::none(), Value::boolean(false), seed});
    if (!a)
      return Value::error();
    auto dIn = positive((*a)[0], "d_in"), dOut = positive((*a)[1], "d_out"),
         n = positive((*a)[3], "n");
    if (!dIn || !dOut || !n)
      return Value::error();
    auto nTest = (*a)[4].kind == Value::Kind::None ? n : positive((*a)[4], "n_test");
    auto whitened = staticBool((*a)[5], loc, "linear_map: 'whitened'");
    auto s = dyn((*a)[6], "seed");
    if (!nTest || !whitened || !s)
      return Value::error();
    const Value &sv = (*a)[2];
    if (sv.kind != Value::Kind::List || sv.elems.empty() ||
        int64_t(sv.elems.size()) > std::min(*dIn, *dOut))
      return fail(loc, "linear_map: 'singular_values' must be a list of 1 to min(d_in, "
                       "d_out) = " + llvm::Twine(std::min(*dIn, *dOut)) + " numbers");
    llvm::json::Array svIdx;
    for (auto [i, x] : llvm::enumerate(sv.elems)) {
      auto k = dyn(x, "singular_values[" + std::to_string(i) + "]");
      if (!k)
        return Value::error();
      svIdx.push_back(*k);
    }
    if (*whitened && *n < *dIn)
      return fail(loc, "linear_map: whitened inputs need n >= d_in");
    d.xShape = {*dIn};
    d.yShape = {*dOut};
    d.nTrain = *n;
    d.nTest = *nTest;
    d.desc = llvm::json::Object{{"task", "linear_map"},
                                {"seed", *s},
                                {"singular_values", std::move(svIdx)},
                                {"whitened", *whitened}};
  }
  auto shape = [](llvm::ArrayRef<int64_t> s) {
    llvm::json::Array a;
    for (int64_t x : s)
      a.push_back(x);
    return a;
  };
  d.desc["x_shape"] = shape(d.xShape);
  d.desc["y_shape"] = shape(d.yShape);
  d.desc["x_dtype"] = d.xInt ? "i32" : "float";
  d.desc["y_dtype"] = d.yInt ? "i32" : "float";
  d.desc["n_train"] = d.nTrain;
  d.desc["n_test"] = d.nTest;
  Value v = Value::make(Value::Kind::Data);
  v.data = &d;
  return v;
}

mlir::func::FuncOp Generator::emitFunction(
    const std::string &name, Group &g, llvm::ArrayRef<mlir::Type> dataTypes,
    const std::function<std::optional<SmallVector<mlir::Value>>(
        llvm::ArrayRef<mlir::Value>)> &body) {
  mlir::OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  SmallVector<mlir::Type> inputs;
  for (ParamInst *p : g.params)
    inputs.push_back(ttype(p->shape));
  inputs.append(dataTypes.begin(), dataTypes.end());
  auto fn = b.create<mlir::func::FuncOp>(b.getUnknownLoc(), name,
                                         b.getFunctionType(inputs, {}));
  fn.setPrivate();
  mlir::Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  FnContext fc;
  fc.group = &g;
  for (auto [i, p] : llvm::enumerate(g.params)) {
    fc.params[p] = entry->getArgument(i);
    fn.setArgAttr(i, "lm.param", b.getStringAttr(p->path));
  }
  FnContext *saved = cur;
  cur = &fc;
  SmallVector<mlir::Value> dataArgs(entry->getArguments().drop_front(g.params.size()));
  auto results = body(dataArgs);
  cur = saved;
  if (!results) {
    fn.erase();
    return nullptr;
  }
  b.create<mlir::func::ReturnOp>(b.getUnknownLoc(), *results);
  SmallVector<mlir::Type> resultTypes;
  for (mlir::Value v : *results)
    resultTypes.push_back(v.getType());
  fn.setFunctionType(b.getFunctionType(inputs, resultTypes));
  return fn;
}

void Generator::emitEntry(const std::string &entryName, mlir::func::FuncOp inner,
                          Group &g, bool withGrad) {
  mlir::OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  mlir::Location loc = b.getUnknownLoc();
  auto flatType = ttype({std::max<int64_t>(g.size, 1)});
  auto innerType = inner.getFunctionType();
  SmallVector<mlir::Type> inputs{flatType};
  for (mlir::Type t : innerType.getInputs().drop_front(g.params.size()))
    inputs.push_back(t);
  SmallVector<mlir::Type> results(innerType.getResults());
  if (withGrad)
    results.push_back(flatType);
  auto fn = b.create<mlir::func::FuncOp>(loc, entryName, b.getFunctionType(inputs, results));
  fn->setAttr("lm.entry", b.getUnitAttr());
  mlir::Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  mlir::Value flat = entry->getArgument(0);
  SmallVector<mlir::Value> args;
  for (ParamInst *p : g.params) {
    mlir::Value slice = b.create<mlir::tensor::ExtractSliceOp>(
        loc, flat, llvm::ArrayRef<mlir::OpFoldResult>{b.getIndexAttr(p->offset)},
        llvm::ArrayRef<mlir::OpFoldResult>{b.getIndexAttr(p->size)},
        llvm::ArrayRef<mlir::OpFoldResult>{b.getIndexAttr(1)});
    if (p->shape.size() != 1)
      slice = b.create<ReshapeOp>(loc, ttype(p->shape), slice);
    args.push_back(slice);
  }
  for (mlir::Value v : entry->getArguments().drop_front())
    args.push_back(v);
  if (!withGrad) {
    auto call = b.create<mlir::func::CallOp>(loc, inner, args);
    b.create<mlir::func::ReturnOp>(loc, call.getResults());
    return;
  }
  SmallVector<mlir::Type> vgTypes{innerType.getResult(0)};
  for (ParamInst *p : g.params)
    vgTypes.push_back(ttype(p->shape));
  auto vg = b.create<ValueAndGradOp>(loc, vgTypes,
                                     mlir::FlatSymbolRefAttr::get(&ctx, inner.getSymName()), args,
                                     b.getI64IntegerAttr(g.params.size()));
  mlir::Value acc = b.create<mlir::tensor::EmptyOp>(loc, flatType.getShape(), f32);
  for (auto [i, p] : llvm::enumerate(g.params)) {
    mlir::Value grad = vg.getResult(i + 1);
    if (p->shape.size() != 1)
      grad = b.create<ReshapeOp>(loc, ttype({p->size}), grad);
    acc = b.create<mlir::tensor::InsertSliceOp>(
        loc, grad, acc, llvm::ArrayRef<mlir::OpFoldResult>{b.getIndexAttr(p->offset)},
        llvm::ArrayRef<mlir::OpFoldResult>{b.getIndexAttr(p->size)},
        llvm::ArrayRef<mlir::OpFoldResult>{b.getIndexAttr(1)});
  }
  b.create<mlir::func::ReturnOp>(loc, mlir::ValueRange{vg.getResult(0), acc});
}

llvm::json::Value Generator::groupJson(const Group &g) {
  llvm::json::Array params;
  for (ParamInst *p : g.params) {
    llvm::json::Array shape, args;
    for (int64_t d : p->shape)
      shape.push_back(d);
    for (int a : p->init.args)
      args.push_back(a);
    params.push_back(llvm::json::Object{
        {"name", p->path},
        {"shape", std::move(shape)},
        {"offset", p->offset},
        {"size", p->size},
        {"init", llvm::json::Object{{"kind", p->init.kind}, {"args", std::move(args)}}}});
  }
  return llvm::json::Object{{"name", g.name}, {"size", g.size}, {"frozen", g.frozen},
                            {"seed", g.seed}, {"params", std::move(params)}};
}

Value Generator::instantiateGroup(const std::string &name, const Expr *value, Loc loc) {
  auto *call = cast<CallExpr>(value);
  const ModelDecl *decl = prog.findModel(cast<NameExpr>(call->callee.get())->name);
  Group &g = groups.emplace_back();
  g.name = name;
  Value v = instantiate(*decl, call->args, expScope, call->getLoc(), "", &g);
  TRY(v);
  g.root = v.model;
  layoutGroup(g);
  if (g.size > (int64_t(1) << 31))
    return fail(loc, "model '" + name + "' has too many parameters (" +
                         llvm::Twine(g.size) + ")");
  return v;
}

/// `ensemble seed in 0..K`: K replicas trained as one batched program, the
/// run-time int flag taking the values lo..hi-1 (see --lm-replicate).
bool Generator::setupEnsemble(const Setting &s) {
  if (ensemble.flag >= 0) {
    diag.error(s.loc, "only one `ensemble` per train block");
    return false;
  }
  auto it = llvm::find_if(flags, [&](const Flag &f) { return f.name == s.name; });
  if (it == flags.end() || it->type != "int") {
    diag.error(s.loc, "`ensemble " + s.name + " in ...` needs an int hyperparameter named '" +
                          s.name + "' in the experiment's signature",
               "declare it, e.g. `experiment e(seed: int = 0, ...)`, and write "
               "`ensemble seed in 0..8`");
    return false;
  }
  auto *range = dyn_cast<RangeExpr>(s.value.get());
  if (!range) {
    diag.error(s.value->getLoc(), "an ensemble ranges over integers `lo..hi` (hi excluded)",
               "e.g. `ensemble " + s.name + " in 0..16`");
    return false;
  }
  Value lo = eval(range->lo.get(), expScope), hi = eval(range->hi.get(), expScope);
  if (lo.isError() || hi.isError())
    return false;
  std::optional<int64_t> a = staticInt(lo, range->lo->getLoc(), "the ensemble's first value");
  std::optional<int64_t> z = staticInt(hi, range->hi->getLoc(), "the ensemble's end");
  if (!a || !z)
    return false;
  if (*z - *a < 1 || *z - *a > 4096) {
    diag.error(s.value->getLoc(), "an ensemble needs 1..4096 replicas, not " +
                                      llvm::Twine(*z - *a));
    return false;
  }
  ensemble.flag = int(it - flags.begin());
  ensemble.from = *a;
  ensemble.count = *z - *a;
  ensemble.loc = s.loc;
  return true;
}

bool Generator::emitTrain(const TrainBlock &t) {
  Value m = eval(std::make_unique<NameExpr>(t.modelLoc, t.model).get(), expScope);
  if (m.isError())
    return false;
  if (m.kind != Value::Kind::Model || m.model->group->root != m.model) {
    diag.error(t.modelLoc, "'" + t.model + "' is not a model bound in this experiment");
    return false;
  }
  Group &g = *m.model->group;
  if (g.frozen) {
    diag.error(t.modelLoc, "'" + t.model + "' is frozen and cannot be trained");
    return false;
  }
  if (g.params.empty()) {
    diag.error(t.modelLoc, "'" + t.model + "' has no parameters to train");
    return false;
  }
  if (trained) {
    diag.error(t.loc, "only one `train` block per experiment is supported yet");
    return false;
  }
  Value split = eval(t.data.get(), expScope);
  if (split.isError())
    return false;
  if (split.kind != Value::Kind::Split || split.str != "train") {
    diag.error(t.data->getLoc(), "train on a dataset's train split (e.g. `data.train`), not " +
                                     kindName(split));
    return false;
  }
  trained = &g;
  trainData = split.data;
  std::optional<int64_t> batch = trainData->nTrain;
  Value optimizer = Value::none(), steps = Value::none(), schedule = Value::none(),
        clip = Value::none();
  std::string lossName = "loss";
  Loc lossLoc = t.loc;
  for (const Setting &s : t.settings) {
    if (s.isEnsemble) {
      if (!setupEnsemble(s))
        return false;
      continue;
    }
    Value v = eval(s.value.get(), expScope);
    if (s.name == "loss" && isa<NameExpr>(s.value.get())) {
      lossName = cast<NameExpr>(s.value.get())->name;
      lossLoc = s.value->getLoc();
      continue;
    }
    if (v.isError())
      return false;
    if (s.name == "optimizer") {
      if (v.kind != Value::Kind::Optim) {
        diag.error(s.value->getLoc(), "optimizer must be sgd(...) or gd(...), not " +
                                          kindName(v));
        return false;
      }
      optimizer = v;
    } else if (s.name == "batch") {
      if (v.kind != Value::Kind::Full) {
        batch = staticInt(v, s.value->getLoc(), "batch");
        if (!batch)
          return false;
        if (*batch < 1 || *batch > trainData->nTrain) {
          diag.error(s.value->getLoc(), "batch must be in 1.." +
                                            llvm::Twine(trainData->nTrain) +
                                            " (the train split's size), got " +
                                            llvm::Twine(*batch));
          return false;
        }
      }
    } else if (s.name == "schedule") {
      if (v.kind != Value::Kind::Optim || (v.str != "warmup" && v.str != "cosine")) {
        diag.error(s.value->getLoc(), "schedule must be warmup(steps) or cosine(warmup, min_lr), "
                                      "not " + kindName(v));
        return false;
      }
      schedule = v;
    } else if (s.name == "clip") {
      if (!v.isNumber()) {
        diag.error(s.value->getLoc(), "clip is the maximum gradient norm, a number");
        return false;
      }
      clip = v;
    } else if (s.name == "steps") {
      if (v.kind != Value::Kind::Int) {
        diag.error(s.value->getLoc(), "steps must be an int, not " + kindName(v));
        return false;
      }
      steps = v;
    } else {
      diag.error(s.loc, "unknown train setting '" + s.name + "'",
                 "settings are optimizer, batch, steps, schedule, clip and loss");
      return false;
    }
  }
  if (optimizer.kind == Value::Kind::Optim &&
      (optimizer.str == "warmup" || optimizer.str == "cosine")) {
    diag.error(t.loc, "'" + optimizer.str + "' is a schedule: write `schedule = ...`");
    return false;
  }
  if (optimizer.kind == Value::Kind::None || steps.kind == Value::Kind::None) {
    diag.error(t.loc, "a train block needs `optimizer = ...` and `steps = ...`");
    return false;
  }
  if (optimizer.str == "gd" && *batch != trainData->nTrain) {
    diag.error(t.loc, "gd is full-batch gradient descent; use sgd for minibatches");
    return false;
  }
  Value *lossFn = expScope.find(lossName);
  if (!lossFn || lossFn->kind != Value::Kind::Fn || lossFn->model) {
    diag.error(lossLoc, "the experiment defines no loss function '" + lossName + "'",
               "write `loss(x, y) = mse(net(x), y)` in the experiment");
    return false;
  }
  const FnDecl &lfn = *lossFn->fn;
  if (lfn.args.size() != 2) {
    diag.error(lfn.loc, "the loss takes (x, y): 2 arguments, not " +
                            llvm::Twine(lfn.args.size()));
    return false;
  }
  auto fn = emitFunction(
      "loss", g, {dataType(trainData->xShape, trainData->xInt, *batch),
                  dataType(trainData->yShape, trainData->yInt, *batch)},
      [&](llvm::ArrayRef<mlir::Value> data) -> std::optional<SmallVector<mlir::Value>> {
        Value l = callFunction(lfn, nullptr,
                               {Value::ofTensor(data[0]), Value::ofTensor(data[1])}, lfn.loc);
        if (l.isError())
          return std::nullopt;
        if (l.kind != Value::Kind::Tensor || !shapeOf(l.tensor).empty()) {
          fail(lfn.loc, "the loss must be a scalar (a 0-d tensor), but it is " + kindName(l),
               "reduce it, e.g. with mean(...) or mse(...)");
          return std::nullopt;
        }
        return SmallVector<mlir::Value>{l.tensor};
      });
  if (!fn)
    return false;
  emitEntry("lm_train_step", fn, g, true);
  entries.push_back("lm_train_step");
  llvm::json::Object opt{{"kind", optimizer.str}};
  for (auto [i, n] : llvm::enumerate(optimizer.names))
    opt[n] = dynamic(optimizer.elems[i], "optimizer." + n);
  llvm::json::Object train{{"group", g.name},
                           {"entry", "lm_train_step"},
                           {"batch", *batch},
                           {"steps", dynamic(steps, "train.steps")},
                           {"optimizer", std::move(opt)}};
  if (schedule.kind == Value::Kind::Optim) {
    llvm::json::Object sched{{"kind", schedule.str}};
    for (auto [i, n] : llvm::enumerate(schedule.names))
      sched[n] = dynamic(schedule.elems[i], "schedule." + n);
    train["schedule"] = std::move(sched);
  }
  if (clip.isNumber())
    train["clip"] = dynamic(clip, "train.clip");
  desc["train"] = std::move(train);
  return true;
}

bool Generator::emitObserve(const ObserveBlock &o) {
  if (!trained) {
    diag.error(o.loc, "observations need a `train` block");
    return false;
  }
  if (!o.unit.empty() && o.unit != "steps") {
    diag.error(o.loc, "observe every N steps (the unit must be 'steps', not '" + o.unit + "')");
    return false;
  }
  Value every = eval(o.every.get(), expScope);
  if (every.isError())
    return false;
  if (every.kind != Value::Kind::Int) {
    diag.error(o.every->getLoc(), "observe every N steps: N must be an int");
    return false;
  }
  llvm::json::Array items;
  llvm::StringSet<> seen{"step", "time_s", "batch_loss"};
  for (const ObserveItem &it : o.items) {
    if (!seen.insert(it.name).second) {
      diag.error(it.loc, "observable '" + it.name + "' is defined twice (or is reserved)");
      return false;
    }
    std::vector<mlir::Type> dataTypes;
    DataInst *data = nullptr;
    std::string splitName;
    if (it.split) {
      Value s = eval(it.split.get(), expScope);
      if (s.isError())
        return false;
      if (s.kind != Value::Kind::Split) {
        diag.error(it.split->getLoc(), "`over` needs a data split like data.test, not " +
                                           kindName(s));
        return false;
      }
      data = s.data;
      splitName = s.str;
      int64_t n = splitName == "train" ? data->nTrain : data->nTest;
      dataTypes = {dataType(data->xShape, data->xInt, n), dataType(data->yShape, data->yInt, n)};
    }
    std::string fname = "obs_" + it.name;
    std::vector<std::string> columns;
    double temperature = 0;
    auto fn = emitFunction(
        fname, *trained, dataTypes,
        [&](llvm::ArrayRef<mlir::Value> d) -> std::optional<SmallVector<mlir::Value>> {
          Scope local;
          local.parent = &expScope;
          if (data) {
            local.vars["x"] = Value::ofTensor(d[0]);
            local.vars["y"] = Value::ofTensor(d[1]);
          }
          Value v = eval(it.value.get(), local);
          if (v.isError())
            return std::nullopt;
          if (v.kind == Value::Kind::Fn && data)
            v = callFunction(*v.fn, v.model, {local.vars["x"], local.vars["y"]},
                             it.value->getLoc());
          if (v.isError())
            return std::nullopt;
          if (v.isNumber())
            v = toTensor(v, it.value->getLoc());
          columns = v.columns;
          temperature = v.num;
          bool vector = !columns.empty() && v.kind == Value::Kind::Tensor &&
                        shapeOf(v.tensor).size() == 1;
          // The runtime sizes its buffer from the column names.
          assert((!vector || shapeOf(v.tensor)[0] == int64_t(columns.size())) &&
                 "one column name per vector entry");
          if (!vector && (v.kind != Value::Kind::Tensor || !shapeOf(v.tensor).empty())) {
            fail(it.value->getLoc(), "an observable must be a scalar, but '" + it.name +
                                         "' is " + kindName(v),
                 data ? "" : "a function of (x, y) needs `over <split>`");
            return std::nullopt;
          }
          return SmallVector<mlir::Value>{v.tensor};
        });
    if (!fn)
      return false;
    std::string entry = "lm_obs_" + it.name;
    emitEntry(entry, fn, *trained, false);
    entries.push_back(entry);
    llvm::json::Object item{{"name", it.name}, {"entry", entry}};
    observedColumns.insert(it.name);
    for (const std::string &c : columns) {
      observedColumns.insert(it.name + "." + c);
      if (c == "U")
        observedColumns.insert(it.name + ".Cwin");
    }
    if (!columns.empty()) {
      llvm::json::Array cols;
      for (const std::string &c : columns)
        cols.push_back(c);
      item["columns"] = std::move(cols);
      item["kind"] = "thermo";
      item["temperature"] = temperature;
    }
    if (data) {
      if (data != trainData) {
        diag.error(it.split->getLoc(), "observing over a dataset other than the training "
                                       "one is not supported yet");
        return false;
      }
      item["split"] = splitName;
    }
    items.push_back(std::move(item));
  }
  desc["observe"] = llvm::json::Object{{"every", dynamic(every, "observe.every")},
                                       {"items", std::move(items)}};
  return true;
}

/// Emits `@lm_hyper(flags: tensor<Fxf64>) -> tensor<Hxf64>`, computing every
/// run-time scalar from the flag values.
void Generator::emitHyper() {
  mlir::OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  mlir::Location loc = b.getUnknownLoc();
  mlir::Type f64 = b.getF64Type();
  auto inType = mlir::RankedTensorType::get({std::max<int64_t>(flags.size(), 1)}, f64);
  auto outType = mlir::RankedTensorType::get({std::max<int64_t>(hyper.size(), 1)}, f64);
  auto fn = b.create<mlir::func::FuncOp>(loc, "lm_hyper", b.getFunctionType({inType}, {outType}));
  fn->setAttr("lm.entry", b.getUnitAttr());
  mlir::Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  std::map<const Sym *, mlir::Value> memo;
  auto cst = [&](double x) -> mlir::Value {
    return b.create<mlir::arith::ConstantOp>(loc, b.getF64FloatAttr(x));
  };
  auto boolToF = [&](mlir::Value c) -> mlir::Value {
    return b.create<mlir::arith::SelectOp>(loc, c, cst(1), cst(0));
  };
  auto truthy = [&](mlir::Value x) -> mlir::Value {
    return b.create<mlir::arith::CmpFOp>(loc, mlir::arith::CmpFPredicate::UNE, x, cst(0));
  };
  std::function<mlir::Value(const Sym &)> gen = [&](const Sym &s) -> mlir::Value {
    if (auto it = memo.find(&s); it != memo.end())
      return it->second;
    using Op = Sym::Op;
    using P = mlir::arith::CmpFPredicate;
    mlir::Value r;
    auto A = [&] { return gen(*s.a); };
    auto B = [&] { return gen(*s.b); };
    auto cmp = [&](P p) { return boolToF(b.create<mlir::arith::CmpFOp>(loc, p, A(), B())); };
    switch (s.op) {
    case Op::Const: r = cst(s.value); break;
    case Op::Flag: {
      mlir::Value idx = b.create<mlir::arith::ConstantIndexOp>(loc, s.flag);
      r = b.create<mlir::tensor::ExtractOp>(loc, entry->getArgument(0), mlir::ValueRange{idx});
      break;
    }
    case Op::Neg: r = b.create<mlir::arith::NegFOp>(loc, A()); break;
    case Op::Add: r = b.create<mlir::arith::AddFOp>(loc, A(), B()); break;
    case Op::Sub: r = b.create<mlir::arith::SubFOp>(loc, A(), B()); break;
    case Op::Mul: r = b.create<mlir::arith::MulFOp>(loc, A(), B()); break;
    case Op::Div: r = b.create<mlir::arith::DivFOp>(loc, A(), B()); break;
    case Op::FloorDiv:
      r = b.create<mlir::math::FloorOp>(loc, b.create<mlir::arith::DivFOp>(loc, A(), B()));
      break;
    case Op::Mod: {
      mlir::Value a = A(), c = B();
      mlir::Value q = b.create<mlir::math::FloorOp>(loc, b.create<mlir::arith::DivFOp>(loc, a, c));
      r = b.create<mlir::arith::SubFOp>(loc, a, b.create<mlir::arith::MulFOp>(loc, c, q));
      break;
    }
    case Op::Pow: r = b.create<mlir::math::PowFOp>(loc, A(), B()); break;
    case Op::Sqrt: r = b.create<mlir::math::SqrtOp>(loc, A()); break;
    case Op::Exp: r = b.create<mlir::math::ExpOp>(loc, A()); break;
    case Op::Log: r = b.create<mlir::math::LogOp>(loc, A()); break;
    case Op::Min: r = b.create<mlir::arith::MinimumFOp>(loc, A(), B()); break;
    case Op::Max: r = b.create<mlir::arith::MaximumFOp>(loc, A(), B()); break;
    case Op::Select:
      r = b.create<mlir::arith::SelectOp>(loc, truthy(A()), B(), gen(*s.c));
      break;
    case Op::Lt: r = cmp(P::OLT); break;
    case Op::Le: r = cmp(P::OLE); break;
    case Op::Gt: r = cmp(P::OGT); break;
    case Op::Ge: r = cmp(P::OGE); break;
    case Op::Eq: r = cmp(P::OEQ); break;
    case Op::Ne: r = cmp(P::UNE); break;
    case Op::And:
      r = boolToF(b.create<mlir::arith::AndIOp>(loc, truthy(A()), truthy(B())));
      break;
    case Op::Or:
      r = boolToF(b.create<mlir::arith::OrIOp>(loc, truthy(A()), truthy(B())));
      break;
    case Op::Not:
      r = boolToF(b.create<mlir::arith::CmpFOp>(loc, P::OEQ, A(), cst(0)));
      break;
    }
    memo[&s] = r;
    return r;
  };
  SmallVector<mlir::Value> outs;
  for (const auto &[name, sym] : hyper)
    outs.push_back(gen(*sym));
  if (outs.empty())
    outs.push_back(cst(0));
  mlir::Value t = b.create<mlir::tensor::FromElementsOp>(loc, outType, outs);
  b.create<mlir::func::ReturnOp>(loc, t);
}

bool Generator::elaborateExperiment(const ExperimentDecl &exp) {
  // Bindings and functions first, in order; then training; then observation.
  for (const ExperimentItem &it : exp.items) {
    switch (it.kind) {
    case ExperimentItem::Kind::Binding: {
      if (expScope.vars.count(it.name)) {
        diag.error(it.loc, "'" + it.name + "' is already defined in this experiment");
        return false;
      }
      auto *call = dyn_cast<CallExpr>(it.value.get());
      auto *callee = call ? dyn_cast<NameExpr>(call->callee.get()) : nullptr;
      Value v;
      if (callee && !expScope.find(callee->name) && prog.findModel(callee->name)) {
        v = instantiateGroup(it.name, it.value.get(), it.loc);
        if (v.isError())
          return false;
        Group &g = *v.model->group;
        g.frozen = it.frozen;
        Value seed = seedFlag >= 0 ? flags[seedFlag].value : Value::integer(0);
        if (it.frozenSeed) {
          seed = eval(it.frozenSeed.get(), expScope);
          if (seed.isError())
            return false;
        }
        auto s = dynamicNumber(seed, it.loc, it.name + ".seed");
        if (!s)
          return false;
        g.seed = *s;
      } else if (callee && !expScope.find(callee->name) &&
                 (callee->name == "gaussian" || callee->name == "linear_map" ||
                  callee->name == "modular" || callee->name == "parity")) {
        v = makeTask(callee->name, call->args, expScope, call->getLoc());
      } else {
        if (it.frozen) {
          diag.error(it.loc, "only a model binding can be `frozen`");
          return false;
        }
        v = eval(it.value.get(), expScope);
      }
      if (v.isError())
        return false;
      expScope.vars[it.name] = v;
      break;
    }
    case ExperimentItem::Kind::Fn: {
      Value f = Value::make(Value::Kind::Fn);
      f.fn = it.fn.get();
      expScope.vars[it.fn->name] = f;
      break;
    }
    case ExperimentItem::Kind::Expect:
      break; // after the observations are known
    case ExperimentItem::Kind::Predict:
      diag.error(it.loc, "`predict` is not supported yet",
                 "use `expect` with an explicit comparison for now");
      return false;
    default:
      break;
    }
  }
  bool hasTrain = false;
  for (const ExperimentItem &it : exp.items)
    if (it.kind == ExperimentItem::Kind::Train) {
      hasTrain = true;
      if (!emitTrain(*it.train))
        return false;
    }
  if (!hasTrain) {
    diag.error(exp.loc, "experiment '" + exp.name + "' has no `train` block");
    return false;
  }
  for (const ExperimentItem &it : exp.items)
    if (it.kind == ExperimentItem::Kind::Observe && !emitObserve(*it.observe))
      return false;
  llvm::json::Array expects;
  for (const ExperimentItem &it : exp.items) {
    if (it.kind != ExperimentItem::Kind::Expect)
      continue;
    auto tree = expectTree(it.value.get());
    if (!tree)
      return false;
    // The statement's source line, for the report.
    auto &sm = diag.getSourceMgr();
    unsigned id = sm.FindBufferContainingLoc(it.loc);
    llvm::StringRef rest(it.loc.getPointer(),
                         sm.getMemoryBuffer(id)->getBufferEnd() - it.loc.getPointer());
    llvm::StringRef text = rest.split('\n').first.split("//").first.trim();
    expects.push_back(llvm::json::Object{{"text", text.str()}, {"tree", std::move(*tree)}});
  }
  desc["expect"] = std::move(expects);
  return true;
}

/// An `expect` expression as a JSON tree the runtime evaluates over the
/// recorded series at the end of the run: {"series": column}, {"hyper": i}
/// (a number, possibly of run-time flags), {"op": name, "args": [...]}.
std::optional<llvm::json::Value> Generator::expectTree(const Expr *e) {
  auto columnExists = [&](const std::string &c) { return observedColumns.count(c) != 0; };
  switch (e->getKind()) {
  case Expr::Kind::Int:
  case Expr::Kind::Float:
  case Expr::Kind::Bool: {
    Value v = eval(e, expScope);
    if (v.isError())
      return std::nullopt;
    return llvm::json::Value(llvm::json::Object{{"hyper", dynamic(v, "expect.constant")}});
  }
  case Expr::Kind::Name: {
    const std::string &n = cast<NameExpr>(e)->name;
    if (columnExists(n))
      return llvm::json::Value(llvm::json::Object{{"series", n}});
    Value v = eval(e, expScope);
    if (v.isError())
      return std::nullopt;
    if (!v.isNumber()) {
      fail(e->getLoc(), "'" + n + "' is not an observable or a number");
      return std::nullopt;
    }
    return llvm::json::Value(llvm::json::Object{{"hyper", dynamic(v, "expect." + n)}});
  }
  case Expr::Kind::Member: {
    auto *m = cast<MemberExpr>(e);
    auto *base = dyn_cast<NameExpr>(m->base.get());
    std::string column = base ? base->name + "." + m->member : "";
    if (!base || !columnExists(column)) {
      fail(m->memberLoc, "'" + column + "' is not a recorded column",
           "thermo sites record .F .U .S .C (and .Cwin, .F.h0, ...)");
      return std::nullopt;
    }
    return llvm::json::Value(llvm::json::Object{{"series", column}});
  }
  case Expr::Kind::Unary: {
    auto *u = cast<UnaryExpr>(e);
    auto a = expectTree(u->operand.get());
    if (!a)
      return std::nullopt;
    return llvm::json::Value(
        llvm::json::Object{{"op", u->op == "not" ? "not" : "neg"}, {"args", llvm::json::Array{std::move(*a)}}});
  }
  case Expr::Kind::Binary: {
    auto *bin = cast<BinaryExpr>(e);
    static const llvm::StringSet<> ops = {"+", "-", "*", "/", "<", "<=", ">", ">=",
                                          "==", "!=", "and", "or"};
    if (!ops.count(bin->op)) {
      fail(bin->opLoc, "`" + bin->op + "` is not supported in expect");
      return std::nullopt;
    }
    auto a = expectTree(bin->lhs.get()), c = expectTree(bin->rhs.get());
    if (!a || !c)
      return std::nullopt;
    return llvm::json::Value(llvm::json::Object{
        {"op", bin->op}, {"args", llvm::json::Array{std::move(*a), std::move(*c)}}});
  }
  case Expr::Kind::Call: {
    auto *call = cast<CallExpr>(e);
    auto *callee = dyn_cast<NameExpr>(call->callee.get());
    static const llvm::StringSet<> fns = {"first", "last", "argmax", "argmin", "step_of",
                                          "max", "min", "mean"};
    if (!callee || !fns.count(callee->name) || call->args.size() != 1 ||
        !call->args[0].name.empty()) {
      fail(e->getLoc(), "expect understands first(cond), last(s), argmax(s), argmin(s), "
                        "step_of(event), max(s), min(s), mean(s) of one argument");
      return std::nullopt;
    }
    auto a = expectTree(call->args[0].value.get());
    if (!a)
      return std::nullopt;
    return llvm::json::Value(llvm::json::Object{{"op", callee->name},
                                                {"args", llvm::json::Array{std::move(*a)}}});
  }
  default:
    fail(e->getLoc(), "this expression is not supported in expect");
    return std::nullopt;
  }
}

std::optional<GeneratedExperiment> Generator::run(const GenOptions &opts) {
  const ExperimentDecl *exp = nullptr;
  auto mains = prog.mainExperiments();
  if (!opts.experiment.empty()) {
    exp = prog.findExperiment(opts.experiment);
    if (!exp) {
      diag.error({}, "no experiment named '" + opts.experiment + "'");
      return std::nullopt;
    }
  } else if (mains.size() == 1) {
    exp = mains.front();
  } else {
    const llvm::MemoryBuffer *mainBuf =
        diag.getSourceMgr().getMemoryBuffer(prog.mainModule().bufferId);
    diag.error(llvm::SMLoc::getFromPointer(mainBuf->getBufferStart()),
               mains.empty() ? "the file defines no experiment"
                             : "the file defines several experiments",
               mains.empty() ? "write `experiment name(...) { ... }`"
                             : "choose one with --experiment NAME");
    return std::nullopt;
  }
  module = mlir::ModuleOp::create(b.getUnknownLoc());
  mlir::OwningOpRef<mlir::ModuleOp> owned(module);
  module->setAttr("lm.experiment", b.getStringAttr(exp->name));
  if (!setupFlags(*exp, opts) || !elaborateExperiment(*exp))
    return std::nullopt;
  emitHyper();
  if (ensemble.flag >= 0) {
    const Flag &f = flags[ensemble.flag];
    if (f.compileTime) {
      diag.error(ensemble.loc, "the ensemble varies '" + f.name +
                                   "', but '" + f.name + "' fixes shapes or other compile-time "
                                   "values of this experiment",
                 "an ensemble can vary a run-time flag such as a seed");
      return std::nullopt;
    }
    // The training and observation entries run all replicas at once.
    llvm::StringSet<> replicated{"lm_train_step"};
    if (auto *obs = desc.getObject("observe"))
      for (const llvm::json::Value &item : *obs->getArray("items"))
        replicated.insert(*item.getAsObject()->getString("entry"));
    for (auto fn : module.getOps<mlir::func::FuncOp>())
      if (fn->hasAttr("lm.entry") && replicated.count(fn.getSymName()))
        fn->setAttr("lm.replicas", b.getI64IntegerAttr(ensemble.count));
    desc["ensemble"] = llvm::json::Object{{"flag", f.name},
                                          {"flag_index", ensemble.flag},
                                          {"from", ensemble.from},
                                          {"count", ensemble.count}};
  }
  // Entry points in a fixed order: training, observations, then the rest.
  for (auto fn : module.getOps<mlir::func::FuncOp>())
    if (fn->hasAttr("lm.entry") && !llvm::is_contained(entries, fn.getSymName().str()))
      entries.push_back(fn.getSymName().str());
  if (mlir::failed(mlir::verify(module))) {
    diag.error(exp->loc, "internal error: the generated IR does not verify (see above)");
    return std::nullopt;
  }

  llvm::json::Array flagArr, hyperArr, groupArr, entryArr;
  for (const Flag &f : flags) {
    llvm::json::Value def = f.type == "int"    ? llvm::json::Value(int64_t(f.value.num))
                            : f.type == "bool" ? llvm::json::Value(f.value.num != 0)
                                               : llvm::json::Value(f.value.num);
    flagArr.push_back(llvm::json::Object{{"name", f.name},
                                         {"type", f.type},
                                         {"default", std::move(def)},
                                         {"compile_time", f.compileTime}});
  }
  for (const auto &[name, _] : hyper)
    hyperArr.push_back(name);
  for (const Group &g : groups)
    groupArr.push_back(groupJson(g));
  for (const std::string &e : entries)
    entryArr.push_back(e);
  desc["version"] = 1;
  desc["dtype"] = opts.dtype;
  desc["experiment"] = exp->name;
  desc["flags"] = std::move(flagArr);
  desc["hyper"] = std::move(hyperArr);
  desc["groups"] = std::move(groupArr);
  desc["entries"] = std::move(entryArr);
  desc["data"] = llvm::json::Object(trainData->desc);
  if (!desc.get("observe"))
    desc["observe"] = llvm::json::Object{{"every", -1}, {"items", llvm::json::Array{}}};
  GeneratedExperiment out;
  out.module = std::move(owned);
  out.descriptor = std::move(desc);
  return out;
}

} // namespace

std::optional<GeneratedExperiment> lm::generateExperiment(Program &program,
                                                          mlir::MLIRContext &ctx,
                                                          const GenOptions &options) {
  ctx.loadDialect<LMDialect, mlir::func::FuncDialect, mlir::arith::ArithDialect,
                  mlir::tensor::TensorDialect, mlir::math::MathDialect>();
  Generator gen(program, ctx, options.dtype == "f64");
  return gen.run(options);
}
