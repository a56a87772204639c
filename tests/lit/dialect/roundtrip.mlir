// RUN: lm-opt %s | lm-opt | FileCheck %s
// Every lm op prints and parses back.

// CHECK-LABEL: func @ops
func.func @ops(%x: tensor<8x4xf32>, %w: tensor<3x4xf32>, %b: tensor<3xf32>, %y: tensor<8x3xf32>) -> tensor<f32> {
  // CHECK: lm.einsum "bk,nk->bn" %{{.*}}, %{{.*}} : (tensor<8x4xf32>, tensor<3x4xf32>) -> tensor<8x3xf32>
  %0 = lm.einsum "bk,nk->bn" %x, %w : (tensor<8x4xf32>, tensor<3x4xf32>) -> tensor<8x3xf32>
  // CHECK: lm.broadcast %{{.*}} [1] : tensor<3xf32> -> tensor<8x3xf32>
  %1 = lm.broadcast %b [1] : tensor<3xf32> -> tensor<8x3xf32>
  // CHECK: lm.add %{{.*}}, %{{.*}} : tensor<8x3xf32>
  %2 = lm.add %0, %1 : tensor<8x3xf32>
  %3 = lm.sub %2, %y : tensor<8x3xf32>
  %4 = lm.mul %3, %3 : tensor<8x3xf32>
  %5 = lm.div %4, %2 : tensor<8x3xf32>
  %6 = lm.neg %5 : tensor<8x3xf32>
  %7 = lm.exp %6 : tensor<8x3xf32>
  %8 = lm.log %7 : tensor<8x3xf32>
  %9 = lm.sqrt %7 : tensor<8x3xf32>
  %10 = lm.tanh %9 : tensor<8x3xf32>
  %11 = lm.relu %10 : tensor<8x3xf32>
  // CHECK: lm.step %{{.*}} : tensor<8x3xf32>
  %12 = lm.step %11 : tensor<8x3xf32>
  // CHECK: lm.pow %{{.*}} {exponent = 3.000000e+00 : f64} : tensor<8x3xf32>
  %13 = lm.pow %12 {exponent = 3.0 : f64} : tensor<8x3xf32>
  // CHECK: lm.transpose %{{.*}} [1, 0] : tensor<8x3xf32> -> tensor<3x8xf32>
  %14 = lm.transpose %13 [1, 0] : tensor<8x3xf32> -> tensor<3x8xf32>
  // CHECK: lm.reduce_sum %{{.*}} [1] : tensor<3x8xf32> -> tensor<3xf32>
  %15 = lm.reduce_sum %14 [1] : tensor<3x8xf32> -> tensor<3xf32>
  // CHECK: lm.reshape %{{.*}} : tensor<3xf32> -> tensor<1x3xf32>
  %16 = lm.reshape %15 : tensor<3xf32> -> tensor<1x3xf32>
  %17 = lm.broadcast %16 [0, 1] : tensor<1x3xf32> -> tensor<1x3xf32>
  %18 = lm.reshape %17 : tensor<1x3xf32> -> tensor<3xf32>
  %19 = lm.broadcast %18 [1] : tensor<3xf32> -> tensor<8x3xf32>
  // CHECK: lm.mse %{{.*}}, %{{.*}} : tensor<8x3xf32> -> tensor<f32>
  %20 = lm.mse %19, %8 : tensor<8x3xf32> -> tensor<f32>
  return %20 : tensor<f32>
}

func.func private @loss(%w: tensor<3x4xf32>, %x: tensor<8x4xf32>) -> tensor<f32>

// CHECK-LABEL: func @grad
func.func @grad(%w: tensor<3x4xf32>, %x: tensor<8x4xf32>) -> (tensor<f32>, tensor<3x4xf32>) {
  // CHECK: lm.value_and_grad @loss(%{{.*}}, %{{.*}}) {num_wrt = 1 : i64}
  %l, %g = lm.value_and_grad @loss(%w, %x) {num_wrt = 1 : i64} : (tensor<3x4xf32>, tensor<8x4xf32>) -> (tensor<f32>, tensor<3x4xf32>)
  return %l, %g : tensor<f32>, tensor<3x4xf32>
}
