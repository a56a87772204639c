// RUN: lm-opt %s --lm-vectorize-matmuls=vector-bits=512 --canonicalize | FileCheck %s
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

// x W^T: W is copied into [K, N] order first, in 16 x 16 blocks transposed
// in registers by shuffles; M = 3831 takes 3-row tiles.
// CHECK-LABEL: func @transposed_b
// CHECK: %[[T:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x128x512xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c128 step %c16 {
// CHECK: scf.for %{{.*}} = %c0 to %c512 step %c16 {
// CHECK: vector.transfer_read %{{.*}} : memref<1x16x16xf32, strided<[65536, 128, 1], offset: ?>>, vector<16x16xf32>
// CHECK: vector.shuffle
// CHECK-NOT: linalg.transpose
// CHECK: scf.forall
// CHECK: step %c3
// CHECK: vector<3x64xf32>
// CHECK: memref.dealloc %[[T]]
func.func @transposed_b(%A: memref<1x3831x128xf32>, %B: memref<1x512x128xf32, strided<[65536, 128, 1], offset: 80512>>, %C: memref<1x3831x512xf32>) {
  linalg.batch_matmul_transpose_b ins(%A, %B : memref<1x3831x128xf32>, memref<1x512x128xf32, strided<[65536, 128, 1], offset: 80512>>) outs(%C : memref<1x3831x512xf32>)
  return
}

// In f64 the transposed copy stays a plain linalg.transpose.
// CHECK-LABEL: func @transposed_b_f64
// CHECK: linalg.transpose ins(%{{.*}} : memref<1x64x32xf64>) outs(%{{.*}} : memref<1x32x64xf64>) permutation = [0, 2, 1]
// CHECK: scf.forall
func.func @transposed_b_f64(%A: memref<1x16x32xf64>, %B: memref<1x64x32xf64>, %C: memref<1x16x64xf64>) {
  linalg.batch_matmul_transpose_b ins(%A, %B : memref<1x16x32xf64>, memref<1x64x32xf64>) outs(%C : memref<1x16x64xf64>)
  return
}

// A freshly zero-filled accumulator: the fill goes and the accumulator
// tile starts at zero instead of being read from C.
// CHECK-LABEL: func @zero_filled
// CHECK-NOT: linalg.fill
// CHECK: scf.forall
// CHECK: scf.for %{{.*}} step %c4 {
// CHECK-NOT: vector.transfer_read %[[C:.*]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %c64 step %c1 iter_args(%{{.*}} = %cst{{.*}}) -> (vector<4x64xf32>)
// CHECK: vector.transfer_write
func.func @zero_filled(%A: memref<1x128x64xf32>, %B: memref<1x64x256xf32>) -> memref<1x128x256xf32> {
  %zero = arith.constant 0.0 : f32
  %C = memref.alloc() : memref<1x128x256xf32>
  linalg.fill ins(%zero : f32) outs(%C : memref<1x128x256xf32>)
  linalg.batch_matmul ins(%A, %B : memref<1x128x64xf32>, memref<1x64x256xf32>) outs(%C : memref<1x128x256xf32>)
  return %C : memref<1x128x256xf32>
}

// K in blocks (K > 512): every block after the first adds to C, so the
// fill stays.
// CHECK-LABEL: func @zero_filled_k_blocks
// CHECK: linalg.fill
// CHECK: scf.for %{{.*}} = %c0 to %c1024 step %c256 {
func.func @zero_filled_k_blocks(%A: memref<1x1024x32xf32>, %B: memref<1x1024x64xf32>) -> memref<1x32x64xf32> {
  %zero = arith.constant 0.0 : f32
  %C = memref.alloc() : memref<1x32x64xf32>
  linalg.fill ins(%zero : f32) outs(%C : memref<1x32x64xf32>)
  linalg.batch_matmul_transpose_a ins(%A, %B : memref<1x1024x32xf32>, memref<1x1024x64xf32>) outs(%C : memref<1x32x64xf32>)
  return %C : memref<1x32x64xf32>
}

// Something else writes C between the fill and the product: the fill stays.
// CHECK-LABEL: func @fill_then_write
// CHECK: linalg.fill
// CHECK: memref.store
// CHECK: scf.forall
func.func @fill_then_write(%A: memref<1x128x64xf32>, %B: memref<1x64x256xf32>) -> memref<1x128x256xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %c0 = arith.constant 0 : index
  %C = memref.alloc() : memref<1x128x256xf32>
  linalg.fill ins(%zero : f32) outs(%C : memref<1x128x256xf32>)
  memref.store %one, %C[%c0, %c0, %c0] : memref<1x128x256xf32>
  linalg.batch_matmul ins(%A, %B : memref<1x128x64xf32>, memref<1x64x256xf32>) outs(%C : memref<1x128x256xf32>)
  return %C : memref<1x128x256xf32>
}

// N = 114 is no multiple of the vector width: left for lm-matmul-to-call.
// CHECK-LABEL: func @not_a_fit
// CHECK: linalg.batch_matmul_transpose_b
// CHECK-NOT: vector.fma
func.func @not_a_fit(%A: memref<1x3831x128xf32>, %B: memref<1x114x128xf32>, %C: memref<1x3831x114xf32>) {
  linalg.batch_matmul_transpose_b ins(%A, %B : memref<1x3831x128xf32>, memref<1x114x128xf32>) outs(%C : memref<1x3831x114xf32>)
  return
}
