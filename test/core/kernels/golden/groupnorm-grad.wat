;; groupnorm-grad: core/kernels/register.ts FLOW_MODULES['groupnorm-grad'], 1680 bytes, disassembled by core/kernels/wasm-text.ts.
;; Generated: do not edit. Regenerate with FLOW_STUDIO_UPDATE_GOLDENS=1 npx vitest run test/core/kernels/golden.test.ts
(module
  (import "env" "memory" (memory 1))
  (func $pass1 (export "pass1") (param $0 i32) (param $1 i32) (param $2 i32) (param $3 i32) (param $4 i32) (param $5 i32) (param $6 i32) (param $7 i32) (param $8 i32)
    (local $9 i32)
    (local $10 i32)
    (local $11 i32)
    (local $12 i32)
    (local $13 i32)
    (local $14 v128)
    (local $15 v128)
    (local $16 v128)
    (local $17 v128)
    (local $18 v128)
    (local $19 v128)
    (local $20 v128)
    (local $21 v128)
    local.get 4
    i32.const 4
    i32.mul
    local.set 12
    i32.const 0
    local.set 9
    local.get 4
    i32.const 0
    i32.gt_s
    if
      loop
        local.get 9
        i32.const 4
        i32.mul
        local.set 13
        v128.const f32x4 0 0 0 0
        local.set 14
        v128.const f32x4 0 0 0 0
        local.set 15
        v128.const f32x4 0 0 0 0
        local.set 16
        v128.const f32x4 0 0 0 0
        local.set 17
        local.get 13
        local.set 11
        i32.const 0
        local.set 10
        local.get 3
        i32.const 0
        i32.gt_s
        if
          loop
            local.get 0
            local.get 11
            i32.add
            v128.load align=1
            local.set 20
            local.get 1
            local.get 11
            i32.add
            v128.load align=1
            local.set 21
            local.get 2
            local.get 11
            i32.add
            local.get 21
            v128.store align=1
            local.get 14
            local.get 21
            f64x2.promote_low_f32x4
            f64x2.add
            local.set 14
            local.get 15
            local.get 21
            local.get 21
            i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15
            f64x2.promote_low_f32x4
            f64x2.add
            local.set 15
            local.get 16
            local.get 21
            f64x2.promote_low_f32x4
            local.get 20
            f64x2.promote_low_f32x4
            f64x2.mul
            f64x2.add
            local.set 16
            local.get 17
            local.get 21
            local.get 21
            i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15
            f64x2.promote_low_f32x4
            local.get 20
            local.get 20
            i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15
            f64x2.promote_low_f32x4
            f64x2.mul
            f64x2.add
            local.set 17
            local.get 11
            local.get 12
            i32.add
            local.set 11
            local.get 10
            i32.const 1
            i32.add
            local.set 10
            local.get 10
            local.get 3
            i32.lt_s
            br_if 0
          end
        end
        local.get 7
        local.get 13
        i32.const 2
        i32.mul
        i32.add
        local.set 11
        local.get 11
        local.get 11
        v128.load align=1
        local.get 14
        f64x2.add
        v128.store align=1
        local.get 11
        local.get 11
        v128.load offset=16 align=1
        local.get 15
        f64x2.add
        v128.store offset=16 align=1
        local.get 8
        local.get 13
        i32.const 2
        i32.mul
        i32.add
        local.set 11
        local.get 11
        local.get 11
        v128.load align=1
        local.get 16
        f64x2.add
        v128.store align=1
        local.get 11
        local.get 11
        v128.load offset=16 align=1
        local.get 17
        f64x2.add
        v128.store offset=16 align=1
        local.get 9
        i32.const 4
        i32.add
        local.set 9
        local.get 9
        local.get 4
        i32.lt_s
        br_if 0
      end
    end
  )
  (func $pass1silu (export "pass1silu") (param $0 i32) (param $1 i32) (param $2 i32) (param $3 i32) (param $4 i32) (param $5 i32) (param $6 i32) (param $7 i32) (param $8 i32)
    (local $9 i32)
    (local $10 i32)
    (local $11 i32)
    (local $12 i32)
    (local $13 i32)
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
    (local $36 v128)
    (local $37 v128)
    (local $38 v128)
    (local $39 v128)
    (local $40 v128)
    (local $41 v128)
    v128.const f32x4 89 89 89 89
    local.set 22
    v128.const f32x4 -87.3 -87.3 -87.3 -87.3
    local.set 23
    v128.const f32x4 1.442695 1.442695 1.442695 1.442695
    local.set 24
    v128.const f32x4 12582912 12582912 12582912 12582912
    local.set 25
    v128.const f32x4 0.6933594 0.6933594 0.6933594 0.6933594
    local.set 26
    v128.const f32x4 -0.00021219444 -0.00021219444 -0.00021219444 -0.00021219444
    local.set 27
    v128.const f32x4 0.00019875691 0.00019875691 0.00019875691 0.00019875691
    local.set 28
    v128.const f32x4 0.0013981999 0.0013981999 0.0013981999 0.0013981999
    local.set 29
    v128.const f32x4 0.008333452 0.008333452 0.008333452 0.008333452
    local.set 30
    v128.const f32x4 0.041665796 0.041665796 0.041665796 0.041665796
    local.set 31
    v128.const f32x4 0.16666666 0.16666666 0.16666666 0.16666666
    local.set 32
    v128.const f32x4 0.5 0.5 0.5 0.5
    local.set 33
    v128.const f32x4 1 1 1 1
    local.set 34
    i32.const -1262485377
    i32x4.splat
    local.set 35
    local.get 4
    i32.const 4
    i32.mul
    local.set 12
    i32.const 0
    local.set 9
    local.get 4
    i32.const 0
    i32.gt_s
    if
      loop
        local.get 9
        i32.const 4
        i32.mul
        local.set 13
        v128.const f32x4 0 0 0 0
        local.set 14
        v128.const f32x4 0 0 0 0
        local.set 15
        v128.const f32x4 0 0 0 0
        local.set 16
        v128.const f32x4 0 0 0 0
        local.set 17
        local.get 5
        local.get 13
        i32.add
        v128.load align=1
        local.set 18
        local.get 6
        local.get 13
        i32.add
        v128.load align=1
        local.set 19
        local.get 13
        local.set 11
        i32.const 0
        local.set 10
        local.get 3
        i32.const 0
        i32.gt_s
        if
          loop
            local.get 0
            local.get 11
            i32.add
            v128.load align=1
            local.set 20
            local.get 1
            local.get 11
            i32.add
            v128.load align=1
            local.set 21
            local.get 20
            local.get 18
            f32x4.mul
            local.get 19
            f32x4.add
            local.set 36
            local.get 36
            f32x4.neg
            local.set 37
            local.get 37
            local.get 22
            f32x4.pmin
            local.get 23
            f32x4.pmax
            local.set 37
            local.get 37
            local.get 24
            f32x4.mul
            local.get 25
            f32x4.add
            local.set 38
            local.get 37
            local.get 38
            local.get 25
            f32x4.sub
            local.tee 40
            local.get 26
            f32x4.mul
            f32x4.sub
            local.get 40
            local.get 27
            f32x4.mul
            f32x4.sub
            local.set 39
            local.get 28
            local.get 39
            f32x4.mul
            local.get 29
            f32x4.add
            local.get 39
            f32x4.mul
            local.get 30
            f32x4.add
            local.get 39
            f32x4.mul
            local.get 31
            f32x4.add
            local.get 39
            f32x4.mul
            local.get 32
            f32x4.add
            local.get 39
            f32x4.mul
            local.get 33
            f32x4.add
            local.get 39
            local.get 39
            f32x4.mul
            f32x4.mul
            local.get 39
            f32x4.add
            local.get 34
            f32x4.add
            local.set 40
            local.get 40
            local.get 38
            local.get 35
            i32x4.add
            i32.const 23
            i32x4.shl
            f32x4.mul
            local.get 34
            f32x4.add
            local.set 37
            local.get 34
            local.get 37
            f32x4.div
            local.set 41
            local.get 21
            local.get 41
            f32x4.mul
            local.get 34
            local.get 36
            local.get 34
            local.get 41
            f32x4.sub
            f32x4.mul
            f32x4.add
            f32x4.mul
            local.set 21
            local.get 2
            local.get 11
            i32.add
            local.get 21
            v128.store align=1
            local.get 14
            local.get 21
            f64x2.promote_low_f32x4
            f64x2.add
            local.set 14
            local.get 15
            local.get 21
            local.get 21
            i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15
            f64x2.promote_low_f32x4
            f64x2.add
            local.set 15
            local.get 16
            local.get 21
            f64x2.promote_low_f32x4
            local.get 20
            f64x2.promote_low_f32x4
            f64x2.mul
            f64x2.add
            local.set 16
            local.get 17
            local.get 21
            local.get 21
            i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15
            f64x2.promote_low_f32x4
            local.get 20
            local.get 20
            i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15
            f64x2.promote_low_f32x4
            f64x2.mul
            f64x2.add
            local.set 17
            local.get 11
            local.get 12
            i32.add
            local.set 11
            local.get 10
            i32.const 1
            i32.add
            local.set 10
            local.get 10
            local.get 3
            i32.lt_s
            br_if 0
          end
        end
        local.get 7
        local.get 13
        i32.const 2
        i32.mul
        i32.add
        local.set 11
        local.get 11
        local.get 11
        v128.load align=1
        local.get 14
        f64x2.add
        v128.store align=1
        local.get 11
        local.get 11
        v128.load offset=16 align=1
        local.get 15
        f64x2.add
        v128.store offset=16 align=1
        local.get 8
        local.get 13
        i32.const 2
        i32.mul
        i32.add
        local.set 11
        local.get 11
        local.get 11
        v128.load align=1
        local.get 16
        f64x2.add
        v128.store align=1
        local.get 11
        local.get 11
        v128.load offset=16 align=1
        local.get 17
        f64x2.add
        v128.store offset=16 align=1
        local.get 9
        i32.const 4
        i32.add
        local.set 9
        local.get 9
        local.get 4
        i32.lt_s
        br_if 0
      end
    end
  )
  (func $affine2 (export "affine2") (param $0 i32) (param $1 i32) (param $2 i32) (param $3 i32) (param $4 i32) (param $5 i32) (param $6 i32) (param $7 i32)
    (local $8 i32)
    (local $9 i32)
    (local $10 i32)
    local.get 4
    i32.const 4
    i32.mul
    local.set 10
    i32.const 0
    local.set 8
    local.get 3
    i32.const 0
    i32.gt_s
    if
      loop
        i32.const 0
        local.set 9
        local.get 10
        i32.const 0
        i32.gt_s
        if
          loop
            local.get 2
            local.get 9
            i32.add
            local.get 0
            local.get 9
            i32.add
            v128.load align=1
            local.get 5
            local.get 9
            i32.add
            v128.load align=1
            f32x4.mul
            local.get 1
            local.get 9
            i32.add
            v128.load align=1
            local.get 6
            local.get 9
            i32.add
            v128.load align=1
            f32x4.mul
            f32x4.add
            local.get 7
            local.get 9
            i32.add
            v128.load align=1
            f32x4.add
            v128.store align=1
            local.get 9
            i32.const 16
            i32.add
            local.set 9
            local.get 9
            local.get 10
            i32.lt_s
            br_if 0
          end
        end
        local.get 0
        local.get 10
        i32.add
        local.set 0
        local.get 1
        local.get 10
        i32.add
        local.set 1
        local.get 2
        local.get 10
        i32.add
        local.set 2
        local.get 8
        i32.const 1
        i32.add
        local.set 8
        local.get 8
        local.get 3
        i32.lt_s
        br_if 0
      end
    end
  )
)
