//===- LMDialect.h - The lm dialect ----------------------------*- C++ -*-===//
#ifndef LM_DIALECT_LMDIALECT_H
#define LM_DIALECT_LMDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

#include "lm/Dialect/LMDialect.h.inc"
#include "lm/Dialect/LMInterfaces.h.inc"

#define GET_OP_CLASSES
#include "lm/Dialect/LMOps.h.inc"

#endif
