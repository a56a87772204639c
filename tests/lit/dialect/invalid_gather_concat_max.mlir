// RUN: lm-opt %s -split-input-file -verify-diagnostics
// Verifiers of gather, concat and reduce_max.

func.func @gather_shape(%t: tensor<6x4xf32>, %i: tensor<8xi32>) -> tensor<8x5xf32> {
  // expected-error @+1 {{result shape must be the input's with the axis replaced by the indices' shape}}
  %0 = lm.gather %t, %i {axis = 0} : (tensor<6x4xf32>, tensor<8xi32>) -> tensor<8x5xf32>
  return %0 : tensor<8x5xf32>
}

// -----

func.func @gather_axis(%t: tensor<6x4xf32>, %i: tensor<8xi32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = lm.gather %t, %i {axis = 2} : (tensor<6x4xf32>, tensor<8xi32>) -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

func.func @concat_extent(%a: tensor<8x3xf32>, %b: tensor<8x2xf32>) -> tensor<8x6xf32> {
  // expected-error @+1 {{the inputs' extents along the axis sum to 5, not 6}}
  %0 = lm.concat %a, %b {axis = 1} : (tensor<8x3xf32>, tensor<8x2xf32>) -> tensor<8x6xf32>
  return %0 : tensor<8x6xf32>
}

// -----

func.func @concat_other_dim(%a: tensor<8x3xf32>, %b: tensor<7x2xf32>) -> tensor<8x5xf32> {
  // expected-error @+1 {{input dimension 0 is 7, the result's is 8}}
  %0 = lm.concat %a, %b {axis = 1} : (tensor<8x3xf32>, tensor<7x2xf32>) -> tensor<8x5xf32>
  return %0 : tensor<8x5xf32>
}

// -----

func.func @max_shape(%a: tensor<8x3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{result shape does not match the input without the reduced axes}}
  %0 = lm.reduce_max %a [1] : tensor<8x3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @scatter_shape(%u: tensor<8x5xf32>, %i: tensor<8xi32>) -> tensor<6x4xf32> {
  // expected-error @+1 {{updates must have the result's shape with the axis replaced by the indices' shape}}
  %0 = lm.scatter_add %u, %i {axis = 0} : (tensor<8x5xf32>, tensor<8xi32>) -> tensor<6x4xf32>
  return %0 : tensor<6x4xf32>
}

// -----

func.func @gather_batch_dims(%t: tensor<2x6x4xf32>, %i: tensor<3x8xi32>) -> tensor<2x8x4xf32> {
  // expected-error @+1 {{the first 1 (batch) dimensions of the table and the indices must agree}}
  %0 = lm.gather %t, %i {axis = 1, batch_dims = 1} : (tensor<2x6x4xf32>, tensor<3x8xi32>) -> tensor<2x8x4xf32>
  return %0 : tensor<2x8x4xf32>
}

// -----

func.func @gather_batch_past_axis(%t: tensor<2x6x4xf32>, %i: tensor<2x8xi32>) -> tensor<8x6x4xf32> {
  // expected-error @+1 {{batch_dims 1 must be in 0..min(axis, rank of the indices)}}
  %0 = lm.gather %t, %i {axis = 0, batch_dims = 1} : (tensor<2x6x4xf32>, tensor<2x8xi32>) -> tensor<8x6x4xf32>
  return %0 : tensor<8x6x4xf32>
}

// -----

func.func @mse_batch(%p: tensor<2x8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{result must have the prediction's first 1 dimensions}}
  %0 = lm.mse %p, %p {batch_dims = 1} : tensor<2x8xf32> -> tensor<8xf32>
  return %0 : tensor<8xf32>
}
