//===- CPUPipeline.cpp - lm → LLVM dialect for the host CPU ---------------===//
//
// Two halves, so `lmc emit` can stop in between:
//   linalg: inline everything into the entry points, lm → linalg, fuse
//           elementwise chains, clean up;
//   llvm:   bufferize (function results become out-parameters), free
//           temporaries, matmuls to GEMM calls, parallel loops (OpenMP
//           where a loop nest has enough work, its outermost dimension
//           only), LLVM dialect with bare-pointer entry points.
//
//===----------------------------------------------------------------------===//
#include "lm/Conversion/Pipeline.h"
#include "lm/Transforms/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

static const char *const kLinalgPipeline =
    "inline,symbol-dce,canonicalize,cse,convert-lm-to-linalg,canonicalize,"
    "func.func(lm-generalize-copies),linalg-fuse-elementwise-ops,canonicalize,cse";

static const char *const kBufferize =
    "func.func(lm-unshare-fills),eliminate-empty-tensors,empty-tensor-to-alloc-tensor,"
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map},"
    "drop-equivalent-buffer-results,buffer-results-to-out-params{hoist-static-allocs},cse,"
    "canonicalize,buffer-deallocation-pipeline,convert-bufferization-to-memref,";

// Fast path: matmuls call the GEMM kernel; loop nests with enough work run
// on OpenMP threads.
static const char *const kFastLoops =
    "lm-matmul-to-call,"
    "func.func(scf-forall-to-parallel,lm-approximate-math,lm-reassociate,"
    "convert-linalg-to-parallel-loops,lm-serialize-small-loops),"
    "convert-scf-to-openmp,canonicalize,";

// Reference path: every linalg op as plain sequential loops.
static const char *const kReferenceLoops = "func.func(convert-linalg-to-loops),";

static const char *const kToLLVM =
    "convert-vector-to-scf{full-unroll=true},lower-affine,convert-scf-to-cf,"
    "expand-strided-metadata,lower-affine,convert-vector-to-llvm,"
    "finalize-memref-to-llvm{use-generic-functions},convert-math-to-llvm,"
    "convert-math-to-libm,convert-arith-to-llvm,convert-index-to-llvm,"
    "convert-cf-to-llvm,convert-func-to-llvm{use-bare-ptr-memref-call-conv},"
    "convert-openmp-to-llvm,reconcile-unrealized-casts,canonicalize";

LogicalResult lm::buildPipeline(OpPassManager &pm, Stage from, Stage to, bool reference,
                                MatmulKernels matmuls) {
  if (from < Stage::Grad && to >= Stage::Grad) {
    if (!reference) {
      pm.addPass(createLMFactorGathers());
      // CSE merges equal slices of one value (the residual stream is read
      // twice), which lets propagation continue past it.
      for (int round = 0; round < 3; ++round) {
        pm.addPass(createLMPropagateSlices());
        pm.addPass(mlir::createCSEPass());
      }
    }
    // Ensembles: batch the marked entries over the replica dimension, then
    // differentiate the batched program.
    pm.addPass(createLMReplicate());
    pm.addPass(createLMAutodiff());
  }
  if (from < Stage::Linalg && to >= Stage::Linalg &&
      failed(parsePassPipeline(kLinalgPipeline, pm)))
    return failure();
  // Generated GEMM kernels (tiled, vectorized) where the shape allows:
  // faster than the Eigen call on this machine (bench/RESULTS.md).
  std::string kernels = matmuls == MatmulKernels::Mlir ? "lm-vectorize-matmuls," : "";
  std::string llvmPipeline = std::string(kBufferize) +
                             (reference ? kReferenceLoops : kernels + kFastLoops) + kToLLVM;
  if (from < Stage::LLVM && to >= Stage::LLVM && failed(parsePassPipeline(llvmPipeline, pm)))
    return failure();
  return success();
}

void lm::registerPipelines() {
  PassPipelineRegistration<>("lm-to-linalg", "autodiff, then lm → fused linalg on tensors",
                             [](OpPassManager &pm) {
                               (void)buildPipeline(pm, Stage::Lm, Stage::Linalg);
                             });
  PassPipelineRegistration<>("lm-cpu-pipeline", "lm → LLVM dialect for the host CPU",
                             [](OpPassManager &pm) {
                               (void)buildPipeline(pm, Stage::Lm, Stage::LLVM);
                             });
}
