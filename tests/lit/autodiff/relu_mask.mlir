// RUN: lm-opt %s --lm-autodiff | FileCheck %s
// relu's VJP masks with step(relu(x)), which equals step(x): the mask reads
// the output, so the pre-activation x has the relu as its only use and
// elementwise fusion computes bias-add and relu in one loop without storing x.

func.func private @loss(%x: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<f32> {
  %0 = lm.add %x, %b : tensor<8xf32>
  %1 = lm.relu %0 : tensor<8xf32>
  %2 = lm.reduce_sum %1 [0] : tensor<8xf32> -> tensor<f32>
  return %2 : tensor<f32>
}

func.func @step(%x: tensor<8xf32>, %b: tensor<8xf32>) -> (tensor<f32>, tensor<8xf32>) {
  %l, %g = lm.value_and_grad @loss(%x, %b) {num_wrt = 1 : i64} : (tensor<8xf32>, tensor<8xf32>) -> (tensor<f32>, tensor<8xf32>)
  return %l, %g : tensor<f32>, tensor<8xf32>
}

// CHECK-LABEL: func.func private @loss_grad(
// CHECK: %[[PRE:.*]] = lm.add %arg0, %arg1
// CHECK: %[[OUT:.*]] = lm.relu %[[PRE]]
// CHECK: lm.step %[[OUT]]
// CHECK-NOT: lm.step %[[PRE]]
