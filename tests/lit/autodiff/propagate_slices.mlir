// RUN: lm-opt %s --lm-propagate-slices | FileCheck %s
// Reading one position of a per-position computation computes it at that
// position only: the slice moves through the elementwise op, the broadcast
// and the einsum to the input.

// CHECK-LABEL: func @last_position
func.func @last_position(%x: tensor<8x3x4xf32>, %w: tensor<4x5xf32>, %b: tensor<5xf32>) -> tensor<8x1x5xf32> {
  // CHECK: %[[XS:.*]] = lm.slice %arg0 [0, 2, 0] [1, 1, 1] : tensor<8x3x4xf32> -> tensor<8x1x4xf32>
  // CHECK: %[[H:.*]] = lm.einsum "btk,kn->btn" %[[XS]], %arg1 : (tensor<8x1x4xf32>, tensor<4x5xf32>) -> tensor<8x1x5xf32>
  // CHECK: %[[B:.*]] = lm.broadcast %arg2 [2] : tensor<5xf32> -> tensor<8x1x5xf32>
  // CHECK: %[[S:.*]] = lm.add %[[H]], %[[B]] : tensor<8x1x5xf32>
  // CHECK: %[[R:.*]] = lm.relu %[[S]] : tensor<8x1x5xf32>
  // CHECK: return %[[R]]
  %h = lm.einsum "btk,kn->btn" %x, %w : (tensor<8x3x4xf32>, tensor<4x5xf32>) -> tensor<8x3x5xf32>
  %bb = lm.broadcast %b [2] : tensor<5xf32> -> tensor<8x3x5xf32>
  %s = lm.add %h, %bb : tensor<8x3x5xf32>
  %r = lm.relu %s : tensor<8x3x5xf32>
  %last = lm.slice %r [0, 2, 0] [1, 1, 1] : tensor<8x3x5xf32> -> tensor<8x1x5xf32>
  return %last : tensor<8x1x5xf32>
}

// A value with another use stays whole; the slice stops there.
// CHECK-LABEL: func @shared
func.func @shared(%x: tensor<4x3xf32>) -> (tensor<4x1xf32>, tensor<4x3xf32>) {
  // CHECK: %[[E:.*]] = lm.exp %arg0 : tensor<4x3xf32>
  // CHECK: lm.slice %[[E]]
  %e = lm.exp %x : tensor<4x3xf32>
  %s = lm.slice %e [0, 1] [1, 1] : tensor<4x3xf32> -> tensor<4x1xf32>
  return %s, %e : tensor<4x1xf32>, tensor<4x3xf32>
}

// Softmax commutes with slices that keep its axis whole.
// CHECK-LABEL: func @softmax_rows
func.func @softmax_rows(%x: tensor<4x3xf32>) -> tensor<1x3xf32> {
  // CHECK: %[[XS:.*]] = lm.slice %arg0 [3, 0] [1, 1] : tensor<4x3xf32> -> tensor<1x3xf32>
  // CHECK: lm.softmax %[[XS]] {axis = 1 : i64} : tensor<1x3xf32>
  %p = lm.softmax %x {axis = 1 : i64} : tensor<4x3xf32>
  %s = lm.slice %p [3, 0] [1, 1] : tensor<4x3xf32> -> tensor<1x3xf32>
  return %s : tensor<1x3xf32>
}
