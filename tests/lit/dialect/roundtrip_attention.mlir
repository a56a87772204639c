// RUN: lm-opt %s | lm-opt | FileCheck %s
// The softmax family, one_hot, slices and accuracy print and parse back.

// CHECK-LABEL: func @ops
func.func @ops(%s: tensor<2x3x3xf32>, %t: tensor<2x3xi32>, %y: tensor<2xi32>) -> tensor<f32> {
  // CHECK: lm.softmax %{{.*}} {axis = 2 : i64} : tensor<2x3x3xf32>
  %0 = lm.softmax %s {axis = 2 : i64} : tensor<2x3x3xf32>
  // CHECK: lm.log_softmax %{{.*}} {axis = 1 : i64} : tensor<2x3x3xf32>
  %1 = lm.log_softmax %0 {axis = 1 : i64} : tensor<2x3x3xf32>
  // CHECK: lm.one_hot %{{.*}} : tensor<2x3xi32> -> tensor<2x3x3xf32>
  %2 = lm.one_hot %t : tensor<2x3xi32> -> tensor<2x3x3xf32>
  %3 = lm.add %1, %2 : tensor<2x3x3xf32>
  // CHECK: lm.slice %{{.*}} [0, 2, 0] [1, 1, 1] : tensor<2x3x3xf32> -> tensor<2x1x3xf32>
  %4 = lm.slice %3 [0, 2, 0] [1, 1, 1] : tensor<2x3x3xf32> -> tensor<2x1x3xf32>
  // CHECK: lm.unslice %{{.*}} [0, 2, 0] [1, 1, 1] : tensor<2x1x3xf32> -> tensor<2x3x3xf32>
  %5 = lm.unslice %4 [0, 2, 0] [1, 1, 1] : tensor<2x1x3xf32> -> tensor<2x3x3xf32>
  %6 = lm.reshape %4 : tensor<2x1x3xf32> -> tensor<2x3xf32>
  // CHECK: lm.accuracy %{{.*}}, %{{.*}} : tensor<2x3xf32>, tensor<2xi32> -> tensor<f32>
  %7 = lm.accuracy %6, %y : tensor<2x3xf32>, tensor<2xi32> -> tensor<f32>
  return %7 : tensor<f32>
}
