// RUN: lm-opt %s --convert-lm-to-linalg | FileCheck %s
// An einsum becomes one linalg.generic: result letters are parallel loops,
// summed letters reductions, accumulating into a zero-filled tensor.

// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @matmul_t
func.func @matmul_t(%x: tensor<8x4xf32>, %w: tensor<3x4xf32>) -> tensor<8x3xf32> {
  // CHECK: %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<8x3xf32>)
  // CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[OUT]]], iterator_types = ["parallel", "parallel", "reduction"]}
  // CHECK-SAME: ins(%arg0, %arg1 : tensor<8x4xf32>, tensor<3x4xf32>) outs(%[[ZERO]] : tensor<8x3xf32>)
  // CHECK: %[[P:.*]] = arith.mulf
  // CHECK: %[[S:.*]] = arith.addf %{{.*}}, %[[P]]
  // CHECK: linalg.yield %[[S]]
  %0 = lm.einsum "bk,nk->bn" %x, %w : (tensor<8x4xf32>, tensor<3x4xf32>) -> tensor<8x3xf32>
  return %0 : tensor<8x3xf32>
}
