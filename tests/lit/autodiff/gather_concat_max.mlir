// RUN: lm-opt %s --lm-autodiff | FileCheck %s
// VJPs: gather's is a scatter-add;
// concat's slices the cotangent; reduce_max's sends it to the maximal
// entries, divided by the number of ties.

func.func private @f(%t: tensor<6x4xf32>, %b: tensor<8x2xf32>, %i: tensor<8xi32>) -> tensor<f32> {
  %0 = lm.gather %t, %i {axis = 0} : (tensor<6x4xf32>, tensor<8xi32>) -> tensor<8x4xf32>
  %1 = lm.concat %0, %b {axis = 1} : (tensor<8x4xf32>, tensor<8x2xf32>) -> tensor<8x6xf32>
  %2 = lm.reduce_max %1 [0, 1] : tensor<8x6xf32> -> tensor<f32>
  return %2 : tensor<f32>
}

func.func @g(%t: tensor<6x4xf32>, %b: tensor<8x2xf32>, %i: tensor<8xi32>) -> (tensor<f32>, tensor<6x4xf32>, tensor<8x2xf32>) {
  %l, %gt, %gb = lm.value_and_grad @f(%t, %b, %i) {num_wrt = 2 : i64} : (tensor<6x4xf32>, tensor<8x2xf32>, tensor<8xi32>) -> (tensor<f32>, tensor<6x4xf32>, tensor<8x2xf32>)
  return %l, %gt, %gb : tensor<f32>, tensor<6x4xf32>, tensor<8x2xf32>
}

// CHECK-LABEL: func.func private @f_grad
// CHECK: %[[M:.*]] = lm.reduce_max %[[C:.*]] [0, 1]
// CHECK: %[[W:.*]] = lm.broadcast %[[M]] [] : tensor<f32> -> tensor<8x6xf32>
// CHECK: %[[HIT:.*]] = lm.equal %[[C]], %[[W]] : tensor<8x6xf32>
// CHECK: %[[TIES:.*]] = lm.reduce_sum %[[HIT]] [0, 1]
// CHECK: %[[SHARE:.*]] = lm.div %{{.*}}, %[[TIES]] : tensor<f32>
// CHECK: %[[DC:.*]] = lm.mul %[[HIT]], %{{.*}} : tensor<8x6xf32>
// CHECK: %[[DA:.*]] = lm.slice %[[DC]] [0, 0] [1, 1] : tensor<8x6xf32> -> tensor<8x4xf32>
// CHECK: %[[DB:.*]] = lm.slice %[[DC]] [0, 4] [1, 1] : tensor<8x6xf32> -> tensor<8x2xf32>
// CHECK: %[[DT:.*]] = lm.scatter_add %[[DA]], %arg2 {axis = 0 : i64} : (tensor<8x4xf32>, tensor<8xi32>) -> tensor<6x4xf32>
// CHECK: return %[[M]], %[[DT]], %[[DB]]
