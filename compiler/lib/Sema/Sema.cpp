//===- Sema.cpp - Imports and declaration checks --------------------------===//
#include "lm/Sema/Sema.h"
#include "lm/Parse/Parser.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace lm;
using namespace lm::ast;

std::string lm::defaultStdlibDir(const char *argv0) {
  std::string exe = llvm::sys::fs::getMainExecutable(argv0, (void *)&defaultStdlibDir);
  llvm::SmallString<256> dir(llvm::sys::path::parent_path(exe));
  llvm::sys::path::append(dir, "..", "lib", "lm", "std");
  llvm::sys::path::remove_dots(dir, /*remove_dot_dot=*/true);
  return std::string(dir);
}

bool Program::load(const std::string &path) {
  if (!loadFile(path, llvm::SMLoc()))
    return false;
  for (const auto &m : modules)
    for (const auto &md : m->models)
      checkModel(*md);
  if (!diag.hadError())
    checkContainment();
  return !diag.hadError();
}

bool Program::loadFile(const std::string &path, llvm::SMLoc importLoc) {
  llvm::SmallString<256> abs(path);
  llvm::sys::fs::make_absolute(abs);
  llvm::sys::path::remove_dots(abs, true);
  if (loaded.count(abs))
    return true; // already loaded (imports may form a diamond or a cycle)
  loaded[abs] = true;
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buf) {
    if (importLoc.isValid())
      diag.error(importLoc, "cannot read imported file '" + path +
                                "': " + buf.getError().message());
    else
      diag.error({}, "cannot read '" + path + "': " + buf.getError().message());
    return false;
  }
  if (llvm::sys::fs::is_directory(path)) {
    diag.error(importLoc, "'" + path + "' is a directory, not a .lm file");
    return false;
  }
  unsigned id = diag.getSourceMgr().AddNewSourceBuffer(std::move(*buf), importLoc);
  auto module = parseModule(id, diag);
  if (!module)
    return false;
  module->path = path;
  const Module &m = *module;
  modules.push_back(std::move(module));
  declare(m);
  bool ok = true;
  for (const ImportDecl &imp : m.imports) {
    std::string resolved;
    if (!resolveImport(imp, path, resolved)) {
      ok = false;
      continue;
    }
    ok &= loadFile(resolved, imp.loc);
  }
  return ok;
}

bool Program::resolveImport(const ImportDecl &imp, const std::string &fromPath,
                            std::string &resolved) {
  if (imp.isPath) {
    llvm::SmallString<256> p(imp.module);
    if (llvm::sys::path::is_relative(p)) {
      p = llvm::sys::path::parent_path(fromPath);
      llvm::sys::path::append(p, imp.module);
    }
    resolved = std::string(p);
    return true; // a missing file is reported when it is read
  }
  llvm::StringRef name(imp.module);
  if (!name.starts_with("std.")) {
    diag.error(imp.loc, "unknown module '" + name + "'",
               "stdlib modules are named std.<name> (e.g. `import std.nn`); "
               "import a file with `import \"path.lm\"`");
    return false;
  }
  std::string rel = name.drop_front(4).str();
  std::replace(rel.begin(), rel.end(), '.', '/');
  for (const std::string &dir : searchPath) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, rel + ".lm");
    if (llvm::sys::fs::exists(p)) {
      resolved = std::string(p);
      return true;
    }
  }
  std::string where;
  for (const std::string &dir : searchPath)
    where += (where.empty() ? "" : ", ") + dir;
  diag.error(imp.loc, "module '" + name + "' was not found",
             "searched: " + (where.empty() ? std::string("nothing") : where) +
                 "; add a directory with -I");
  return false;
}

void Program::declare(const Module &m) {
  for (const auto &md : m.models) {
    auto [it, inserted] = models.try_emplace(md->name, md.get());
    if (!inserted) {
      diag.error(md->loc, "model '" + md->name + "' is defined twice");
      diag.note(it->second->loc, "the other definition is here");
    }
  }
  for (const auto &e : m.experiments) {
    auto [it, inserted] = experiments.try_emplace(e->name, e.get());
    if (!inserted) {
      diag.error(e->loc, "experiment '" + e->name + "' is defined twice");
      diag.note(it->second->loc, "the other definition is here");
    }
  }
}

