// RUN: lm-opt %s --pass-pipeline='builtin.module(func.func(lm-generalize-copies),linalg-fuse-elementwise-ops)' | FileCheck %s
// A contraction over a dimension of extent 1 (dy ⊗ W in an MLP's backward
// pass) is an outer product: as an all-parallel generic it fuses with the
// relu mask that consumes it, one loop nest instead of a product written
// to memory and read back.

// CHECK-LABEL: func @outer_product_into_mask
// CHECK-NOT: linalg.batch_matmul
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME: ins(%arg0, %arg1, %arg2 : tensor<1x128x1xf32>, tensor<1x1x256xf32>, tensor<1x128x256xf32>)
// CHECK: arith.mulf
// CHECK: arith.cmpf
// CHECK-NOT: linalg.generic
func.func @outer_product_into_mask(%dy: tensor<1x128x1xf32>, %w: tensor<1x1x256xf32>, %h: tensor<1x128x256xf32>) -> tensor<1x128x256xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<1x128x256xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<1x128x256xf32>) -> tensor<1x128x256xf32>
  %p = linalg.batch_matmul ins(%dy, %w : tensor<1x128x1xf32>, tensor<1x1x256xf32>) outs(%z : tensor<1x128x256xf32>) -> tensor<1x128x256xf32>
  %m = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%p, %h : tensor<1x128x256xf32>, tensor<1x128x256xf32>) outs(%e : tensor<1x128x256xf32>) {
  ^bb0(%g: f32, %x: f32, %o: f32):
    %c = arith.cmpf ogt, %x, %zero : f32
    %s = arith.select %c, %one, %zero : f32
    %r = arith.mulf %g, %s : f32
    linalg.yield %r : f32
  } -> tensor<1x128x256xf32>
  return %m : tensor<1x128x256xf32>
}

// Accumulating into something other than a zero fill: out + a * b.
// CHECK-LABEL: func @accumulate
// CHECK: linalg.generic
// CHECK-SAME: ins(%arg0, %arg1 : tensor<4x1xf32>, tensor<1x8xf32>) outs(%arg2 : tensor<4x8xf32>)
// CHECK: %[[P:.*]] = arith.mulf
// CHECK: arith.addf %{{.*}}, %[[P]]
func.func @accumulate(%a: tensor<4x1xf32>, %b: tensor<1x8xf32>, %c: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<4x1xf32>, tensor<1x8xf32>) outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// A real reduction (K = 2) stays a matmul.
// CHECK-LABEL: func @real_reduction
// CHECK: linalg.matmul
func.func @real_reduction(%a: tensor<4x2xf32>, %b: tensor<2x8xf32>, %c: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<4x2xf32>, tensor<2x8xf32>) outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// The same for a generic contraction (a multiply-add body): attention's
// gradient for one query position, summed over that single position.
// CHECK-LABEL: func @generic_single_query
// CHECK-NOT: linalg.fill
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-NOT: arith.addf
// CHECK: linalg.yield
func.func @generic_single_query(%dq: tensor<8x1x4xf32>, %p: tensor<8x1x3xf32>) -> tensor<8x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x3x4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<8x3x4xf32>) -> tensor<8x3x4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(b, k, d, q) -> (b, q, d)>, affine_map<(b, k, d, q) -> (b, q, k)>, affine_map<(b, k, d, q) -> (b, k, d)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%dq, %p : tensor<8x1x4xf32>, tensor<8x1x3xf32>) outs(%z : tensor<8x3x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<8x3x4xf32>
  return %r : tensor<8x3x4xf32>
}
