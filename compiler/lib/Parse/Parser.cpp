//===- Parser.cpp - ANTLR4 parse tree to AST ------------------------------===//
//
// Runs the ANTLR4-generated lexer/parser over one SourceMgr buffer, reports
// syntax errors with file:line:col and a caret, and converts the parse tree
// into lm::ast nodes. This is the only translation unit built with exceptions.
//
//===----------------------------------------------------------------------===//
#include "lm/Parse/Parser.h"

#include "LMLexer.h"
#include "LMParser.h"
#include "antlr4-runtime.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/ConvertUTF.h"

using namespace lm;
using namespace lm::ast;

namespace {

/// Turns ANTLR syntax errors into lm diagnostics. Only the first error of a
/// file is reported: later ones are usually consequences of it.
class ErrorListener : public antlr4::BaseErrorListener {
public:
  ErrorListener(DiagEngine &diag, unsigned bufferId)
      : diag(diag), bufferId(bufferId) {}

  void syntaxError(antlr4::Recognizer *, antlr4::Token *offending, size_t line,
                   size_t col, const std::string &msg,
                   std::exception_ptr) override {
    if (count++)
      return;
    llvm::SMLoc loc = diag.getSourceMgr().FindLocForLineAndColumn(
        bufferId, line, col + 1);
    std::string text = offending ? offending->getText() : "";
    std::string hint;
    if (offending && offending->getType() == antlr4::Token::EOF)
      hint = "the file ended early: is a '}' or ')' missing?";
    else if (text == "=" )
      hint = "bindings are `name = value`; inside a function use `let name = value`";
    diag.error(loc, "syntax error: " + prettify(msg), hint);
  }
  unsigned count = 0;

private:
  /// ANTLR says "extraneous input '<EOF>' expecting X"; say "unexpected end
  /// of file, expecting X".
  static std::string prettify(const std::string &msg) {
    std::string s = msg;
    for (const char *from : {"extraneous input '<EOF>'", "mismatched input '<EOF>'"})
      if (size_t p = s.find(from); p != std::string::npos)
        s.replace(p, strlen(from), "unexpected end of file,");
    if (size_t p = s.find("<EOF>"); p != std::string::npos)
      s.replace(p, 5, "end of file");
    return s;
  }
  DiagEngine &diag;
  unsigned bufferId;
};

class Builder {
public:
  Builder(llvm::SourceMgr &sm, unsigned bufferId) : sm(sm), bufferId(bufferId) {}

  Loc loc(antlr4::Token *t) {
    return sm.FindLocForLineAndColumn(bufferId, t->getLine(),
                                      t->getCharPositionInLine() + 1);
  }
  Loc loc(antlr4::ParserRuleContext *c) { return loc(c->getStart()); }
  Loc loc(antlr4::tree::TerminalNode *n) { return loc(n->getSymbol()); }

  std::unique_ptr<Module> program(LMParser::ProgramContext *ctx) {
    auto m = std::make_unique<Module>();
    for (auto *d : ctx->topDecl()) {
      if (auto *i = d->importDecl()) {
        ImportDecl imp;
        imp.loc = loc(i);
        if (i->STRING()) {
          imp.module = unquote(i->STRING()->getText());
          imp.isPath = true;
        } else {
          imp.module = i->dottedName()->getText();
        }
        m->imports.push_back(std::move(imp));
      } else if (auto *md = d->modelDecl()) {
        m->models.push_back(model(md));
      } else if (auto *e = d->experimentDecl()) {
        m->experiments.push_back(experiment(e));
      } else if (auto *s = d->sweepDecl()) {
        auto sw = std::make_unique<SweepDecl>();
        sw->loc = loc(s);
        sw->experiment = s->ID()->getText();
        for (auto *a : s->sweepAxis())
          sw->axes.emplace_back(a->ID()->getText(), expr(a->expr()));
        m->sweeps.push_back(std::move(sw));
      } else if (auto *o = d->observableDecl()) {
        auto fn = std::make_unique<FnDecl>();
        fn->loc = loc(o);
        fn->name = o->ID()->getText();
        if (o->fnArgs())
          fn->args = fnArgs(o->fnArgs());
        fn->body.push_back(
            std::make_unique<ReturnStmt>(loc(o->expr()), expr(o->expr())));
        m->observables.push_back(std::move(fn));
      }
    }
    return m;
  }

