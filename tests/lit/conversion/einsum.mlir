// RUN: lm-opt %s --convert-lm-to-linalg | FileCheck %s
// A matmul-shaped einsum becomes transposes into [batch, M, K] x [batch, K, N]
// and one linalg.batch_matmul; any other einsum is one linalg.generic (result
// letters parallel, summed letters reductions) into a zero-filled tensor.

// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1) -> (d0)>

// x W^T: W is already [N, K], so it is used in place (transpose_b), not copied.
// CHECK-LABEL: func @matmul_t
func.func @matmul_t(%x: tensor<64x32xf32>, %w: tensor<16x32xf32>) -> tensor<64x16xf32> {
  // CHECK-NOT: linalg.transpose
  // CHECK-DAG: %[[A:.*]] = tensor.expand_shape %{{.*}} output_shape [1, 64, 32]
  // CHECK-DAG: %[[B:.*]] = tensor.expand_shape %{{.*}} output_shape [1, 16, 32]
  // CHECK: linalg.batch_matmul_transpose_b ins(%[[A]], %[[B]] : tensor<1x64x32xf32>, tensor<1x16x32xf32>) outs(%{{.*}} : tensor<1x64x16xf32>)
  %0 = lm.einsum "bk,nk->bn" %x, %w : (tensor<64x32xf32>, tensor<16x32xf32>) -> tensor<64x16xf32>
  return %0 : tensor<64x16xf32>
}

// g^T x (a weight gradient): g is [K, M], used in place (transpose_a).
// CHECK-LABEL: func @matmul_ta
func.func @matmul_ta(%g: tensor<64x16xf32>, %x: tensor<64x32xf32>) -> tensor<16x32xf32> {
  // CHECK-NOT: linalg.transpose
  // CHECK: linalg.batch_matmul_transpose_a ins(%{{.*}}, %{{.*}} : tensor<1x64x16xf32>, tensor<1x64x32xf32>) outs(%{{.*}} : tensor<1x16x32xf32>)
  %0 = lm.einsum "bn,bk->nk" %g, %x : (tensor<64x16xf32>, tensor<64x32xf32>) -> tensor<16x32xf32>
  return %0 : tensor<16x32xf32>
}

// Both operands in the other order: one is transposed for real.
// CHECK-LABEL: func @matmul_both
func.func @matmul_both(%a: tensor<32x64xf32>, %b: tensor<16x32xf32>) -> tensor<64x16xf32> {
  // CHECK: linalg.transpose ins(%arg1 : tensor<16x32xf32>) outs(%{{.*}} : tensor<32x16xf32>) permutation = [1, 0]
  // CHECK: linalg.batch_matmul_transpose_a
  %0 = lm.einsum "km,nk->mn" %a, %b : (tensor<32x64xf32>, tensor<16x32xf32>) -> tensor<64x16xf32>
  return %0 : tensor<64x16xf32>
}

// Heads are a batch letter; the result's letter order is restored.
// CHECK-LABEL: func @attention_scores
func.func @attention_scores(%q: tensor<2x4x64x32xf32>, %k: tensor<2x4x64x32xf32>) -> tensor<2x4x64x64xf32> {
  // CHECK: linalg.batch_matmul_transpose_b ins(%{{.*}}, %{{.*}} : tensor<8x64x32xf32>, tensor<8x64x32xf32>)
  %0 = lm.einsum "bhte,bhse->bhts" %q, %k : (tensor<2x4x64x32xf32>, tensor<2x4x64x32xf32>) -> tensor<2x4x64x64xf32>
  return %0 : tensor<2x4x64x64xf32>
}

// Tiny products per batch entry (3 tokens, 8 dims: 72 multiply-adds) stay
// one contraction loop nest over the operands as they lie: no transposes.
// CHECK-LABEL: func @tiny_attention_scores
func.func @tiny_attention_scores(%q: tensor<2x4x3x8xf32>, %k: tensor<2x4x3x8xf32>) -> tensor<2x4x3x3xf32> {
  // CHECK-NOT: linalg.transpose
  // CHECK-NOT: linalg.batch_matmul
  // CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
  // CHECK-SAME: ins(%arg0, %arg1 : tensor<2x4x3x8xf32>, tensor<2x4x3x8xf32>)
  %0 = lm.einsum "bhte,bhse->bhts" %q, %k : (tensor<2x4x3x8xf32>, tensor<2x4x3x8xf32>) -> tensor<2x4x3x3xf32>
  return %0 : tensor<2x4x3x3xf32>
}

// CHECK-LABEL: func @row_sums
func.func @row_sums(%x: tensor<8x4xf32>) -> tensor<8xf32> {
  // CHECK: %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<8xf32>)
  // CHECK: linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]], iterator_types = ["parallel", "reduction"]}
  // CHECK-SAME: ins(%arg0 : tensor<8x4xf32>) outs(%[[ZERO]] : tensor<8xf32>)
  // CHECK: arith.addf
  %0 = lm.einsum "ij->i" %x : (tensor<8x4xf32>) -> tensor<8xf32>
  return %0 : tensor<8xf32>
}
