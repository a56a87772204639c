//===- Scalar.h - Compile-time numbers with a symbolic form ----*- C++ -*-===//
//
// A number in a .lm program has a value under the current flag settings and,
// when it depends on experiment flags, a symbolic form over them, so it can be
// recompiled into `lm_hyper` if it stays a run-time quantity.
//
//===----------------------------------------------------------------------===//
#ifndef LM_MLIRGEN_SCALAR_H
#define LM_MLIRGEN_SCALAR_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include <memory>

namespace lm {

struct Sym;
using SymRef = std::shared_ptr<const Sym>;

struct Sym {
  enum class Op { Const, Flag, Neg, Add, Sub, Mul, Div, FloorDiv, Mod, Pow,
                  Sqrt, Exp, Log, Min, Max, Select, Lt, Le, Gt, Ge, Eq, Ne,
                  And, Or, Not };
  Op op;
  double value = 0; // Const
  int flag = -1;    // Flag
  SymRef a, b, c;

  static SymRef constant(double v);
  static SymRef flagRef(int index);
  static SymRef unary(Op op, SymRef a);
  static SymRef binary(Op op, SymRef a, SymRef b);
  static SymRef select(SymRef c, SymRef a, SymRef b);

  /// Evaluates with the given flag values.
  double eval(llvm::ArrayRef<double> flags) const;
  /// The flags this expression reads.
  void collectFlags(llvm::SmallVectorImpl<int> &out) const;
};

/// Applies `op` to plain doubles (the one definition of each operator's
/// arithmetic, shared by constant folding and Sym::eval).
double applyOp(Sym::Op op, double a, double b = 0, double c = 0);

} // namespace lm

#endif