  /// Errors found while building the AST (the grammar accepts a little more
  /// than the language), reported after the parse.
  std::vector<std::pair<Loc, std::string>> errors;

private:
  static std::string unquote(const std::string &s) {
    std::string out;
    for (size_t i = 1; i + 1 < s.size(); ++i) {
      if (s[i] == '\\' && i + 2 < s.size()) {
        char c = s[++i];
        out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
      } else {
        out += s[i];
      }
    }
    return out;
  }

  std::vector<HParam> hparams(LMParser::HparamsContext *ctx) {
    std::vector<HParam> out;
    if (!ctx)
      return out;
    for (auto *h : ctx->hparam()) {
      HParam p;
      p.loc = loc(h);
      p.name = h->ID()->getText();
      p.type = typeRef(h->typeRef());
      if (h->expr())
        p.defaultValue = expr(h->expr());
      out.push_back(std::move(p));
    }
    return out;
  }

  TypeRef typeRef(LMParser::TypeRefContext *ctx) {
    TypeRef t;
    t.loc = loc(ctx);
    t.base = ctx->getStart()->getText();
    t.hasDims = ctx->children.size() > 1;
    for (auto *d : ctx->dim())
      t.dims.push_back(d->expr() ? expr(d->expr()) : nullptr);
    return t;
  }

  std::vector<FnArg> fnArgs(LMParser::FnArgsContext *ctx) {
    std::vector<FnArg> out;
    for (auto *a : ctx->fnArg()) {
      FnArg arg;
      arg.loc = loc(a);
      arg.name = a->ID()->getText();
      if (a->typeRef())
        arg.type = typeRef(a->typeRef());
      out.push_back(std::move(arg));
    }
    return out;
  }

  std::vector<Arg> args(LMParser::ArgsContext *ctx) {
    std::vector<Arg> out;
    if (!ctx)
      return out;
    for (auto *a : ctx->arg()) {
      Arg arg;
      arg.loc = loc(a);
      if (a->ID())
        arg.name = a->ID()->getText();
      arg.value = expr(a->expr());
      out.push_back(std::move(arg));
    }
    return out;
  }

  std::unique_ptr<BindStmt> bind(Stmt::Kind k, antlr4::ParserRuleContext *c,
                                 antlr4::tree::TerminalNode *id,
                                 LMParser::ExprContext *e) {
    return std::make_unique<BindStmt>(k, loc(c), id->getText(), expr(e));
  }

  std::vector<StmtPtr> block(LMParser::BlockContext *ctx) {
    std::vector<StmtPtr> out;
    for (auto *s : ctx->stmt()) {
      if (auto *l = s->letStmt())
        out.push_back(bind(Stmt::Kind::Let, l, l->ID(), l->expr()));
      else if (auto *v = s->varStmt())
        out.push_back(bind(Stmt::Kind::Var, v, v->ID(), v->expr()));
      else if (auto *a = s->assignStmt())
        out.push_back(bind(Stmt::Kind::Assign, a, a->ID(), a->expr()));
      else if (auto *f = s->forStmt())
        out.push_back(std::make_unique<ForStmt>(loc(f), f->ID()->getText(),
                                                expr(f->expr()),
                                                block(f->block())));
      else if (auto *r = s->returnStmt())
        out.push_back(std::make_unique<ReturnStmt>(loc(r), expr(r->expr())));
    }
    return out;
  }

  std::unique_ptr<FnDecl> fnDecl(LMParser::FnDeclContext *ctx) {
    auto fn = std::make_unique<FnDecl>();
    fn->loc = loc(ctx);
    if (ctx->ID())
      fn->name = ctx->ID()->getText();
    if (ctx->fnArgs())
      fn->args = fnArgs(ctx->fnArgs());
    if (ctx->typeRef())
      fn->result = typeRef(ctx->typeRef());
    if (ctx->block())
      fn->body = block(ctx->block());
    else
      fn->body.push_back(
          std::make_unique<ReturnStmt>(loc(ctx->expr()), expr(ctx->expr())));
    return fn;
  }

