/**
 * Geometry of conv2d's backward pass (conv.ts), from shapes only and cached: which taps of the filter
 * each phase of the input gradient uses, and how the filter gradient's blocks map back to taps.
 */
import { tf, type Tensor } from '../../tf';

/** Takes rows [start, end) of `axis` (1 or 2) of a 4-D tensor, zero-padding where out of range. */
export function window4d(t: Tensor, axis: 1 | 2, start: number, end: number): Tensor {
  const size = t.shape[axis]!;
  const lo = Math.max(0, start);
  const hi = Math.min(size, end);
  let out = t;
  if (lo > 0 || hi < size) {
    const begin = [0, 0, 0, 0];
    const sz = [-1, -1, -1, -1];
    begin[axis] = lo;
    sz[axis] = Math.max(0, hi - lo);
    out = tf.slice(out, begin, sz);
  }
  const before = Math.max(0, -start);
  const after = Math.max(0, end - Math.max(size, start));
  if (before > 0 || after > 0) {
    const pads: Array<[number, number]> = [
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ];
    pads[axis] = [before, after];
    out = tf.pad(out, pads);
  }
  return out;
}

/**
 * Geometry of the input gradient along one spatial axis, as a stride-1 convolution of dy followed
 * by depth-to-space.
 *
 * Forward: y[o] = Σ_i x[s·o + i - p] f[i]. Writing an input index as s·q + r (phase r < s),
 * dx[s·q + r] = Σ_d dy[q + d] f[r + p - s·d] over the d with 0 <= r + p - s·d < k.
 * So one conv over dy with a kernel of size dmax - dmin + 1 whose output channels hold the s
 * phases yields every phase at once; depth-to-space interleaves them.
 */
export interface PhasePlan {
  /** Offsets of dy relative to q covered by the combined kernel: d = kd + dmin. */
  dmin: number;
  size: number;
  /** tap[kd][r]: index i into the forward filter, or -1 where no tap contributes. */
  tap: number[][];
  /** Number of q positions (ceil(inSize / s)). */
  q: number;
}

export function phasePlan(k: number, s: number, pad: number, inSize: number): PhasePlan {
  let dmin = Infinity;
  let dmax = -Infinity;
  for (let r = 0; r < s; r++) {
    for (let i = 0; i < k; i++) {
      const num = r + pad - i;
      if (num % s === 0) {
        const d = num / s;
        dmin = Math.min(dmin, d);
        dmax = Math.max(dmax, d);
      }
    }
  }
  if (!Number.isFinite(dmin)) {
    dmin = 0;
    dmax = 0;
  }
  const size = dmax - dmin + 1;
  const tap: number[][] = [];
  for (let kd = 0; kd < size; kd++) {
    const row: number[] = [];
    for (let r = 0; r < s; r++) {
      const i = r + pad - s * (kd + dmin);
      row.push(i >= 0 && i < k ? i : -1);
    }
    tap.push(row);
  }
  return { dmin, size, tap, q: Math.ceil(inSize / s) };
}

/** Everything the backward pass needs about one conv call; depends on shapes only, so cached. */
export interface ConvPlan {
  stride: number;
  kh: number;
  kw: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  ho: number;
  wo: number;
  padTop: number;
  padLeft: number;
  ph: PhasePlan;
  pw: PhasePlan;
  /** Gather indices into the zero-padded flattened filter, ordered (kdh, kdw, rh, rw). */
  gatherIdx: Int32Array;
  /** For each tap (i, j): its row in the filter-gradient blocks, ordered (offset a, b, phase). */
  filterIdx: Int32Array;
}

const planCache = new Map<string, ConvPlan>();

export function convPlan(xShape: number[], fShape: number[], stride: number, pad: 'same' | 'valid'): ConvPlan {
  const key = `${xShape}|${fShape}|${stride}|${pad}`;
  const cached = planCache.get(key);
  if (cached) return cached;
  const [, h, w, cin] = xShape as [number, number, number, number];
  const [kh, kw, , cout] = fShape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    fShape as [number, number, number, number],
    stride,
    1,
    pad,
  );
  const ph = phasePlan(kh, stride, info.padInfo.top, h);
  const pw = phasePlan(kw, stride, info.padInfo.left, w);
  const zero = kh * (kw + 1) + kw; // a row or column index past the filter lands in the zero pad
  const idx = new Int32Array(ph.size * pw.size * stride * stride);
  let n = 0;
  for (let a = 0; a < ph.size; a++) {
    for (let b = 0; b < pw.size; b++) {
      for (let rh = 0; rh < stride; rh++) {
        for (let rw = 0; rw < stride; rw++) {
          const i = ph.tap[a]![rh]!;
          const j = pw.tap[b]![rw]!;
          idx[n++] = i < 0 || j < 0 ? zero : i * (kw + 1) + j;
        }
      }
    }
  }
  const sAw = Math.floor((kw - 1) / stride) + 1; // offsets per row in convFilterGrad's loop
  const filterIdx = new Int32Array(kh * kw);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const group = Math.floor(i / stride) * sAw + Math.floor(j / stride);
      filterIdx[i * kw + j] = group * stride * stride + (i % stride) * stride + (j % stride);
    }
  }
  const plan: ConvPlan = {
    stride,
    kh,
    kw,
    cin,
    cout,
    h,
    w,
    ho: info.outHeight,
    wo: info.outWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    ph,
    pw,
    gatherIdx: idx,
    filterIdx,
  };
  if (planCache.size > 256) planCache.clear();
  planCache.set(key, plan);
  return plan;
}
