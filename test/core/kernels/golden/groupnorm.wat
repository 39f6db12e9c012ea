;; groupnorm: core/kernels/register.ts FLOW_MODULES['groupnorm'], 717 bytes, disassembled by core/kernels/wasm-text.ts.
;; Generated: do not edit. Regenerate with FLOW_STUDIO_UPDATE_GOLDENS=1 npx vitest run test/core/kernels/golden.test.ts
(module
  (import "env" "memory" (memory 1))
  (func $colsum (export "colsum") (param $0 i32) (param $1 i32) (param $2 i32) (param $3 i32)
    (local $4 i32)
    (local $5 i32)
    (local $6 i32)
    (local $7 i32)
    (local $8 v128)
    (local $9 v128)
    (local $10 v128)
    (local $11 v128)
    (local $12 v128)
    (local $13 v128)
    local.get 2
    i32.const 4
    i32.mul
    local.set 7
    i32.const 0
    local.set 4
    local.get 2
    i32.const 0
    i32.gt_s
    if
      loop
        v128.const f32x4 0 0 0 0
        local.set 8
        v128.const f32x4 0 0 0 0
        local.set 9
        local.get 0
        local.get 4
        i32.const 4
        i32.mul
        i32.add
        local.set 6
        i32.const 0
        local.set 5
        local.get 1
        i32.const 0
        i32.gt_s
        if
          loop
            local.get 6
            v128.load64_zero align=1
            f64x2.promote_low_f32x4
            local.set 10
            local.get 6
            v128.load64_zero offset=8 align=1
            f64x2.promote_low_f32x4
            local.set 11
            local.get 8
            local.get 10
            f64x2.add
            local.set 8
            local.get 9
            local.get 11
            f64x2.add
            local.set 9
            local.get 6
            local.get 7
            i32.add
            local.set 6
            local.get 5
            i32.const 1
            i32.add
            local.set 5
            local.get 5
            local.get 1
            i32.lt_s
            br_if 0
          end
        end
        local.get 3
        local.get 4
        i32.const 8
        i32.mul
        i32.add
        local.get 8
        v128.store align=1
        local.get 3
        local.get 4
        i32.const 8
        i32.mul
        i32.add
        local.get 9
        v128.store offset=16 align=1
        local.get 4
        i32.const 4
        i32.add
        local.set 4
        local.get 4
        local.get 2
        i32.lt_s
        br_if 0
      end
    end
  )
  (func $colsqdev (export "colsqdev") (param $0 i32) (param $1 i32) (param $2 i32) (param $3 i32) (param $4 i32)
    (local $5 i32)
    (local $6 i32)
    (local $7 i32)
    (local $8 i32)
    (local $9 v128)
    (local $10 v128)
    (local $11 v128)
    (local $12 v128)
    (local $13 v128)
    (local $14 v128)
    local.get 2
    i32.const 4
    i32.mul
    local.set 8
    i32.const 0
    local.set 5
    local.get 2
    i32.const 0
    i32.gt_s
    if
      loop
        v128.const f32x4 0 0 0 0
        local.set 9
        v128.const f32x4 0 0 0 0
        local.set 10
        local.get 3
        local.get 5
        i32.const 8
        i32.mul
        i32.add
        v128.load align=1
        local.set 13
        local.get 3
        local.get 5
        i32.const 8
        i32.mul
        i32.add
        v128.load offset=16 align=1
        local.set 14
        local.get 0
        local.get 5
        i32.const 4
        i32.mul
        i32.add
        local.set 7
        i32.const 0
        local.set 6
        local.get 1
        i32.const 0
        i32.gt_s
        if
          loop
            local.get 7
            v128.load64_zero align=1
            f64x2.promote_low_f32x4
            local.set 11
            local.get 7
            v128.load64_zero offset=8 align=1
            f64x2.promote_low_f32x4
            local.set 12
            local.get 11
            local.get 13
            f64x2.sub
            local.tee 11
            local.get 11
            f64x2.mul
            local.set 11
            local.get 12
            local.get 14
            f64x2.sub
            local.tee 12
            local.get 12
            f64x2.mul
            local.set 12
            local.get 9
            local.get 11
            f64x2.add
            local.set 9
            local.get 10
            local.get 12
            f64x2.add
            local.set 10
            local.get 7
            local.get 8
            i32.add
            local.set 7
            local.get 6
            i32.const 1
            i32.add
            local.set 6
            local.get 6
            local.get 1
            i32.lt_s
            br_if 0
          end
        end
        local.get 4
        local.get 5
        i32.const 8
        i32.mul
        i32.add
        local.get 9
        v128.store align=1
        local.get 4
        local.get 5
        i32.const 8
        i32.mul
        i32.add
        local.get 10
        v128.store offset=16 align=1
        local.get 5
        i32.const 4
        i32.add
        local.set 5
        local.get 5
        local.get 2
        i32.lt_s
        br_if 0
      end
    end
  )
  (func $affine (export "affine") (param $0 i32) (param $1 i32) (param $2 i32) (param $3 i32) (param $4 i32) (param $5 i32) (param $6 i32)
    (local $7 i32)
    (local $8 i32)
    (local $9 i32)
    local.get 3
    i32.const 4
    i32.mul
    local.set 9
    local.get 4
    i32.const 4
    i32.mul
    local.set 4
    i32.const 0
    local.set 7
    local.get 2
    i32.const 0
    i32.gt_s
    if
      loop
        i32.const 0
        local.set 8
        local.get 9
        i32.const 0
        i32.gt_s
        if
          loop
            local.get 1
            local.get 8
            i32.add
            local.get 0
            local.get 8
            i32.add
            v128.load align=1
            local.get 5
            local.get 8
            i32.add
            v128.load align=1
            f32x4.mul
            local.get 6
            local.get 8
            i32.add
            v128.load align=1
            f32x4.add
            v128.store align=1
            local.get 8
            i32.const 16
            i32.add
            local.set 8
            local.get 8
            local.get 9
            i32.lt_s
            br_if 0
          end
        end
        local.get 0
        local.get 9
        i32.add
        local.set 0
        local.get 1
        local.get 4
        i32.add
        local.set 1
        local.get 7
        i32.const 1
        i32.add
        local.set 7
        local.get 7
        local.get 2
        i32.lt_s
        br_if 0
      end
    end
  )
)
