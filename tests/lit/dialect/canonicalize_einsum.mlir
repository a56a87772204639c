// RUN: lm-opt %s --canonicalize | FileCheck %s
// A transposed einsum operand is read in place: the transpose folds into the
// operand's letters.

// CHECK-LABEL: func @x_wt
func.func @x_wt(%x: tensor<8x4xf32>, %w: tensor<3x4xf32>) -> tensor<8x3xf32> {
  // CHECK-NOT: lm.transpose
  // CHECK: lm.einsum "ak,nk->an" %arg0, %arg1 : (tensor<8x4xf32>, tensor<3x4xf32>) -> tensor<8x3xf32>
  %wt = lm.transpose %w [1, 0] : tensor<3x4xf32> -> tensor<4x3xf32>
  %y = lm.einsum "ak,kn->an" %x, %wt : (tensor<8x4xf32>, tensor<4x3xf32>) -> tensor<8x3xf32>
  return %y : tensor<8x3xf32>
}

// A rank-3 permutation: result dim j of the transpose is input dim perm[j].
// CHECK-LABEL: func @rank3
func.func @rank3(%a: tensor<2x3x4xf32>) -> tensor<4x2xf32> {
  // CHECK: lm.einsum "jik->kj" %arg0 : (tensor<2x3x4xf32>) -> tensor<4x2xf32>
  %t = lm.transpose %a [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  %y = lm.einsum "kji->kj" %t : (tensor<4x2x3xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}
