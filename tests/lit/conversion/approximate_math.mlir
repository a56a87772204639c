// RUN: lm-opt %s --pass-pipeline="builtin.module(func.func(lm-approximate-math))" | FileCheck %s
// f32 transcendental functions become polynomial arithmetic (vectorizable);
// f64 ones stay libm calls.

// CHECK-LABEL: func @f32_exp
// CHECK-NOT: math.exp
// CHECK: arith.mulf
func.func @f32_exp(%x: f32) -> f32 {
  %0 = math.exp %x : f32
  return %0 : f32
}

// CHECK-LABEL: func @f64_exp
// CHECK: math.exp %{{.*}} : f64
func.func @f64_exp(%x: f64) -> f64 {
  %0 = math.exp %x : f64
  return %0 : f64
}
