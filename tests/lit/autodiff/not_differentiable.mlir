// RUN: not lm-opt %s --lm-autodiff 2>&1 | FileCheck %s
// An op without a VJP rule on the path from a wrt argument to the value is an
// error at that op.

func.func private @f(%a: tensor<4xf32>) -> tensor<f32> {
  // CHECK: not_differentiable.mlir:[[@LINE+1]]:8: error: cannot differentiate 'lm.step': it has no VJP rule
  %0 = lm.step %a : tensor<4xf32>
  %1 = lm.reduce_sum %0 [0] : tensor<4xf32> -> tensor<f32>
  return %1 : tensor<f32>
}

func.func @g(%a: tensor<4xf32>) -> (tensor<f32>, tensor<4xf32>) {
  %l, %ga = lm.value_and_grad @f(%a) {num_wrt = 1 : i64} : (tensor<4xf32>) -> (tensor<f32>, tensor<4xf32>)
  return %l, %ga : tensor<f32>, tensor<4xf32>
}
