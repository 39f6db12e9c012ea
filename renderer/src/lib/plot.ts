/**
 * Geometry of the 2D plots (samples, trajectories, vector fields, the drawing canvas): plot windows,
 * the world <-> pixel map, particle positions at a time t, arrow lengths and an error colour ramp.
 */

export type Bounds = [xmin: number, xmax: number, ymin: number, ymax: number];

/** A square window around the points with a relative margin; a default window when there are none. */
export function boundsOf(points: readonly (readonly number[])[], margin = 0.08, fallback: Bounds = [-4, 4, -4, 4]): Bounds {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const p of points) {
    const x = p[0]!;
    const y = p[1]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  if (!(x1 >= x0)) return fallback;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const half = (Math.max(x1 - x0, y1 - y0, 1e-6) / 2) * (1 + 2 * margin);
  return [cx - half, cx + half, cy - half, cy + half];
}

/** Union of several windows. */
export function unionBounds(...bs: Bounds[]): Bounds {
  return [
    Math.min(...bs.map((b) => b[0])),
    Math.max(...bs.map((b) => b[1])),
    Math.min(...bs.map((b) => b[2])),
    Math.max(...bs.map((b) => b[3])),
  ];
}

export interface Transform {
  toPx(x: number, y: number): [number, number];
  toWorld(px: number, py: number): [number, number];
  /** Pixels per world unit along x. */
  scale: number;
}

/** Maps the window onto a width x height canvas, y up, keeping the aspect ratio (centred). */
export function transform(b: Bounds, width: number, height: number, pad = 8): Transform {
  const w = width - 2 * pad;
  const h = height - 2 * pad;
  const scale = Math.min(w / (b[1] - b[0]), h / (b[3] - b[2]));
  const ox = pad + (w - scale * (b[1] - b[0])) / 2;
  const oy = pad + (h - scale * (b[3] - b[2])) / 2;
  return {
    scale,
    toPx: (x, y) => [ox + (x - b[0]) * scale, oy + (b[3] - y) * scale],
    toWorld: (px, py) => [b[0] + (px - ox) / scale, b[3] - (py - oy) / scale],
  };
}

/**
 * Particle positions at time t along paths sampled at `times` (increasing), linearly interpolated
 * between the two surrounding times; clamped to the ends.
 */
export function positionsAt(times: readonly number[], paths: readonly (readonly (readonly number[])[])[], t: number): number[][] {
  const k = times.length;
  if (k === 0) return [];
  let j = 0;
  while (j < k - 2 && times[j + 1]! < t) j++;
  const ta = times[j]!;
  const tb = times[Math.min(j + 1, k - 1)]!;
  const u = tb > ta ? Math.min(1, Math.max(0, (t - ta) / (tb - ta))) : 0;
  return paths.map((p) => {
    const a = p[j]!;
    const b = p[Math.min(j + 1, k - 1)]!;
    return [a[0]! + u * (b[0]! - a[0]!), a[1]! + u * (b[1]! - a[1]!)];
  });
}

/**
 * Factor that turns velocities into arrows no longer than `maxLen` world units: the 95th percentile
 * norm maps to maxLen, so one huge vector does not shrink all others to dots.
 */
export function arrowScale(vectors: readonly (readonly number[])[], maxLen: number): number {
  const norms = vectors
    .map((v) => Math.hypot(v[0]!, v[1]!))
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  if (norms.length === 0) return 0;
  const ref = norms[Math.min(norms.length - 1, Math.floor(0.95 * (norms.length - 1)))]!;
  return ref > 0 ? maxLen / ref : 0;
}

/** Error colour ramp: 0 -> transparent-ish blue, vmax -> red; returns an rgba() string. */
export function heat(v: number, vmax: number): string {
  const u = vmax > 0 ? Math.min(1, Math.max(0, v / vmax)) : 0;
  const r = Math.round(40 + 215 * u);
  const g = Math.round(90 + 60 * (1 - Math.abs(2 * u - 1)));
  const b = Math.round(220 * (1 - u) + 30);
  return `rgba(${r}, ${g}, ${b}, ${0.25 + 0.65 * u})`;
}

/** Index of the point nearest to (x, y) within `radius`, or -1. */
export function nearest(points: readonly (readonly number[])[], x: number, y: number, radius: number): number {
  let best = -1;
  let bd = radius;
  points.forEach((p, i) => {
    const d = Math.hypot(p[0]! - x, p[1]! - y);
    if (d <= bd) {
      bd = d;
      best = i;
    }
  });
  return best;
}
