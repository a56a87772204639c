//===- ASTPrinter.cpp - `lmc emit --stage=ast` ----------------------------===//
//
// Declarations print as an indented tree, one node per line; expressions print
// fully parenthesized on one line, so precedence is visible.
//
//===----------------------------------------------------------------------===//
#include "lm/AST/AST.h"

#include "llvm/Support/Casting.h"
#include "llvm/Support/FormatVariadic.h"

using namespace lm::ast;
using llvm::cast;
using llvm::dyn_cast;

namespace {

class Printer {
public:
  explicit Printer(llvm::raw_ostream &os) : os(os) {}

  void expr(const Expr *e) {
    if (!e) {
      os << "_";
      return;
    }
    switch (e->getKind()) {
    case Expr::Kind::Int:
      os << cast<IntExpr>(e)->value;
      return;
    case Expr::Kind::Float: {
      // The shortest decimal that reads back as the same double.
      double v = cast<FloatExpr>(e)->value;
      char buf[32];
      for (int precision = 1; precision <= 17; ++precision) {
        snprintf(buf, sizeof buf, "%.*g", precision, v);
        if (strtod(buf, nullptr) == v)
          break;
      }
      os << buf;
      // Keep floats recognizable: 2.0 prints as "2.0", not "2".
      if (llvm::StringRef(buf).find_first_of(".eEni") == llvm::StringRef::npos)
        os << ".0";
      return;
    }
    case Expr::Kind::String:
      os << '"' << cast<StringExpr>(e)->value << '"';
      return;
    case Expr::Kind::Bool:
      os << (cast<BoolExpr>(e)->value ? "true" : "false");
      return;
    case Expr::Kind::Name:
      os << cast<NameExpr>(e)->name;
      return;
    case Expr::Kind::Member: {
      auto *m = cast<MemberExpr>(e);
      expr(m->base.get());
      os << "." << m->member;
      return;
    }
    case Expr::Kind::Call: {
      auto *c = cast<CallExpr>(e);
      expr(c->callee.get());
      os << "(";
      llvm::interleaveComma(c->args, os, [&](const Arg &a) {
        if (!a.name.empty())
          os << a.name << ": ";
        expr(a.value.get());
      });
      os << ")";
      return;
    }
    case Expr::Kind::Index: {
      auto *i = cast<IndexExpr>(e);
      expr(i->base.get());
      os << "[";
      llvm::interleaveComma(i->slices, os, [&](const Slice &s) {
        if (!s.isRange)
          return expr(s.index.get());
        if (s.lo)
          expr(s.lo.get());
        os << ":";
        if (s.hi)
          expr(s.hi.get());
      });
      os << "]";
      return;
    }
    case Expr::Kind::Unary: {
      auto *u = cast<UnaryExpr>(e);
      os << "(" << u->op << (u->op == "not" ? " " : "");
      expr(u->operand.get());
      os << ")";
      return;
    }
    case Expr::Kind::Binary: {
      auto *b = cast<BinaryExpr>(e);
      os << "(";
      expr(b->lhs.get());
      os << " " << b->op << " ";
      expr(b->rhs.get());
      os << ")";
      return;
    }
    case Expr::Kind::Range: {
      auto *r = cast<RangeExpr>(e);
      expr(r->lo.get());
      os << "..";
      expr(r->hi.get());
      return;
    }
    case Expr::Kind::Cond: {
      auto *c = cast<CondExpr>(e);
      os << "(";
      expr(c->then.get());
      os << " if ";
      expr(c->cond.get());
      if (c->otherwise) {
        os << " else ";
        expr(c->otherwise.get());
      }
      os << ")";
      return;
    }
    case Expr::Kind::Tap: {
      auto *t = cast<TapExpr>(e);
      expr(t->value.get());
      os << " tap " << t->name;
      return;
    }
    case Expr::Kind::Tuple:
    case Expr::Kind::List: {
      bool tuple = e->getKind() == Expr::Kind::Tuple;
      const auto &elems = tuple ? cast<TupleExpr>(e)->elems : cast<ListExpr>(e)->elems;
      os << (tuple ? "(" : "[");
      llvm::interleaveComma(elems, os, [&](const ExprPtr &x) { expr(x.get()); });
      os << (tuple ? ")" : "]");
      return;
    }
    }
  }

  void type(const TypeRef &t) {
    os << t.base;
    if (!t.hasDims)
      return;
    os << "[";
    llvm::interleaveComma(t.dims, os, [&](const ExprPtr &d) {
      if (d)
        expr(d.get());
      else
        os << "...";
    });
    os << "]";
  }

  void line() { os.indent(depth * 2); }

  void hparams(const std::vector<HParam> &hs) {
    for (const HParam &h : hs) {
      line();
      os << "HParam " << h.name << ": ";
      type(h.type);
      if (h.defaultValue) {
        os << " = ";
        expr(h.defaultValue.get());
      }
      os << "\n";
    }
  }

  void stmts(const std::vector<StmtPtr> &body) {
    for (const StmtPtr &s : body) {
      line();
      if (auto *b = dyn_cast<BindStmt>(s.get())) {
        os << (s->getKind() == Stmt::Kind::Let   ? "Let "
               : s->getKind() == Stmt::Kind::Var ? "Var "
                                                 : "Assign ")
           << b->name << " = ";
        expr(b->value.get());
        os << "\n";
      } else if (auto *f = dyn_cast<ForStmt>(s.get())) {
        os << "For " << f->var << " in ";
        expr(f->range.get());
        os << "\n";
        ++depth;
        stmts(f->body);
        --depth;
      } else if (auto *r = dyn_cast<ReturnStmt>(s.get())) {
        os << "Return ";
        expr(r->value.get());
        os << "\n";
      }
    }
  }

