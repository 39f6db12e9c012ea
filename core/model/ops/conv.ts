/**
 * conv2d (NHWC, with bias) whose gradient avoids the wasm backend's missing Conv2DBackpropFilter and
 * slow Conv2DBackpropInput: the input gradient is one forward conv plus depth-to-space, the filter
 * gradient plain matMuls of shifted views (geometry in conv-plan.ts).
 */
import { tf, type Tensor } from '../../tf';
import { checkShape } from '../../errors';
import { customOp } from './custom-op';
import { builtinGradientsOn } from './dispatch';
import { convPlan, window4d, type ConvPlan } from './conv-plan';

/**
 * dL/dx of y = conv2d(x, f, stride, pad) without Conv2DBackpropInput: one stride-1 'valid' conv of
 * (windowed) dy with a filter gathered from f that holds all stride² phases as output channels,
 * then the phases are interleaved by a reshape-transpose-reshape (depth-to-space; tf.depthToSpace
 * itself is ~15x slower on wasm). For stride 1 the gathered filter is f flipped with its in/out
 * channels swapped. FLOPs: ceil(k/s)² taps × s² phases, the forward's for k = 3, s = 1 and 16/9
 * of it for k = 3, s = 2 (zero insertion would cost 4x).
 */
function convInputGrad(dy: Tensor, f: Tensor, p: ConvPlan): Tensor {
  const s = p.stride;
  const fpad = tf.pad(f, [
    [0, 1],
    [0, 1],
    [0, 0],
    [0, 0],
  ]);
  const flat = tf.reshape(fpad, [(p.kh + 1) * (p.kw + 1), p.cin, p.cout]);
  const g = tf.gather(flat, tf.tensor1d(p.gatherIdx, 'int32'), 0);
  // [Kh·Kw, s², Cin, Cout] -> [Kh·Kw, Cout, s², Cin]: output channel index (rh·s + rw)·Cin + ci.
  const g4 = tf.transpose(tf.reshape(g, [p.ph.size * p.pw.size, s * s, p.cin, p.cout]), [0, 3, 1, 2]);
  const filt = tf.reshape(g4, [p.ph.size, p.pw.size, p.cout, s * s * p.cin]);
  let win = window4d(dy, 1, p.ph.dmin, p.ph.dmin + p.ph.q + p.ph.size - 1);
  win = window4d(win, 2, p.pw.dmin, p.pw.dmin + p.pw.q + p.pw.size - 1);
  let dx = tf.conv2d(win as tf.Tensor4D, filt as tf.Tensor4D, 1, 'valid');
  if (s > 1) {
    // [B, Qh, Qw, (rh, rw, c)] -> [B, Qh, rh, Qw, (rw, c)] = [B, s·Qh, s·Qw, C].
    const b = dy.shape[0]!;
    const t = tf.transpose(tf.reshape(dx, [b * p.ph.q, p.pw.q, s, s * p.cin]), [0, 2, 1, 3]);
    dx = tf.reshape(t, [b, s * p.ph.q, s * p.pw.q, p.cin]);
  }
  if (dx.shape[1] !== p.h || dx.shape[2] !== p.w) dx = tf.slice(dx, [0, 0, 0, 0], [-1, p.h, p.w, -1]);
  return dx;
}

/**
 * dL/df and dL/db of y = conv2d(x, f, stride, pad) + b without Conv2DBackpropFilter.
 *
 * dF[i, j] = Σ_{n, oh, ow} xpad[n, s·oh + i, s·ow + j, :] ⊗ dy[n, oh, ow, :]. Write a tap as
 * (i, j) = (s·a + ri, s·b + rj): phase (ri, rj), offset (a, b). Split the padded input into its s²
 * phases, each a grid [B, Hh, Wh] with Hh = Ho + floor((kh - 1)/s), channel-major:
 * X [s²·Cin, B·Hh·Wh]. Embed dy in the same grid (zeros past Ho, Wo), flattened to D [rows, Cout].
 * The offset (a, b) is then a shift by a·Wh + b columns of X, and
 *   dF[(a, b), (ri, rj)] = shift(X) · D      (one plain matMul [s²·Cin, rows] · [rows, Cout]).
 * The zeros of the embedded dy cancel the columns that wrap around a row or image.
 *
 * Why this arrangement on wasm: XNNPACK repacks the right operand of a matMul whenever it changes
 * (~2x the multiply itself here), so the right operand is D, the same tensor for every offset; the
 * shift is a C++ pad (both sides of the data move) because tf.slice on wasm first copies its whole
 * source; spaceToBatchND is avoided for the same reason as depthToSpace.
 */
