;; silu-fma: core/kernels/register.ts FLOW_MODULES['silu-fma'], 2613 bytes, disassembled by core/kernels/wasm-text.ts.
;; Generated: do not edit. Regenerate with FLOW_STUDIO_UPDATE_GOLDENS=1 npx vitest run test/core/kernels/golden.test.ts
(module
  (import "env" "memory" (memory 1))
  (func $silu (export "silu") (param $0 i32) (param $1 i32) (param $2 i32)
    (local $3 i32)
    (local $4 i32)
    (local $5 v128)
    (local $6 v128)
    (local $7 v128)
    (local $8 v128)
    (local $9 v128)
    (local $10 v128)
    (local $11 v128)
    (local $12 v128)
    (local $13 v128)
    (local $14 v128)
    (local $15 v128)
    (local $16 v128)
    (local $17 v128)
    (local $18 v128)
    (local $19 v128)
    (local $20 v128)
    (local $21 v128)
    (local $22 v128)
    (local $23 v128)
    (local $24 v128)
    (local $25 v128)
    (local $26 v128)
    (local $27 v128)
    (local $28 v128)
    (local $29 v128)
    (local $30 v128)
    (local $31 v128)
    (local $32 v128)
    (local $33 v128)
    (local $34 v128)
    v128.const f32x4 89 89 89 89
    local.set 5
    v128.const f32x4 -87.3 -87.3 -87.3 -87.3
    local.set 6
    v128.const f32x4 1.442695 1.442695 1.442695 1.442695
    local.set 7
    v128.const f32x4 12582912 12582912 12582912 12582912
    local.set 8
    v128.const f32x4 0.6933594 0.6933594 0.6933594 0.6933594
    local.set 9
    v128.const f32x4 -0.00021219444 -0.00021219444 -0.00021219444 -0.00021219444
    local.set 10
    v128.const f32x4 0.00019875691 0.00019875691 0.00019875691 0.00019875691
    local.set 11
    v128.const f32x4 0.0013981999 0.0013981999 0.0013981999 0.0013981999
    local.set 12
    v128.const f32x4 0.008333452 0.008333452 0.008333452 0.008333452
    local.set 13
    v128.const f32x4 0.041665796 0.041665796 0.041665796 0.041665796
    local.set 14
    v128.const f32x4 0.16666666 0.16666666 0.16666666 0.16666666
    local.set 15
    v128.const f32x4 0.5 0.5 0.5 0.5
    local.set 16
    v128.const f32x4 1 1 1 1
    local.set 17
    i32.const -1262485377
    i32x4.splat
    local.set 18
    local.get 2
    i32.const -8
    i32.and
    local.set 4
    i32.const 0
    local.set 3
    local.get 4
    i32.const 0
    i32.gt_s
    if
      loop
        local.get 0
        local.get 3
        i32.const 4
        i32.mul
        i32.add
        v128.load align=1
        local.set 19
        local.get 19
        f32x4.neg
        local.set 20
        local.get 20
        local.get 5
        f32x4.pmin
        local.get 6
        f32x4.pmax
        local.set 20
        local.get 20
        local.get 7
        f32x4.mul
        local.get 8
        f32x4.add
        local.set 21
        local.get 20
        local.get 21
        local.get 8
        f32x4.sub
        local.tee 23
        local.get 9
        f32x4.mul
        f32x4.sub
        local.get 23
        local.get 10
        f32x4.mul
        f32x4.sub
        local.set 22
        local.get 11
        local.get 22
        local.get 12
        f32x4.relaxed_madd
        local.get 22
        local.get 13
        f32x4.relaxed_madd
        local.get 22
        local.get 14
        f32x4.relaxed_madd
        local.get 22
        local.get 15
        f32x4.relaxed_madd
        local.get 22
        local.get 16
        f32x4.relaxed_madd
        local.get 22
        local.get 22
        f32x4.mul
        f32x4.mul
        local.get 22
        f32x4.add
        local.get 17
        f32x4.add
        local.set 23
        local.get 23
        local.get 21
        local.get 18
        i32x4.add
        i32.const 23
        i32x4.shl
        f32x4.mul
        local.get 17
        f32x4.add
        local.set 20
        local.get 17
        local.get 20
        f32x4.div
        local.set 24
        local.get 19
        local.get 24
        f32x4.mul
        local.set 26
        local.get 1
        local.get 3
        i32.const 4
        i32.mul
        i32.add
        local.get 26
        v128.store align=1
        local.get 0
        local.get 3
        i32.const 4
        i32.mul
        i32.add
        v128.load offset=16 align=1
        local.set 27
        local.get 27
        f32x4.neg
        local.set 28
        local.get 28
        local.get 5
        f32x4.pmin
        local.get 6
        f32x4.pmax
        local.set 28
        local.get 28
        local.get 7
        f32x4.mul
        local.get 8
        f32x4.add
        local.set 29
        local.get 28
        local.get 29
        local.get 8
        f32x4.sub
        local.tee 31
        local.get 9
        f32x4.mul
        f32x4.sub
        local.get 31
        local.get 10
        f32x4.mul
        f32x4.sub
        local.set 30
        local.get 11
        local.get 30
        local.get 12
        f32x4.relaxed_madd
        local.get 30
        local.get 13
        f32x4.relaxed_madd
        local.get 30
        local.get 14
        f32x4.relaxed_madd
        local.get 30
        local.get 15
        f32x4.relaxed_madd
        local.get 30
        local.get 16
        f32x4.relaxed_madd
        local.get 30
        local.get 30
        f32x4.mul
        f32x4.mul
        local.get 30
        f32x4.add
        local.get 17
        f32x4.add
        local.set 31
        local.get 31
        local.get 29
        local.get 18
        i32x4.add
        i32.const 23
        i32x4.shl
        f32x4.mul
        local.get 17
        f32x4.add
        local.set 28
        local.get 17
        local.get 28
        f32x4.div
        local.set 32
        local.get 27
        local.get 32
        f32x4.mul
        local.set 34
        local.get 1
        local.get 3
        i32.const 4
        i32.mul
        i32.add
        local.get 34
        v128.store offset=16 align=1
        local.get 3
        i32.const 8
        i32.add
        local.set 3
        local.get 3
        local.get 4
        i32.lt_s
        br_if 0
      end
    end
    local.get 4
    local.set 3
    local.get 2
    local.get 3
    i32.sub
    i32.const 4
    i32.ge_s
    if
      local.get 0
      local.get 3
      i32.const 4
      i32.mul
      i32.add
      v128.load align=1
      local.set 19
      local.get 19
      f32x4.neg
      local.set 20
      local.get 20
      local.get 5
      f32x4.pmin
      local.get 6
      f32x4.pmax
      local.set 20
      local.get 20
      local.get 7
      f32x4.mul
      local.get 8
      f32x4.add
      local.set 21
      local.get 20
      local.get 21
      local.get 8
      f32x4.sub
      local.tee 23
      local.get 9
      f32x4.mul
      f32x4.sub
      local.get 23
      local.get 10
      f32x4.mul
      f32x4.sub
      local.set 22
      local.get 11
      local.get 22
      local.get 12
      f32x4.relaxed_madd
      local.get 22
      local.get 13
      f32x4.relaxed_madd
      local.get 22
      local.get 14
      f32x4.relaxed_madd
      local.get 22
      local.get 15
      f32x4.relaxed_madd
      local.get 22
      local.get 16
      f32x4.relaxed_madd
      local.get 22
      local.get 22
      f32x4.mul
      f32x4.mul
      local.get 22
      f32x4.add
      local.get 17
      f32x4.add
      local.set 23
      local.get 23
      local.get 21
      local.get 18
      i32x4.add
      i32.const 23
      i32x4.shl
      f32x4.mul
      local.get 17
      f32x4.add
      local.set 20
      local.get 17
      local.get 20
      f32x4.div
      local.set 24
      local.get 19
      local.get 24
      f32x4.mul
      local.set 26
      local.get 1
      local.get 3
      i32.const 4
      i32.mul
      i32.add
      local.get 26
      v128.store align=1
      local.get 3
      i32.const 4
      i32.add
      local.set 3
    end
    local.get 3
    local.get 2
    i32.lt_s
    if
      loop
        local.get 0
        local.get 3
        i32.const 4
        i32.mul
        i32.add
        v128.load32_splat align=1
        local.set 19
        local.get 19
        f32x4.neg
        local.set 20
        local.get 20
        local.get 5
        f32x4.pmin
        local.get 6
        f32x4.pmax
        local.set 20
        local.get 20
        local.get 7
        f32x4.mul
        local.get 8
        f32x4.add
        local.set 21
        local.get 20
        local.get 21
        local.get 8
        f32x4.sub
        local.tee 23
        local.get 9
        f32x4.mul
        f32x4.sub
        local.get 23
        local.get 10
        f32x4.mul
        f32x4.sub
        local.set 22
        local.get 11
        local.get 22
        local.get 12
        f32x4.relaxed_madd
        local.get 22
        local.get 13
        f32x4.relaxed_madd
        local.get 22
        local.get 14
        f32x4.relaxed_madd
        local.get 22
        local.get 15
        f32x4.relaxed_madd
        local.get 22
        local.get 16
        f32x4.relaxed_madd
        local.get 22
        local.get 22
        f32x4.mul
        f32x4.mul
        local.get 22
        f32x4.add
        local.get 17
        f32x4.add
        local.set 23
        local.get 23
        local.get 21
        local.get 18
        i32x4.add
        i32.const 23
        i32x4.shl
        f32x4.mul
        local.get 17
        f32x4.add
        local.set 20
        local.get 17
        local.get 20
        f32x4.div
        local.set 24
        local.get 19
        local.get 24
        f32x4.mul
        local.set 26
        local.get 1
        local.get 3
        i32.const 4
        i32.mul
        i32.add
        local.get 26
        f32x4.extract_lane 0
        f32.store align=1
        local.get 3
        i32.const 1
        i32.add
        local.set 3
        local.get 3
        local.get 2
        i32.lt_s
        br_if 0
      end
    end
  )
  (func $siluGrad (export "siluGrad") (param $0 i32) (param $1 i32) (param $2 i32) (param $3 i32)
    (local $4 i32)
    (local $5 i32)
    (local $6 v128)
    (local $7 v128)
    (local $8 v128)
    (local $9 v128)
    (local $10 v128)
    (local $11 v128)
    (local $12 v128)
    (local $13 v128)
    (local $14 v128)
    (local $15 v128)
    (local $16 v128)
    (local $17 v128)
    (local $18 v128)
    (local $19 v128)
    (local $20 v128)
    (local $21 v128)
    (local $22 v128)
    (local $23 v128)
    (local $24 v128)
    (local $25 v128)
    (local $26 v128)
    (local $27 v128)
    (local $28 v128)
    (local $29 v128)
    (local $30 v128)
    (local $31 v128)
    (local $32 v128)
    (local $33 v128)
    (local $34 v128)
    (local $35 v128)
    v128.const f32x4 89 89 89 89
    local.set 6
    v128.const f32x4 -87.3 -87.3 -87.3 -87.3
    local.set 7
    v128.const f32x4 1.442695 1.442695 1.442695 1.442695
    local.set 8
    v128.const f32x4 12582912 12582912 12582912 12582912
    local.set 9
    v128.const f32x4 0.6933594 0.6933594 0.6933594 0.6933594
    local.set 10
    v128.const f32x4 -0.00021219444 -0.00021219444 -0.00021219444 -0.00021219444
    local.set 11
    v128.const f32x4 0.00019875691 0.00019875691 0.00019875691 0.00019875691
    local.set 12
    v128.const f32x4 0.0013981999 0.0013981999 0.0013981999 0.0013981999
    local.set 13
    v128.const f32x4 0.008333452 0.008333452 0.008333452 0.008333452
    local.set 14
    v128.const f32x4 0.041665796 0.041665796 0.041665796 0.041665796
    local.set 15
    v128.const f32x4 0.16666666 0.16666666 0.16666666 0.16666666
    local.set 16
    v128.const f32x4 0.5 0.5 0.5 0.5
    local.set 17
    v128.const f32x4 1 1 1 1
    local.set 18
    i32.const -1262485377
    i32x4.splat
    local.set 19
    local.get 3
    i32.const -8
    i32.and
    local.set 5
    i32.const 0
    local.set 4
    local.get 5
    i32.const 0
    i32.gt_s
    if
      loop
        local.get 1
        local.get 4
        i32.const 4
        i32.mul
        i32.add
        v128.load align=1
        local.set 20
        local.get 0
        local.get 4
        i32.const 4
        i32.mul
        i32.add
        v128.load align=1
        local.set 26
        local.get 20
        f32x4.neg
        local.set 21
        local.get 21
        local.get 6
        f32x4.pmin
        local.get 7
        f32x4.pmax
        local.set 21
        local.get 21
        local.get 8
        f32x4.mul
        local.get 9
        f32x4.add
        local.set 22
        local.get 21
        local.get 22
        local.get 9
        f32x4.sub
        local.tee 24
        local.get 10
        f32x4.mul
        f32x4.sub
        local.get 24
        local.get 11
        f32x4.mul
        f32x4.sub
        local.set 23
        local.get 12
        local.get 23
        local.get 13
        f32x4.relaxed_madd
        local.get 23
        local.get 14
        f32x4.relaxed_madd
        local.get 23
        local.get 15
        f32x4.relaxed_madd
        local.get 23
        local.get 16
        f32x4.relaxed_madd
        local.get 23
        local.get 17
        f32x4.relaxed_madd
        local.get 23
        local.get 23
        f32x4.mul
        f32x4.mul
        local.get 23
        f32x4.add
        local.get 18
        f32x4.add
        local.set 24
        local.get 24
        local.get 22
        local.get 19
        i32x4.add
        i32.const 23
        i32x4.shl
        f32x4.mul
        local.get 18
        f32x4.add
        local.set 21
        local.get 18
        local.get 21
        f32x4.div
        local.set 25
        local.get 26
        local.get 25
        f32x4.mul
        local.get 18
        local.get 20
        local.get 18
        local.get 25
        f32x4.sub
        f32x4.mul
        f32x4.add
        f32x4.mul
        local.set 27
        local.get 2
        local.get 4
        i32.const 4
        i32.mul
        i32.add
        local.get 27
        v128.store align=1
        local.get 1
        local.get 4
        i32.const 4
        i32.mul
        i32.add
        v128.load offset=16 align=1
        local.set 28
        local.get 0
        local.get 4
        i32.const 4
        i32.mul
        i32.add
        v128.load offset=16 align=1
        local.set 34
        local.get 28
        f32x4.neg
        local.set 29
        local.get 29
        local.get 6
        f32x4.pmin
        local.get 7
        f32x4.pmax
        local.set 29
        local.get 29
        local.get 8
        f32x4.mul
        local.get 9
        f32x4.add
        local.set 30
        local.get 29
        local.get 30
        local.get 9
        f32x4.sub
        local.tee 32
        local.get 10
        f32x4.mul
        f32x4.sub
        local.get 32
        local.get 11
        f32x4.mul
        f32x4.sub
        local.set 31
        local.get 12
        local.get 31
        local.get 13
        f32x4.relaxed_madd
        local.get 31
        local.get 14
        f32x4.relaxed_madd
        local.get 31
        local.get 15
        f32x4.relaxed_madd
        local.get 31
        local.get 16
        f32x4.relaxed_madd
        local.get 31
        local.get 17
        f32x4.relaxed_madd
        local.get 31
        local.get 31
        f32x4.mul
        f32x4.mul
        local.get 31
        f32x4.add
        local.get 18
        f32x4.add
        local.set 32
        local.get 32
        local.get 30
        local.get 19
        i32x4.add
        i32.const 23
        i32x4.shl
        f32x4.mul
        local.get 18
        f32x4.add
        local.set 29
        local.get 18
        local.get 29
        f32x4.div
        local.set 33
        local.get 34
        local.get 33
        f32x4.mul
        local.get 18
        local.get 28
        local.get 18
        local.get 33
        f32x4.sub
        f32x4.mul
        f32x4.add
        f32x4.mul
        local.set 35
        local.get 2
        local.get 4
        i32.const 4
        i32.mul
        i32.add
        local.get 35
        v128.store offset=16 align=1
        local.get 4
        i32.const 8
        i32.add
        local.set 4
        local.get 4
        local.get 5
        i32.lt_s
        br_if 0
      end
    end
    local.get 5
    local.set 4
    local.get 3
    local.get 4
    i32.sub
    i32.const 4
    i32.ge_s
    if
      local.get 1
      local.get 4
      i32.const 4
      i32.mul
      i32.add
      v128.load align=1
      local.set 20
      local.get 0
      local.get 4
      i32.const 4
      i32.mul
      i32.add
      v128.load align=1
      local.set 26
      local.get 20
      f32x4.neg
      local.set 21
      local.get 21
      local.get 6
      f32x4.pmin
      local.get 7
      f32x4.pmax
      local.set 21
      local.get 21
      local.get 8
      f32x4.mul
      local.get 9
      f32x4.add
      local.set 22
      local.get 21
      local.get 22
      local.get 9
      f32x4.sub
      local.tee 24
      local.get 10
      f32x4.mul
      f32x4.sub
      local.get 24
      local.get 11
      f32x4.mul
      f32x4.sub
      local.set 23
      local.get 12
      local.get 23
      local.get 13
      f32x4.relaxed_madd
      local.get 23
      local.get 14
      f32x4.relaxed_madd
      local.get 23
      local.get 15
      f32x4.relaxed_madd
      local.get 23
      local.get 16
      f32x4.relaxed_madd
      local.get 23
      local.get 17
      f32x4.relaxed_madd
      local.get 23
      local.get 23
      f32x4.mul
      f32x4.mul
      local.get 23
      f32x4.add
      local.get 18
      f32x4.add
      local.set 24
      local.get 24
      local.get 22
      local.get 19
      i32x4.add
      i32.const 23
      i32x4.shl
      f32x4.mul
      local.get 18
      f32x4.add
      local.set 21
      local.get 18
      local.get 21
      f32x4.div
      local.set 25
      local.get 26
      local.get 25
      f32x4.mul
      local.get 18
      local.get 20
      local.get 18
      local.get 25
      f32x4.sub
      f32x4.mul
      f32x4.add
      f32x4.mul
      local.set 27
      local.get 2
      local.get 4
      i32.const 4
      i32.mul
      i32.add
      local.get 27
      v128.store align=1
      local.get 4
      i32.const 4
      i32.add
      local.set 4
    end
    local.get 4
    local.get 3
    i32.lt_s
    if
      loop
        local.get 1
        local.get 4
        i32.const 4
        i32.mul
        i32.add
        v128.load32_splat align=1
        local.set 20
        local.get 0
        local.get 4
        i32.const 4
        i32.mul
        i32.add
        v128.load32_splat align=1
        local.set 26
        local.get 20
        f32x4.neg
        local.set 21
        local.get 21
        local.get 6
        f32x4.pmin
        local.get 7
        f32x4.pmax
        local.set 21
        local.get 21
        local.get 8
        f32x4.mul
        local.get 9
        f32x4.add
        local.set 22
        local.get 21
        local.get 22
        local.get 9
        f32x4.sub
        local.tee 24
        local.get 10
        f32x4.mul
        f32x4.sub
        local.get 24
        local.get 11
        f32x4.mul
        f32x4.sub
        local.set 23
        local.get 12
        local.get 23
        local.get 13
        f32x4.relaxed_madd
        local.get 23
        local.get 14
        f32x4.relaxed_madd
        local.get 23
        local.get 15
        f32x4.relaxed_madd
        local.get 23
        local.get 16
        f32x4.relaxed_madd
        local.get 23
        local.get 17
        f32x4.relaxed_madd
        local.get 23
        local.get 23
        f32x4.mul
        f32x4.mul
        local.get 23
        f32x4.add
        local.get 18
        f32x4.add
        local.set 24
        local.get 24
        local.get 22
        local.get 19
        i32x4.add
        i32.const 23
        i32x4.shl
        f32x4.mul
        local.get 18
        f32x4.add
        local.set 21
        local.get 18
        local.get 21
        f32x4.div
        local.set 25
        local.get 26
        local.get 25
        f32x4.mul
        local.get 18
        local.get 20
        local.get 18
        local.get 25
        f32x4.sub
        f32x4.mul
        f32x4.add
        f32x4.mul
        local.set 27
        local.get 2
        local.get 4
        i32.const 4
        i32.mul
        i32.add
        local.get 27
        f32x4.extract_lane 0
        f32.store align=1
        local.get 4
        i32.const 1
        i32.add
        local.set 4
        local.get 4
        local.get 3
        i32.lt_s
        br_if 0
      end
    end
  )
)
