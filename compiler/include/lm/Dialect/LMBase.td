//===- LMBase.td - lm dialect definition -------------------*- tablegen -*-===//
#ifndef LM_BASE_TD
#define LM_BASE_TD

include "mlir/IR/OpBase.td"

def LM_Dialect : Dialect {
  let name = "lm";
  let cppNamespace = "::lm";
  let summary = "Tensor-level operations of .lm models";
  let description = [{
    The `lm` dialect holds a model's computation after the front end has
    specialized it on its shape-determining hyperparameters: every tensor is
    ranked and statically shaped, every op has a verifier, and every
    differentiable op states its vector-Jacobian product in `lm` ops
    (`DifferentiableOpInterface`), so the gradient program produced by
    `--lm-autodiff` is ordinary `lm` IR.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect"];
}

def LM_DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::lm";
  let description = [{
    An op that knows its vector-Jacobian product. Given the cotangents of the
    op's results, `buildVJP` emits `lm` ops that compute the cotangent of each
    operand and appends one value per operand (a null value for operands that
    are not differentiable, e.g. integer labels).
  }];
  let methods = [
    InterfaceMethod<"Emits the VJP of this op.", "void", "buildVJP",
      (ins "::mlir::OpBuilder &":$b, "::mlir::ValueRange":$resultCotangents,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandCotangents)>
  ];
}

class LM_Op<string mnemonic, list<Trait> traits = []>
    : Op<LM_Dialect, mnemonic, traits>;

def LM_FloatTensor : RankedTensorOf<[AnyFloat]>;
// Slices and reshapes also move integer tensors (tokens, labels).
def LM_AnyTensor : RankedTensorOf<[AnyFloat, I32]>;
def LM_ScalarTensor : 0DTensorOf<[AnyFloat]>;

#endif
