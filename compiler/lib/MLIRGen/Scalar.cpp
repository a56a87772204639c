//===- Scalar.cpp ---------------------------------------------------------===//
#include "Scalar.h"

#include <cmath>

using namespace lm;

double lm::applyOp(Sym::Op op, double a, double b, double c) {
  switch (op) {
  case Sym::Op::Neg: return -a;
  case Sym::Op::Add: return a + b;
  case Sym::Op::Sub: return a - b;
  case Sym::Op::Mul: return a * b;
  case Sym::Op::Div: return a / b;
  case Sym::Op::FloorDiv: return std::floor(a / b);
  case Sym::Op::Mod: return a - b * std::floor(a / b);
  case Sym::Op::Pow: return std::pow(a, b);
  case Sym::Op::Sqrt: return std::sqrt(a);
  case Sym::Op::Exp: return std::exp(a);
  case Sym::Op::Log: return std::log(a);
  case Sym::Op::Min: return std::fmin(a, b);
  case Sym::Op::Max: return std::fmax(a, b);
  case Sym::Op::Select: return a != 0 ? b : c;
  case Sym::Op::Lt: return a < b;
  case Sym::Op::Le: return a <= b;
  case Sym::Op::Gt: return a > b;
  case Sym::Op::Ge: return a >= b;
  case Sym::Op::Eq: return a == b;
  case Sym::Op::Ne: return a != b;
  case Sym::Op::And: return (a != 0) && (b != 0);
  case Sym::Op::Or: return (a != 0) || (b != 0);
  case Sym::Op::Not: return a == 0;
  case Sym::Op::Const:
  case Sym::Op::Flag: break;
  }
  return a;
}

SymRef Sym::constant(double v) {
  auto s = std::make_shared<Sym>();
  s->op = Op::Const;
  s->value = v;
  return s;
}

SymRef Sym::flagRef(int index) {
  auto s = std::make_shared<Sym>();
  s->op = Op::Flag;
  s->flag = index;
  return s;
}

SymRef Sym::unary(Op op, SymRef a) {
  if (a->op == Op::Const)
    return constant(applyOp(op, a->value));
  auto s = std::make_shared<Sym>();
  s->op = op;
  s->a = std::move(a);
  return s;
}

SymRef Sym::binary(Op op, SymRef a, SymRef b) {
  if (a->op == Op::Const && b->op == Op::Const)
    return constant(applyOp(op, a->value, b->value));
  auto s = std::make_shared<Sym>();
  s->op = op;
  s->a = std::move(a);
  s->b = std::move(b);
  return s;
}

SymRef Sym::select(SymRef c, SymRef a, SymRef b) {
  if (c->op == Op::Const)
    return c->value != 0 ? a : b;
  auto s = std::make_shared<Sym>();
  s->op = Op::Select;
  s->a = std::move(c);
  s->b = std::move(a);
  s->c = std::move(b);
  return s;
}

double Sym::eval(llvm::ArrayRef<double> flags) const {
  switch (op) {
  case Op::Const: return value;
  case Op::Flag: return flags[flag];
  default:
    return applyOp(op, a->eval(flags), b ? b->eval(flags) : 0,
                   c ? c->eval(flags) : 0);
  }
}

void Sym::collectFlags(llvm::SmallVectorImpl<int> &out) const {
  if (op == Op::Flag)
    out.push_back(flag);
  for (const SymRef &s : {a, b, c})
    if (s)
      s->collectFlags(out);
}
