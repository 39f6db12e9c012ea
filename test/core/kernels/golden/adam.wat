;; adam: core/kernels/register.ts FLOW_MODULES['adam'], 999 bytes, disassembled by core/kernels/wasm-text.ts.
;; Generated: do not edit. Regenerate with FLOW_STUDIO_UPDATE_GOLDENS=1 npx vitest run test/core/kernels/golden.test.ts
(module
  (import "env" "memory" (memory 1))
  (func $adam (export "adam") (param $0 i32) (param $1 i32) (param $2 i32) (param $3 i32) (param $4 i32) (param $5 i32) (param $6 i32) (param $7 i32) (param $8 i32) (param $9 i32) (param $10 f32) (param $11 f32) (param $12 f32) (param $13 f32) (param $14 f32) (param $15 f32) (param $16 f32) (param $17 f32) (param $18 f32) (param $19 f32) (param $20 f32)
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
    (local $32 i32)
    (local $33 i32)
    (local $34 v128)
    (local $35 v128)
    (local $36 v128)
    (local $37 v128)
    (local $38 v128)
    (local $39 f32)
    (local $40 f32)
    (local $41 f32)
    (local $42 f32)
    (local $43 f32)
    local.get 10
    f32x4.splat
    local.set 21
    local.get 11
    f32x4.splat
    local.set 22
    local.get 12
    f32x4.splat
    local.set 23
    local.get 13
    f32x4.splat
    local.set 24
    local.get 14
    f32x4.splat
    local.set 25
    local.get 15
    f32x4.splat
    local.set 26
    local.get 16
    f32x4.splat
    local.set 27
    local.get 17
    f32x4.splat
    local.set 28
    local.get 18
    f32x4.splat
    local.set 29
    local.get 19
    f32x4.splat
    local.set 30
    local.get 20
    f32x4.splat
    local.set 31
    local.get 9
    i32.const -4
    i32.and
    local.set 33
    i32.const 0
    local.set 32
    local.get 33
    i32.const 0
    i32.gt_s
    if
      loop
        local.get 0
        local.get 32
        i32.const 4
        i32.mul
        i32.add
        v128.load align=1
        local.set 34
        local.get 1
        local.get 32
        i32.const 4
        i32.mul
        i32.add
        v128.load align=1
        local.set 35
        local.get 2
        local.get 32
        i32.const 4
        i32.mul
        i32.add
        v128.load align=1
        local.set 36
        local.get 3
        local.get 32
        i32.const 4
        i32.mul
        i32.add
        v128.load align=1
        local.set 37
        local.get 4
        local.get 32
        i32.const 4
        i32.mul
        i32.add
        v128.load align=1
        local.set 38
        local.get 34
        local.get 21
        f32x4.mul
        local.get 35
        local.get 22
        f32x4.mul
        f32x4.add
        local.set 34
        local.get 36
        local.get 23
        f32x4.mul
        local.get 34
        local.get 24
        f32x4.mul
        f32x4.add
        local.set 36
        local.get 37
        local.get 25
        f32x4.mul
        local.get 34
        local.get 34
        f32x4.mul
        local.get 26
        f32x4.mul
        f32x4.add
        local.set 37
        local.get 35
        local.get 28
        f32x4.mul
        local.get 36
        local.get 37
        f32x4.sqrt
        local.get 27
        f32x4.add
        f32x4.div
        local.get 29
        f32x4.mul
        f32x4.sub
        local.set 35
        local.get 38
        local.get 30
        f32x4.mul
        local.get 35
        local.get 31
        f32x4.mul
        f32x4.add
        local.set 38
        local.get 5
        local.get 32
        i32.const 4
        i32.mul
        i32.add
        local.get 35
        v128.store align=1
        local.get 6
        local.get 32
        i32.const 4
        i32.mul
        i32.add
        local.get 36
        v128.store align=1
        local.get 7
        local.get 32
        i32.const 4
        i32.mul
        i32.add
        local.get 37
        v128.store align=1
        local.get 8
        local.get 32
        i32.const 4
        i32.mul
        i32.add
        local.get 38
        v128.store align=1
        local.get 32
        i32.const 4
        i32.add
        local.set 32
        local.get 32
        local.get 33
        i32.lt_s
        br_if 0
      end
    end
    local.get 33
    local.set 32
    local.get 32
    local.get 9
    i32.lt_s
    if
      loop
        local.get 0
        local.get 32
        i32.const 4
        i32.mul
        i32.add
        f32.load align=1
        local.set 39
        local.get 1
        local.get 32
        i32.const 4
        i32.mul
        i32.add
        f32.load align=1
        local.set 40
        local.get 2
        local.get 32
        i32.const 4
        i32.mul
        i32.add
        f32.load align=1
        local.set 41
        local.get 3
        local.get 32
        i32.const 4
        i32.mul
        i32.add
        f32.load align=1
        local.set 42
        local.get 4
        local.get 32
        i32.const 4
        i32.mul
        i32.add
        f32.load align=1
        local.set 43
        local.get 39
        local.get 10
        f32.mul
        local.get 40
        local.get 11
        f32.mul
        f32.add
        local.set 39
        local.get 41
        local.get 12
        f32.mul
        local.get 39
        local.get 13
        f32.mul
        f32.add
        local.set 41
        local.get 42
        local.get 14
        f32.mul
        local.get 39
        local.get 39
        f32.mul
        local.get 15
        f32.mul
        f32.add
        local.set 42
        local.get 40
        local.get 17
        f32.mul
        local.get 41
        local.get 42
        f32.sqrt
        local.get 16
        f32.add
        f32.div
        local.get 18
        f32.mul
        f32.sub
        local.set 40
        local.get 43
        local.get 19
        f32.mul
        local.get 40
        local.get 20
        f32.mul
        f32.add
        local.set 43
        local.get 5
        local.get 32
        i32.const 4
        i32.mul
        i32.add
        local.get 40
        f32.store align=1
        local.get 6
        local.get 32
        i32.const 4
        i32.mul
        i32.add
        local.get 41
        f32.store align=1
        local.get 7
        local.get 32
        i32.const 4
        i32.mul
        i32.add
        local.get 42
        f32.store align=1
        local.get 8
        local.get 32
        i32.const 4
        i32.mul
        i32.add
        local.get 43
        f32.store align=1
        local.get 32
        i32.const 1
        i32.add
        local.set 32
        local.get 32
        local.get 9
        i32.lt_s
        br_if 0
      end
    end
  )
  (func $sumsq (export "sumsq") (param $0 i32) (param $1 i32) (result f64)
    (local $2 i32)
    (local $3 f64)
    (local $4 f64)
    (local $5 f64)
    (local $6 f64)
    (local $7 f64)
    (local $8 i32)
    local.get 1
    i32.const -4
    i32.and
    local.set 8
    i32.const 0
    local.set 2
    local.get 8
    i32.const 0
    i32.gt_s
    if
      loop
        local.get 0
        local.get 2
        i32.const 4
        i32.mul
        i32.add
        f32.load align=1
        f64.promote_f32
        local.tee 7
        local.get 7
        f64.mul
        local.get 3
        f64.add
        local.set 3
        local.get 0
        local.get 2
        i32.const 4
        i32.mul
        i32.add
        f32.load offset=4 align=1
        f64.promote_f32
        local.tee 7
        local.get 7
        f64.mul
        local.get 4
        f64.add
        local.set 4
        local.get 0
        local.get 2
        i32.const 4
        i32.mul
        i32.add
        f32.load offset=8 align=1
        f64.promote_f32
        local.tee 7
        local.get 7
        f64.mul
        local.get 5
        f64.add
        local.set 5
        local.get 0
        local.get 2
        i32.const 4
        i32.mul
        i32.add
        f32.load offset=12 align=1
        f64.promote_f32
        local.tee 7
        local.get 7
        f64.mul
        local.get 6
        f64.add
        local.set 6
        local.get 2
        i32.const 4
        i32.add
        local.set 2
        local.get 2
        local.get 8
        i32.lt_s
        br_if 0
      end
    end
    local.get 8
    local.set 2
    local.get 2
    local.get 1
    i32.lt_s
    if
      loop
        local.get 0
        local.get 2
        i32.const 4
        i32.mul
        i32.add
        f32.load align=1
        f64.promote_f32
        local.tee 7
        local.get 7
        f64.mul
        local.get 3
        f64.add
        local.set 3
        local.get 2
        i32.const 1
        i32.add
        local.set 2
        local.get 2
        local.get 1
        i32.lt_s
        br_if 0
      end
    end
    local.get 3
    local.get 4
    f64.add
    local.get 5
    local.get 6
    f64.add
    f64.add
  )
  (func $combine2 (export "combine2") (param $0 i32) (param $1 i32) (param $2 i32) (param $3 i32) (param $4 f64) (param $5 f64)
    (local $6 i32)
    i32.const 0
    local.set 6
    local.get 3
    i32.const 0
    i32.gt_s
    if
      loop
        local.get 2
        local.get 6
        i32.const 4
        i32.mul
        i32.add
        local.get 0
        local.get 6
        i32.const 4
        i32.mul
        i32.add
        f32.load align=1
        f64.promote_f32
        local.get 4
        f64.mul
        local.get 1
        local.get 6
        i32.const 4
        i32.mul
        i32.add
        f32.load align=1
        f64.promote_f32
        local.get 5
        f64.mul
        f64.add
        f32.demote_f64
        f32.store align=1
        local.get 6
        i32.const 1
        i32.add
        local.set 6
        local.get 6
        local.get 3
        i32.lt_s
        br_if 0
      end
    end
  )
)
