//===- Sema.h - Loading a program: files, imports, declarations -*- C++ -*-===//
//
// A Program is the main .lm file plus everything it imports, transitively:
// stdlib modules (`import std.nn` → <stdlib>/nn.lm) and files (`import
// "models.lm"`, relative to the importing file). Sema resolves imports and
// builds the table of declarations, checking what can be checked before any
// hyperparameter is known: duplicate names, duplicate hyperparameters and
// members, unknown submodel types, and models that contain themselves.
// Shape checking needs concrete hyperparameters and happens in MLIRGen.
//
//===----------------------------------------------------------------------===//
#ifndef LM_SEMA_SEMA_H
#define LM_SEMA_SEMA_H

#include "lm/AST/AST.h"
#include "lm/Support/Diagnostics.h"

#include "llvm/ADT/StringMap.h"
#include <memory>
#include <string>
#include <vector>

namespace lm {

class Program {
public:
  Program(DiagEngine &diag, std::vector<std::string> searchPath)
      : diag(diag), searchPath(std::move(searchPath)) {}

  /// Loads and checks `path` and its imports. Returns false after reporting
  /// errors.
  bool load(const std::string &path);

  const ast::ModelDecl *findModel(llvm::StringRef name) const {
    return models.lookup(name);
  }
  const ast::ExperimentDecl *findExperiment(llvm::StringRef name) const {
    return experiments.lookup(name);
  }
  /// The main file's experiments, in source order.
  std::vector<const ast::ExperimentDecl *> mainExperiments() const;
  const ast::Module &mainModule() const { return *modules.front(); }
  DiagEngine &getDiag() { return diag; }
  /// Every file that was read, for content hashing.
  std::vector<std::string> sourceTexts() const;

private:
  bool loadFile(const std::string &path, llvm::SMLoc importLoc);
  bool resolveImport(const ast::ImportDecl &imp, const std::string &fromPath,
                     std::string &resolved);
  void declare(const ast::Module &m);
  void checkModel(const ast::ModelDecl &m);
  void checkContainment();

  DiagEngine &diag;
  std::vector<std::string> searchPath;
  std::vector<std::unique_ptr<ast::Module>> modules;
  llvm::StringMap<bool> loaded;
  llvm::StringMap<const ast::ModelDecl *> models;
  llvm::StringMap<const ast::ExperimentDecl *> experiments;
};

/// The directory of the stdlib next to the lmc executable (`argv0`).
std::string defaultStdlibDir(const char *argv0);

} // namespace lm

#endif
