//===- Diagnostics.cpp ----------------------------------------------------===//
#include "lm/Support/Diagnostics.h"

using namespace lm;

void DiagEngine::error(llvm::SMLoc loc, const llvm::Twine &msg,
                       const llvm::Twine &hint) {
  ++errors;
  if (loc.isValid())
    srcMgr.PrintMessage(os, loc, llvm::SourceMgr::DK_Error, msg);
  else
    os << "lmc: error: " << msg << "\n";
  std::string h = hint.str();
  if (!h.empty())
    os << "hint: " << h << "\n";
}

void DiagEngine::note(llvm::SMLoc loc, const llvm::Twine &msg) {
  srcMgr.PrintMessage(os, loc, llvm::SourceMgr::DK_Note, msg);
}

void DiagEngine::warning(llvm::SMLoc loc, const llvm::Twine &msg) {
  srcMgr.PrintMessage(os, loc, llvm::SourceMgr::DK_Warning, msg);
}
