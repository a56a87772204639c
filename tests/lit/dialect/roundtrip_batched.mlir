// RUN: lm-opt %s | lm-opt | FileCheck %s
// The batched forms replicated (ensemble) programs use print and parse back;
// batch_dims = 0 (the default) is not printed.

// CHECK-LABEL: func @batched
func.func @batched(%t: tensor<2x6x4xf32>, %i: tensor<2x8x3xi32>, %p: tensor<2x8x1xf32>, %l: tensor<2x8x5xf32>, %y: tensor<2x8xi32>) -> (tensor<2x8x3x4xf32>, tensor<2x6x4xf32>, tensor<2xf32>, tensor<2xf32>) {
  // CHECK: lm.gather %{{.*}}, %{{.*}} {axis = 1 : i64, batch_dims = 1 : i64} : (tensor<2x6x4xf32>, tensor<2x8x3xi32>) -> tensor<2x8x3x4xf32>
  %0 = lm.gather %t, %i {axis = 1, batch_dims = 1} : (tensor<2x6x4xf32>, tensor<2x8x3xi32>) -> tensor<2x8x3x4xf32>
  // CHECK: lm.scatter_add %{{.*}}, %{{.*}} {axis = 1 : i64, batch_dims = 1 : i64} : (tensor<2x8x3x4xf32>, tensor<2x8x3xi32>) -> tensor<2x6x4xf32>
  %1 = lm.scatter_add %0, %i {axis = 1, batch_dims = 1} : (tensor<2x8x3x4xf32>, tensor<2x8x3xi32>) -> tensor<2x6x4xf32>
  // CHECK: lm.mse %{{.*}}, %{{.*}} {batch_dims = 1 : i64} : tensor<2x8x1xf32> -> tensor<2xf32>
  %2 = lm.mse %p, %p {batch_dims = 1} : tensor<2x8x1xf32> -> tensor<2xf32>
  // CHECK: lm.accuracy %{{.*}}, %{{.*}} : tensor<2x8x5xf32>, tensor<2x8xi32> -> tensor<2xf32>
  %3 = lm.accuracy %l, %y : tensor<2x8x5xf32>, tensor<2x8xi32> -> tensor<2xf32>
  // CHECK-NOT: batch_dims = 0
  // CHECK: lm.gather %{{.*}}, %{{.*}} {axis = 0 : i64} :
  %4 = lm.gather %l, %y {axis = 0, batch_dims = 0} : (tensor<2x8x5xf32>, tensor<2x8xi32>) -> tensor<2x8x8x5xf32>
  return %0, %1, %2, %3 : tensor<2x8x3x4xf32>, tensor<2x6x4xf32>, tensor<2xf32>, tensor<2xf32>
}
