// RUN: lm-opt %s --lm-vectorize-matmuls --canonicalize | FileCheck %s
// lm-vectorize-matmuls: a per-shape transform schedule turns buffer batched
// matmuls into (batch, N-tile) scf.forall over M tiles and single-k steps,
// with the MR x NR accumulator tile in vector registers across the k loop.

// CHECK-LABEL: func @plain
// CHECK: scf.forall (%{{.*}}) in (4) {
// CHECK: scf.for %[[M:.*]] = %{{.*}} to %{{.*}} step %c4 {
// The accumulator is read once per tile, carried through the k loop, written once.
// CHECK: %[[ACC:.*]] = vector.transfer_read %{{.*}} : memref<1x128x256xf32>, vector<4x64xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %c64 step %c1 iter_args(%{{.*}} = %[[ACC]]) -> (vector<4x64xf32>)
// CHECK: vector.load %{{.*}} : memref<1x64x256xf32>, vector<64xf32>
// CHECK-COUNT-4: vector.fma
// CHECK: scf.yield
// CHECK: vector.transfer_write
// CHECK-NOT: linalg.batch_matmul
func.func @plain(%A: memref<1x128x64xf32, strided<[8192, 64, 1], offset: ?>>, %B: memref<1x64x256xf32>, %C: memref<1x128x256xf32>) {
  linalg.batch_matmul ins(%A, %B : memref<1x128x64xf32, strided<[8192, 64, 1], offset: ?>>, memref<1x64x256xf32>) outs(%C : memref<1x128x256xf32>)
  return
}

// x W^T: W is copied into [K, N] order first; M = 3831 takes 3-row tiles.
// CHECK-LABEL: func @transposed_b
// CHECK: %[[T:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x128x512xf32>
// CHECK: linalg.transpose ins(%{{.*}} : memref<1x512x128xf32{{.*}}>) outs(%[[T]] : memref<1x128x512xf32>) permutation = [0, 2, 1]
// CHECK: scf.forall
// CHECK: step %c3
// CHECK: vector<3x64xf32>
// CHECK: memref.dealloc %[[T]]
func.func @transposed_b(%A: memref<1x3831x128xf32>, %B: memref<1x512x128xf32, strided<[65536, 128, 1], offset: 80512>>, %C: memref<1x3831x512xf32>) {
  linalg.batch_matmul_transpose_b ins(%A, %B : memref<1x3831x128xf32>, memref<1x512x128xf32, strided<[65536, 128, 1], offset: 80512>>) outs(%C : memref<1x3831x512xf32>)
  return
}

// N = 114 is no multiple of the vector width: left for lm-matmul-to-call.
// CHECK-LABEL: func @not_a_fit
// CHECK: linalg.batch_matmul_transpose_b
// CHECK-NOT: vector.fma
func.func @not_a_fit(%A: memref<1x3831x128xf32>, %B: memref<1x114x128xf32>, %C: memref<1x3831x114xf32>) {
  linalg.batch_matmul_transpose_b ins(%A, %B : memref<1x3831x128xf32>, memref<1x114x128xf32>) outs(%C : memref<1x3831x114xf32>)
  return
}