static const char *kTypeNames[] = {"int", "f64", "f32", "bool", "str", "list", "fn"};

static bool isKnownType(llvm::StringRef t) {
  return llvm::is_contained(kTypeNames, t);
}

void Program::checkModel(const ModelDecl &m) {
  llvm::StringMap<Loc> names;
  auto declareName = [&](const std::string &n, Loc loc) {
    auto [it, inserted] = names.try_emplace(n, loc);
    if (!inserted) {
      diag.error(loc, "'" + n + "' is already declared in model '" + m.name + "'");
      diag.note(it->second, "the earlier declaration is here");
    }
  };
  for (const HParam &h : m.hparams) {
    declareName(h.name, h.loc);
    if (!isKnownType(h.type.base) || (h.type.hasDims && h.type.base != "list"))
      diag.error(h.type.loc, "'" + h.type.base + (h.type.hasDims ? "[...]" : "") +
                                 "' is not a hyperparameter type",
                 "hyperparameters are int, f64, bool, str, fn or list[int]");
  }
  int calls = 0;
  for (const ModelItem &it : m.items) {
    switch (it.kind) {
    case ModelItem::Kind::Let:
      declareName(it.let->name, it.let->getLoc());
      break;
    case ModelItem::Kind::Param:
      for (const auto &[n, loc] : it.param->names)
        declareName(n, loc);
      if (it.param->type.base != "f32" || !it.param->type.hasDims)
        diag.error(it.param->type.loc, "a param must have a tensor type like f32[d_out, d_in]");
      break;
    case ModelItem::Kind::Sub:
      declareName(it.sub->name, it.sub->loc);
      if (!models.count(it.sub->model))
        diag.error(it.sub->modelLoc, "unknown model '" + it.sub->model + "'",
                   "is an import (e.g. `import std.nn`) missing?");
      break;
    case ModelItem::Kind::Fn:
      if (it.fn->name.empty())
        ++calls;
      else
        declareName(it.fn->name, it.fn->loc);
      if (calls > 1 && it.fn->name.empty())
        diag.error(it.fn->loc, "model '" + m.name + "' has more than one unnamed fn");
      break;
    }
  }
}

// A model that (transitively) contains itself as a submodel would have
// infinitely many parameters.
void Program::checkContainment() {
  enum State { Unvisited, Active, Done };
  llvm::StringMap<State> state;
  std::function<bool(const ModelDecl &)> visit = [&](const ModelDecl &m) {
    state[m.name] = Active;
    for (const ModelItem &it : m.items) {
      if (it.kind != ModelItem::Kind::Sub)
        continue;
      const ModelDecl *sub = models.lookup(it.sub->model);
      if (!sub)
        continue;
      State s = state.lookup(sub->name);
      if (s == Active) {
        diag.error(it.sub->modelLoc,
                   "model '" + m.name + "' contains itself through submodel '" +
                       it.sub->name + "' of type '" + sub->name + "'",
                   "a model cannot be its own submodel (directly or through others)");
        return false;
      }
      if (s == Unvisited && !visit(*sub))
        return false;
    }
    state[m.name] = Done;
    return true;
  };
  for (const auto &m : modules)
    for (const auto &md : m->models)
      if (state.lookup(md->name) == Unvisited && !visit(*md))
        return;
}

std::vector<const ExperimentDecl *> Program::mainExperiments() const {
  std::vector<const ExperimentDecl *> out;
  for (const auto &e : modules.front()->experiments)
    out.push_back(e.get());
  return out;
}

std::vector<std::string> Program::sourceTexts() const {
  std::vector<std::string> out;
  const llvm::SourceMgr &sm = diag.getSourceMgr();
  for (unsigned i = 1; i <= sm.getNumBuffers(); ++i)
    out.push_back(sm.getMemoryBuffer(i)->getBuffer().str());
  return out;
}
