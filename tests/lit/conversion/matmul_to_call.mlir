// RUN: lm-opt %s --lm-matmul-to-call | FileCheck %s
// After bufferization a batch_matmul becomes a call of the GEMM kernel with
// each buffer's aligned address, offset and strides, then batch, M, N, K.

// CHECK: func.func private @lm_batch_matmul_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
// CHECK-LABEL: func @mm
func.func @mm(%a: memref<2x8x4xf32>, %b: memref<2x4x3xf32>, %c: memref<2x8x3xf32>) {
  // CHECK: %[[PA:.*]] = memref.extract_aligned_pointer_as_index %arg0
  // CHECK: %[[PB:.*]] = memref.extract_aligned_pointer_as_index %arg1
  // CHECK: %[[PC:.*]] = memref.extract_aligned_pointer_as_index %arg2
  // CHECK: call @lm_batch_matmul_f32(%[[PA]], %{{.*}}, %[[PB]], {{.*}}, %[[PC]], {{.*}}) : (index, {{.*}}) -> ()
  // CHECK-NOT: linalg.batch_matmul
  linalg.batch_matmul ins(%a, %b : memref<2x8x4xf32>, memref<2x4x3xf32>) outs(%c : memref<2x8x3xf32>)
  return
}

// A transposed operand ([batch, K, M] for A, [batch, N, K] for B) is passed
// with its two inner strides swapped; M, N, K come from the result and A.
// CHECK-LABEL: func @mm_ta
func.func @mm_ta(%a: memref<2x4x8xf32>, %b: memref<2x4x3xf32>, %c: memref<2x8x3xf32>) {
  // CHECK: %[[BASE:.*]], %{{.*}}, %{{.*}}:3, %[[S:.*]]:3 = memref.extract_strided_metadata %arg0
  // CHECK: %[[PA:.*]] = memref.extract_aligned_pointer_as_index %arg0
  // CHECK: call @lm_batch_matmul_f32(%[[PA]], %{{.*}}, %[[S]]#0, %[[S]]#2, %[[S]]#1,
  // CHECK-SAME: %c2, %c8, %c3, %c4)
  linalg.batch_matmul_transpose_a ins(%a, %b : memref<2x4x8xf32>, memref<2x4x3xf32>) outs(%c : memref<2x8x3xf32>)
  return
}
