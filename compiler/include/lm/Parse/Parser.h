//===- Parser.h - .lm source to AST ----------------------------*- C++ -*-===//
//
// A plain C++ API over the ANTLR4 parser: the parse tree never leaves
// lib/Parse, and nothing here needs exceptions from its callers.
//
//===----------------------------------------------------------------------===//
#ifndef LM_PARSE_PARSER_H
#define LM_PARSE_PARSER_H

#include "lm/AST/AST.h"
#include "lm/Support/Diagnostics.h"
#include <memory>

namespace lm {

/// Parses buffer `bufferId` of the diagnostics' SourceMgr. Reports syntax
/// errors through `diag` and returns null when there were any.
std::unique_ptr<ast::Module> parseModule(unsigned bufferId, DiagEngine &diag);

} // namespace lm

#endif
