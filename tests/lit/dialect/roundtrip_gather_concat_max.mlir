// RUN: lm-opt %s | lm-opt | FileCheck %s
// gather, scatter_add, concat, reduce_max and equal print and parse back.

// CHECK-LABEL: func @ops
func.func @ops(%t: tensor<6x4xf32>, %i: tensor<8x3xi32>, %a: tensor<8x3xf32>, %b: tensor<8x2xf32>) -> (tensor<8x3x4xf32>, tensor<8x5xf32>, tensor<8xf32>, tensor<8x3xf32>, tensor<8xi32>) {
  // CHECK: lm.gather %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<6x4xf32>, tensor<8x3xi32>) -> tensor<8x3x4xf32>
  %0 = lm.gather %t, %i {axis = 0} : (tensor<6x4xf32>, tensor<8x3xi32>) -> tensor<8x3x4xf32>
  // CHECK: lm.concat %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<8x3xf32>, tensor<8x2xf32>) -> tensor<8x5xf32>
  %1 = lm.concat %a, %b {axis = 1} : (tensor<8x3xf32>, tensor<8x2xf32>) -> tensor<8x5xf32>
  // CHECK: lm.reduce_max %{{.*}} [1] : tensor<8x5xf32> -> tensor<8xf32>
  %2 = lm.reduce_max %1 [1] : tensor<8x5xf32> -> tensor<8xf32>
  // CHECK: lm.equal %{{.*}}, %{{.*}} : tensor<8x3xf32>
  %3 = lm.equal %a, %a : tensor<8x3xf32>
  // CHECK: lm.scatter_add %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<8x3x4xf32>, tensor<8x3xi32>) -> tensor<6x4xf32>
  %6 = lm.scatter_add %0, %i {axis = 0} : (tensor<8x3x4xf32>, tensor<8x3xi32>) -> tensor<6x4xf32>
  // Slices and reshapes also take integer tensors.
  // CHECK: lm.slice %{{.*}} [0, 2] [1, 1] : tensor<8x3xi32> -> tensor<8x1xi32>
  %4 = lm.slice %i [0, 2] [1, 1] : tensor<8x3xi32> -> tensor<8x1xi32>
  // CHECK: lm.reshape %{{.*}} : tensor<8x1xi32> -> tensor<8xi32>
  %5 = lm.reshape %4 : tensor<8x1xi32> -> tensor<8xi32>
  return %0, %1, %2, %3, %5 : tensor<8x3x4xf32>, tensor<8x5xf32>, tensor<8xf32>, tensor<8x3xf32>, tensor<8xi32>
}
