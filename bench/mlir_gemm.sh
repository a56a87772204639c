#!/usr/bin/env bash
# bench/mlir_gemm.sh OUT_DIR — MLIR-generated GEMM kernels against Eigen at the
# same shapes, single-threaded. For each shape a transform-dialect schedule is
# generated (tile [MR, NR, 1] with MR | M and NR | N, n-tiles outermost,
# vectorize, fold subviews into transfers, LICM, hoist the accumulator out of
# the k loop, contractions as outer products — the recipe in
# ../shared/TOOLCHAIN.md), lowered with mlir-opt, compiled with clang-19, and
# timed by bench/mlir_gemm_harness.cpp next to Eigen's product, which also
# checks the result. Prints JSON lines.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$1"
mkdir -p "$out"
bin=/usr/lib/llvm-19/bin
first_divisor() { # N candidates...
  local n=$1; shift
  for c in "$@"; do (( n % c == 0 )) && { echo "$c"; return; }; done
  echo 0
}
for shape in "512 512 512" "3831 512 128" "3831 128 512" "512 128 3831" "128 256 64" "256 64 128"; do
  read -r M N K <<<"$shape"
  MR=$(first_divisor "$M" 4 6 3 8 2 1)
  NR=$(first_divisor "$N" 64 32 16)
  (( NR > 0 )) || { echo "{\"name\": \"mlir_gemm\", \"m\": $M, \"n\": $N, \"k\": $K, \"skipped\": true}"; continue; }
  base="$out/mm_${M}x${N}x${K}"
  cat >"$base.mlir" <<MLIR
module attributes {transform.with_named_sequence} {
  func.func @mm(%A: memref<${M}x${K}xf32>, %B: memref<${K}x${N}xf32>, %C: memref<${M}x${N}xf32>) {
    linalg.matmul ins(%A, %B : memref<${M}x${K}xf32>, memref<${K}x${N}xf32>) outs(%C : memref<${M}x${N}xf32>)
    return
  }
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %mm = transform.structured.match ops{["linalg.matmul"]} in %root : (!transform.any_op) -> !transform.any_op
    %t, %l0, %l1, %l2 = transform.structured.tile_using_for %mm tile_sizes [${MR}, ${NR}, 1] interchange = [1, 0, 2]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    %f = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
    %fv = transform.structured.vectorize_children_and_apply_patterns %f : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %fv {
      transform.apply_patterns.memref.fold_memref_alias_ops
    } : !transform.any_op
    %loops = transform.structured.match ops{["scf.for"]} in %fv : (!transform.any_op) -> !transform.any_op
    transform.apply_licm to %loops : !transform.any_op
    %h = transform.structured.hoist_redundant_vector_transfers %fv : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %h {
      transform.apply_patterns.vector.lower_contraction lowering_strategy = "outerproduct"
      transform.apply_patterns.vector.transfer_permutation_patterns
      transform.apply_patterns.vector.lower_transfer max_transfer_rank = 1
      transform.apply_patterns.vector.lower_outerproduct
    } : !transform.any_op
    transform.yield
  }
}
MLIR
  "$bin/mlir-opt" "$base.mlir" --transform-interpreter --test-transform-dialect-erase-schedule \
    --canonicalize --convert-vector-to-scf --lower-affine --convert-scf-to-cf --convert-vector-to-llvm \
    --expand-strided-metadata --finalize-memref-to-llvm --convert-arith-to-llvm \
    --convert-func-to-llvm='use-bare-ptr-memref-call-conv' --reconcile-unrealized-casts |
    "$bin/mlir-translate" --mlir-to-llvmir >"$base.ll"
  clang-19 -O3 -march=native -Wno-override-module -c "$base.ll" -o "$base.o"
  g++ -O3 -march=native -DNDEBUG -I/usr/include/eigen3 "$root/bench/mlir_gemm_harness.cpp" "$base.o" \
    -o "$base.exe"
  OMP_NUM_THREADS=1 "$base.exe" "$M" "$N" "$K" "$MR" "$NR"
done
