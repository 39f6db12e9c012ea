;; gemm-4x8: core/kernels/register.ts FLOW_MODULES['gemm-4x8'], 3747 bytes, disassembled by core/kernels/wasm-text.ts.
;; Generated: do not edit. Regenerate with FLOW_STUDIO_UPDATE_GOLDENS=1 npx vitest run test/core/kernels/golden.test.ts
(module
  (import "env" "memory" (memory 1))
  (func $packA (export "packA") (param $0 i32) (param $1 i32) (param $2 i32) (param $3 i32) (param $4 i32) (param $5 i32)
    (local $6 i32)
    (local $7 i32)
    (local $8 i32)
    (local $9 i32)
    (local $10 i32)
    (local $11 i32)
    (local $12 i32)
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
    i32.const 0
    local.set 6
    local.get 3
    i32.const 0
    i32.gt_s
    if
      loop
        local.get 3
        local.get 6
        i32.sub
        local.set 10
        local.get 0
        local.get 6
        local.get 1
        i32.mul
        i32.add
        local.set 8
        local.get 10
        i32.const 4
        i32.ge_s
        if
          local.get 1
          i32.const 4
          i32.eq
          i32.const 1
          i32.and
          if
            i32.const 0
            local.set 7
            local.get 4
            i32.const 0
            i32.gt_s
            if
              loop
                local.get 5
                local.get 8
                v128.load align=1
                v128.store align=1
                local.get 5
                i32.const 16
                i32.add
                local.set 5
                local.get 8
                local.get 2
                i32.add
                local.set 8
                local.get 7
                i32.const 1
                i32.add
                local.set 7
                local.get 7
                local.get 4
                i32.lt_s
                br_if 0
              end
            end
          else
            local.get 2
            i32.const 4
            i32.eq
            if
              local.get 4
              i32.const -4
              i32.and
              local.set 11
              i32.const 0
              local.set 7
              local.get 11
              i32.const 0
              i32.gt_s
              if
                loop
                  local.get 8
                  local.get 7
                  i32.const 4
                  i32.mul
                  i32.add
                  local.get 1
                  i32.const 0
                  i32.mul
                  i32.add
                  local.set 12
                  local.get 12
                  v128.load align=1
                  local.set 13
                  local.get 12
                  local.get 1
                  i32.add
                  local.set 12
                  local.get 12
                  v128.load align=1
                  local.set 14
                  local.get 12
                  local.get 1
                  i32.add
                  local.set 12
                  local.get 12
                  v128.load align=1
                  local.set 15
                  local.get 12
                  local.get 1
                  i32.add
                  local.set 12
                  local.get 12
                  v128.load align=1
                  local.set 16
                  local.get 13
                  local.get 14
                  i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23
                  local.set 17
                  local.get 15
                  local.get 16
                  i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23
                  local.set 18
                  local.get 13
                  local.get 14
                  i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31
                  local.set 19
                  local.get 15
                  local.get 16
                  i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31
                  local.set 20
                  local.get 17
                  local.get 18
                  i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
                  local.set 21
                  local.get 17
                  local.get 18
                  i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31
                  local.set 22
                  local.get 19
                  local.get 20
                  i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
                  local.set 23
                  local.get 19
                  local.get 20
                  i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31
                  local.set 24
                  local.get 5
                  local.get 21
                  v128.store align=1
                  local.get 5
                  local.get 22
                  v128.store offset=16 align=1
                  local.get 5
                  local.get 23
                  v128.store offset=32 align=1
                  local.get 5
                  local.get 24
                  v128.store offset=48 align=1
                  local.get 5
                  i32.const 64
                  i32.add
                  local.set 5
                  local.get 7
                  i32.const 4
                  i32.add
                  local.set 7
                  local.get 7
                  local.get 11
                  i32.lt_s
                  br_if 0
                end
              end
              local.get 8
              local.get 11
              i32.const 4
              i32.mul
              i32.add
              local.set 8
              local.get 7
              local.get 4
              i32.lt_s
              if
                loop
                  local.get 8
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store align=1
                  local.get 9
                  local.get 1
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=4 align=1
                  local.get 9
                  local.get 1
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=8 align=1
                  local.get 9
                  local.get 1
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=12 align=1
                  local.get 5
                  i32.const 16
                  i32.add
                  local.set 5
                  local.get 8
                  local.get 2
                  i32.add
                  local.set 8
                  local.get 7
                  i32.const 1
                  i32.add
                  local.set 7
                  local.get 7
                  local.get 4
                  i32.lt_s
                  br_if 0
                end
              end
            else
              i32.const 0
              local.set 7
              local.get 4
              i32.const 0
              i32.gt_s
              if
                loop
                  local.get 8
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store align=1
                  local.get 9
                  local.get 1
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=4 align=1
                  local.get 9
                  local.get 1
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=8 align=1
                  local.get 9
                  local.get 1
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=12 align=1
                  local.get 5
                  i32.const 16
                  i32.add
                  local.set 5
                  local.get 8
                  local.get 2
                  i32.add
                  local.set 8
                  local.get 7
                  i32.const 1
                  i32.add
                  local.set 7
                  local.get 7
                  local.get 4
                  i32.lt_s
                  br_if 0
                end
              end
            end
          end
        else
          i32.const 0
          local.set 7
          local.get 4
          i32.const 0
          i32.gt_s
          if
            loop
              local.get 8
              local.set 9
              local.get 10
              i32.const 0
              i32.gt_s
              if
                local.get 5
                local.get 9
                f32.load align=1
                f32.store align=1
              else
                local.get 5
                f32.const 0
                f32.store align=1
              end
              local.get 9
              local.get 1
              i32.add
              local.set 9
              local.get 10
              i32.const 1
              i32.gt_s
              if
                local.get 5
                local.get 9
                f32.load align=1
                f32.store offset=4 align=1
              else
                local.get 5
                f32.const 0
                f32.store offset=4 align=1
              end
              local.get 9
              local.get 1
              i32.add
              local.set 9
              local.get 10
              i32.const 2
              i32.gt_s
              if
                local.get 5
                local.get 9
                f32.load align=1
                f32.store offset=8 align=1
              else
                local.get 5
                f32.const 0
                f32.store offset=8 align=1
              end
              local.get 9
              local.get 1
              i32.add
              local.set 9
              local.get 10
              i32.const 3
              i32.gt_s
              if
                local.get 5
                local.get 9
                f32.load align=1
                f32.store offset=12 align=1
              else
                local.get 5
                f32.const 0
                f32.store offset=12 align=1
              end
              local.get 5
              i32.const 16
              i32.add
              local.set 5
              local.get 8
              local.get 2
              i32.add
              local.set 8
              local.get 7
              i32.const 1
              i32.add
              local.set 7
              local.get 7
              local.get 4
              i32.lt_s
              br_if 0
            end
          end
        end
        local.get 6
        i32.const 4
        i32.add
        local.set 6
        local.get 6
        local.get 3
        i32.lt_s
        br_if 0
      end
    end
  )
  (func $packB (export "packB") (param $0 i32) (param $1 i32) (param $2 i32) (param $3 i32) (param $4 i32) (param $5 i32)
    (local $6 i32)
    (local $7 i32)
    (local $8 i32)
    (local $9 i32)
    (local $10 i32)
    (local $11 i32)
    (local $12 i32)
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
    i32.const 0
    local.set 6
    local.get 4
    i32.const 0
    i32.gt_s
    if
      loop
        local.get 4
        local.get 6
        i32.sub
        local.set 10
        local.get 0
        local.get 6
        local.get 2
        i32.mul
        i32.add
        local.set 8
        local.get 10
        i32.const 8
        i32.ge_s
        if
          local.get 2
          i32.const 4
          i32.eq
          if
            i32.const 0
            local.set 7
            local.get 3
            i32.const 0
            i32.gt_s
            if
              loop
                local.get 5
                local.get 8
                v128.load align=1
                v128.store align=1
                local.get 5
                local.get 8
                v128.load offset=16 align=1
                v128.store offset=16 align=1
                local.get 5
                i32.const 32
                i32.add
                local.set 5
                local.get 8
                local.get 1
                i32.add
                local.set 8
                local.get 7
                i32.const 1
                i32.add
                local.set 7
                local.get 7
                local.get 3
                i32.lt_s
                br_if 0
              end
            end
          else
            local.get 1
            i32.const 4
            i32.eq
            if
              local.get 3
              i32.const -4
              i32.and
              local.set 11
              i32.const 0
              local.set 7
              local.get 11
              i32.const 0
              i32.gt_s
              if
                loop
                  local.get 8
                  local.get 7
                  i32.const 4
                  i32.mul
                  i32.add
                  local.get 2
                  i32.const 0
                  i32.mul
                  i32.add
                  local.set 12
                  local.get 12
                  v128.load align=1
                  local.set 13
                  local.get 12
                  local.get 2
                  i32.add
                  local.set 12
                  local.get 12
                  v128.load align=1
                  local.set 14
                  local.get 12
                  local.get 2
                  i32.add
                  local.set 12
                  local.get 12
                  v128.load align=1
                  local.set 15
                  local.get 12
                  local.get 2
                  i32.add
                  local.set 12
                  local.get 12
                  v128.load align=1
                  local.set 16
                  local.get 13
                  local.get 14
                  i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23
                  local.set 17
                  local.get 15
                  local.get 16
                  i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23
                  local.set 18
                  local.get 13
                  local.get 14
                  i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31
                  local.set 19
                  local.get 15
                  local.get 16
                  i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31
                  local.set 20
                  local.get 17
                  local.get 18
                  i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
                  local.set 21
                  local.get 17
                  local.get 18
                  i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31
                  local.set 22
                  local.get 19
                  local.get 20
                  i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
                  local.set 23
                  local.get 19
                  local.get 20
                  i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31
                  local.set 24
                  local.get 5
                  local.get 21
                  v128.store align=1
                  local.get 5
                  local.get 22
                  v128.store offset=32 align=1
                  local.get 5
                  local.get 23
                  v128.store offset=64 align=1
                  local.get 5
                  local.get 24
                  v128.store offset=96 align=1
                  local.get 8
                  local.get 7
                  i32.const 4
                  i32.mul
                  i32.add
                  local.get 2
                  i32.const 4
                  i32.mul
                  i32.add
                  local.set 12
                  local.get 12
                  v128.load align=1
                  local.set 13
                  local.get 12
                  local.get 2
                  i32.add
                  local.set 12
                  local.get 12
                  v128.load align=1
                  local.set 14
                  local.get 12
                  local.get 2
                  i32.add
                  local.set 12
                  local.get 12
                  v128.load align=1
                  local.set 15
                  local.get 12
                  local.get 2
                  i32.add
                  local.set 12
                  local.get 12
                  v128.load align=1
                  local.set 16
                  local.get 13
                  local.get 14
                  i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23
                  local.set 17
                  local.get 15
                  local.get 16
                  i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23
                  local.set 18
                  local.get 13
                  local.get 14
                  i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31
                  local.set 19
                  local.get 15
                  local.get 16
                  i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31
                  local.set 20
                  local.get 17
                  local.get 18
                  i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
                  local.set 21
                  local.get 17
                  local.get 18
                  i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31
                  local.set 22
                  local.get 19
                  local.get 20
                  i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
                  local.set 23
                  local.get 19
                  local.get 20
                  i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31
                  local.set 24
                  local.get 5
                  local.get 21
                  v128.store offset=16 align=1
                  local.get 5
                  local.get 22
                  v128.store offset=48 align=1
                  local.get 5
                  local.get 23
                  v128.store offset=80 align=1
                  local.get 5
                  local.get 24
                  v128.store offset=112 align=1
                  local.get 5
                  i32.const 128
                  i32.add
                  local.set 5
                  local.get 7
                  i32.const 4
                  i32.add
                  local.set 7
                  local.get 7
                  local.get 11
                  i32.lt_s
                  br_if 0
                end
              end
              local.get 8
              local.get 11
              i32.const 4
              i32.mul
              i32.add
              local.set 8
              local.get 7
              local.get 3
              i32.lt_s
              if
                loop
                  local.get 8
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store align=1
                  local.get 9
                  local.get 2
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=4 align=1
                  local.get 9
                  local.get 2
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=8 align=1
                  local.get 9
                  local.get 2
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=12 align=1
                  local.get 9
                  local.get 2
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=16 align=1
                  local.get 9
                  local.get 2
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=20 align=1
                  local.get 9
                  local.get 2
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=24 align=1
                  local.get 9
                  local.get 2
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=28 align=1
                  local.get 5
                  i32.const 32
                  i32.add
                  local.set 5
                  local.get 8
                  local.get 1
                  i32.add
                  local.set 8
                  local.get 7
                  i32.const 1
                  i32.add
                  local.set 7
                  local.get 7
                  local.get 3
                  i32.lt_s
                  br_if 0
                end
              end
            else
              i32.const 0
              local.set 7
              local.get 3
              i32.const 0
              i32.gt_s
              if
                loop
                  local.get 8
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store align=1
                  local.get 9
                  local.get 2
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=4 align=1
                  local.get 9
                  local.get 2
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=8 align=1
                  local.get 9
                  local.get 2
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=12 align=1
                  local.get 9
                  local.get 2
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=16 align=1
                  local.get 9
                  local.get 2
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=20 align=1
                  local.get 9
                  local.get 2
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=24 align=1
                  local.get 9
                  local.get 2
                  i32.add
                  local.set 9
                  local.get 5
                  local.get 9
                  f32.load align=1
                  f32.store offset=28 align=1
                  local.get 5
                  i32.const 32
                  i32.add
                  local.set 5
                  local.get 8
                  local.get 1
                  i32.add
                  local.set 8
                  local.get 7
                  i32.const 1
                  i32.add
                  local.set 7
                  local.get 7
                  local.get 3
                  i32.lt_s
                  br_if 0
                end
              end
            end
          end
        else
          i32.const 0
          local.set 7
          local.get 3
          i32.const 0
          i32.gt_s
          if
            loop
              local.get 8
              local.set 9
              local.get 10
              i32.const 0
              i32.gt_s
              if
                local.get 5
                local.get 9
                f32.load align=1
                f32.store align=1
              else
                local.get 5
                f32.const 0
                f32.store align=1
              end
              local.get 9
              local.get 2
              i32.add
              local.set 9
              local.get 10
              i32.const 1
              i32.gt_s
              if
                local.get 5
                local.get 9
                f32.load align=1
                f32.store offset=4 align=1
              else
                local.get 5
                f32.const 0
                f32.store offset=4 align=1
              end
              local.get 9
              local.get 2
              i32.add
              local.set 9
              local.get 10
              i32.const 2
              i32.gt_s
              if
                local.get 5
                local.get 9
                f32.load align=1
                f32.store offset=8 align=1
              else
                local.get 5
                f32.const 0
                f32.store offset=8 align=1
              end
              local.get 9
              local.get 2
              i32.add
              local.set 9
              local.get 10
              i32.const 3
              i32.gt_s
              if
                local.get 5
                local.get 9
                f32.load align=1
                f32.store offset=12 align=1
              else
                local.get 5
                f32.const 0
                f32.store offset=12 align=1
              end
              local.get 9
              local.get 2
              i32.add
              local.set 9
              local.get 10
              i32.const 4
              i32.gt_s
              if
                local.get 5
                local.get 9
                f32.load align=1
                f32.store offset=16 align=1
              else
                local.get 5
                f32.const 0
                f32.store offset=16 align=1
              end
              local.get 9
              local.get 2
              i32.add
              local.set 9
              local.get 10
              i32.const 5
              i32.gt_s
              if
                local.get 5
                local.get 9
                f32.load align=1
                f32.store offset=20 align=1
              else
                local.get 5
                f32.const 0
                f32.store offset=20 align=1
              end
              local.get 9
              local.get 2
              i32.add
              local.set 9
              local.get 10
              i32.const 6
              i32.gt_s
              if
                local.get 5
                local.get 9
                f32.load align=1
                f32.store offset=24 align=1
              else
                local.get 5
                f32.const 0
                f32.store offset=24 align=1
              end
              local.get 9
              local.get 2
              i32.add
              local.set 9
              local.get 10
              i32.const 7
              i32.gt_s
              if
                local.get 5
                local.get 9
                f32.load align=1
                f32.store offset=28 align=1
              else
                local.get 5
                f32.const 0
                f32.store offset=28 align=1
              end
              local.get 5
              i32.const 32
              i32.add
              local.set 5
              local.get 8
              local.get 1
              i32.add
              local.set 8
              local.get 7
              i32.const 1
              i32.add
              local.set 7
              local.get 7
              local.get 3
              i32.lt_s
              br_if 0
            end
          end
        end
        local.get 6
        i32.const 8
        i32.add
        local.set 6
        local.get 6
        local.get 4
        i32.lt_s
        br_if 0
      end
    end
  )
  (func $macro (export "macro") (param $0 i32) (param $1 i32) (param $2 i32) (param $3 i32) (param $4 i32) (param $5 i32) (param $6 i32) (param $7 i32) (param $8 i32) (param $9 i32)
    (local $10 i32)
    (local $11 i32)
    (local $12 i32)
    (local $13 i32)
    (local $14 i32)
    (local $15 i32)
    (local $16 i32)
    (local $17 i32)
    (local $18 i32)
    (local $19 i32)
    (local $20 i32)
    (local $21 i32)
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
    (local $33 i32)
    (local $34 i32)
    (local $35 i32)
    (local $36 i32)
    (local $37 i32)
    (local $38 i32)
    (local $39 i32)
    (local $40 i32)
    (local $41 i32)
    (local $42 i32)
    (local $43 i32)
    (local $44 i32)
    i32.const 0
    local.set 10
    local.get 5
    i32.const 0
    i32.gt_s
    if
      loop
        local.get 5
        local.get 10
        i32.sub
        local.set 12
        i32.const 0
        local.set 11
        local.get 4
        i32.const 0
        i32.gt_s
        if
          loop
            local.get 4
            local.get 11
            i32.sub
            local.set 13
            local.get 2
            local.get 11
            local.get 3
            i32.mul
            i32.add
            local.get 10
            i32.const 4
            i32.mul
            i32.add
            local.set 21
            local.get 13
            i32.const 4
            i32.ge_s
            local.get 12
            i32.const 8
            i32.ge_s
            i32.and
            local.set 20
            local.get 20
            if
              local.get 21
              local.set 14
              local.get 3
              local.set 15
            else
              local.get 9
              local.set 14
              i32.const 32
              local.set 15
              local.get 7
              i32.const 2
              i32.eq
              if
                local.get 13
                i32.const 4
                local.get 13
                i32.const 4
                i32.lt_s
                select
                local.set 35
                local.get 12
                i32.const 8
                local.get 12
                i32.const 8
                i32.lt_s
                select
                local.set 36
                i32.const 0
                local.set 33
                local.get 35
                i32.const 0
                i32.gt_s
                if
                  loop
                    local.get 21
                    local.get 33
                    local.get 3
                    i32.mul
                    i32.add
                    local.set 37
                    local.get 9
                    local.get 33
                    i32.const 32
                    i32.mul
                    i32.add
                    local.set 38
                    i32.const 0
                    local.set 34
                    local.get 36
                    i32.const 0
                    i32.gt_s
                    if
                      loop
                        local.get 38
                        local.get 37
                        f32.load align=1
                        f32.store align=1
                        local.get 37
                        i32.const 4
                        i32.add
                        local.set 37
                        local.get 38
                        i32.const 4
                        i32.add
                        local.set 38
                        local.get 34
                        i32.const 1
                        i32.add
                        local.set 34
                        local.get 34
                        local.get 36
                        i32.lt_s
                        br_if 0
                      end
                    end
                    local.get 33
                    i32.const 1
                    i32.add
                    local.set 33
                    local.get 33
                    local.get 35
                    i32.lt_s
                    br_if 0
                  end
                end
              end
            end
            local.get 7
            i32.eqz
            if
              f32.const 0
              f32x4.splat
              local.set 32
              local.get 32
              local.set 22
              local.get 32
              local.set 23
              local.get 32
              local.set 24
              local.get 32
              local.set 25
              local.get 32
              local.set 26
              local.get 32
              local.set 27
              local.get 32
              local.set 28
              local.get 32
              local.set 29
            else
              local.get 7
              i32.const 1
              i32.eq
              if
                local.get 8
                local.get 10
                i32.const 4
                i32.mul
                i32.add
                local.set 19
                local.get 19
                v128.load align=1
                local.set 30
                local.get 19
                v128.load offset=16 align=1
                local.set 31
                local.get 30
                local.set 22
                local.get 31
                local.set 23
                local.get 30
                local.set 24
                local.get 31
                local.set 25
                local.get 30
                local.set 26
                local.get 31
                local.set 27
                local.get 30
                local.set 28
                local.get 31
                local.set 29
              else
                local.get 14
                local.set 19
                local.get 19
                v128.load align=1
                local.set 22
                local.get 19
                v128.load offset=16 align=1
                local.set 23
                local.get 19
                local.get 15
                i32.add
                local.set 19
                local.get 19
                v128.load align=1
                local.set 24
                local.get 19
                v128.load offset=16 align=1
                local.set 25
                local.get 19
                local.get 15
                i32.add
                local.set 19
                local.get 19
                v128.load align=1
                local.set 26
                local.get 19
                v128.load offset=16 align=1
                local.set 27
                local.get 19
                local.get 15
                i32.add
                local.set 19
                local.get 19
                v128.load align=1
                local.set 28
                local.get 19
                v128.load offset=16 align=1
                local.set 29
              end
            end
            local.get 0
            local.get 11
            local.get 6
            i32.mul
            i32.const 4
            i32.mul
            i32.add
            local.set 16
            local.get 1
            local.get 10
            local.get 6
            i32.mul
            i32.const 4
            i32.mul
            i32.add
            local.set 17
            local.get 6
            local.set 18
            loop
              local.get 17
              v128.load align=1
              local.set 30
              local.get 17
              v128.load offset=16 align=1
              local.set 31
              local.get 16
              v128.load32_splat align=1
              local.set 32
              local.get 32
              local.get 30
              f32x4.mul
              local.get 22
              f32x4.add
              local.set 22
              local.get 32
              local.get 31
              f32x4.mul
              local.get 23
              f32x4.add
              local.set 23
              local.get 16
              v128.load32_splat offset=4 align=1
              local.set 32
              local.get 32
              local.get 30
              f32x4.mul
              local.get 24
              f32x4.add
              local.set 24
              local.get 32
              local.get 31
              f32x4.mul
              local.get 25
              f32x4.add
              local.set 25
              local.get 16
              v128.load32_splat offset=8 align=1
              local.set 32
              local.get 32
              local.get 30
              f32x4.mul
              local.get 26
              f32x4.add
              local.set 26
              local.get 32
              local.get 31
              f32x4.mul
              local.get 27
              f32x4.add
              local.set 27
              local.get 16
              v128.load32_splat offset=12 align=1
              local.set 32
              local.get 32
              local.get 30
              f32x4.mul
              local.get 28
              f32x4.add
              local.set 28
              local.get 32
              local.get 31
              f32x4.mul
              local.get 29
              f32x4.add
              local.set 29
              local.get 16
              i32.const 16
              i32.add
              local.set 16
              local.get 17
              i32.const 32
              i32.add
              local.set 17
              local.get 18
              i32.const 1
              i32.sub
              local.tee 18
              br_if 0
            end
            local.get 14
            local.set 19
            local.get 19
            local.get 22
            v128.store align=1
            local.get 19
            local.get 23
            v128.store offset=16 align=1
            local.get 19
            local.get 15
            i32.add
            local.set 19
            local.get 19
            local.get 24
            v128.store align=1
            local.get 19
            local.get 25
            v128.store offset=16 align=1
            local.get 19
            local.get 15
            i32.add
            local.set 19
            local.get 19
            local.get 26
            v128.store align=1
            local.get 19
            local.get 27
            v128.store offset=16 align=1
            local.get 19
            local.get 15
            i32.add
            local.set 19
            local.get 19
            local.get 28
            v128.store align=1
            local.get 19
            local.get 29
            v128.store offset=16 align=1
            local.get 20
            i32.eqz
            if
              local.get 13
              i32.const 4
              local.get 13
              i32.const 4
              i32.lt_s
              select
              local.set 41
              local.get 12
              i32.const 8
              local.get 12
              i32.const 8
              i32.lt_s
              select
              local.set 42
              i32.const 0
              local.set 39
              local.get 41
              i32.const 0
              i32.gt_s
              if
                loop
                  local.get 21
                  local.get 39
                  local.get 3
                  i32.mul
                  i32.add
                  local.set 43
                  local.get 9
                  local.get 39
                  i32.const 32
                  i32.mul
                  i32.add
                  local.set 44
                  i32.const 0
                  local.set 40
                  local.get 42
                  i32.const 0
                  i32.gt_s
                  if
                    loop
                      local.get 43
                      local.get 44
                      f32.load align=1
                      f32.store align=1
                      local.get 43
                      i32.const 4
                      i32.add
                      local.set 43
                      local.get 44
                      i32.const 4
                      i32.add
                      local.set 44
                      local.get 40
                      i32.const 1
                      i32.add
                      local.set 40
                      local.get 40
                      local.get 42
                      i32.lt_s
                      br_if 0
                    end
                  end
                  local.get 39
                  i32.const 1
                  i32.add
                  local.set 39
                  local.get 39
                  local.get 41
                  i32.lt_s
                  br_if 0
                end
              end
            end
            local.get 11
            i32.const 4
            i32.add
            local.set 11
            local.get 11
            local.get 4
            i32.lt_s
            br_if 0
          end
        end
        local.get 10
        i32.const 8
        i32.add
        local.set 10
        local.get 10
        local.get 5
        i32.lt_s
        br_if 0
      end
    end
  )
  (func $colsum (export "colsum") (param $0 i32) (param $1 i32) (param $2 i32) (param $3 i32)
    (local $4 i32)
    (local $5 i32)
    (local $6 i32)
    (local $7 i32)
    (local $8 i32)
    (local $9 v128)
    (local $10 f32)
    local.get 2
    i32.const 4
    i32.mul
    local.set 8
    local.get 2
    i32.const -4
    i32.and
    local.set 7
    i32.const 0
    local.set 4
    local.get 7
    i32.const 0
    i32.gt_s
    if
      loop
        f32.const 0
        f32x4.splat
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
            local.get 9
            local.get 6
            v128.load align=1
            f32x4.add
            local.set 9
            local.get 6
            local.get 8
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
        i32.const 4
        i32.mul
        i32.add
        local.get 9
        v128.store align=1
        local.get 4
        i32.const 4
        i32.add
        local.set 4
        local.get 4
        local.get 7
        i32.lt_s
        br_if 0
      end
    end
    local.get 7
    local.set 4
    local.get 4
    local.get 2
    i32.lt_s
    if
      loop
        f32.const 0
        local.set 10
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
            local.get 10
            local.get 6
            f32.load align=1
            f32.add
            local.set 10
            local.get 6
            local.get 8
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
        i32.const 4
        i32.mul
        i32.add
        local.get 10
        f32.store align=1
        local.get 4
        i32.const 1
        i32.add
        local.set 4
        local.get 4
        local.get 2
        i32.lt_s
        br_if 0
      end
    end
  )
)
