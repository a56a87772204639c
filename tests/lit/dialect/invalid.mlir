// RUN: lm-opt %s -split-input-file -verify-diagnostics
// Verifiers reject malformed lm ops with a specific message.

func.func @einsum_rank(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{input #1 has rank 2 but the spec gives it 3 letters ('jkl')}}
  %0 = lm.einsum "ij,jkl->ik" %a, %b : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @einsum_extent(%a: tensor<2x3xf32>, %b: tensor<5x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{letter 'j' has extent 3 and 5}}
  %0 = lm.einsum "ij,jk->ik" %a, %b : (tensor<2x3xf32>, tensor<5x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @einsum_result(%a: tensor<2x3xf32>) -> tensor<2x7xf32> {
  // expected-error @+1 {{result letter 'q' appears in no input}}
  %0 = lm.einsum "ij->iq" %a : (tensor<2x3xf32>) -> tensor<2x7xf32>
  return %0 : tensor<2x7xf32>
}

// -----

func.func @einsum_arrow(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{spec 'ij' has no '->'}}
  %0 = lm.einsum "ij" %a : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @transpose_perm(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{perm is not a permutation}}
  %0 = lm.transpose %a [1, 1] : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @transpose_shape(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{result dimension 0 should be 3}}
  %0 = lm.transpose %a [1, 0] : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @broadcast_extent(%a: tensor<3xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{input dimension 0 (3) differs from result dimension 1 (4)}}
  %0 = lm.broadcast %a [1] : tensor<3xf32> -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

func.func @reduce_axis(%a: tensor<3x4xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = lm.reduce_sum %a [2] : tensor<3x4xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @reduce_shape(%a: tensor<3x4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{result shape does not match the input without the reduced axes}}
  %0 = lm.reduce_sum %a [1] : tensor<3x4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @reshape_size(%a: tensor<3x4xf32>) -> tensor<5xf32> {
  // expected-error @+1 {{changes the number of elements}}
  %0 = lm.reshape %a : tensor<3x4xf32> -> tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

// expected-note @+1 {{prior use here}}
func.func @add_types(%a: tensor<3xf32>, %b: tensor<4xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{use of value '%b' expects different type than prior uses}}
  %0 = lm.add %a, %b : tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func private @two(%a: tensor<3xf32>) -> (tensor<f32>, tensor<f32>)
func.func @vg_results(%a: tensor<3xf32>) {
  // expected-error @+1 {{'two' must return one 0-d tensor}}
  %l, %g = lm.value_and_grad @two(%a) {num_wrt = 1 : i64} : (tensor<3xf32>) -> (tensor<f32>, tensor<3xf32>)
  return
}

// -----

func.func @vg_missing(%a: tensor<3xf32>) {
  // expected-error @+1 {{'nope' does not name a function}}
  %l, %g = lm.value_and_grad @nope(%a) {num_wrt = 1 : i64} : (tensor<3xf32>) -> (tensor<f32>, tensor<3xf32>)
  return
}

// -----

func.func private @f(%a: tensor<3xf32>) -> tensor<f32>
func.func @vg_grad_type(%a: tensor<3xf32>) {
  // expected-error @+1 {{gradient #0 must have its operand's type}}
  %l, %g = lm.value_and_grad @f(%a) {num_wrt = 1 : i64} : (tensor<3xf32>) -> (tensor<f32>, tensor<4xf32>)
  return
}
