// RUN: lm-opt %s --lm-vectorize-matmuls=vector-bits=256 --canonicalize | FileCheck %s
// A weight gradient over a large batch, C = A^T B with A [1, K, M], M > N:
// the kernel streams its first operand once per N tile, so the larger one
// goes second — C^T = B^T A into a temporary [1, N, M], then transposed into
// C in 16 x 16 register blocks. The zero fill moves to the temporary.

// CHECK-LABEL: func @weight_grad
// CHECK: %[[C:.*]] = memref.alloc() : memref<1x512x128xf32>
// CHECK-NOT: linalg.fill{{.*}}%[[C]]
// CHECK: %[[T:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x128x512xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[T]] : memref<1x128x512xf32>)
// The swapped product's N = 512 in 4 blocks of 128 columns.
// CHECK: scf.forall (%{{.*}}) in (4) {
// CHECK: vector<6x16xf32>
// CHECK: vector.fma
// CHECK: vector.shuffle
// CHECK: memref.dealloc %[[T]]
// CHECK-NOT: linalg.batch_matmul
func.func @weight_grad(%A: memref<1x600x512xf32>, %B: memref<1x600x128xf32>) -> memref<1x512x128xf32> {
  %zero = arith.constant 0.0 : f32
  %C = memref.alloc() : memref<1x512x128xf32>
  linalg.fill ins(%zero : f32) outs(%C : memref<1x512x128xf32>)
  linalg.batch_matmul_transpose_a ins(%A, %B : memref<1x600x512xf32>, memref<1x600x128xf32>) outs(%C : memref<1x512x128xf32>)
  return %C : memref<1x512x128xf32>
}

// M < N, or a small batch (K <= 512): left as it is.
// CHECK-LABEL: func @kept
// CHECK-NOT: memref<1x128x512xf32>
// CHECK: scf.forall (%{{.*}}) in (4) {
// CHECK: scf.for %{{.*}} = %c0 to %c510 step %c6 {
func.func @kept(%A: memref<1x256x512xf32>, %B: memref<1x256x128xf32>) -> memref<1x512x128xf32> {
  %zero = arith.constant 0.0 : f32
  %C = memref.alloc() : memref<1x512x128xf32>
  linalg.fill ins(%zero : f32) outs(%C : memref<1x512x128xf32>)
  linalg.batch_matmul_transpose_a ins(%A, %B : memref<1x256x512xf32>, memref<1x256x128xf32>) outs(%C : memref<1x512x128xf32>)
  return %C : memref<1x512x128xf32>
}
