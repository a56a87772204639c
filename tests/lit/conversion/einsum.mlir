// RUN: lm-opt %s --convert-lm-to-linalg | FileCheck %s
// A matmul-shaped einsum becomes transposes into [batch, M, K] x [batch, K, N]
// and one linalg.batch_matmul; any other einsum is one linalg.generic (result
// letters parallel, summed letters reductions) into a zero-filled tensor.

// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func @matmul_t
func.func @matmul_t(%x: tensor<8x4xf32>, %w: tensor<3x4xf32>) -> tensor<8x3xf32> {
  // CHECK-DAG: %[[A:.*]] = tensor.expand_shape %{{.*}} output_shape [1, 8, 4]
  // CHECK-DAG: %[[WT:.*]] = linalg.transpose ins(%arg1 : tensor<3x4xf32>) outs(%{{.*}} : tensor<4x3xf32>) permutation = [1, 0]
  // CHECK-DAG: %[[B:.*]] = tensor.expand_shape %{{.*}} output_shape [1, 4, 3]
  // CHECK: linalg.batch_matmul ins(%[[A]], %[[B]] : tensor<1x8x4xf32>, tensor<1x4x3xf32>) outs(%{{.*}} : tensor<1x8x3xf32>)
  %0 = lm.einsum "bk,nk->bn" %x, %w : (tensor<8x4xf32>, tensor<3x4xf32>) -> tensor<8x3xf32>
  return %0 : tensor<8x3xf32>
}

// Heads are a batch letter; the result's letter order is restored.
// CHECK-LABEL: func @attention_scores
func.func @attention_scores(%q: tensor<2x4x64x32xf32>, %k: tensor<2x4x64x32xf32>) -> tensor<2x4x64x64xf32> {
  // CHECK: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<8x64x32xf32>, tensor<8x32x64xf32>)
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
