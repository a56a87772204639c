//===- LMOps.td - lm dialect operations --------------------*- tablegen -*-===//
#ifndef LM_OPS_TD
#define LM_OPS_TD

include "lm/Dialect/LMBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/CallInterfaces.td"
include "mlir/IR/SymbolInterfaces.td"

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class LM_BinaryOp<string mnemonic, string what>
    : LM_Op<mnemonic, [Pure, SameOperandsAndResultType,
                       DeclareOpInterfaceMethods<LM_DifferentiableOpInterface>]> {
  let summary = "elementwise " # what;
  let description = "Elementwise " # what # " of two tensors of one shape. "
    # "Broadcasting is explicit (`lm.broadcast`), so the VJP never reduces.";
  let arguments = (ins LM_FloatTensor:$lhs, LM_FloatTensor:$rhs);
  let results = (outs LM_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def LM_AddOp : LM_BinaryOp<"add", "sum">;
def LM_SubOp : LM_BinaryOp<"sub", "difference">;
def LM_MulOp : LM_BinaryOp<"mul", "product">;
def LM_DivOp : LM_BinaryOp<"div", "quotient">;

class LM_UnaryOp<string mnemonic, string what>
    : LM_Op<mnemonic, [Pure, SameOperandsAndResultType,
                       DeclareOpInterfaceMethods<LM_DifferentiableOpInterface>]> {
  let summary = "elementwise " # what;
  let description = "Applies " # what # " to every element.";
  let arguments = (ins LM_FloatTensor:$input);
  let results = (outs LM_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def LM_NegOp  : LM_UnaryOp<"neg", "negation">;
def LM_ExpOp  : LM_UnaryOp<"exp", "the exponential">;
def LM_LogOp  : LM_UnaryOp<"log", "the natural logarithm">;
def LM_SqrtOp : LM_UnaryOp<"sqrt", "the square root">;
def LM_TanhOp : LM_UnaryOp<"tanh", "the hyperbolic tangent">;
def LM_ReluOp : LM_UnaryOp<"relu", "max(x, 0)">;
def LM_StepOp : LM_Op<"step", [Pure, SameOperandsAndResultType]> {
  let summary = "elementwise Heaviside step (1 where x > 0, else 0)";
  let description = [{
    The derivative of `relu`; appears in gradient programs. Not
    differentiable itself (its derivative is zero almost everywhere).
  }];
  let arguments = (ins LM_FloatTensor:$input);
  let results = (outs LM_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def LM_PowOp : LM_Op<"pow", [Pure, SameOperandsAndResultType,
                     DeclareOpInterfaceMethods<LM_DifferentiableOpInterface>]> {
  let summary = "elementwise power with a constant exponent";
  let description = [{
    `%y = lm.pow %x {exponent = 2.0} : tensor<4xf32>` computes x^2.
  }];
  let arguments = (ins LM_FloatTensor:$input, F64Attr:$exponent);
  let results = (outs LM_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Shape and contraction
//===----------------------------------------------------------------------===//

def LM_EinsumOp : LM_Op<"einsum", [Pure,
                        DeclareOpInterfaceMethods<LM_DifferentiableOpInterface>]> {
  let summary = "Einstein summation over one to three tensors";
  let description = [{
    `spec` names every dimension with a letter: inputs are separated by
    commas, `->` precedes the result. Letters missing from the result are
    summed over. A letter's extent must agree wherever it appears.

    ```mlir
    %y = lm.einsum "bk,nk->bn" %x, %w : (tensor<8x4xf32>, tensor<3x4xf32>) -> tensor<8x3xf32>
    ```
  }];
  let arguments = (ins StrAttr:$spec, Variadic<LM_FloatTensor>:$inputs);
  let results = (outs LM_FloatTensor:$result);
  let assemblyFormat = "$spec $inputs attr-dict `:` functional-type($inputs, $result)";
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// The letters of each input and of the result.
    void parseSpec(::llvm::SmallVectorImpl<std::string> &inputs, std::string &output);
  }];
}

def LM_TransposeOp : LM_Op<"transpose", [Pure,
                           DeclareOpInterfaceMethods<LM_DifferentiableOpInterface>]> {
  let summary = "permutes dimensions";
  let description = [{
    Result dimension `i` is input dimension `perm[i]`.
  }];
  let arguments = (ins LM_FloatTensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs LM_FloatTensor:$result);
  let assemblyFormat = "$input $perm attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def LM_BroadcastOp : LM_Op<"broadcast", [Pure,
                           DeclareOpInterfaceMethods<LM_DifferentiableOpInterface>]> {
  let summary = "broadcasts a tensor to a larger shape";
  let description = [{
    Input dimension `i` becomes result dimension `dims[i]` (same extent, in
    increasing order); every other result dimension is new and repeats the
    input. Its VJP is `lm.reduce_sum` over the new dimensions.

    ```mlir
    %b2 = lm.broadcast %b [1] : tensor<3xf32> -> tensor<8x3xf32>
    ```
  }];
  let arguments = (ins LM_FloatTensor:$input, DenseI64ArrayAttr:$dims);
  let results = (outs LM_FloatTensor:$result);
  let assemblyFormat = "$input $dims attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def LM_ReduceSumOp : LM_Op<"reduce_sum", [Pure,
                           DeclareOpInterfaceMethods<LM_DifferentiableOpInterface>]> {
  let summary = "sums over the given dimensions";
  let description = [{
    The result drops the reduced dimensions.
    ```mlir
    %s = lm.reduce_sum %x [0] : tensor<8x3xf32> -> tensor<3xf32>
    ```
  }];
  let arguments = (ins LM_FloatTensor:$input, DenseI64ArrayAttr:$axes);
  let results = (outs LM_FloatTensor:$result);
  let assemblyFormat = "$input $axes attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def LM_ReduceMaxOp : LM_Op<"reduce_max", [Pure,
                           DeclareOpInterfaceMethods<LM_DifferentiableOpInterface>]> {
  let summary = "maximum over the given dimensions";
  let description = [{
    The result drops the reduced dimensions. The VJP sends the cotangent to
    the maximal elements, split equally among ties (like `jnp.max`).
    ```mlir
    %m = lm.reduce_max %x [1] : tensor<8x3xf32> -> tensor<8xf32>
    ```
  }];
  let arguments = (ins LM_FloatTensor:$input, DenseI64ArrayAttr:$axes);
  let results = (outs LM_FloatTensor:$result);
  let assemblyFormat = "$input $axes attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def LM_EqualOp : LM_Op<"equal", [Pure, SameOperandsAndResultType]> {
  let summary = "elementwise equality indicator (1 where lhs == rhs, else 0)";
  let description = [{
    Appears in gradient programs (the VJP of `lm.reduce_max`). Not
    differentiable (its derivative is zero almost everywhere).
  }];
  let arguments = (ins LM_FloatTensor:$lhs, LM_FloatTensor:$rhs);
  let results = (outs LM_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def LM_ConcatOp : LM_Op<"concat", [Pure,
                        DeclareOpInterfaceMethods<LM_DifferentiableOpInterface>]> {
  let summary = "joins tensors along one axis";
  let description = [{
    All inputs agree on every dimension but `axis`; the result's `axis`
    extent is the sum of theirs. The VJP slices the cotangent.
    ```mlir
    %c = lm.concat %a, %b {axis = 1} : (tensor<8x3xf32>, tensor<8x2xf32>) -> tensor<8x5xf32>
    ```
  }];
  let arguments = (ins Variadic<LM_FloatTensor>:$inputs, I64Attr:$axis);
  let results = (outs LM_FloatTensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type($inputs, $result)";
  let hasVerifier = 1;
}

def LM_GatherOp : LM_Op<"gather", [Pure,
                        DeclareOpInterfaceMethods<LM_DifferentiableOpInterface>]> {
  let summary = "takes entries of a tensor at integer indices along one axis";
  let description = [{
    Like `jnp.take(input, indices, axis)`: for input `[pre..., N, post...]`
    and indices `[I...]` the result is `[pre..., I..., post...]` with
    `result[p, i, q] = input[p, indices[i], q]`. An index outside [0, N)
    gives zeros. The VJP (for the input) is `lm.scatter_add`.

    With `batch_dims = k` (as in `tf.gather`) the first k dimensions of
    input and indices are shared batch dimensions: for input
    `[B..., pre..., N, post...]` and indices `[B..., I...]` the result is
    `[B..., pre..., I..., post...]` with `result[b, p, i, q] =
    input[b, p, indices[b, i], q]` (`axis` counts input dimensions, so
    `axis >= k`). Replicated (ensemble) programs gather per replica this way.
    ```mlir
    %e = lm.gather %table, %tokens {axis = 0} : (tensor<114x128xf32>, tensor<8x3xi32>) -> tensor<8x3x128xf32>
    %r = lm.gather %tables, %tokens {axis = 1, batch_dims = 1} : (tensor<4x114x128xf32>, tensor<4x8x3xi32>) -> tensor<4x8x3x128xf32>
    ```
  }];
  let arguments = (ins LM_FloatTensor:$input, RankedTensorOf<[I32]>:$indices, I64Attr:$axis,
                       DefaultValuedAttr<I64Attr, "0">:$batch_dims);
  let results = (outs LM_FloatTensor:$result);
  let assemblyFormat = "$input `,` $indices attr-dict `:` functional-type(operands, $result)";
  let hasVerifier = 1;
}

def LM_ScatterAddOp : LM_Op<"scatter_add", [Pure,
                            DeclareOpInterfaceMethods<LM_DifferentiableOpInterface>]> {
  let summary = "adds slices into a zero tensor at integer indices (the adjoint of gather)";
  let description = [{
    For updates `[pre..., I..., post...]` and indices `[I...]` the result is
    `[pre..., N, post...]` with `result[p, n, q] = sum over i with
    indices[i] == n of updates[p, i, q]`; indices outside [0, N) are
    skipped. Its VJP is `lm.gather`. `batch_dims` as for `lm.gather`: the
    first k dimensions of updates, indices and result are shared.
    ```mlir
    %g = lm.scatter_add %d, %tokens {axis = 0} : (tensor<8x3x128xf32>, tensor<8x3xi32>) -> tensor<114x128xf32>
    ```
  }];
  let arguments = (ins LM_FloatTensor:$updates, RankedTensorOf<[I32]>:$indices, I64Attr:$axis,
                       DefaultValuedAttr<I64Attr, "0">:$batch_dims);
  let results = (outs LM_FloatTensor:$result);
  let assemblyFormat = "$updates `,` $indices attr-dict `:` functional-type(operands, $result)";
  let hasVerifier = 1;
}

def LM_ReshapeOp : LM_Op<"reshape", [Pure,
                         DeclareOpInterfaceMethods<LM_DifferentiableOpInterface>]> {
  let summary = "reinterprets a tensor with another shape of the same size";
  let description = "Row-major order is kept.";
  let arguments = (ins LM_AnyTensor:$input);
  let results = (outs LM_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}


//===----------------------------------------------------------------------===//
// Softmax family, indices, slices
//===----------------------------------------------------------------------===//

class LM_AxisOp<string mnemonic, string what> : LM_Op<mnemonic, [Pure,
    SameOperandsAndResultType, DeclareOpInterfaceMethods<LM_DifferentiableOpInterface>]> {
  let summary = what # " along one axis";
  let description = "Numerically stable (the maximum along `axis` is "
    # "subtracted first). `axis` is non-negative.";
  let arguments = (ins LM_FloatTensor:$input, I64Attr:$axis);
  let results = (outs LM_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def LM_SoftmaxOp : LM_AxisOp<"softmax", "exp(x) / sum(exp(x))">;
def LM_LogSoftmaxOp : LM_AxisOp<"log_softmax", "x - log(sum(exp(x)))">;

def LM_OneHotOp : LM_Op<"one_hot", [Pure]> {
  let summary = "one-hot encoding of integer indices";
  let description = [{
    `result[..., k] = (indices[...] == k) ? 1 : 0` for k < depth (the last
    result dimension). Indices outside [0, depth) give a zero row. Not
    differentiable (its input is integer).
    ```mlir
    %e = lm.one_hot %tokens : tensor<8x3xi32> -> tensor<8x3x114xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I32]>:$indices);
  let results = (outs LM_FloatTensor:$result);
  let assemblyFormat = "$indices attr-dict `:` type($indices) `->` type($result)";
  let hasVerifier = 1;
}

def LM_SliceOp : LM_Op<"slice", [Pure,
                       DeclareOpInterfaceMethods<LM_DifferentiableOpInterface>]> {
  let summary = "a static strided slice";
  let description = [{
    `result[i] = input[offsets + i * strides]` with the result's shape as
    sizes. Its VJP is `lm.unslice`.
    ```mlir
    %last = lm.slice %x [0, 2] [1, 1] : tensor<8x3xf32> -> tensor<8x1xf32>
    ```
  }];
  let arguments = (ins LM_AnyTensor:$input, DenseI64ArrayAttr:$offsets,
                       DenseI64ArrayAttr:$strides);
  let results = (outs LM_AnyTensor:$result);
  let assemblyFormat = "$input $offsets $strides attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def LM_UnsliceOp : LM_Op<"unslice", [Pure,
                         DeclareOpInterfaceMethods<LM_DifferentiableOpInterface>]> {
  let summary = "places a slice into a zero tensor (the adjoint of lm.slice)";
  let description = [{
    The result is zero except at the positions `lm.slice` with the same
    offsets and strides would read, which hold the input.
  }];
  let arguments = (ins LM_FloatTensor:$input, DenseI64ArrayAttr:$offsets,
                       DenseI64ArrayAttr:$strides);
  let results = (outs LM_FloatTensor:$result);
  let assemblyFormat = "$input $offsets $strides attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def LM_AccuracyOp : LM_Op<"accuracy", [Pure]> {
  let summary = "fraction of rows whose argmax is the label";
  let description = [{
    `logits` is [N, C], `labels` is [N]; ties count as wrong unless the
    label is the first maximum. Not differentiable. Leading batch
    dimensions give one accuracy each: logits [B..., N, C] and labels
    [B..., N] give [B...] (one per replica of an ensemble).
  }];
  let arguments = (ins LM_FloatTensor:$logits, RankedTensorOf<[I32]>:$labels);
  let results = (outs LM_FloatTensor:$result);
  let assemblyFormat = "$logits `,` $labels attr-dict `:` type($logits) `,` type($labels) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

def LM_MseOp : LM_Op<"mse", [Pure, AllTypesMatch<["prediction", "target"]>,
                     DeclareOpInterfaceMethods<LM_DifferentiableOpInterface>]> {
  let summary = "mean squared error";
  let description = [{
    `mean((prediction - target)^2)` over all elements, as a 0-d tensor.
    With `batch_dims = k` the first k dimensions are kept: one mean per
    batch index (per replica of an ensemble), result shape `[B...]`.
  }];
  let arguments = (ins LM_FloatTensor:$prediction, LM_FloatTensor:$target,
                       DefaultValuedAttr<I64Attr, "0">:$batch_dims);
  let results = (outs LM_FloatTensor:$result);
  let assemblyFormat = "$prediction `,` $target attr-dict `:` type($prediction) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Differentiation
//===----------------------------------------------------------------------===//

def LM_ValueAndGradOp : LM_Op<"value_and_grad",
    [DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "calls a function and returns its value and gradient";
  let description = [{
    Calls `callee` (which returns one 0-d tensor, or a 1-d tensor of
    per-replica losses in an ensemble, differentiated as their sum) and also
    returns its gradient with respect to the first `num_wrt` operands. `--lm-autodiff`
    generates the gradient function and replaces this op with a call to it.

    ```mlir
    %l, %gw = lm.value_and_grad @loss(%w, %x) {num_wrt = 1 : i64}
        : (tensor<3x4xf32>, tensor<8x4xf32>) -> (tensor<f32>, tensor<3x4xf32>)
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$callee, Variadic<AnyType>:$operands,
                       I64Attr:$num_wrt);
  let results = (outs Variadic<AnyType>:$results);
  let assemblyFormat = [{
    $callee `(` $operands `)` attr-dict `:` functional-type($operands, $results)
  }];
}

#endif
