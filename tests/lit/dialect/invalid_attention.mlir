// RUN: lm-opt %s -split-input-file -verify-diagnostics

func.func @softmax_axis(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = lm.softmax %a {axis = 2 : i64} : tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @one_hot_shape(%t: tensor<2x3xi32>) -> tensor<2x4x5xf32> {
  // expected-error @+1 {{result must be the indices' shape plus one (depth) dimension}}
  %0 = lm.one_hot %t : tensor<2x3xi32> -> tensor<2x4x5xf32>
  return %0 : tensor<2x4x5xf32>
}

// -----

func.func @slice_past_end(%a: tensor<4x4xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{dimension 0 of the slice runs past the end}}
  %0 = lm.slice %a [3, 0] [1, 1] : tensor<4x4xf32> -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @slice_stride(%a: tensor<4x4xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{offsets must be >= 0 and strides >= 1}}
  %0 = lm.slice %a [0, 0] [0, 1] : tensor<4x4xf32> -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @accuracy_shapes(%l: tensor<4x3xf32>, %y: tensor<5xi32>) -> tensor<f32> {
  // expected-error @+1 {{expects logits [B..., N, C] and labels [B..., N]}}
  %0 = lm.accuracy %l, %y : tensor<4x3xf32>, tensor<5xi32> -> tensor<f32>
  return %0 : tensor<f32>
}
