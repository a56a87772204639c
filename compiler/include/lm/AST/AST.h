//===- AST.h - The .lm abstract syntax tree ---------------------*- C++ -*-===//
//
// The parse tree is turned into these nodes right away (lib/Parse). Every node
// carries the source location of its first token (an llvm::SMLoc into the
// SourceMgr buffer that holds the file), so every later stage can point at
// source in its diagnostics.
//
//===----------------------------------------------------------------------===//
#ifndef LM_AST_AST_H
#define LM_AST_AST_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/SMLoc.h"
#include "llvm/Support/raw_ostream.h"
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lm::ast {

using Loc = llvm::SMLoc;

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

class Expr {
public:
  enum class Kind {
    Int, Float, String, Bool, Name, Member, Call, Index, Unary, Binary,
    Range, Cond, Tap, Tuple, List
  };
  Expr(Kind kind, Loc loc) : kind(kind), loc(loc) {}
  virtual ~Expr() = default;
  Kind getKind() const { return kind; }
  Loc getLoc() const { return loc; }

private:
  Kind kind;
  Loc loc;
};
using ExprPtr = std::unique_ptr<Expr>;

template <Expr::Kind K> class ExprBase : public Expr {
public:
  explicit ExprBase(Loc loc) : Expr(K, loc) {}
  static bool classof(const Expr *e) { return e->getKind() == K; }
};

struct IntExpr : ExprBase<Expr::Kind::Int> {
  IntExpr(Loc l, int64_t v) : ExprBase(l), value(v) {}
  int64_t value;
};
struct FloatExpr : ExprBase<Expr::Kind::Float> {
  FloatExpr(Loc l, double v) : ExprBase(l), value(v) {}
  double value;
};
struct StringExpr : ExprBase<Expr::Kind::String> {
  StringExpr(Loc l, std::string v) : ExprBase(l), value(std::move(v)) {}
  std::string value;
};
struct BoolExpr : ExprBase<Expr::Kind::Bool> {
  BoolExpr(Loc l, bool v) : ExprBase(l), value(v) {}
  bool value;
};
struct NameExpr : ExprBase<Expr::Kind::Name> {
  NameExpr(Loc l, std::string n) : ExprBase(l), name(std::move(n)) {}
  std::string name;
};
/// `base.member`; `.T` is a member too.
struct MemberExpr : ExprBase<Expr::Kind::Member> {
  MemberExpr(Loc l, ExprPtr b, std::string m, Loc memberLoc)
      : ExprBase(l), base(std::move(b)), member(std::move(m)),
        memberLoc(memberLoc) {}
  ExprPtr base;
  std::string member;
  Loc memberLoc;
};
struct Arg {
  std::string name; // empty when positional
  Loc loc;
  ExprPtr value;
};
struct CallExpr : ExprBase<Expr::Kind::Call> {
  CallExpr(Loc l, ExprPtr c, std::vector<Arg> a)
      : ExprBase(l), callee(std::move(c)), args(std::move(a)) {}
  ExprPtr callee;
  std::vector<Arg> args;
};
/// One subscript: either a single index or a `lo:hi` slice (either bound may
/// be missing).
struct Slice {
  Loc loc;
  bool isRange = false;
  ExprPtr index, lo, hi;
};
struct IndexExpr : ExprBase<Expr::Kind::Index> {
  IndexExpr(Loc l, ExprPtr b, std::vector<Slice> s)
      : ExprBase(l), base(std::move(b)), slices(std::move(s)) {}
  ExprPtr base;
  std::vector<Slice> slices;
};
struct UnaryExpr : ExprBase<Expr::Kind::Unary> {
  UnaryExpr(Loc l, std::string o, ExprPtr x)
      : ExprBase(l), op(std::move(o)), operand(std::move(x)) {}
  std::string op; // "-", "+", "not"
  ExprPtr operand;
};
struct BinaryExpr : ExprBase<Expr::Kind::Binary> {
  BinaryExpr(Loc l, std::string o, ExprPtr a, ExprPtr b, Loc opLoc)
      : ExprBase(l), op(std::move(o)), lhs(std::move(a)), rhs(std::move(b)),
        opLoc(opLoc) {}
  std::string op; // + - * / % @ ^ < <= > >= == != and or ~
  ExprPtr lhs, rhs;
  Loc opLoc;
};
/// `lo..hi`, half open.
struct RangeExpr : ExprBase<Expr::Kind::Range> {
  RangeExpr(Loc l, ExprPtr a, ExprPtr b)
      : ExprBase(l), lo(std::move(a)), hi(std::move(b)) {}
  ExprPtr lo, hi;
};
/// `then if cond [else otherwise]`; without `else` the value is "absent".
struct CondExpr : ExprBase<Expr::Kind::Cond> {
  CondExpr(Loc l, ExprPtr t, ExprPtr c, ExprPtr e)
      : ExprBase(l), then(std::move(t)), cond(std::move(c)),
        otherwise(std::move(e)) {}
  ExprPtr then, cond, otherwise;
};
/// `value tap name`: names a site inside a model so observables can read it.
struct TapExpr : ExprBase<Expr::Kind::Tap> {
  TapExpr(Loc l, ExprPtr v, std::string n)
      : ExprBase(l), value(std::move(v)), name(std::move(n)) {}
  ExprPtr value;
  std::string name;
};
struct TupleExpr : ExprBase<Expr::Kind::Tuple> {
  TupleExpr(Loc l, std::vector<ExprPtr> e) : ExprBase(l), elems(std::move(e)) {}
  std::vector<ExprPtr> elems;
};
struct ListExpr : ExprBase<Expr::Kind::List> {
  ListExpr(Loc l, std::vector<ExprPtr> e) : ExprBase(l), elems(std::move(e)) {}
  std::vector<ExprPtr> elems;
};

//===----------------------------------------------------------------------===//
// Types and declarations
//===----------------------------------------------------------------------===//

/// `int`, `f64`, `bool`, `list[int]`, `f32[d_out, d_in]`, `f32[..., d]`.
/// A null entry in `dims` stands for `...`.
struct TypeRef {
  Loc loc;
  std::string base;
  bool hasDims = false;
  std::vector<ExprPtr> dims;
};

/// A typed hyperparameter of a model or experiment, with optional default.
struct HParam {
  Loc loc;
  std::string name;
  TypeRef type;
  ExprPtr defaultValue;
};

struct FnArg {
  Loc loc;
  std::string name;
  std::optional<TypeRef> type;
};

class Stmt {
public:
  enum class Kind { Let, Var, Assign, For, Return };
  Stmt(Kind k, Loc l) : kind(k), loc(l) {}
  virtual ~Stmt() = default;
  Kind getKind() const { return kind; }
  Loc getLoc() const { return loc; }

private:
  Kind kind;
  Loc loc;
};
using StmtPtr = std::unique_ptr<Stmt>;

/// `let x = e`, `var x = e` and `x = e` share one node.
struct BindStmt : Stmt {
  BindStmt(Kind k, Loc l, std::string n, ExprPtr v)
      : Stmt(k, l), name(std::move(n)), value(std::move(v)) {}
  static bool classof(const Stmt *s) {
    return s->getKind() == Kind::Let || s->getKind() == Kind::Var ||
           s->getKind() == Kind::Assign;
  }
  std::string name;
  ExprPtr value;
};
struct ForStmt : Stmt {
  ForStmt(Loc l, std::string v, ExprPtr r, std::vector<StmtPtr> b)
      : Stmt(Kind::For, l), var(std::move(v)), range(std::move(r)),
        body(std::move(b)) {}
  static bool classof(const Stmt *s) { return s->getKind() == Kind::For; }
  std::string var;
  ExprPtr range;
  std::vector<StmtPtr> body;
};
struct ReturnStmt : Stmt {
  ReturnStmt(Loc l, ExprPtr v) : Stmt(Kind::Return, l), value(std::move(v)) {}
  static bool classof(const Stmt *s) { return s->getKind() == Kind::Return; }
  ExprPtr value;
};

/// A function of a model (`fn name(args) -> T { ... }`, unnamed = the model's
/// call) or of an experiment (`loss(x, y) = ...`).
struct FnDecl {
  Loc loc;
  std::string name; // empty: the model's call operator
  std::vector<FnArg> args;
  std::optional<TypeRef> result;
  std::vector<StmtPtr> body; // an `= expr` body is one ReturnStmt
};

struct ParamDecl {
  Loc loc;
  std::vector<std::pair<std::string, Loc>> names;
  TypeRef type;
  ExprPtr init; // may be a CondExpr without else: the param is optional
};

struct SubDecl {
  Loc loc;
  std::string name;
  std::string model;
  Loc modelLoc;
  std::vector<Arg> args;
  ExprPtr count; // `[n]`: n copies with the same arguments
  std::string iter; // `for i in range`: one copy per i, arguments may use i
  ExprPtr range;
  ExprPtr cond;
};

/// One member of a model body, in source order (lets may depend on earlier
/// members).
struct ModelItem {
  enum class Kind { Let, Param, Sub, Fn } kind;
  std::unique_ptr<BindStmt> let;
  std::unique_ptr<ParamDecl> param;
  std::unique_ptr<SubDecl> sub;
  std::unique_ptr<FnDecl> fn;
};

struct ModelDecl {
  Loc loc;
  std::string name;
  std::vector<HParam> hparams;
  std::vector<ModelItem> items;
};

struct Setting {
  Loc loc;
  std::string name;
  ExprPtr value;
  bool isEnsemble = false; // `ensemble seed in 0..K`
};

struct TrainBlock {
  Loc loc;
  std::string model;
  Loc modelLoc;
  ExprPtr data;
  std::vector<Setting> settings;
};

struct ObserveItem {
  Loc loc;
  std::string name;
  ExprPtr value;
  ExprPtr split; // `over split`, may be null
};

struct ObserveBlock {
  Loc loc;
  ExprPtr every;
  std::string unit; // "steps" (or empty)
  std::vector<ObserveItem> items;
};

struct ExperimentItem {
  enum class Kind { Binding, Fn, Train, Observe, Expect, Predict } kind;
  Loc loc;
  // Binding: `name = value [frozen [seed s]]`
  std::string name;
  ExprPtr value;
  bool frozen = false;
  ExprPtr frozenSeed;
  std::unique_ptr<FnDecl> fn;
  std::unique_ptr<TrainBlock> train;
  std::unique_ptr<ObserveBlock> observe;
  ExprPtr within; // predict ... within e
};

struct ExperimentDecl {
  Loc loc;
  std::string name;
  std::vector<HParam> hparams;
  std::vector<ExperimentItem> items;
};

struct SweepDecl {
  Loc loc;
  std::string experiment;
  std::vector<std::pair<std::string, ExprPtr>> axes;
};

struct ImportDecl {
  Loc loc;
  std::string module; // "std.nn" or a file path
  bool isPath = false;
};

/// One parsed file.
struct Module {
  std::string path;
  unsigned bufferId = 0;
  std::vector<ImportDecl> imports;
  std::vector<std::unique_ptr<ModelDecl>> models;
  std::vector<std::unique_ptr<ExperimentDecl>> experiments;
  std::vector<std::unique_ptr<SweepDecl>> sweeps;
  std::vector<std::unique_ptr<FnDecl>> observables;
};

/// Prints the AST as an indented tree (`lmc emit --stage=ast`).
void print(const Module &module, llvm::raw_ostream &os);
void print(const Expr &expr, llvm::raw_ostream &os);

} // namespace lm::ast

#endif // LM_AST_AST_H
