"""Benchmark kernels, written in the text format by us.  Each takes its inputs from linear
memory that the benchmark fills first, so aot and wasmtime run identical work."""

# f32 dot product over n floats (n a multiple of 4) with 128-bit SIMD, plus a saturating
# byte-add pass: the vector kernel of issue 3.
SIMD = """(module
  (memory (export "mem") 32)
  (func (export "dot") (param $a i32) (param $b i32) (param $n i32) (result f32)
    (local $acc v128) (local $end i32)
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
      (local.set $acc (f32x4.add (local.get $acc)
        (f32x4.mul (v128.load (local.get $a)) (v128.load (local.get $b)))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (br $next)))
    (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
             (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
  (func (export "brighten") (param $p i32) (param $n i32) (param $by i32)
    (local $k v128) (local $end i32)
    (local.set $k (i8x16.splat (local.get $by)))
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (v128.store (local.get $p) (i8x16.add_sat_u (v128.load (local.get $p)) (local.get $k)))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $next)))))
"""

# Memory-heavy scalar kernels: a 3-point stencil over i32s (three loads and a store per
# element, independent iterations) and a 64x64 f64 matrix multiply (two loads per
# multiply-add).  Dominated by memory accesses, so they show the cost of bounds checks.
MEMORY = """(module
  (memory (export "mem") 64)
  (func (export "stencil") (param $src i32) (param $dst i32) (param $n i32)
    (local $i i32)
    (local.set $i (i32.const 1))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (i32.sub (local.get $n) (i32.const 1))))
      (i32.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2)))
        (i32.add (i32.add
          (i32.load offset=0 (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2))))
          (i32.load offset=4 (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2)))))
          (i32.load offset=8 (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))
  (func (export "matmul") (param $a i32) (param $b i32) (param $c i32) (param $n i32)
    (local $i i32) (local $j i32) (local $k i32) (local $acc f64)
    (block $i_done (loop $i_next
      (br_if $i_done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $j (i32.const 0))
      (block $j_done (loop $j_next
        (br_if $j_done (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $acc (f64.const 0))
        (local.set $k (i32.const 0))
        (block $k_done (loop $k_next
          (br_if $k_done (i32.ge_u (local.get $k) (local.get $n)))
          (local.set $acc (f64.add (local.get $acc) (f64.mul
            (f64.load (i32.add (local.get $a) (i32.shl
              (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $k)) (i32.const 3))))
            (f64.load (i32.add (local.get $b) (i32.shl
              (i32.add (i32.mul (local.get $k) (local.get $n)) (local.get $j)) (i32.const 3)))))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br $k_next)))
        (f64.store (i32.add (local.get $c) (i32.shl
          (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 3))) (local.get $acc))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $j_next)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $i_next)))))
"""

# Compute-bound, loop- and call-heavy kernel (no memory): interrupt checks sit at every
# loop header and function entry, fuel is counted per operator.
COMPUTE = """(module
  (func $collatz (param $n i64) (result i32) (local $steps i32)
    (block $done (loop $next
      (br_if $done (i64.le_u (local.get $n) (i64.const 1)))
      (local.set $n (if (result i64) (i64.eqz (i64.and (local.get $n) (i64.const 1)))
        (then (i64.shr_u (local.get $n) (i64.const 1)))
        (else (i64.add (i64.mul (local.get $n) (i64.const 3)) (i64.const 1)))))
      (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
      (br $next)))
    (local.get $steps))
  (func $fib (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2)) (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "collatz_sum") (param $upto i32) (result i32) (local $i i32) (local $sum i32)
    (local.set $i (i32.const 1))
    (block $done (loop $next
      (br_if $done (i32.gt_u (local.get $i) (local.get $upto)))
      (local.set $sum (i32.add (local.get $sum) (call $collatz (i64.extend_i32_u (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $sum))
  (export "fib" (func $fib)))
"""
