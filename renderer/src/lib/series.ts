/**
 * Chart series for the live view: an append-only buffer per metric that stays bounded, exponential
 * smoothing, and decimation to a few hundred points before anything reaches chart.js, so a run of a
 * million steps draws as fast as one of a hundred.
 */

export interface XY {
  x: number;
  y: number;
}

/**
 * Min/max decimation: splits the series into `buckets` equal runs of points and keeps the first,
 * the lowest and the highest point of each (in step order) plus the last point of the series, so
 * spikes survive, unlike plain striding. Non-finite values are dropped. Returns at most 3 * buckets + 1 points.
 */
export function decimate(xs: ArrayLike<number>, ys: ArrayLike<number | null>, maxPoints: number): XY[] {
  const pts: XY[] = [];
  const n = Math.min(xs.length, ys.length);
  for (let i = 0; i < n; i++) {
    const y = ys[i];
    if (y !== null && y !== undefined && Number.isFinite(y)) pts.push({ x: xs[i]!, y });
  }
  if (pts.length <= maxPoints) return pts;
  const buckets = Math.max(1, Math.floor((maxPoints - 1) / 3));
  const size = pts.length / buckets;
  const out: XY[] = [];
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor(b * size);
    const hi = Math.min(pts.length, Math.floor((b + 1) * size));
    if (hi <= lo) continue;
    let iMin = lo;
    let iMax = lo;
    for (let i = lo + 1; i < hi; i++) {
      if (pts[i]!.y < pts[iMin]!.y) iMin = i;
      if (pts[i]!.y > pts[iMax]!.y) iMax = i;
    }
    const keep = [...new Set([lo, iMin, iMax])].sort((a, b2) => a - b2);
    for (const i of keep) out.push(pts[i]!);
  }
  const last = pts[pts.length - 1]!;
  if (out[out.length - 1] !== last) out.push(last);
  return out;
}

/**
 * Exponential moving average with bias correction (as TensorBoard's smoothing): s_k = w s_{k-1} +
 * (1 - w) y_k, divided by 1 - w^k so the curve starts at the first value. Nulls stay null and are skipped.
 */
export function smooth(ys: ArrayLike<number | null>, weight: number): (number | null)[] {
  const out: (number | null)[] = [];
  let acc = 0;
  let k = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (y === null || y === undefined || !Number.isFinite(y)) {
      out.push(null);
      continue;
    }
    acc = weight * acc + (1 - weight) * y;
    k++;
    out.push(weight === 0 ? y : acc / (1 - weight ** k));
  }
  return out;
}

/** Points a log-scale axis can show (y > 0). */
export function positive(points: XY[]): XY[] {
  return points.filter((p) => p.y > 0);
}

/**
 * A metric's history, appended to from events. Steps only increase (a replayed or older step is
 * ignored, so the stored history and live events can overlap). When it holds more than `cap` points
 * it drops every other point of its older half: memory stays bounded, recent detail stays exact.
 */
export class MetricBuffer {
  steps: number[] = [];
  values: (number | null)[] = [];
  /** Bumped on every change: a cheap dirty flag for the chart loop. */
  version = 0;

  constructor(readonly cap = 20_000) {}

  get length(): number {
    return this.steps.length;
  }

  get lastStep(): number {
    return this.steps.length ? this.steps[this.steps.length - 1]! : -Infinity;
  }

  push(step: number, value: number | null): boolean {
    if (!(step > this.lastStep)) return false;
    this.steps.push(step);
    this.values.push(value);
    if (this.steps.length > this.cap) this.compact();
    this.version++;
    return true;
  }

  /** Replaces the history (from getMetrics), keeping newer points already received by events. */
  load(steps: readonly number[], values: readonly (number | null)[]): void {
    const first = steps.length ? steps[steps.length - 1]! : -Infinity;
    const keep = this.steps.findIndex((s) => s > first);
    const tailS = keep >= 0 ? this.steps.slice(keep) : [];
    const tailV = keep >= 0 ? this.values.slice(keep) : [];
    this.steps = [...steps, ...tailS];
    this.values = [...values, ...tailV];
    while (this.steps.length > this.cap) this.compact();
    this.version++;
  }

  /**
   * Merges points in step order (stored metrics between the steps live events reported); a step
   * already present takes the incoming value.
   */
  merge(steps: readonly number[], values: readonly (number | null)[]): void {
    if (steps.length === 0) return;
    if (steps[0]! > this.lastStep) {
      for (let i = 0; i < steps.length; i++) this.push(steps[i]!, values[i] ?? null);
      return;
    }
    const s: number[] = [];
    const v: (number | null)[] = [];
    let i = 0;
    let j = 0;
    while (i < this.steps.length || j < steps.length) {
      const a = i < this.steps.length ? this.steps[i]! : Infinity;
      const b = j < steps.length ? steps[j]! : Infinity;
      if (b <= a) {
        if (!(s.length && s[s.length - 1] === b)) {
          s.push(b);
          v.push(values[j] ?? null);
        }
        j++;
        if (a === b) i++;
      } else {
        if (!(s.length && s[s.length - 1] === a)) {
          s.push(a);
          v.push(this.values[i]!);
        }
        i++;
      }
    }
    this.steps = s;
    this.values = v;
    while (this.steps.length > this.cap) this.compact();
    this.version++;
  }

  clear(): void {
    this.steps = [];
    this.values = [];
    this.version++;
  }

  private compact(): void {
    const half = Math.floor(this.steps.length / 2);
    const s: number[] = [];
    const v: (number | null)[] = [];
    for (let i = 0; i < half; i += 2) {
      s.push(this.steps[i]!);
      v.push(this.values[i]!);
    }
    this.steps = s.concat(this.steps.slice(half));
    this.values = v.concat(this.values.slice(half));
  }
}

/**
 * Calls `fn` at most once per `intervalMs` (leading and trailing): many events in a burst give one
 * immediate call and one after the interval with the latest state. `now` and `schedule` are injectable for tests.
 */
export function throttle(
  fn: () => void,
  intervalMs: number,
  now: () => number = () => performance.now(),
  schedule: (cb: () => void, ms: number) => unknown = (cb, ms) => setTimeout(cb, ms),
): { (): void; cancel(): void } {
  let last = -Infinity;
  let pending = false;
  let cancelled = false;
  const run = () => {
    pending = false;
    if (cancelled) return;
    last = now();
    fn();
  };
  const t = () => {
    if (pending || cancelled) return;
    const wait = last + intervalMs - now();
    if (wait <= 0) run();
    else {
      pending = true;
      schedule(run, wait);
    }
  };
  t.cancel = () => {
    cancelled = true;
  };
  return t;
}

/** A buffer as the chart draws it: decimated raw values, and the smoothed curve (also decimated). */
export function chartSeries(
  buf: { steps: readonly number[]; values: readonly (number | null)[] },
  smoothing: number,
  maxPoints: number,
): { raw: XY[]; smoothed: XY[] } {
  const raw = decimate(buf.steps, buf.values, maxPoints);
  const smoothed = smoothing > 0 ? decimate(buf.steps, smooth(buf.values, smoothing), maxPoints) : [];
  return { raw, smoothed };
}