  std::unique_ptr<ModelDecl> model(LMParser::ModelDeclContext *ctx) {
    auto m = std::make_unique<ModelDecl>();
    m->loc = loc(ctx);
    m->name = ctx->ID()->getText();
    m->hparams = hparams(ctx->hparams());
    for (auto *it : ctx->modelItem()) {
      ModelItem item;
      if (auto *l = it->letStmt()) {
        item.kind = ModelItem::Kind::Let;
        item.let = bind(Stmt::Kind::Let, l, l->ID(), l->expr());
      } else if (auto *p = it->paramDecl()) {
        item.kind = ModelItem::Kind::Param;
        item.param = std::make_unique<ParamDecl>();
        item.param->loc = loc(p);
        for (auto *id : p->ID())
          item.param->names.emplace_back(id->getText(), loc(id));
        item.param->type = typeRef(p->typeRef());
        item.param->init = expr(p->expr());
      } else if (auto *s = it->subDecl()) {
        item.kind = ModelItem::Kind::Sub;
        item.sub = std::make_unique<SubDecl>();
        item.sub->loc = loc(s);
        item.sub->name = s->ID(0)->getText();
        item.sub->model = s->ID(1)->getText();
        item.sub->modelLoc = loc(s->ID(1));
        item.sub->args = args(s->args());
        if (s->count)
          item.sub->count = expr(s->count);
        if (s->iter) {
          item.sub->iter = s->iter->getText();
          item.sub->range = expr(s->range);
          // `for i in 0..n if c` parses as the range `(0..n if c)`: the
          // condition belongs to the submodel.
          if (auto *c = llvm::dyn_cast<CondExpr>(item.sub->range.get());
              c && !c->otherwise && !item.sub->cond) {
            item.sub->cond = std::move(c->cond);
            item.sub->range = std::move(c->then);
          }
        }
        if (s->cond)
          item.sub->cond = expr(s->cond);
      } else if (auto *f = it->fnDecl()) {
        item.kind = ModelItem::Kind::Fn;
        item.fn = fnDecl(f);
      }
      m->items.push_back(std::move(item));
    }
    return m;
  }

  std::unique_ptr<ExperimentDecl> experiment(LMParser::ExperimentDeclContext *ctx) {
    auto e = std::make_unique<ExperimentDecl>();
    e->loc = loc(ctx);
    e->name = ctx->ID()->getText();
    e->hparams = hparams(ctx->hparams());
    for (auto *it : ctx->expItem()) {
      ExperimentItem item;
      item.loc = loc(it);
      if (auto *b = it->binding()) {
        item.kind = ExperimentItem::Kind::Binding;
        item.name = b->ID(0)->getText();
        item.value = expr(b->expr(0));
        for (auto *child : b->children)
          if (child->getText() == "frozen" &&
              dynamic_cast<antlr4::tree::TerminalNode *>(child))
            item.frozen = true;
        if (b->seed) {
          if (b->seedKw->getText() != "seed")
            errors.emplace_back(loc(b->seedKw), "expected `frozen seed <n>`, not `frozen " +
                                                    b->seedKw->getText() + " ...`");
          item.frozenSeed = expr(b->seed);
        }
      } else if (auto *l = it->lossDef()) {
        item.kind = ExperimentItem::Kind::Fn;
        item.fn = std::make_unique<FnDecl>();
        item.fn->loc = loc(l);
        item.fn->name = l->ID()->getText();
        if (l->fnArgs())
          item.fn->args = fnArgs(l->fnArgs());
        item.fn->body.push_back(
            std::make_unique<ReturnStmt>(loc(l->expr()), expr(l->expr())));
      } else if (auto *t = it->trainBlock()) {
        item.kind = ExperimentItem::Kind::Train;
        item.train = std::make_unique<TrainBlock>();
        item.train->loc = loc(t);
        item.train->model = t->ID()->getText();
        item.train->modelLoc = loc(t->ID());
        item.train->data = expr(t->expr());
        for (auto *s : t->setting()) {
          Setting st;
          st.loc = loc(s);
          st.name = s->ID()->getText();
          st.value = expr(s->expr());
          st.isEnsemble = s->getStart()->getText() == "ensemble";
          item.train->settings.push_back(std::move(st));
        }
      } else if (auto *o = it->observeBlock()) {
        item.kind = ExperimentItem::Kind::Observe;
        item.observe = std::make_unique<ObserveBlock>();
        item.observe->loc = loc(o);
        item.observe->every = expr(o->expr());
        if (o->ID())
          item.observe->unit = o->ID()->getText();
        for (auto *oi : o->observeItem()) {
          ObserveItem x;
          x.loc = loc(oi);
          x.name = oi->ID()->getText();
          x.value = expr(oi->expr(0));
          if (oi->split)
            x.split = expr(oi->split);
          item.observe->items.push_back(std::move(x));
        }
      } else if (auto *x = it->expectStmt()) {
        item.kind = ExperimentItem::Kind::Expect;
        item.value = expr(x->expr());
      } else if (auto *p = it->predictStmt()) {
        item.kind = ExperimentItem::Kind::Predict;
        item.value = expr(p->expr(0));
        if (p->expr().size() > 1)
          item.within = expr(p->expr(1));
      }
      e->items.push_back(std::move(item));
    }
    return e;
  }

