// RUN: lm-opt %s --lm-matmul-to-call | FileCheck %s
// After bufferization a batch_matmul becomes a call of the GEMM kernel with
// each buffer's aligned address, offset and strides, then batch, M, N, K and
// whether to accumulate into C.

// CHECK: func.func private @lm_batch_matmul_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
// CHECK-LABEL: func @mm
func.func @mm(%a: memref<2x8x4xf32>, %b: memref<2x4x3xf32>, %c: memref<2x8x3xf32>) {
  // CHECK: %[[PA:.*]] = memref.extract_aligned_pointer_as_index %arg0
  // CHECK: %[[PB:.*]] = memref.extract_aligned_pointer_as_index %arg1
  // CHECK: %[[PC:.*]] = memref.extract_aligned_pointer_as_index %arg2
  // CHECK: call @lm_batch_matmul_f32(%[[PA]], %{{.*}}, %[[PB]], {{.*}}, %[[PC]], {{.*}}, %c1{{.*}}) : (index, {{.*}}) -> ()
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
  // CHECK-SAME: %c2, %c8, %c3, %c4, %c1{{.*}})
  linalg.batch_matmul_transpose_a ins(%a, %b : memref<2x4x8xf32>, memref<2x4x3xf32>) outs(%c : memref<2x8x3xf32>)
  return
}

// A freshly zero-filled C: the fill is dropped and the kernel overwrites C
// (accumulate = 0).
// CHECK-LABEL: func @mm_zero
func.func @mm_zero(%a: memref<2x8x4xf32>, %b: memref<2x4x3xf32>) -> memref<2x8x3xf32> {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<2x8x3xf32>
  // CHECK-NOT: linalg.fill
  // CHECK: %[[ZERO:.*]] = arith.constant 0 : index
  // CHECK: call @lm_batch_matmul_f32({{.*}}, %[[ZERO]])
  linalg.fill ins(%zero : f32) outs(%c : memref<2x8x3xf32>)
  linalg.batch_matmul ins(%a, %b : memref<2x8x4xf32>, memref<2x4x3xf32>) outs(%c : memref<2x8x3xf32>)
  return %c : memref<2x8x3xf32>
}

// A fill of another value, or a C read between fill and product, keeps both.
// CHECK-LABEL: func @mm_read_between
func.func @mm_read_between(%a: memref<2x8x4xf32>, %b: memref<2x4x3xf32>, %d: memref<2x8x3xf32>) -> memref<2x8x3xf32> {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<2x8x3xf32>
  // CHECK: linalg.fill
  // CHECK: memref.copy
  // CHECK: call @lm_batch_matmul_f32({{.*}}, %c1{{.*}})
  linalg.fill ins(%zero : f32) outs(%c : memref<2x8x3xf32>)
  memref.copy %c, %d : memref<2x8x3xf32> to memref<2x8x3xf32>
  linalg.batch_matmul ins(%a, %b : memref<2x8x4xf32>, memref<2x4x3xf32>) outs(%c : memref<2x8x3xf32>)
  return %c : memref<2x8x3xf32>
}
