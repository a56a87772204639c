// RUN: lm-opt %s --lm-factor-gathers | FileCheck %s
// A projection of embedded tokens plus positions, einsum(gather(E, tok) +
// broadcast(pos), W), becomes a projection of the 6-row table, gathered,
// plus the projected positions, broadcast: 6 and 3 row products instead of
// 8 x 3.

// CHECK-LABEL: func @qkv
func.func @qkv(%E: tensor<6x16xf32>, %pos: tensor<3x16xf32>, %W: tensor<2x16x8xf32>, %tok: tensor<8x3xi32>) -> tensor<8x2x3x8xf32> {
  %x = lm.gather %E, %tok {axis = 0} : (tensor<6x16xf32>, tensor<8x3xi32>) -> tensor<8x3x16xf32>
  %p = lm.broadcast %pos [1, 2] : tensor<3x16xf32> -> tensor<8x3x16xf32>
  %h = lm.add %x, %p : tensor<8x3x16xf32>
  %q = lm.einsum "btd,hde->bhte" %h, %W : (tensor<8x3x16xf32>, tensor<2x16x8xf32>) -> tensor<8x2x3x8xf32>
  return %q : tensor<8x2x3x8xf32>
  // CHECK-DAG: %[[PP:.*]] = lm.einsum "td,hde->hte" %arg1, %arg2 : (tensor<3x16xf32>, tensor<2x16x8xf32>) -> tensor<2x3x8xf32>
  // CHECK-DAG: %[[PB:.*]] = lm.broadcast %[[PP]] [1, 2, 3] : tensor<2x3x8xf32> -> tensor<8x2x3x8xf32>
  // CHECK-DAG: %[[T:.*]] = lm.einsum "ad,hde->ahe" %arg0, %arg2 : (tensor<6x16xf32>, tensor<2x16x8xf32>) -> tensor<6x2x8xf32>
  // CHECK-DAG: %[[G:.*]] = lm.gather %[[T]], %arg3 {axis = 0 : i64} : (tensor<6x2x8xf32>, tensor<8x3xi32>) -> tensor<8x3x2x8xf32>
  // CHECK-DAG: %[[GT:.*]] = lm.transpose %[[G]] [0, 2, 1, 3] : tensor<8x3x2x8xf32> -> tensor<8x2x3x8xf32>
  // CHECK: lm.add
  // CHECK-NOT: lm.einsum "btd
}

// A table with more rows than are gathered is left alone.
// CHECK-LABEL: func @big_table
func.func @big_table(%E: tensor<100x16xf32>, %W: tensor<16x4xf32>, %tok: tensor<8xi32>) -> tensor<8x4xf32> {
  // CHECK: lm.gather %arg0
  // CHECK: lm.einsum "bd,de->be"
  %x = lm.gather %E, %tok {axis = 0} : (tensor<100x16xf32>, tensor<8xi32>) -> tensor<8x16xf32>
  %y = lm.einsum "bd,de->be" %x, %W : (tensor<8x16xf32>, tensor<16x4xf32>) -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// A gathered dimension that is summed over is left alone.
// CHECK-LABEL: func @summed
func.func @summed(%E: tensor<4x16xf32>, %W: tensor<8x4xf32>, %tok: tensor<8xi32>) -> tensor<16x4xf32> {
  // CHECK: lm.gather %arg0
  // CHECK: lm.einsum "bd,be->de"
  %x = lm.gather %E, %tok {axis = 0} : (tensor<4x16xf32>, tensor<8xi32>) -> tensor<8x16xf32>
  %y = lm.einsum "bd,be->de" %x, %W : (tensor<8x16xf32>, tensor<8x4xf32>) -> tensor<16x4xf32>
  return %y : tensor<16x4xf32>
}