  ExprPtr expr(LMParser::ExprContext *ctx) {
    Loc l = loc(ctx);
    if (auto *p = dynamic_cast<LMParser::PrimaryExprContext *>(ctx))
      return primary(p->primary());
    if (auto *m = dynamic_cast<LMParser::MemberExprContext *>(ctx))
      return std::make_unique<MemberExpr>(l, expr(m->expr()), m->memberName()->getText(),
                                          loc(m->memberName()));
    if (auto *c = dynamic_cast<LMParser::CallExprContext *>(ctx))
      return std::make_unique<CallExpr>(l, expr(c->expr()), args(c->args()));
    if (auto *i = dynamic_cast<LMParser::IndexExprContext *>(ctx)) {
      std::vector<Slice> slices;
      for (auto *s : i->slice()) {
        Slice sl;
        sl.loc = loc(s);
        sl.isRange = s->getText().find(':') != std::string::npos;
        if (sl.isRange) {
          if (s->lo)
            sl.lo = expr(s->lo);
          if (s->hi)
            sl.hi = expr(s->hi);
        } else {
          sl.index = expr(s->expr(0));
        }
        slices.push_back(std::move(sl));
      }
      return std::make_unique<IndexExpr>(l, expr(i->expr()), std::move(slices));
    }
    if (auto *p = dynamic_cast<LMParser::PowExprContext *>(ctx))
      return binary("^", l, p->expr(0), p->expr(1), p->expr(1));
    if (auto *u = dynamic_cast<LMParser::UnaryExprContext *>(ctx))
      return std::make_unique<UnaryExpr>(l, u->op->getText(), expr(u->expr()));
    if (auto *m = dynamic_cast<LMParser::MulExprContext *>(ctx))
      return binary(m->op, l, m->expr(0), m->expr(1));
    if (auto *a = dynamic_cast<LMParser::AddExprContext *>(ctx))
      return binary(a->op, l, a->expr(0), a->expr(1));
    if (auto *r = dynamic_cast<LMParser::RangeExprContext *>(ctx))
      return std::make_unique<RangeExpr>(l, expr(r->expr(0)), expr(r->expr(1)));
    if (auto *c = dynamic_cast<LMParser::CmpExprContext *>(ctx))
      return binary(c->op, l, c->expr(0), c->expr(1));
    if (auto *n = dynamic_cast<LMParser::NotExprContext *>(ctx))
      return std::make_unique<UnaryExpr>(l, "not", expr(n->expr()));
    if (auto *a = dynamic_cast<LMParser::AndExprContext *>(ctx))
      return binary("and", l, a->expr(0), a->expr(1), a->expr(1));
    if (auto *o = dynamic_cast<LMParser::OrExprContext *>(ctx))
      return binary("or", l, o->expr(0), o->expr(1), o->expr(1));
    if (auto *a = dynamic_cast<LMParser::ApproxExprContext *>(ctx))
      return binary("~", l, a->expr(0), a->expr(1), a->expr(1));
    if (auto *c = dynamic_cast<LMParser::CondExprContext *>(ctx))
      return std::make_unique<CondExpr>(
          l, expr(c->expr(0)), expr(c->expr(1)),
          c->expr().size() > 2 ? expr(c->expr(2)) : nullptr);
    if (auto *t = dynamic_cast<LMParser::TapExprContext *>(ctx))
      return std::make_unique<TapExpr>(l, expr(t->expr()), t->ID()->getText());
    llvm_unreachable("unknown expression alternative");
  }

  ExprPtr binary(antlr4::Token *op, Loc l, LMParser::ExprContext *a,
                 LMParser::ExprContext *b) {
    return std::make_unique<BinaryExpr>(l, op->getText(), expr(a), expr(b),
                                        loc(op));
  }
  ExprPtr binary(const char *op, Loc l, LMParser::ExprContext *a,
                 LMParser::ExprContext *b, LMParser::ExprContext *opNear) {
    return std::make_unique<BinaryExpr>(l, op, expr(a), expr(b), loc(opNear));
  }

