// RUN: lm-opt %s --pass-pipeline='builtin.module(func.func(lm-unshare-fills))' | FileCheck %s
// Two products accumulating into one (CSE-merged) zero tensor each get their
// own fill, so bufferization writes them in place instead of copying zeros.

// CHECK-LABEL: func @two
func.func @two(%a: tensor<1x8x4xf32>, %b: tensor<1x4x3xf32>, %c: tensor<1x4x3xf32>) -> (tensor<1x8x3xf32>, tensor<1x8x3xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8x3xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8x3xf32>) -> tensor<1x8x3xf32>
  // CHECK: %[[Z1:.*]] = linalg.fill
  // CHECK: %[[E2:.*]] = tensor.empty()
  // CHECK: %[[Z2:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E2]] :
  // CHECK: linalg.batch_matmul {{.*}} outs(%[[Z2]] :
  // CHECK: linalg.batch_matmul {{.*}} outs(%[[Z1]] :
  %p = linalg.batch_matmul ins(%a, %b : tensor<1x8x4xf32>, tensor<1x4x3xf32>) outs(%z : tensor<1x8x3xf32>) -> tensor<1x8x3xf32>
  %q = linalg.batch_matmul ins(%a, %c : tensor<1x8x4xf32>, tensor<1x4x3xf32>) outs(%z : tensor<1x8x3xf32>) -> tensor<1x8x3xf32>
  return %p, %q : tensor<1x8x3xf32>, tensor<1x8x3xf32>
}
