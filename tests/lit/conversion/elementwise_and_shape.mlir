// RUN: lm-opt %s --convert-lm-to-linalg | FileCheck %s
// Elementwise ops are parallel linalg.generics; shape ops map to their
// linalg/tensor counterparts.

// CHECK-LABEL: func @ops
func.func @ops(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<f32> {
  // CHECK: linalg.broadcast ins(%arg1 : tensor<3xf32>) outs(%{{.*}} : tensor<2x3xf32>) dimensions = [0]
  %0 = lm.broadcast %b [1] : tensor<3xf32> -> tensor<2x3xf32>
  // CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
  // CHECK: arith.maximumf
  %1 = lm.relu %0 : tensor<2x3xf32>
  // CHECK: linalg.generic
  // CHECK: arith.cmpf ogt
  // CHECK: arith.select
  %2 = lm.step %a : tensor<2x3xf32>
  // CHECK: linalg.generic
  // CHECK: math.tanh
  %3 = lm.tanh %2 : tensor<2x3xf32>
  // CHECK: linalg.transpose ins(%{{.*}} : tensor<2x3xf32>) outs(%{{.*}} : tensor<3x2xf32>) permutation = [1, 0]
  %4 = lm.transpose %3 [1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  // CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<3x2xf32> into tensor<6xf32>
  // CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1]] output_shape [2, 3] : tensor<6xf32> into tensor<2x3xf32>
  %5 = lm.reshape %4 : tensor<3x2xf32> -> tensor<2x3xf32>
  // CHECK: linalg.reduce ins(%{{.*}} : tensor<2x3xf32>) outs(%{{.*}} : tensor<3xf32>) dimensions = [0]
  %6 = lm.reduce_sum %5 [0] : tensor<2x3xf32> -> tensor<3xf32>
  %7 = lm.mul %1, %1 : tensor<2x3xf32>
  // CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "reduction"]
  // CHECK: arith.subf
  // CHECK: arith.mulf
  // CHECK: arith.addf
  // CHECK: arith.constant 0.166666
  %8 = lm.mse %7, %a : tensor<2x3xf32> -> tensor<f32>
  // CHECK-NOT: = lm.
  return %8 : tensor<f32>
}
