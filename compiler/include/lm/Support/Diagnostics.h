//===- Diagnostics.h - Source-located errors ---------------------*- C++ -*-===//
//
// Every user-facing error goes through here: `file:line:col: error: message`,
// the source line, a caret, and an optional hint (llvm::SourceMgr formats).
//
//===----------------------------------------------------------------------===//
#ifndef LM_SUPPORT_DIAGNOSTICS_H
#define LM_SUPPORT_DIAGNOSTICS_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

namespace lm {

class DiagEngine {
public:
  explicit DiagEngine(llvm::SourceMgr &srcMgr, llvm::raw_ostream &os = llvm::errs())
      : srcMgr(srcMgr), os(os) {}

  /// Reports an error at `loc` (or without location when `loc` is invalid).
  void error(llvm::SMLoc loc, const llvm::Twine &msg, const llvm::Twine &hint = "");
  void note(llvm::SMLoc loc, const llvm::Twine &msg);
  void warning(llvm::SMLoc loc, const llvm::Twine &msg);

  unsigned errorCount() const { return errors; }
  bool hadError() const { return errors != 0; }
  llvm::SourceMgr &getSourceMgr() { return srcMgr; }

private:
  llvm::SourceMgr &srcMgr;
  llvm::raw_ostream &os;
  unsigned errors = 0;
};

} // namespace lm

#endif
