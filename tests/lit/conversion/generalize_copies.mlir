// RUN: lm-opt %s --pass-pipeline='builtin.module(func.func(lm-generalize-copies),linalg-fuse-elementwise-ops)' | FileCheck %s
// A transpose and a broadcast become generics, so elementwise fusion folds
// them into the add that reads them: one loop nest, no copies.

// CHECK-LABEL: func @fused
func.func @fused(%a: tensor<4x8xf32>, %b: tensor<4xf32>) -> tensor<8x4xf32> {
  // CHECK-NOT: linalg.transpose
  // CHECK-NOT: linalg.broadcast
  // CHECK: linalg.generic
  // CHECK-SAME: ins(%arg0, %arg1 : tensor<4x8xf32>, tensor<4xf32>)
  // CHECK: arith.addf
  // CHECK-NOT: linalg.generic
  %e0 = tensor.empty() : tensor<8x4xf32>
  %t = linalg.transpose ins(%a : tensor<4x8xf32>) outs(%e0 : tensor<8x4xf32>) permutation = [1, 0]
  %e1 = tensor.empty() : tensor<8x4xf32>
  %bb = linalg.broadcast ins(%b : tensor<4xf32>) outs(%e1 : tensor<8x4xf32>) dimensions = [0]
  %e2 = tensor.empty() : tensor<8x4xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%t, %bb : tensor<8x4xf32>, tensor<8x4xf32>) outs(%e2 : tensor<8x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.addf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<8x4xf32>
  return %s : tensor<8x4xf32>
}
