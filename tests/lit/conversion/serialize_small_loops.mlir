// RUN: lm-opt %s --pass-pipeline='builtin.module(func.func(lm-serialize-small-loops{min-work=1000}))' | FileCheck %s
// Only loop nests with enough work stay parallel, and only their outermost
// dimension; small loops, loops inside other loops and single-iteration
// outer dimensions become scf.for.

// CHECK-LABEL: func @big
func.func @big(%a: memref<512x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c512 = arith.constant 512 : index
  %f = arith.constant 1.0 : f32
  // CHECK: scf.parallel (%[[I:.*]]) = (%{{.*}}) to (%{{.*}}) step
  // CHECK-NEXT: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step
  // CHECK-NEXT: memref.store %{{.*}}, %arg0[%[[I]], %[[J]]]
  scf.parallel (%i, %j) = (%c0, %c0) to (%c512, %c64) step (%c1, %c1) {
    memref.store %f, %a[%i, %j] : memref<512x64xf32>
  }
  return
}

// CHECK-LABEL: func @small
func.func @small(%a: memref<8x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %f = arith.constant 1.0 : f32
  // CHECK-NOT: scf.parallel
  // CHECK: scf.for
  // CHECK: scf.for
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c4) step (%c1, %c1) {
    memref.store %f, %a[%i, %j] : memref<8x4xf32>
  }
  return
}

// CHECK-LABEL: func @inside_for
func.func @inside_for(%a: memref<512x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c512 = arith.constant 512 : index
  %f = arith.constant 1.0 : f32
  // CHECK-NOT: scf.parallel
  scf.for %i = %c0 to %c512 step %c1 {
    scf.parallel (%j) = (%c0) to (%c64) step (%c1) {
      memref.store %f, %a[%i, %j] : memref<512x64xf32>
    }
  }
  return
}

// CHECK-LABEL: func @single_outer
func.func @single_outer(%a: memref<1x4096xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4096 = arith.constant 4096 : index
  %f = arith.constant 1.0 : f32
  // CHECK-NOT: scf.parallel
  scf.parallel (%i, %j) = (%c0, %c0) to (%c1, %c4096) step (%c1, %c1) {
    memref.store %f, %a[%i, %j] : memref<1x4096xf32>
  }
  return
}