  void fn(const FnDecl &f, const char *what) {
    line();
    os << what << " " << (f.name.empty() ? "<call>" : f.name) << "(";
    llvm::interleaveComma(f.args, os, [&](const FnArg &a) {
      os << a.name;
      if (a.type) {
        os << ": ";
        type(*a.type);
      }
    });
    os << ")";
    if (f.result) {
      os << " -> ";
      type(*f.result);
    }
    os << "\n";
    ++depth;
    stmts(f.body);
    --depth;
  }

  void model(const ModelDecl &m) {
    os << "Model " << m.name << "\n";
    ++depth;
    hparams(m.hparams);
    for (const ModelItem &it : m.items) {
      switch (it.kind) {
      case ModelItem::Kind::Let:
        line();
        os << "Let " << it.let->name << " = ";
        expr(it.let->value.get());
        os << "\n";
        break;
      case ModelItem::Kind::Param:
        line();
        os << "Param ";
        llvm::interleaveComma(it.param->names, os,
                              [&](const auto &n) { os << n.first; });
        os << ": ";
        type(it.param->type);
        os << " = ";
        expr(it.param->init.get());
        os << "\n";
        break;
      case ModelItem::Kind::Sub: {
        const SubDecl &s = *it.sub;
        line();
        os << "Sub " << s.name << ": " << s.model << "(";
        llvm::interleaveComma(s.args, os, [&](const Arg &a) {
          if (!a.name.empty())
            os << a.name << ": ";
          expr(a.value.get());
        });
        os << ")";
        if (s.count) {
          os << "[";
          expr(s.count.get());
          os << "]";
        }
        if (s.range) {
          os << " for " << s.iter << " in ";
          expr(s.range.get());
        }
        if (s.cond) {
          os << " if ";
          expr(s.cond.get());
        }
        os << "\n";
        break;
      }
      case ModelItem::Kind::Fn:
        fn(*it.fn, "Fn");
        break;
      }
    }
    --depth;
  }

  void experiment(const ExperimentDecl &e) {
    os << "Experiment " << e.name << "\n";
    ++depth;
    hparams(e.hparams);
    for (const ExperimentItem &it : e.items) {
      switch (it.kind) {
      case ExperimentItem::Kind::Binding:
        line();
        os << "Bind " << it.name << " = ";
        expr(it.value.get());
        if (it.frozen) {
          os << " frozen";
          if (it.frozenSeed) {
            os << " seed ";
            expr(it.frozenSeed.get());
          }
        }
        os << "\n";
        break;
      case ExperimentItem::Kind::Fn:
        fn(*it.fn, "Fn");
        break;
      case ExperimentItem::Kind::Train:
        line();
        os << "Train " << it.train->model << " on ";
        expr(it.train->data.get());
        os << "\n";
        ++depth;
        for (const Setting &s : it.train->settings) {
          line();
          os << (s.isEnsemble ? "Ensemble " : "Set ") << s.name
             << (s.isEnsemble ? " in " : " = ");
          expr(s.value.get());
          os << "\n";
        }
        --depth;
        break;
      case ExperimentItem::Kind::Observe:
        line();
        os << "Observe every ";
        expr(it.observe->every.get());
        os << " " << it.observe->unit << "\n";
        ++depth;
        for (const ObserveItem &o : it.observe->items) {
          line();
          os << o.name << " = ";
          expr(o.value.get());
          if (o.split) {
            os << " over ";
            expr(o.split.get());
          }
          os << "\n";
        }
        --depth;
        break;
      case ExperimentItem::Kind::Expect:
      case ExperimentItem::Kind::Predict:
        line();
        os << (it.kind == ExperimentItem::Kind::Expect ? "Expect " : "Predict ");
        expr(it.value.get());
        if (it.within) {
          os << " within ";
          expr(it.within.get());
        }
        os << "\n";
        break;
      }
    }
    --depth;
  }

  void module(const Module &m) {
    os << "Module " << m.path << "\n";
    ++depth;
    for (const ImportDecl &i : m.imports) {
      line();
      os << "Import " << (i.isPath ? "\"" + i.module + "\"" : i.module) << "\n";
    }
    for (const auto &md : m.models) {
      line();
      model(*md);
    }
    for (const auto &f : m.observables)
      fn(*f, "Observable");
    for (const auto &e : m.experiments) {
      line();
      experiment(*e);
    }
    for (const auto &s : m.sweeps) {
      line();
      os << "Sweep " << s->experiment << "\n";
      ++depth;
      for (const auto &[name, value] : s->axes) {
        line();
        os << name << " in ";
        expr(value.get());
        os << "\n";
      }
      --depth;
    }
    --depth;
  }

private:
  llvm::raw_ostream &os;
  int depth = 0;
};

} // namespace

void lm::ast::print(const Module &module, llvm::raw_ostream &os) {
  Printer(os).module(module);
}
void lm::ast::print(const Expr &expr, llvm::raw_ostream &os) {
  Printer(os).expr(&expr);
}
