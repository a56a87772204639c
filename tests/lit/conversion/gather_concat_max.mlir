// RUN: lm-opt %s --convert-lm-to-linalg | FileCheck %s
// gather reads the table inside a parallel generic (zero outside the range);
// concat inserts each input at its offset; reduce_max is a linalg.reduce
// from -inf.


// CHECK-LABEL: func @gather
func.func @gather(%t: tensor<6x4xf32>, %i: tensor<8x3xi32>) -> tensor<8x3x4xf32> {
  // CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel"]
  // CHECK-SAME: ins(%arg1 : tensor<8x3xi32>)
  // CHECK: arith.index_cast
  // CHECK-DAG: arith.cmpi sge
  // CHECK-DAG: arith.cmpi slt
  // CHECK: tensor.extract %arg0
  // CHECK: arith.select
  %0 = lm.gather %t, %i {axis = 0} : (tensor<6x4xf32>, tensor<8x3xi32>) -> tensor<8x3x4xf32>
  return %0 : tensor<8x3x4xf32>
}

// CHECK-LABEL: func @concat
func.func @concat(%a: tensor<8x3xf32>, %b: tensor<8x2xf32>) -> tensor<8x5xf32> {
  // CHECK: %[[E:.*]] = tensor.empty() : tensor<8x5xf32>
  // CHECK: %[[A:.*]] = tensor.insert_slice %arg0 into %[[E]][0, 0] [8, 3] [1, 1]
  // CHECK: tensor.insert_slice %arg1 into %[[A]][0, 3] [8, 2] [1, 1]
  %0 = lm.concat %a, %b {axis = 1} : (tensor<8x3xf32>, tensor<8x2xf32>) -> tensor<8x5xf32>
  return %0 : tensor<8x5xf32>
}

// CHECK-LABEL: func @max
func.func @max(%a: tensor<8x3xf32>) -> tensor<8xf32> {
  // CHECK: arith.constant 0xFF800000 : f32
  // CHECK: linalg.reduce ins(%arg0 : tensor<8x3xf32>) {{.*}} dimensions = [1]
  // CHECK: arith.maximumf
  %0 = lm.reduce_max %a [1] : tensor<8x3xf32> -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// scatter_add: a sequential loop over the index positions adds each row
// slice into the row its index names, skipping out-of-range indices.
// CHECK-LABEL: func @scatter
func.func @scatter(%u: tensor<8x3x4xf32>, %i: tensor<8x3xi32>) -> tensor<6x4xf32> {
  // CHECK: linalg.fill
  // CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (tensor<1x1x6x4xf32>)
  // CHECK: tensor.extract %{{.*}}[%[[I]]] : tensor<24xi32>
  // CHECK-NOT: arith.divui
  // CHECK: scf.if
  // CHECK: tensor.extract_slice %{{.*}}[0, 0, %[[I]], 0] [1, 1, 1, 4] [1, 1, 1, 1]
  // CHECK: tensor.extract_slice %[[ACC]][0, 0, %{{.*}}, 0] [1, 1, 1, 4] [1, 1, 1, 1]
  // CHECK: arith.addf
  // CHECK: tensor.insert_slice
  // CHECK: } else {
  // CHECK-NEXT: scf.yield %[[ACC]]
  %0 = lm.scatter_add %u, %i {axis = 0} : (tensor<8x3x4xf32>, tensor<8x3xi32>) -> tensor<6x4xf32>
  return %0 : tensor<6x4xf32>
}

// Batched (per-replica) forms: the gather reads each replica's indices;
// scatter_add splits its flat index position into (replica, index); mse
// keeps the replica dimension parallel.
// CHECK-LABEL: func @batched_gather
func.func @batched_gather(%t: tensor<2x6x4xf32>, %i: tensor<2x8xi32>) -> tensor<2x8x4xf32> {
  // CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "parallel"]} ins(%{{.*}} : tensor<2x8xi32>)
  // CHECK: %[[R:.*]] = linalg.index 0 : index
  // CHECK: tensor.extract %{{.*}}[%[[R]], %{{.*}}, %{{.*}}] : tensor<2x6x4xf32>
  %0 = lm.gather %t, %i {axis = 1, batch_dims = 1} : (tensor<2x6x4xf32>, tensor<2x8xi32>) -> tensor<2x8x4xf32>
  return %0 : tensor<2x8x4xf32>
}
// CHECK-LABEL: func @batched_scatter
func.func @batched_scatter(%u: tensor<2x8x4xf32>, %i: tensor<2x8xi32>) -> tensor<2x6x4xf32> {
  // CHECK: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step
  // CHECK: %[[R:.*]] = arith.divui %[[J]], %{{.*}} : index
  // CHECK: %[[I:.*]] = arith.remui %[[J]], %{{.*}} : index
  // CHECK: tensor.extract_slice %{{.*}}[%[[R]], 0, %[[I]], 0] [1, 1, 1, 4]
  %0 = lm.scatter_add %u, %i {axis = 1, batch_dims = 1} : (tensor<2x8x4xf32>, tensor<2x8xi32>) -> tensor<2x6x4xf32>
  return %0 : tensor<2x6x4xf32>
}
// CHECK-LABEL: func @batched_mse
func.func @batched_mse(%p: tensor<2x8xf32>, %y: tensor<2x8xf32>) -> tensor<2xf32> {
  // CHECK: iterator_types = ["parallel", "reduction"]
  // CHECK: arith.constant 1.250000e-01 : f32
  %0 = lm.mse %p, %y {batch_dims = 1} : tensor<2x8xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
