import { describe, it, expect } from 'vitest';
import { solveAssignment } from '../../../core/coupling/assignment';
import { DataError, ShapeError } from '../../../core/errors';
import { Rng } from '../../../core/util/random';

/** Minimum over all injective maps rows -> cols by enumeration, float64. */
function bruteForce(c: Float64Array, n: number, m: number): number {
  let best = Infinity;
  const used = new Uint8Array(m);
  const rec = (i: number, acc: number): void => {
    if (i === n) {
      if (acc < best) best = acc;
      return;
    }
    for (let j = 0; j < m; j++) {
      if (used[j]) continue;
      used[j] = 1;
      rec(i + 1, acc + c[i * m + j]!);
      used[j] = 0;
    }
  };
  rec(0, 0);
  return best;
}

function isInjective(a: Int32Array, m: number): boolean {
  const seen = new Uint8Array(m);
  for (const j of a) {
    if (j < 0 || j >= m || seen[j]) return false;
    seen[j] = 1;
  }
  return true;
}

function randomCost(rng: Rng, n: number, m: number, kind: number): Float64Array {
  const c = new Float64Array(n * m);
  for (let k = 0; k < c.length; k++) {
    // 0: continuous; 1: small integers (many ties); 2: mixed sign, wide range
    c[k] = kind === 0 ? rng.uniform() : kind === 1 ? rng.int(4) : (rng.uniform() - 0.5) * 10 ** rng.int(6);
  }
  return c;
}

describe('solveAssignment', () => {
  it('matches brute force on square problems n <= 7 (600 random trials)', () => {
    const rng = new Rng(1);
    for (let trial = 0; trial < 600; trial++) {
      const n = 1 + (trial % 7);
      const c = randomCost(rng, n, n, trial % 3);
      const r = solveAssignment(c, n);
      expect(isInjective(r.rowToCol, n)).toBe(true);
      let direct = 0;
      for (let i = 0; i < n; i++) direct += c[i * n + r.rowToCol[i]!]!;
      expect(r.cost).toBe(direct);
      const best = bruteForce(c, n, n);
      expect(Math.abs(r.cost - best)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(best)));
      for (let i = 0; i < n; i++) expect(r.colToRow[r.rowToCol[i]!]).toBe(i);
    }
  });

  it('matches brute force on rectangular problems (n < m)', () => {
    const rng = new Rng(2);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + (trial % 5);
      const m = n + 1 + (trial % 3);
      const c = randomCost(rng, n, m, trial % 3);
      const r = solveAssignment(c, n, m);
      expect(isInjective(r.rowToCol, m)).toBe(true);
      expect(r.colToRow.filter((x) => x < 0).length).toBe(m - n);
      const best = bruteForce(c, n, m);
      expect(Math.abs(r.cost - best)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(best)));
    }
  });

  it('accepts nested arrays and solves the textbook example', () => {
    const r = solveAssignment([
      [4, 1, 3],
      [2, 0, 5],
      [3, 2, 2],
    ]);
    expect(r.cost).toBe(5); // 1 + 2 + 2
    expect(Array.from(r.rowToCol)).toEqual([1, 0, 2]);
    expect(solveAssignment([]).cost).toBe(0);
  });

  it('rejects bad input with messages naming the entry', () => {
    expect(() => solveAssignment([1, NaN, 0, 1], 2)).toThrow(DataError);
    expect(() => solveAssignment([1, NaN, 0, 1], 2)).toThrow(/cost\[0\]\[1\]/);
    expect(() => solveAssignment([1, 2, 3], 2)).toThrow(ShapeError);
    expect(() => solveAssignment([[1, 2], [3]])).toThrow(/row 1/);
    expect(() => solveAssignment(new Float64Array(6), 3, 2)).toThrow(/transpose/);
  });

  it('is fast enough for minibatches: n = 256 and n = 1024 (2D squared distances)', () => {
    const times: Record<number, number> = {};
    for (const n of [256, 1024]) {
      const rng = new Rng(n);
      const a = Array.from({ length: 2 * n }, () => rng.normal());
      const b = Array.from({ length: 2 * n }, () => rng.normal() + 0.5);
      const c = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) c[i * n + j] = (a[2 * i]! - b[2 * j]!) ** 2 + (a[2 * i + 1]! - b[2 * j + 1]!) ** 2;
      }
      const t0 = performance.now();
      const r = solveAssignment(c, n);
      times[n] = performance.now() - t0;
      expect(isInjective(r.rowToCol, n)).toBe(true);
      // Never worse than the identity pairing.
      let id = 0;
      for (let i = 0; i < n; i++) id += c[i * n + i]!;
      expect(r.cost).toBeLessThanOrEqual(id);
    }
    console.log(`exact assignment: n=256 ${times[256]!.toFixed(0)} ms, n=1024 ${times[1024]!.toFixed(0)} ms`);
    expect(times[1024]!).toBeLessThan(10_000);
  });
});