function convFilterGrad(x: Tensor, dy: Tensor, p: ConvPlan): [Tensor, Tensor] {
  const s = p.stride;
  const bsz = x.shape[0]!;
  const ah = Math.floor((p.kh - 1) / s);
  const aw = Math.floor((p.kw - 1) / s);
  const hh = p.ho + ah;
  const wh = p.wo + aw;
  const rows = bsz * hh * wh;
  const maxOff = ah * wh + aw;
  let xw = window4d(x, 1, -p.padTop, -p.padTop + s * hh);
  xw = window4d(xw, 2, -p.padLeft, -p.padLeft + s * wh);
  let xT: Tensor;
  if (s === 1) {
    xT = tf.transpose(tf.reshape(xw, [rows, p.cin]));
  } else {
    // [B·Hh, ri, Wh·s·Cin] -> [ri, B·Hh, Wh, (rj, c)] -> [ri, (rj, c), B·Hh·Wh]: rows (ri, rj, c).
    const t1 = tf.transpose(tf.reshape(xw, [bsz * hh, s, wh * s * p.cin]), [1, 0, 2]);
    const t2 = tf.transpose(tf.reshape(t1, [s, rows, s * p.cin]), [0, 2, 1]);
    xT = tf.reshape(t2, [s * s * p.cin, rows]);
  }
  const dyw = tf.pad(dy, [
    [0, 0],
    [0, ah],
    [0, aw],
    [0, 0],
  ]);
  const d = tf.pad(tf.reshape(dyw, [rows, p.cout]), [
    [maxOff, 0],
    [0, 0],
  ]);
  const parts: Tensor[] = [];
  for (let a = 0; a <= ah; a++) {
    for (let b = 0; b <= aw; b++) {
      const off = a * wh + b;
      const shifted = tf.pad(xT, [
        [0, 0],
        [maxOff - off, off],
      ]);
      parts.push(tf.matMul(shifted, d)); // [s²·Cin, Cout], rows (ri, rj, c)
      shifted.dispose(); // one shifted copy alive at a time: 9 of them at once can exhaust the wasm heap
    }
  }
  const all = tf.reshape(parts.length === 1 ? parts[0]! : tf.concat(parts, 0), [parts.length * s * s, p.cin, p.cout]);
  const df = tf.reshape(tf.gather(all, tf.tensor1d(p.filterIdx, 'int32'), 0), [p.kh, p.kw, p.cin, p.cout]);
  const db = tf.reshape(tf.matMul(tf.ones([1, rows + maxOff]), d), [p.cout]);
  return [df, db];
}

function makeConvOp(stride: number, pad: 'same' | 'valid') {
  return customOp(([x, f, b], save) => {
    save([x!, f!]);
    const value = tf.fused.conv2d({ x: x! as tf.Tensor4D, filter: f! as tf.Tensor4D, strides: stride, pad, bias: b! });
    return {
      value,
      gradFunc: (dy, [x, f]) => {
        const plan = convPlan(x!.shape, f!.shape, stride, pad);
        const dx = convInputGrad(dy, f!, plan);
        const [df, db] = convFilterGrad(x!, dy, plan);
        return [dx, df, db];
      },
    };
  });
}

const convOps = new Map<string, (...inputs: Tensor[]) => Tensor>();

/**
 * 2-D convolution with bias, NHWC: x [B, H, W, Cin], f [kh, kw, Cin, Cout], b [Cout]
 * -> [B, Ho, Wo, Cout], with Ho = ceil(H / stride) for 'same' and floor((H - kh) / stride) + 1 for
 * 'valid' (TensorFlow's padding rule: the odd extra pad row goes at the bottom/right).
 *
 * The gradient avoids Conv2DBackpropFilter (missing on wasm) and Conv2DBackpropInput (slow on wasm);
 * see convInputGrad and convFilterGrad. Any stride >= 1 works; 1 and 2 are tested.
 */
export function conv2d(x: Tensor, f: Tensor, b: Tensor, stride = 1, pad: 'same' | 'valid' = 'same'): Tensor {
  checkShape(
    x.rank === 4 && f.rank === 4 && x.shape[3] === f.shape[2],
    () => `conv2d: x [B, H, W, ${f.shape[2]}] expected for filter [${f.shape}]. Got x [${x.shape}]`,
  );
  checkShape(b.rank === 1 && b.shape[0] === f.shape[3], () => `conv2d: bias must have shape [${f.shape[3]}]. Got [${b.shape}]`);
  if (builtinGradientsOn()) return tf.add(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, stride, pad), b);
  const key = `${stride}|${pad}`;
  let op = convOps.get(key);
  if (!op) {
    op = makeConvOp(stride, pad);
    convOps.set(key, op);
  }
  return op(x, f, b);
}
