//===- Passes.td - lm passes -------------------------------*- tablegen -*-===//
#ifndef LM_PASSES_TD
#define LM_PASSES_TD

include "mlir/Pass/PassBase.td"

def LMAutodiff : Pass<"lm-autodiff", "::mlir::ModuleOp"> {
  let summary = "Reverse-mode differentiation of lm functions";
  let description = [{
    For every `lm.value_and_grad @f(...)`, generates `@f_grad` (once per
    callee and wrt count) that recomputes the primal, then walks it in reverse
    applying each op's `DifferentiableOpInterface::buildVJP`, accumulating
    cotangents with `lm.add`; the op is replaced by a `func.call` to it.
  }];
  let dependentDialects = ["::lm::LMDialect", "::mlir::func::FuncDialect",
                           "::mlir::arith::ArithDialect"];
}

def LMPropagateSlices : Pass<"lm-propagate-slices", "::mlir::ModuleOp"> {
  let summary = "Moves slices towards their sources so only the used part is computed";
  let description = [{
    `lm.slice` of a single-use elementwise op, broadcast, transpose, slice,
    einsum, or softmax along an unsliced axis becomes that op on sliced
    operands. In `cross_entropy(net(x)[:, -1], y)` the MLP and unembedding
    then run at the last position only.
  }];
  let dependentDialects = ["::lm::LMDialect"];
}

def LMFactorGathers : Pass<"lm-factor-gathers", "::mlir::ModuleOp"> {
  let summary = "Contracts tables before gathering rows, and small tensors before broadcasting";
  let description = [{
    `einsum(gather(T, idx), W)` becomes `gather(einsum(T, W), idx)` (then a
    transpose into the einsum's result order) when the table has fewer rows
    than the gather produces and the gathered dimensions are kept by the
    einsum: a transformer's query/key/value projections of embedded tokens
    become projections of the embedding table. `einsum(broadcast(P), W)`
    becomes `broadcast(einsum(P, W))` when the broadcast dimensions are
    kept, and an einsum of a sum of such operands is distributed over the
    sum. Run before `--lm-autodiff`, so the gradient is that of the smaller
    program (a scatter-add into the table instead of a large contraction).
  }];
}

def LMReplicate : Pass<"lm-replicate", "::mlir::ModuleOp"> {
  let summary = "Batches functions over a leading replica dimension (vmap), for ensembles";
  let description = [{
    Every function with `lm.replicas = R : i64` is rewritten in place so
    that each argument and result gets a leading dimension of extent R and
    replica r of the results is the original function applied to replica r
    of the arguments (JAX's `vmap`). Ops whose operands depend on an
    argument get their batched form (an extra einsum letter, shifted axes,
    `batch_dims` on gather and mse, per-replica accuracy); values that do
    not (constants) stay unbatched and are broadcast where a batched op
    needs them. Callees (`func.call`, `lm.value_and_grad`) are batched into
    new functions `<name>_x<R>`. Run before `--lm-autodiff`: the gradient of
    the summed per-replica losses is the per-replica gradient.
  }];
  let dependentDialects = ["::lm::LMDialect", "::mlir::func::FuncDialect",
                           "::mlir::tensor::TensorDialect"];
}

def ConvertLMToLinalg : Pass<"convert-lm-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lowers lm ops to linalg, tensor, arith and math";
  let description = [{
    Elementwise ops and reductions become `linalg.generic`; `lm.einsum`
    becomes a `linalg.generic` with one indexing map per operand (zero-filled
    accumulator); shape ops become tensor/linalg shape ops.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def LMMatmulToCall : Pass<"lm-matmul-to-call", "::mlir::ModuleOp"> {
  let summary = "Replaces buffer linalg.batch_matmul with a call of the GEMM kernel";
  let description = [{
    `C += A B` on memrefs [batch, M, K] x [batch, K, N] becomes
    `call @lm_batch_matmul_f32(aligned address, offset, 3 strides of A, of B,
    of C, batch, M, N, K, accumulate)` (all `index`), implemented in
    liblmrt. When C was just filled with zeros the fill is dropped and
    `accumulate` is 0: the kernel overwrites C.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def LMGeneralizeCopies : Pass<"lm-generalize-copies", "::mlir::func::FuncOp"> {
  let summary = "Rewrites linalg.transpose and linalg.broadcast as linalg.generic";
  let description = [{
    Named data-movement ops do not take part in elementwise fusion; as
    generics they fuse with the elementwise ops around them, so a transposed
    or broadcast operand is read in place instead of being copied first.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def LMUnshareFills : Pass<"lm-unshare-fills", "::mlir::func::FuncOp"> {
  let summary = "Gives every user of a linalg.fill tensor its own fill";
  let description = [{
    CSE merges equal zero-filled accumulators; bufferization then copies the
    shared zeros into a new buffer for every op that accumulates into them.
    One fill per use bufferizes in place instead (a memset, no copy).
  }];
}

def LMApproximateMath : Pass<"lm-approximate-math", "::mlir::func::FuncOp"> {
  let summary = "f32 exp/log/tanh/erf as polynomial approximations (vectorizable)";
  let description = [{
    Applies MLIR's math polynomial approximations: f32 transcendental
    functions become arithmetic that LLVM's loop vectorizer handles, instead
    of scalar libm calls. Accurate to a few ulp in f32; f64 is untouched.
    Fast path only.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def LMReassociate : Pass<"lm-reassociate", "::mlir::func::FuncOp"> {
  let summary = "Allows float reassociation and contraction in linalg bodies";
  let description = [{
    Sets `fastmath<reassoc, contract>` on the float arithmetic inside linalg
    ops, so LLVM vectorizes reductions (sums over a batch, small
    contractions) and fuses multiply-adds. Results change at the level of
    float reassociation only; they stay bitwise reproducible for a given
    build and thread count. Not part of the reference path.
  }];
}

def LMSerializeSmallLoops : Pass<"lm-serialize-small-loops", "::mlir::func::FuncOp"> {
  let summary = "Turns scf.parallel loops too small to be worth a thread fork into scf.for";
  let description = [{
    Runs before `convert-scf-to-openmp`, so only loop nests with enough work
    become OpenMP parallel regions: an `scf.parallel` without reductions
    whose static iteration count times the operations in its body (nested
    loops included) is below `min-work`, or that is nested in another
    parallel loop, becomes a nest of `scf.for`. Loops with dynamic bounds
    stay parallel.
  }];
  let options = [Option<"minWork", "min-work", "int64_t", /*default=*/"65536",
                        "serialize parallel loops with less work than this">];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

#endif
