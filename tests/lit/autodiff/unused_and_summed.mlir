// RUN: lm-opt %s --lm-autodiff | FileCheck %s
// An argument the loss does not use gets a zero gradient; an einsum letter
// summed away in the forward pass is broadcast back in the VJP; a value used
// twice accumulates its cotangents with lm.add.

func.func private @f(%a: tensor<4x5xf32>, %unused: tensor<2xf32>) -> tensor<f32> {
  %0 = lm.einsum "ij->i" %a : (tensor<4x5xf32>) -> tensor<4xf32>
  %1 = lm.mul %0, %0 : tensor<4xf32>
  %2 = lm.reduce_sum %1 [0] : tensor<4xf32> -> tensor<f32>
  return %2 : tensor<f32>
}

func.func @g(%a: tensor<4x5xf32>, %u: tensor<2xf32>) -> (tensor<f32>, tensor<4x5xf32>, tensor<2xf32>) {
  %l, %ga, %gu = lm.value_and_grad @f(%a, %u) {num_wrt = 2 : i64} : (tensor<4x5xf32>, tensor<2xf32>) -> (tensor<f32>, tensor<4x5xf32>, tensor<2xf32>)
  return %l, %ga, %gu : tensor<f32>, tensor<4x5xf32>, tensor<2xf32>
}

// CHECK-LABEL: func.func private @f_grad
// CHECK: %[[S:.*]] = lm.einsum "ij->i"
// CHECK: %[[SEED:.*]] = lm.broadcast %{{.*}} [] : tensor<f32> -> tensor<4xf32>
// CHECK: %[[D1:.*]] = lm.mul %[[SEED]], %[[S]]
// CHECK: %[[D2:.*]] = lm.mul %[[SEED]], %[[S]]
// CHECK: %[[SUM:.*]] = lm.add %[[D1]], %[[D2]] : tensor<4xf32>
// CHECK: %[[P:.*]] = lm.einsum "i->i" %[[SUM]] : (tensor<4xf32>) -> tensor<4xf32>
// CHECK: %[[GA:.*]] = lm.broadcast %[[P]] [0] : tensor<4xf32> -> tensor<4x5xf32>
// CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<2xf32>
// CHECK: return %{{.*}}, %[[GA]], %[[ZERO]]
