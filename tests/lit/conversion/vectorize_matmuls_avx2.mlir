// RUN: lm-opt %s --lm-vectorize-matmuls=vector-bits=256 --canonicalize | FileCheck %s
// With 256-bit vectors (16 registers: AVX2) the accumulator tile is 6 x 16
// floats, 12 registers, instead of AVX-512's 4 x 64 (which would spill).
// M need not be a multiple of 6: the M loop is peeled, 638 full tiles and
// a last one of 3 rows, both vectorized with the accumulator in registers.
// N in 4 blocks of 32 columns (the forall), each block's two 16-wide tiles
// inside the M tile loop, so the tile's 6 rows of A stay in L1 for both.

// CHECK-LABEL: func @peeled
// CHECK: scf.forall (%{{.*}}) in (4) {
// CHECK: scf.for %[[I:.*]] = %c0 to %c3828 step %c6 {
// CHECK: scf.for %{{.*}} = %c0 to %c32 step %c16 {
// CHECK: %[[ACC:.*]] = vector.transfer_read %{{.*}} : memref<1x3831x128xf32>, vector<6x16xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c128 step %c1 iter_args(%{{.*}} = %[[ACC]]) -> (vector<6x16xf32>) {
// CHECK: vector.load %{{.*}} : memref<1x128x128xf32>, vector<16xf32>
// CHECK-COUNT-6: vector.fma
// CHECK: vector.transfer_write %{{.*}} : vector<6x16xf32>, memref<1x3831x128xf32>
// The last tile, rows 3828..3830.
// CHECK: vector.transfer_read %{{.*}}[%c0, %c3828, %{{.*}}], %{{.*}} : memref<1x3831x128xf32>, vector<3x16xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c128 step %c1 iter_args(%{{.*}}) -> (vector<3x16xf32>) {
// CHECK-COUNT-3: vector.fma
// CHECK: vector.transfer_write %{{.*}} : vector<3x16xf32>, memref<1x3831x128xf32>
// CHECK-NOT: linalg.batch_matmul
func.func @peeled(%A: memref<1x3831x128xf32>, %B: memref<1x128x128xf32>, %C: memref<1x3831x128xf32>) {
  linalg.batch_matmul ins(%A, %B : memref<1x3831x128xf32>, memref<1x128x128xf32>) outs(%C : memref<1x3831x128xf32>)
  return
}

// M a multiple of 6: no peeling.
// CHECK-LABEL: func @divisible
// CHECK: scf.for %{{.*}} = %c0 to %c24 step %c6 {
// CHECK-NOT: vector<
// CHECK: vector.transfer_read %{{.*}} : memref<1x24x32xf32>, vector<6x16xf32>
// CHECK-NOT: scf.for %{{.*}} = %c0 to %c24 step %c6
// CHECK: return
func.func @divisible(%A: memref<1x24x8xf32>, %B: memref<1x8x32xf32>, %C: memref<1x24x32xf32>) {
  linalg.batch_matmul ins(%A, %B : memref<1x24x8xf32>, memref<1x8x32xf32>) outs(%C : memref<1x24x32xf32>)
  return
}

// N a multiple of 8 only: 8 x 8 tiles; fewer rows than a tile: one tile of M rows.
// CHECK-LABEL: func @narrow
// CHECK: vector<4x8xf32>
func.func @narrow(%A: memref<1x4x8xf32>, %B: memref<1x8x24xf32>, %C: memref<1x4x24xf32>) {
  linalg.batch_matmul ins(%A, %B : memref<1x4x8xf32>, memref<1x8x24xf32>) outs(%C : memref<1x4x24xf32>)
  return
}