  ExprPtr primary(LMParser::PrimaryContext *ctx) {
    Loc l = loc(ctx);
    std::string text = ctx->getText();
    if (dynamic_cast<LMParser::IntLitContext *>(ctx)) {
      int64_t v = 0;
      if (llvm::StringRef(text).getAsInteger(10, v))
        return std::make_unique<IntExpr>(l, INT64_MIN); // reported by Sema
      return std::make_unique<IntExpr>(l, v);
    }
    if (dynamic_cast<LMParser::FloatLitContext *>(ctx))
      return std::make_unique<FloatExpr>(l, std::strtod(text.c_str(), nullptr));
    if (dynamic_cast<LMParser::StringLitContext *>(ctx))
      return std::make_unique<StringExpr>(l, unquote(text));
    if (dynamic_cast<LMParser::BoolLitContext *>(ctx))
      return std::make_unique<BoolExpr>(l, text == "true");
    if (dynamic_cast<LMParser::NameRefContext *>(ctx))
      return std::make_unique<NameExpr>(l, text);
    if (auto *p = dynamic_cast<LMParser::ParenContext *>(ctx))
      return expr(p->expr());
    std::vector<ExprPtr> elems;
    if (auto *t = dynamic_cast<LMParser::TupleLitContext *>(ctx)) {
      for (auto *e : t->expr())
        elems.push_back(expr(e));
      return std::make_unique<TupleExpr>(l, std::move(elems));
    }
    auto *lst = dynamic_cast<LMParser::ListLitContext *>(ctx);
    for (auto *e : lst->expr())
      elems.push_back(expr(e));
    return std::make_unique<ListExpr>(l, std::move(elems));
  }

  llvm::SourceMgr &sm;
  unsigned bufferId;
};

} // namespace

std::unique_ptr<Module> lm::parseModule(unsigned bufferId, DiagEngine &diag) {
  llvm::SourceMgr &sm = diag.getSourceMgr();
  const llvm::MemoryBuffer *buf = sm.getMemoryBuffer(bufferId);
  llvm::StringRef text = buf->getBuffer();
  llvm::SMLoc start = llvm::SMLoc::getFromPointer(text.begin());
  if (text.contains('\0')) {
    diag.error(start, "this is not a text file (it contains NUL bytes)",
               "lmc compiles .lm source files");
    return nullptr;
  }
  const auto *utf8 = reinterpret_cast<const llvm::UTF8 *>(text.begin());
  if (!llvm::isLegalUTF8String(
          &utf8, reinterpret_cast<const llvm::UTF8 *>(text.end()))) {
    diag.error(start, "this file is not valid UTF-8 text",
               "lmc compiles .lm source files");
    return nullptr;
  }
  try {
    antlr4::ANTLRInputStream input(text.str());
    LMLexer lexer(&input);
    ErrorListener listener(diag, bufferId);
    lexer.removeErrorListeners();
    lexer.addErrorListener(&listener);
    antlr4::CommonTokenStream tokens(&lexer);
    tokens.fill();
    // A stray character is a lexer-level ANY token: report it precisely.
    for (antlr4::Token *t : tokens.getTokens()) {
      if (t->getType() == LMLexer::ANY && !listener.count) {
        ++listener.count;
        diag.error(sm.FindLocForLineAndColumn(bufferId, t->getLine(),
                                              t->getCharPositionInLine() + 1),
                   "unexpected character '" + t->getText() + "'");
      }
    }
    if (listener.count)
      return nullptr;
    LMParser parser(&tokens);
    parser.removeErrorListeners();
    parser.addErrorListener(&listener);
    LMParser::ProgramContext *tree = parser.program();
    if (listener.count)
      return nullptr;
    Builder builder(sm, bufferId);
    auto module = builder.program(tree);
    for (const auto &[loc, msg] : builder.errors)
      diag.error(loc, "syntax error: " + msg);
    if (!builder.errors.empty())
      return nullptr;
    module->bufferId = bufferId;
    module->path = buf->getBufferIdentifier().str();
    return module;
  } catch (const std::exception &e) {
    diag.error(start, llvm::Twine("could not parse this file: ") + e.what());
    return nullptr;
  }
}
