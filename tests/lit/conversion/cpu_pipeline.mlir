// RUN: lm-opt %s --lm-cpu-pipeline | FileCheck %s
// The whole CPU pipeline: autodiff, inlining, lm -> linalg, bufferization with
// results as out-parameters, loops, LLVM dialect with bare pointers.

func.func private @loss(%w: tensor<3x4xf32>, %x: tensor<8x4xf32>, %y: tensor<8x3xf32>) -> tensor<f32> {
  %0 = lm.einsum "bk,nk->bn" %x, %w : (tensor<8x4xf32>, tensor<3x4xf32>) -> tensor<8x3xf32>
  %1 = lm.tanh %0 : tensor<8x3xf32>
  %2 = lm.mse %1, %y : tensor<8x3xf32> -> tensor<f32>
  return %2 : tensor<f32>
}

func.func @lm_step(%w: tensor<3x4xf32>, %x: tensor<8x4xf32>, %y: tensor<8x3xf32>) -> (tensor<f32>, tensor<3x4xf32>) attributes {lm.entry} {
  %l, %g = lm.value_and_grad @loss(%w, %x, %y) {num_wrt = 1 : i64} : (tensor<3x4xf32>, tensor<8x4xf32>, tensor<8x3xf32>) -> (tensor<f32>, tensor<3x4xf32>)
  return %l, %g : tensor<f32>, tensor<3x4xf32>
}

// Inputs, then the loss and the gradient as out-parameters, all plain pointers.
// CHECK: llvm.func @lm_step(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// CHECK-NOT: = lm.
// CHECK-NOT: = linalg.
// CHECK-NOT: func.func
// f32 tanh is a polynomial approximation (lm-approximate-math), not a libm call.
// CHECK-NOT: llvm.call @tanhf
// CHECK: llvm.return
