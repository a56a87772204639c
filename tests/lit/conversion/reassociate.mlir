// RUN: lm-opt %s --pass-pipeline='builtin.module(func.func(lm-reassociate))' | FileCheck %s
// Float arithmetic inside linalg bodies may be reassociated and contracted
// (so reductions vectorize); arithmetic outside linalg ops is untouched.

// CHECK-LABEL: func @sum
func.func @sum(%x: tensor<8x4xf32>, %s: f32) -> (tensor<8xf32>, f32) {
  %c0 = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  // CHECK: linalg.reduce
  // CHECK: arith.addf %{{.*}}, %{{.*}} fastmath<reassoc,contract> : f32
  %r = linalg.reduce ins(%x : tensor<8x4xf32>) outs(%z : tensor<8xf32>) dimensions = [1]
    (%a: f32, %b: f32) {
      %t = arith.addf %a, %b : f32
      linalg.yield %t : f32
    }
  // CHECK: arith.mulf %arg1, %arg1 : f32
  %m = arith.mulf %s, %s : f32
  return %r, %m : tensor<8xf32>, f32
}
