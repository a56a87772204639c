//===- VectorizeMatmuls.cpp - MLIR-generated GEMM kernels -----------------===//
//
// `lm-vectorize-matmuls` turns buffer `linalg.batch_matmul` and
// `batch_matmul_transpose_a` ops into register-tiled, vectorized loop nests
// with a transform-dialect schedule generated per op from its shape (the
// recipe in ../shared/TOOLCHAIN.md): batch and N tiles as one scf.forall
// (parallel, later OpenMP), M tiles of MR rows and single-k steps as
// scf.for, the [MR, NR] tile vectorized, subviews folded into the
// transfers (inside the kernel only: folded views elsewhere would turn
// gather loads into div/mod index arithmetic), loop-invariant code hoisted, the accumulator tile kept in
// registers across the k loop (hoist_redundant_vector_transfers), and
// contractions lowered to outer products (FMAs). MR divides M and NR
// (a multiple of the vector width) divides N, so there are no remainder
// tiles. A transposed B (x W^T) is first copied into row order. Measured
// faster than Eigen's GEMM on this machine at the shapes the models use
// (bench/mlir_gemm.sh); products the schedule does not fit (N not a
// multiple of the vector width, strided rows) are left for
// `lm-matmul-to-call`.
//
//===----------------------------------------------------------------------===//
#include "lm/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Transform/IR/TransformOps.h"
#include "mlir/Dialect/Transform/Transforms/TransformInterpreterUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/TargetParser/Host.h"

namespace lm {
#define GEN_PASS_DEF_LMVECTORIZEMATMULS
#include "lm/Transforms/Passes.h.inc"
} // namespace lm

using namespace mlir;

