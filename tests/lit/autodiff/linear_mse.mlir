// RUN: lm-opt %s --lm-autodiff | FileCheck %s
// The gradient of mse(x W^T + b, y) w.r.t. W and b: the einsum's VJP is an
// einsum, the broadcast's VJP is a reduce_sum, and value_and_grad becomes a
// call of the generated function.

func.func private @loss(%w: tensor<3x4xf32>, %b: tensor<3xf32>, %x: tensor<8x4xf32>, %y: tensor<8x3xf32>) -> tensor<f32> {
  %0 = lm.einsum "bk,nk->bn" %x, %w : (tensor<8x4xf32>, tensor<3x4xf32>) -> tensor<8x3xf32>
  %1 = lm.broadcast %b [1] : tensor<3xf32> -> tensor<8x3xf32>
  %2 = lm.add %0, %1 : tensor<8x3xf32>
  %3 = lm.mse %2, %y : tensor<8x3xf32> -> tensor<f32>
  return %3 : tensor<f32>
}

func.func @step(%w: tensor<3x4xf32>, %b: tensor<3xf32>, %x: tensor<8x4xf32>, %y: tensor<8x3xf32>) -> (tensor<f32>, tensor<3x4xf32>, tensor<3xf32>) {
  %l, %gw, %gb = lm.value_and_grad @loss(%w, %b, %x, %y) {num_wrt = 2 : i64} : (tensor<3x4xf32>, tensor<3xf32>, tensor<8x4xf32>, tensor<8x3xf32>) -> (tensor<f32>, tensor<3x4xf32>, tensor<3xf32>)
  return %l, %gw, %gb : tensor<f32>, tensor<3x4xf32>, tensor<3xf32>
}

// CHECK-LABEL: func.func private @loss_grad(
// CHECK-SAME: -> (tensor<f32>, tensor<3x4xf32>, tensor<3xf32>)
// CHECK: %[[PRED:.*]] = lm.add
// CHECK: %[[LOSS:.*]] = lm.mse %[[PRED]]
// CHECK: %[[ONE:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[DIFF:.*]] = lm.sub %[[PRED]], %arg3
// CHECK: %[[SCALE:.*]] = lm.mul %[[ONE]], %{{.*}} : tensor<f32>
// CHECK: %[[WIDE:.*]] = lm.broadcast %[[SCALE]] [] : tensor<f32> -> tensor<8x3xf32>
// CHECK: %[[DPRED:.*]] = lm.mul %[[DIFF]], %[[WIDE]]
// CHECK: %[[GB:.*]] = lm.reduce_sum %[[DPRED]] [0] : tensor<8x3xf32> -> tensor<3xf32>
// CHECK: %[[GW:.*]] = lm.einsum "bn,bk->nk" %[[DPRED]], %arg2
// CHECK: return %[[LOSS]], %[[GW]], %[[GB]]

// CHECK-LABEL: func.func @step(
// CHECK: call @loss_grad(%arg0, %arg1, %arg2, %arg3)
// CHECK-NOT: lm.value_and_grad
