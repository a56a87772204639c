// RUN: lm-opt %s --convert-lm-to-linalg | FileCheck %s
// softmax is stable: a max reduction, a sum of exp(x - max), then a division.

// CHECK-LABEL: func @softmax
func.func @softmax(%a: tensor<2x5xf32>) -> tensor<2x5xf32> {
  // CHECK: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
  // CHECK: linalg.fill ins(%[[NEGINF]] : f32)
  // CHECK: iterator_types = ["parallel", "reduction"]
  // CHECK: arith.maximumf
  // CHECK: iterator_types = ["parallel", "reduction"]
  // CHECK: arith.subf
  // CHECK: math.exp
  // CHECK: arith.addf
  // CHECK: iterator_types = ["parallel", "parallel"]
  // CHECK: math.exp
  // CHECK: arith.divf
  %0 = lm.softmax %a {axis = 1 : i64} : tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}