namespace {

/// Static strides with a unit innermost one.
bool rowsContiguous(Type t) {
  auto m = cast<MemRefType>(t);
  SmallVector<int64_t> strides;
  int64_t offset;
  if (!m.hasStaticShape() || failed(getStridesAndOffset(m, strides, offset)))
    return false;
  return !strides.empty() && strides.back() == 1 &&
         llvm::none_of(strides, ShapedType::isDynamic);
}

/// The allocation (or argument) a memref view is taken from.
Value rootOf(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

/// Replaces the kernel's reads of the zero-filled accumulator C with zero
/// vectors, so the fill can go: the reads must sit in the one scf.forall
/// that writes C and outside the loop that carries the FMAs (hoisted, read
/// once per tile). Returns false, changing nothing, when the kernel does
/// not have that form.
bool zeroAccumulatorReads(func::FuncOp func, Value c) {
  Value root = rootOf(c);
  // Vector reads and writes of C (transfers, or plain loads and stores once
  // the transfers are lowered).
  auto written = [&](Operation *op) {
    if (auto w = dyn_cast<vector::TransferWriteOp>(op))
      return rootOf(w.getSource()) == root;
    if (auto w = dyn_cast<vector::StoreOp>(op))
      return rootOf(w.getBase()) == root;
    return false;
  };
  auto read = [&](Operation *op) {
    if (auto r = dyn_cast<vector::TransferReadOp>(op))
      return rootOf(r.getSource()) == root;
    if (auto r = dyn_cast<vector::LoadOp>(op))
      return rootOf(r.getBase()) == root;
    return false;
  };
  SmallPtrSet<Operation *, 2> writers;
  func.walk([&](Operation *op) {
    if (written(op))
      if (auto forall = op->getParentOfType<scf::ForallOp>())
        writers.insert(forall);
  });
  if (writers.size() != 1)
    return false;
  Operation *kernel = *writers.begin();
  SmallVector<Operation *> reads;
  bool ok = true;
  kernel->walk([&](Operation *op) {
    if (!read(op))
      return;
    for (Operation &sibling : *op->getBlock())
      if (isa<vector::FMAOp, vector::OuterProductOp, vector::ContractionOp>(sibling))
        ok = false; // read inside the k loop: not hoisted
    reads.push_back(op);
  });
  if (!ok || reads.empty())
    return false;
  for (Operation *r : reads) {
    OpBuilder b(r);
    auto type = cast<VectorType>(r->getResult(0).getType());
    Value zero = b.create<arith::ConstantOp>(
        r->getLoc(), type, DenseElementsAttr::get(type, b.getZeroAttr(type.getElementType())));
    r->getResult(0).replaceAllUsesWith(zero);
    r->erase();
  }
  return true;
}

int64_t firstDivisor(int64_t n, ArrayRef<int64_t> candidates) {
  for (int64_t c : candidates)
    if (n % c == 0)
      return c;
  return 0;
}

/// The host CPU's native vector width in bits.
int64_t hostVectorBits() {
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  if (features.lookup("avx512f"))
    return 512;
  if (features.lookup("avx"))
    return 256;
  return 128;
}

/// Accumulator tile [MR, NR] for an M x N product with `lanes`-wide
/// vectors; NR (a multiple of `lanes`) divides N; MR = 0 when N admits no
/// tile. With 32 registers (512-bit) the tile takes up to 16 of them (4 x 4
/// vectors) and MR divides M. With 16 (256-bit and narrower) it is 6 x 2
/// vectors, 12 registers (the B row and the broadcast A element take the
/// rest; at least 8 accumulators cover two FMA pipes of four cycles'
/// latency), and M need not be a multiple of 6: the M loop is peeled and
/// the last tile has fewer rows.
struct Tile {
  int64_t mr = 0, nr = 0;
  bool peel = false;
};
Tile tileFor(int64_t m, int64_t n, int64_t bits, int64_t lanes) {
  if (bits >= 512)
    return {firstDivisor(m, {4, 6, 3, 8, 2, 1}), firstDivisor(n, {4 * lanes, 2 * lanes, lanes})};
  int64_t nr = firstDivisor(n, {2 * lanes, lanes});
  if (!nr)
    return {};
  int64_t rows = nr == 2 * lanes ? 6 : 8;
  if (m <= rows)
    return {m, nr};
  return {rows, nr, m % rows != 0};
}

struct VectorizeMatmuls : lm::impl::LMVectorizeMatmulsBase<VectorizeMatmuls> {
  using LMVectorizeMatmulsBase::LMVectorizeMatmulsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    const int64_t bits = vectorBits ? vectorBits : hostVectorBits();
    std::string schedule;
    int id = 0;
    // Kernels whose accumulator C is freshly zero-filled and read once (K
    // in one block): the fill is dropped and the accumulator starts at zero.
    SmallVector<std::pair<Operation *, Value>> zeroFilled;
    // A transpose in 16 x 16 blocks, each transposed in registers by shuffles.
    auto shuffleTranspose = [&](Operation *transpose) {
      std::string tag = "lm_vtr" + std::to_string(id);
      transpose->setAttr(tag, UnitAttr::get(ctx));
      schedule += llvm::formatv(R"(
    %tr{0} = transform.structured.match attributes {{{1}} in %root : (!transform.any_op) -> !transform.any_op
    %trt{0}, %trb{0}, %trk{0}, %trn{0} = transform.structured.tile_using_for %tr{0} tile_sizes [1, 16, 16]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    transform.structured.vectorize %trt{0} : !transform.any_op
    transform.apply_patterns to %trb{0} {{
      transform.apply_patterns.vector.transfer_permutation_patterns
      transform.apply_patterns.vector.cast_away_vector_leading_one_dim
    } : !transform.any_op
    transform.apply_patterns to %trb{0} {{
      transform.apply_patterns.vector.lower_transpose lowering_strategy = "shuffle_16x16"
      transform.apply_patterns.vector.lower_transfer max_transfer_rank = 1
    } : !transform.any_op
)",
                                id, tag)
                      .str();
      ++id;
    };
    // A weight gradient over a large batch, C = A^T B with A [batch, K, M]
    // and M > N: the kernel streams A once per N tile and B once, so the
    // larger operand goes second: C^T = B^T A into a temporary, transposed
    // into C (M N moves against M N K multiply-adds). Measured on the
    // grokking step's MLP (M = 512, N = 128, K = 3831): 19 -> 12 ms.
    SmallVector<std::pair<linalg::BatchMatmulTransposeAOp, Operation *>> swapped;
    module.walk([&](linalg::BatchMatmulTransposeAOp op) {
      Value a = op.getDpsInputs()[0], bv = op.getDpsInputs()[1], c = op.getDpsInits()[0];
      auto cType = cast<MemRefType>(c.getType());
      Type elem = cType.getElementType();
      if (!op.hasPureBufferSemantics() || !(elem.isF32() || elem.isF64()) ||
          !rowsContiguous(a.getType()) ||
          !rowsContiguous(bv.getType()) || !rowsContiguous(cType))
        return;
      int64_t m = cType.getDimSize(1), n = cType.getDimSize(2);
      int64_t k = cast<MemRefType>(a.getType()).getDimSize(1);
      if (m <= n || k <= 512 || m % 16 || n % 16)
        return;
      if (Operation *fill = lm::zeroFillBefore(op, c))
        swapped.push_back({op, fill});
    });
    for (auto [op, fill] : swapped) {
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value c = op.getDpsInits()[0];
      auto cType = cast<MemRefType>(c.getType());
      auto tType = MemRefType::get({cType.getDimSize(0), cType.getDimSize(2), cType.getDimSize(1)},
                                   cType.getElementType());
      Value t = b.create<memref::AllocOp>(loc, tType, b.getI64IntegerAttr(64));
      b.create<linalg::FillOp>(loc, fill->getOperand(0), t);
      b.create<linalg::BatchMatmulTransposeAOp>(
          loc, ValueRange{op.getDpsInputs()[1], op.getDpsInputs()[0]}, ValueRange{t});
      auto transpose = b.create<linalg::TransposeOp>(loc, t, c, ArrayRef<int64_t>{0, 2, 1});
      if (cType.getElementType().isF32())
        shuffleTranspose(transpose);
      b.create<memref::DeallocOp>(loc, t);
      op.erase();
      fill->erase(); // C is overwritten whole
    }
    // x W^T (B given as [batch, N, K]): B is copied into [batch, K, N] order
    // once per call (N K moves against M N K multiply-adds) so the kernel
    // reads B rows as vectors.
    SmallVector<linalg::BatchMatmulTransposeBOp> transposedB;
    module.walk([&](linalg::BatchMatmulTransposeBOp op) {
      auto cType = cast<MemRefType>(op.getDpsInits()[0].getType());
      Type elem = cType.getElementType();
      if (op.hasPureBufferSemantics() && (elem.isF32() || elem.isF64()) &&
          cast<MemRefType>(op.getDpsInputs()[0].getType()).hasStaticShape() &&
          cast<MemRefType>(op.getDpsInputs()[1].getType()).hasStaticShape() &&
          rowsContiguous(cType) && cType.getDimSize(1) >= 16 &&
          (elem.isF32() ? cType.getDimSize(2) % 16 : cType.getDimSize(2) % 8) == 0)
        transposedB.push_back(op);
    });
    for (linalg::BatchMatmulTransposeBOp op : transposedB) {
      OpBuilder b(op);
      Location loc = op.getLoc();
      auto bType = cast<MemRefType>(op.getDpsInputs()[1].getType());
      auto tType = MemRefType::get({bType.getDimSize(0), bType.getDimSize(2), bType.getDimSize(1)},
                                   bType.getElementType());
      Value t = b.create<memref::AllocOp>(loc, tType, b.getI64IntegerAttr(64));
      auto transpose =
          b.create<linalg::TransposeOp>(loc, op.getDpsInputs()[1], t, ArrayRef<int64_t>{0, 2, 1});
      // f32 with K a multiple of 16: the copy in 16 x 16 blocks, each
      // transposed in registers by shuffles (the loop vectorizer would
      // otherwise read columns with gathers: a tenth of a teacher-student
      // step).
      if (bType.getElementType().isF32() && bType.getDimSize(2) % 16 == 0)
        shuffleTranspose(transpose);
      b.create<linalg::BatchMatmulOp>(loc, ValueRange{op.getDpsInputs()[0], t},
                                      ValueRange{op.getDpsInits()[0]});
      b.create<memref::DeallocOp>(loc, t);
      op.erase();
    }
    module.walk([&](linalg::LinalgOp op) {
      if (!isa<linalg::BatchMatmulOp, linalg::BatchMatmulTransposeAOp>(op.getOperation()) ||
          !op.hasPureBufferSemantics())
        return;
      Value a = op.getDpsInputs()[0], b = op.getDpsInputs()[1], c = op.getDpsInits()[0];
      auto cType = cast<MemRefType>(c.getType());
      Type elem = cType.getElementType();
      if (!(elem.isF32() || elem.isF64()) || !cast<MemRefType>(a.getType()).hasStaticShape() ||
          !rowsContiguous(b.getType()) || !rowsContiguous(c.getType()))
        return;
      int64_t m = cType.getDimSize(1), n = cType.getDimSize(2);
      int64_t k = cast<MemRefType>(b.getType()).getDimSize(1);
      auto [mr, nr, peel] = tileFor(m, n, bits, elem.isF32() ? bits / 32 : bits / 64);
      if (!mr)
        return;
      // K in blocks of KC, so an NR-column panel of B (KC x NR) stays in
      // L2 while the M tiles stream past it (without it, large-K products
      // such as weight gradients over thousands of examples reread B from
      // memory for every M tile).
      int64_t kc = k > 512 ? 256 : k;
      if (kc == k)
        if (Operation *fill = lm::zeroFillBefore(op, c))
          zeroFilled.push_back({fill, c});
      // M % MR != 0: the M loop is peeled, so the full tiles and the last
      // one both have static shapes. Then every tile is vectorized, and LICM
      // runs over every loop of the kernel (twice: the match lists outer
      // loops first).
      std::string peelLoop =
          peel ? llvm::formatv(R"(    %ifor{0} = transform.cast %i{0} : !transform.any_op to !transform.op<"scf.for">
    %full{0}, %last{0} = transform.loop.peel %ifor{0} : (!transform.op<"scf.for">) -> (!transform.any_op, !transform.any_op)
    transform.apply_patterns to %forall{0} {{
      transform.apply_patterns.canonicalization
    } : !transform.any_op
)",
                               id)
                     .str()
               : "";
      // N in blocks of NB columns per forall iteration, the block's NR-wide
      // tiles inside the M tile loop: the MR rows of A a tile reads stay in
      // L1 across the block (A is streamed N / NB times, not N / NR). At
      // least 4 blocks, so that two threads share them evenly. (256-bit
      // targets; measured there: the AVX-512 schedule is unchanged.)
      int64_t nb = nr;
      if (bits < 512)
        for (int64_t c = n / 4; c > nr; --c)
          if (c % nr == 0 && n % c == 0) {
            nb = c;
            break;
          }
      std::string tiles =
          nb == nr
              ? llvm::formatv(R"(    %t{0}, %i{0}, %k{0} = transform.structured.tile_using_for %q{0} tile_sizes [0, {1}, 0, 1]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op))",
                              id, mr)
                    .str()
              : llvm::formatv(R"(    %t{0}, %i{0}, %j{0}, %k{0} = transform.structured.tile_using_for %q{0} tile_sizes [0, {1}, {2}, 1]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op))",
                              id, mr, nr)
                    .str();
      std::string tag = "lm_vmm" + std::to_string(id);
      op->setAttr(tag, UnitAttr::get(ctx));
      schedule += llvm::formatv(R"(
    %m{0} = transform.structured.match attributes {{{1}} in %root : (!transform.any_op) -> !transform.any_op
    %p{0}, %forall{0} = transform.structured.tile_using_forall %m{0} tile_sizes [{5}, 0, {9}]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    %q{0}, %kc{0} = transform.structured.tile_using_for %p{0} tile_sizes [0, 0, 0, {4}]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
{8}
{6}    %tiles{0} = transform.structured.match ops{{["{7}"]} in %forall{0} : (!transform.any_op) -> !transform.any_op
    transform.structured.vectorize %tiles{0} : !transform.any_op
    transform.apply_patterns to %forall{0} {{
      transform.apply_patterns.vector.reduction_to_contract
      transform.apply_patterns.vector.transfer_permutation_patterns
    } : !transform.any_op
    transform.apply_patterns to %forall{0} {{
      transform.apply_patterns.memref.fold_memref_alias_ops
      transform.apply_patterns.vector.cast_away_vector_leading_one_dim
    } : !transform.any_op
    transform.apply_cse to %forall{0} : !transform.any_op
    %loops{0} = transform.structured.match ops{{["scf.for"]} in %forall{0} : (!transform.any_op) -> !transform.any_op
    transform.apply_licm to %loops{0} : !transform.any_op
    transform.apply_licm to %loops{0} : !transform.any_op
)",
                                id, tag, mr, nr, kc, cType.getDimSize(0) > 1 ? 1 : 0,
                                peelLoop, op->getName().getStringRef(), tiles, nb)
                      .str();
      ++id;
    });
    if (!id)
      return;
    // Once per function, for all its kernels together (per kernel, these
    // whole-function rewrites made the pass quadratic: a third of the
    // flagship's compile time): the accumulator tiles hoisted out of the k
    // loops, then contractions as outer-product FMAs.
    schedule += R"(
    %funcs = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
    %hoisted = transform.structured.hoist_redundant_vector_transfers %funcs : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %hoisted {
      transform.apply_patterns.vector.lower_contraction lowering_strategy = "outerproduct"
      transform.apply_patterns.vector.transfer_permutation_patterns
      transform.apply_patterns.vector.lower_transfer max_transfer_rank = 1
      transform.apply_patterns.vector.lower_outerproduct
    } : !transform.any_op
)";
    std::string text = "module attributes {transform.with_named_sequence} {\n"
                       "  transform.named_sequence @__transform_main(%root: !transform.any_op "
                       "{transform.readonly}) {" +
                       schedule + "    transform.yield\n  }\n}\n";
    OwningOpRef<ModuleOp> library = parseSourceString<ModuleOp>(text, ctx);
    if (!library) {
      module.emitError("internal error: the generated matmul schedule does not parse");
      return signalPassFailure();
    }
    Operation *entry = transform::detail::findTransformEntryPoint(
        module, *library, transform::TransformDialect::kTransformEntryPointSymbolName);
    if (!entry || failed(transform::applyTransformNamedSequence(
                      module, entry, *library, transform::TransformOptions())))
      return signalPassFailure();
    module.walk([&](Operation *op) {
      for (int i = 0; i < id; ++i)
        for (const char *prefix : {"lm_vmm", "lm_vtr"})
          op->removeAttr(prefix + std::to_string(i));
    });
    for (auto [fill, c] : zeroFilled)
      if (zeroAccumulatorReads(fill->getParentOfType<func::FuncOp>(), c))
        fill->erase();
  }
};

} // namespace
