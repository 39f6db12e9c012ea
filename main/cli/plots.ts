/**
 * Files the CLI writes for 2D samples, the same kinds the app exports: a scatter plot PNG and
 * trajectories as CSV.
 */
import { encodePng } from '../data';

/** Options of `scatterPng`. */
export interface ScatterOptions {
  /** Side of the square image in pixels (default 512). */
  size?: number;
  /** Half-width of the square shown, centred on 0 (default: the largest |coordinate| times 1.1, at least 1). */
  extent?: number;
}

/**
 * An 8-bit grey PNG of 2D points: white background, each point a 3 x 3 dark dot, darker where
 * points overlap (each dot subtracts 0.6 of the white), a light grey cross through the origin.
 * y grows upwards. Points outside the square are left out.
 * @throws RangeError for points that are not [x, y] pairs of finite numbers.
 */
export function scatterPng(points: readonly (readonly number[])[], opts: ScatterOptions = {}): Uint8Array {
  const size = opts.size ?? 512;
  let max = 1;
  points.forEach((p, i) => {
    if (p.length !== 2 || !Number.isFinite(p[0]) || !Number.isFinite(p[1]))
      throw new RangeError(`point ${i} is not a pair of finite numbers: [${p.join(', ')}]`);
    max = Math.max(max, Math.abs(p[0]!), Math.abs(p[1]!));
  });
  const extent = opts.extent ?? max * 1.1;
  const px = new Float32Array(size * size).fill(1);
  const mid = Math.floor(size / 2);
  for (let k = 0; k < size; k++) {
    px[mid * size + k] = 0.85;
    px[k * size + mid] = 0.85;
  }
  const toPixel = (v: number): number => Math.floor(((v + extent) / (2 * extent)) * size);
  for (const [x, y] of points) {
    const cx = toPixel(x!);
    const cy = size - 1 - toPixel(y!);
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const u = cx + dx;
        const v = cy + dy;
        if (u >= 0 && u < size && v >= 0 && v < size) px[v * size + u] = Math.max(0, px[v * size + u]! - 0.6);
      }
  }
  // encodePng takes floats in [-1, 1]: 1 is white.
  return encodePng(
    px.map((v) => 2 * v - 1),
    size,
    size,
    1,
  );
}

/**
 * Trajectories as CSV: a header `step,t,sample,x0,x1,...` and one row per (grid time, sample).
 * @param states x at each time, [n][d] each.
 */
export function trajectoriesCsv(times: readonly number[], states: readonly (readonly (readonly number[])[])[]): string {
  const d = states[0]?.[0]?.length ?? 0;
  const header = ['step', 't', 'sample', ...Array.from({ length: d }, (_, j) => `x${j}`)].join(',');
  const rows: string[] = [header];
  states.forEach((s, k) => s.forEach((p, i) => rows.push(`${k},${times[k]},${i},${p.join(',')}`)));
  return `${rows.join('\n')}\n`;
}
