// RUN: lm-opt %s --lm-replicate | FileCheck %s
// RUN: lm-opt %s --lm-replicate --lm-autodiff --convert-lm-to-linalg > /dev/null
// lm-replicate batches every function marked lm.replicas = R over a leading
// replica dimension: arguments and results get it, each op its batched form.

// The loss: a batched einsum gets a fresh replica letter, axes move by one,
// mse keeps one mean per replica, a constant stays small and is broadcast.
// CHECK-LABEL: func.func private @loss_x4(
// CHECK-SAME: %[[W:.*]]: tensor<4x3x5xf32> {lm.param = "w"}, %[[X:.*]]: tensor<4x8x5xf32>, %[[Y:.*]]: tensor<4x8x3xf32>) -> tensor<4xf32>
// CHECK: %[[H:.*]] = lm.einsum "rbk,rnk->rbn" %[[X]], %[[W]] : (tensor<4x8x5xf32>, tensor<4x3x5xf32>) -> tensor<4x8x3xf32>
// CHECK: %[[C:.*]] = arith.constant dense<5.000000e-01> : tensor<8x3xf32>
// CHECK: %[[CB:.*]] = lm.broadcast %[[C]] [1, 2] : tensor<8x3xf32> -> tensor<4x8x3xf32>
// CHECK: %[[S:.*]] = lm.mul %[[H]], %[[CB]] : tensor<4x8x3xf32>
// CHECK: %[[P:.*]] = lm.softmax %[[S]] {axis = 2 : i64} : tensor<4x8x3xf32>
// CHECK: %[[T:.*]] = lm.transpose %[[P]] [0, 2, 1] : tensor<4x8x3xf32> -> tensor<4x3x8xf32>
// CHECK: %[[R:.*]] = lm.reduce_sum %[[T]] [2] : tensor<4x3x8xf32> -> tensor<4x3xf32>
// CHECK: %[[B:.*]] = lm.broadcast %[[R]] [0, 2] : tensor<4x3xf32> -> tensor<4x8x3xf32>
// CHECK: lm.mse %[[B]], %[[Y]] {batch_dims = 1 : i64} : tensor<4x8x3xf32> -> tensor<4xf32>
func.func private @loss(%w: tensor<3x5xf32> {lm.param = "w"}, %x: tensor<8x5xf32>, %y: tensor<8x3xf32>) -> tensor<f32> {
  %h = lm.einsum "bk,nk->bn" %x, %w : (tensor<8x5xf32>, tensor<3x5xf32>) -> tensor<8x3xf32>
  %c = arith.constant dense<0.5> : tensor<8x3xf32>
  %s = lm.mul %h, %c : tensor<8x3xf32>
  %p = lm.softmax %s {axis = 1 : i64} : tensor<8x3xf32>
  %t = lm.transpose %p [1, 0] : tensor<8x3xf32> -> tensor<3x8xf32>
  %r = lm.reduce_sum %t [1] : tensor<3x8xf32> -> tensor<3xf32>
  %b = lm.broadcast %r [1] : tensor<3xf32> -> tensor<8x3xf32>
  %l = lm.mse %b, %y : tensor<8x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}

// The entry: flat parameters [R, P] sliced per replica, the callee batched
// once, gradients inserted per replica.
// CHECK-LABEL: func.func @step(
// CHECK-SAME: %[[FLAT:.*]]: tensor<4x15xf32>, %{{.*}}: tensor<4x8x5xf32>, %{{.*}}: tensor<4x8x3xf32>) -> (tensor<4xf32>, tensor<4x15xf32>)
// CHECK-SAME: lm.replicated = 4
// CHECK: %[[SL:.*]] = tensor.extract_slice %[[FLAT]][0, 0] [4, 15] [1, 1] : tensor<4x15xf32> to tensor<4x15xf32>
// CHECK: %[[WR:.*]] = lm.reshape %[[SL]] : tensor<4x15xf32> -> tensor<4x3x5xf32>
// CHECK: lm.value_and_grad @loss_x4(%[[WR]], {{.*}}) {num_wrt = 1 : i64} : (tensor<4x3x5xf32>, tensor<4x8x5xf32>, tensor<4x8x3xf32>) -> (tensor<4xf32>, tensor<4x3x5xf32>)
// CHECK: tensor.empty() : tensor<4x15xf32>
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0] [4, 15] [1, 1] : tensor<4x15xf32> into tensor<4x15xf32>
func.func @step(%flat: tensor<15xf32>, %x: tensor<8x5xf32>, %y: tensor<8x3xf32>) -> (tensor<f32>, tensor<15xf32>) attributes {lm.entry, lm.replicas = 4 : i64} {
  %s = tensor.extract_slice %flat[0] [15] [1] : tensor<15xf32> to tensor<15xf32>
  %w = lm.reshape %s : tensor<15xf32> -> tensor<3x5xf32>
  %l, %g = lm.value_and_grad @loss(%w, %x, %y) {num_wrt = 1 : i64} : (tensor<3x5xf32>, tensor<8x5xf32>, tensor<8x3xf32>) -> (tensor<f32>, tensor<3x5xf32>)
  %e = tensor.empty() : tensor<15xf32>
  %gf = lm.reshape %g : tensor<3x5xf32> -> tensor<15xf32>
  %i = tensor.insert_slice %gf into %e[0] [15] [1] : tensor<15xf32> into tensor<15xf32>
  return %l, %i : tensor<f32>, tensor<15xf32>
}

// Tokens differ per replica: the embedding gather takes one index tensor
// per replica (batch_dims = 1); accuracy is one number per replica; a
// slice keeps the whole replica dimension.
// CHECK-LABEL: func.func @observe(
// CHECK: %[[E:.*]] = lm.gather %{{.*}}, %{{.*}} {axis = 1 : i64, batch_dims = 1 : i64} : (tensor<4x7x4xf32>, tensor<4x6x3xi32>) -> tensor<4x6x3x4xf32>
// CHECK: %[[L:.*]] = lm.slice %[[E]] [0, 0, 2, 0] [1, 1, 1, 1] : tensor<4x6x3x4xf32> -> tensor<4x6x1x4xf32>
// CHECK: lm.reshape %[[L]] : tensor<4x6x1x4xf32> -> tensor<4x6x4xf32>
// CHECK: lm.accuracy %{{.*}}, %{{.*}} : tensor<4x6x4xf32>, tensor<4x6xi32> -> tensor<4xf32>
func.func @observe(%table: tensor<7x4xf32>, %tok: tensor<6x3xi32>, %lab: tensor<6xi32>) -> tensor<f32> attributes {lm.entry, lm.replicas = 4 : i64} {
  %e = lm.gather %table, %tok {axis = 0} : (tensor<7x4xf32>, tensor<6x3xi32>) -> tensor<6x3x4xf32>
  %last = lm.slice %e [0, 2, 0] [1, 1, 1] : tensor<6x3x4xf32> -> tensor<6x1x4xf32>
  %l = lm.reshape %last : tensor<6x1x4xf32> -> tensor<6x4xf32>
  %a = lm.accuracy %l, %lab : tensor<6x4xf32>, tensor<6xi32> -> tensor<f32>
  return %a : tensor<f32>
}
