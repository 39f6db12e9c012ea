import { describe, it, expect } from 'vitest';
import { tf } from '../../../core/tf';
import { couple, coupleIndices } from '../../../core/coupling/couple';
import { squaredDistanceMatrix } from '../../../core/coupling/cost';
import { argmaxPlan, samplePlan, sinkhorn } from '../../../core/coupling/sinkhorn';
import { solveAssignment } from '../../../core/coupling/assignment';
import { ConfigError, DataError, ShapeError } from '../../../core/errors';
import { Rng } from '../../../core/util/random';

/** float64 squared distances from float32 points (the reference the tfjs cost approximates). */
function hostCost(a: Float32Array, b: Float32Array, n: number, d: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (a[i * d + k]! - b[j * d + k]!) ** 2;
      c[i * n + j] = s;
    }
  }
  return c;
}

function permutationsMin(c: Float64Array, n: number): number {
  let best = Infinity;
  const used = new Uint8Array(n);
  const rec = (i: number, acc: number): void => {
    if (i === n) {
      if (acc < best) best = acc;
      return;
    }
    for (let j = 0; j < n; j++) {
      if (!used[j]) {
        used[j] = 1;
        rec(i + 1, acc + c[i * n + j]!);
        used[j] = 0;
      }
    }
  };
  rec(0, 0);
  return best;
}

function isPermutation(p: Int32Array): boolean {
  const seen = new Uint8Array(p.length);
  for (const j of p) {
    if (j < 0 || j >= p.length || seen[j]) return false;
    seen[j] = 1;
  }
  return true;
}

/** Runs f on two fresh [n, d] tensors and disposes them (tidy cannot return plain objects). */
function withPair<T>(a: Float32Array, b: Float32Array, shape: [number, number], f: (x0: tf.Tensor, x1: tf.Tensor) => T): T {
  const x0 = tf.tensor2d(a, shape);
  const x1 = tf.tensor2d(b, shape);
  try {
    return f(x0, x1);
  } finally {
    tf.dispose([x0, x1]);
  }
}

function randomPoints(rng: Rng, n: number, d: number, shift = 0): Float32Array {
  const out = new Float32Array(n * d);
  for (let k = 0; k < out.length; k++) out[k] = rng.normal() + shift;
  return out;
}

describe('squaredDistanceMatrix', () => {
  it('matches float64 distances, also far from the origin (centring)', () => {
    const rng = new Rng(3);
    const n = 20;
    const d = 3;
    const a = randomPoints(rng, n, d, 1000);
    const b = randomPoints(rng, n, d, 1000);
    const C = withPair(a, b, [n, d], squaredDistanceMatrix);
    const ref = hostCost(a, b, n, d);
    for (let k = 0; k < n * n; k++) expect(Math.abs(C.data[k]! - ref[k]!)).toBeLessThan(2e-3);
  });

  it('flattens rows of any rank and rejects mismatched rows', () => {
    const x = tf.ones([3, 2, 2]);
    const y = tf.zeros([4, 4]);
    const C = squaredDistanceMatrix(x, y);
    expect([C.n, C.m]).toEqual([3, 4]);
    expect(Array.from(C.data)).toEqual(new Array(12).fill(4));
    const z = tf.zeros([3, 3]);
    expect(() => squaredDistanceMatrix(x, z)).toThrow(ShapeError);
    tf.dispose([x, y, z]);
  });
});

describe('couple: exact OT', () => {
  it('equals the brute-force optimum over all permutations (n <= 7, 300 trials)', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + (trial % 7);
      const d = 1 + (trial % 3);
      const a = randomPoints(rng, n, d);
      const b = randomPoints(rng, n, d, 0.5);
      const res = withPair(a, b, [n, d], (x0, x1) => coupleIndices('exact-ot', x0, x1));
      expect(isPermutation(res.i1)).toBe(true);
      expect(Array.from(res.i0)).toEqual(Array.from({ length: n }, (_, i) => i));
      const C = hostCost(a, b, n, d);
      let got = 0;
      for (let i = 0; i < n; i++) got += C[i * n + res.i1[i]!]!;
      const best = permutationsMin(C, n);
      // The solver is exact on the float32 cost matrix; float32 rounding of C bounds the gap.
      expect(got - best).toBeLessThanOrEqual(1e-5 * (1 + best));
      expect(Math.abs(res.cost - got / n)).toBeLessThan(1e-5 * (1 + got));
    }
  });

  it('never costs more than the independent pairing, and returns the reordered rows', () => {
    const rng = new Rng(12);
    for (let trial = 0; trial < 10; trial++) {
      const n = 64;
      const x0 = tf.tensor4d(randomPoints(rng, n * 12, 1), [n, 2, 3, 2]);
      const x1 = tf.tensor4d(randomPoints(rng, n * 12, 1, 1), [n, 2, 3, 2]);
      const before = tf.memory().numTensors;
      const ot = couple('exact-ot', x0, x1);
      const ind = couple('independent', x0, x1);
      const shuf = couple('independent', x0, x1, { shuffle: true, seed: trial });
      expect(ot.cost).toBeLessThanOrEqual(ind.cost * (1 + 1e-6));
      expect(ot.cost).toBeLessThanOrEqual(shuf.cost * (1 + 1e-6));
      expect(isPermutation(shuf.i1)).toBe(true);
      expect(ot.x1.shape).toEqual([n, 2, 3, 2]);
      const want = tf.tidy(() => tf.gather(x1, tf.tensor1d(ot.i1, 'int32')));
      expect(Array.from(ot.x1.dataSync())).toEqual(Array.from(want.dataSync()));
      expect(Array.from(ot.x0.dataSync())).toEqual(Array.from(x0.dataSync()));
      // independent cost computed on the backend equals the host mean of the identity pairs
      const C = hostCost(x0.dataSync() as Float32Array, x1.dataSync() as Float32Array, n, 12);
      let id = 0;
      for (let i = 0; i < n; i++) id += C[i * n + i]!;
      expect(Math.abs(ind.cost - id / n)).toBeLessThan(1e-4 * (id / n));
      tf.dispose([ot.x0, ot.x1, ind.x0, ind.x1, shuf.x0, shuf.x1, want]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x0, x1]);
    }
  });

  it('times n = 256 and n = 1024 (cost matrix + assignment)', () => {
    const rng = new Rng(13);
    const times: string[] = [];
    for (const n of [256, 1024]) {
      const x0 = tf.tensor2d(randomPoints(rng, n, 2), [n, 2]);
      const x1 = tf.tensor2d(randomPoints(rng, n, 2, 1), [n, 2]);
      const t0 = performance.now();
      const r = coupleIndices('exact-ot', x0, x1);
      times.push(`n=${n} ${(performance.now() - t0).toFixed(0)} ms`);
      expect(isPermutation(r.i1)).toBe(true);
      tf.dispose([x0, x1]);
    }
    console.log(`couple('exact-ot') 2D: ${times.join(', ')}`);
  });
});

describe('sinkhorn', () => {
  it('plan marginals match within tol (uniform and custom weights)', () => {
    const rng = new Rng(21);
    for (const [n, m] of [
      [5, 5],
      [7, 4],
      [30, 40],
    ] as const) {
      const c = new Float64Array(n * m).map(() => 4 * rng.uniform());
      const a = Array.from({ length: n }, () => 0.5 + rng.uniform());
      for (const weights of [undefined, a]) {
        const res = sinkhorn(c, n, m, { reg: 0.1, tol: 1e-9, maxIter: 100_000, ...(weights ? { a: weights } : {}) });
        expect(res.converged).toBe(true);
        const sa = weights ? weights.reduce((s, w) => s + w, 0) : n;
        let errRow = 0;
        let errCol = 0;
        for (let i = 0; i < n; i++) {
          let r = 0;
          for (let j = 0; j < m; j++) r += res.plan[i * m + j]!;
          errRow += Math.abs(r - (weights ? weights[i]! / sa : 1 / n));
        }
        for (let j = 0; j < m; j++) {
          let s = 0;
          for (let i = 0; i < n; i++) s += res.plan[i * m + j]!;
          errCol += Math.abs(s - 1 / m);
        }
        expect(errRow).toBeLessThan(1e-9);
        expect(errCol).toBeLessThan(1e-9);
        expect(res.marginalError).toBeLessThan(1e-9);
        // plan form P = exp((f + g - C) / eps)
        expect(res.plan[m + 1]).toBeCloseTo(Math.exp((res.f[1]! + res.g[1]! - c[m + 1]!) / 0.1), 12);
      }
    }
  });

  it('approaches the exact OT cost as reg -> 0 (and never goes below it)', () => {
    const rng = new Rng(22);
    for (let trial = 0; trial < 5; trial++) {
      const n = 6;
      const c = new Float64Array(n * n).map(() => rng.uniform());
      const exact = solveAssignment(c, n).cost / n; // uniform weights 1/n
      let prevGap = Infinity;
      for (const reg of [1, 0.1, 0.01, 0.001]) {
        // Near-degenerate problems (two permutations of almost equal cost) converge very slowly at
        // intermediate reg, so allow a marginal error of 1e-6 and matching slack in the comparisons.
        const res = sinkhorn(c, n, n, { reg, tol: 1e-8, maxIter: 100_000 });
        expect(res.marginalError).toBeLessThan(1e-6);
        const gap = res.transportCost - exact;
        expect(gap).toBeGreaterThan(-1e-6);
        expect(gap).toBeLessThanOrEqual(prevGap + 1e-6);
        prevGap = gap;
      }
      expect(prevGap).toBeLessThan(1e-3 * Math.max(exact, 0.1));
    }
  });

  it('annealing (epsScaling) reaches the same plan; any maxIter returns a plan for the requested reg', () => {
    const rng = new Rng(23);
    const n = 12;
    const c = new Float64Array(n * n).map(() => 5 * rng.uniform());
    const a = sinkhorn(c, n, n, { reg: 0.5, tol: 1e-12, maxIter: 100_000 });
    const b = sinkhorn(c, n, n, { reg: 0.5, tol: 1e-12, maxIter: 100_000, epsScaling: false });
    const q = sinkhorn(c, n, n, { reg: 0.5, tol: 1e-12, maxIter: 100_000, epsScaling: 0.9 });
    for (let k = 0; k < n * n; k++) {
      expect(Math.abs(a.plan[k]! - b.plan[k]!)).toBeLessThan(1e-10);
      expect(Math.abs(a.plan[k]! - q.plan[k]!)).toBeLessThan(1e-10);
    }
    for (const maxIter of [1, 2, 5, 20, 60, 300]) {
      const r = sinkhorn(c, n, n, { reg: 0.01, maxIter });
      expect(r.iterations).toBeLessThanOrEqual(maxIter);
      // the run always ends on an exact column update at reg itself, so the mass is exactly 1
      expect(r.plan.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 9);
      expect(r.marginalError).toBeLessThan(2);
    }
    expect(() => sinkhorn(c, n, n, { reg: 1, epsScaling: 1 })).toThrow(/sinkhorn\.epsScaling/);
  });

  it('works with tiny reg relative to the costs (log domain: no underflow)', () => {
    const n = 4;
    const c = new Float64Array(n * n).map((_, k) => 1000 + (k % 5) * 10);
    const res = sinkhorn(c, n, n, { reg: 1e-3, tol: 1e-8, maxIter: 10_000 });
    expect(res.plan.every((p) => Number.isFinite(p))).toBe(true);
    expect(res.marginalError).toBeLessThan(1e-8);
  });

  it('sampling from the plan follows its probabilities; argmax picks row maxima', () => {
    const plan = new Float64Array([0.1, 0.2, 0.0, 0.3, 0.0, 0.4]);
    const rng = new Rng(5);
    const N = 20_000;
    const { i0, i1 } = samplePlan(plan, 2, 3, N, rng);
    const counts = new Float64Array(6);
    for (let k = 0; k < N; k++) counts[i0[k]! * 3 + i1[k]!]! += 1;
    for (let k = 0; k < 6; k++) expect(Math.abs(counts[k]! / N - plan[k]!)).toBeLessThan(0.015);
    expect(counts[2]).toBe(0);
    expect(counts[4]).toBe(0);
    const am = argmaxPlan(plan, 2, 3);
    expect(Array.from(am.i1)).toEqual([1, 2]);
  });

  it('validates its options', () => {
    const c = new Float64Array(4);
    expect(() => sinkhorn(c, 2, 2, { reg: 0 })).toThrow(ConfigError);
    expect(() => sinkhorn(c, 2, 2, { reg: 0 })).toThrow(/sinkhorn\.reg/);
    expect(() => sinkhorn(c, 2, 2, { reg: 1, a: [1, -1] })).toThrow(/sinkhorn\.a\[1\]/);
    expect(() => sinkhorn([0, 1, NaN, 0], 2, 2, { reg: 1 })).toThrow(/cost\[1\]\[0\]/);
    expect(() => sinkhorn(c, 2, 3, { reg: 1 })).toThrow(ShapeError);
  });
});

describe('couple: sinkhorn', () => {
  it('is deterministic in the seed, and with small reg and argmax recovers the exact OT pairing', () => {
    const rng = new Rng(31);
    const n = 16;
    const x0 = tf.tensor2d(randomPoints(rng, n, 2), [n, 2]);
    const x1 = tf.tensor2d(randomPoints(rng, n, 2, 2), [n, 2]);
    const before = tf.memory().numTensors;
    const opts = { reg: 0.05, maxIter: 100_000 };
    const s1 = coupleIndices('sinkhorn', x0, x1, { ...opts, seed: 7 });
    const s2 = coupleIndices('sinkhorn', x0, x1, { ...opts, seed: 7 });
    const s3 = coupleIndices('sinkhorn', x0, x1, { ...opts, seed: 8 });
    expect(Array.from(s1.i1)).toEqual(Array.from(s2.i1));
    expect(Array.from(s1.i0)).toEqual(Array.from(s2.i0));
    expect(Array.from(s1.i0).join() + Array.from(s1.i1).join()).not.toEqual(Array.from(s3.i0).join() + Array.from(s3.i1).join());
    expect(s1.converged).toBe(true);
    const exact = coupleIndices('exact-ot', x0, x1);
    const am = coupleIndices('sinkhorn', x0, x1, { reg: 1e-3, pairing: 'argmax', maxIter: 50_000, tol: 1e-7 });
    expect(Array.from(am.i1)).toEqual(Array.from(exact.i1));
    expect(am.cost).toBeCloseTo(exact.cost, 5);
    const b = couple('sinkhorn', x0, x1, { ...opts, rng: new Rng(7) });
    expect(Array.from(b.i1)).toEqual(Array.from(s1.i1));
    tf.dispose([b.x0, b.x1]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x0, x1]);
  });
});

describe('couple: class-respecting', () => {
  it('never pairs different labels, for every kind; exact OT is optimal within each class', () => {
    const rng = new Rng(41);
    for (let trial = 0; trial < 20; trial++) {
      const n = 24;
      const d = 2;
      const labels1 = Int32Array.from({ length: n }, () => rng.int(3));
      const perm = rng.permutation(n);
      const labels0 = Int32Array.from(perm, (p) => labels1[p]!);
      const a = randomPoints(rng, n, d);
      const b = randomPoints(rng, n, d, 1);
      const x0 = tf.tensor2d(a, [n, d]);
      const x1 = tf.tensor2d(b, [n, d]);
      for (const kind of ['independent', 'exact-ot', 'sinkhorn'] as const) {
        const r = coupleIndices(kind, x0, x1, {
          labels0,
          labels1: tf.tidy(() => tf.tensor1d(labels1, 'int32')),
          reg: 0.1,
          seed: trial,
          shuffle: true,
        });
        for (let k = 0; k < n; k++) {
          expect(labels0[r.i0[k]!]).toBe(labels1[r.i1[k]!]);
          expect(r.labels![k]).toBe(labels0[k]);
        }
        if (kind !== 'sinkhorn') {
          expect(Array.from(r.i0)).toEqual(Array.from({ length: n }, (_, i) => i));
          expect(isPermutation(r.i1)).toBe(true);
        }
        if (kind === 'exact-ot') {
          // Within each class the cost equals the brute force (or assignment) optimum of that class.
          const C = hostCost(a, b, n, d);
          for (let c = 0; c < 3; c++) {
            const rows0 = [...labels0.keys()].filter((i) => labels0[i] === c);
            const rows1 = [...labels1.keys()].filter((j) => labels1[j] === c);
            const sub = new Float64Array(rows0.length * rows1.length);
            rows0.forEach((i, p) => rows1.forEach((j, q) => (sub[p * rows1.length + q] = C[i * n + j]!)));
            const best = rows0.length === 0 ? 0 : solveAssignment(sub, rows0.length).cost;
            const got = rows0.reduce((s, i) => s + C[i * n + r.i1[i]!]!, 0);
            expect(got - best).toBeLessThanOrEqual(1e-5 * (1 + best));
          }
        }
      }
      tf.dispose([x0, x1]);
    }
    // the label tensors created inside tidy were disposed; nothing else should remain
  });

  it('explains unequal class counts', () => {
    const x0 = tf.zeros([4, 2]);
    const x1 = tf.ones([4, 2]);
    const call = () => coupleIndices('exact-ot', x0, x1, { labels0: [0, 0, 1, 1], labels1: [0, 1, 1, 1] });
    expect(call).toThrow(DataError);
    expect(call).toThrow(/class 0 has 2 rows in x0 but 1 in x1/);
    expect(() => coupleIndices('exact-ot', x0, x1, { labels0: [0, 0, 1, 1] })).toThrow(/labels1/);
    expect(() => coupleIndices('exact-ot', x0, x1, { labels0: [0, 0, 1, 1.5], labels1: [0, 0, 1, 1] })).toThrow(/labels0\[3\]/);
    tf.dispose([x0, x1]);
  });
});

describe('couple: errors and leaks', () => {
  it('rejects bad kinds, shapes and missing options', () => {
    const x0 = tf.zeros([4, 2]);
    const x1 = tf.ones([5, 2]);
    const x2 = tf.ones([4, 3]);
    expect(() => coupleIndices('exact-ot', x0, x1)).toThrow(ShapeError);
    expect(() => coupleIndices('exact-ot', x0, x2)).toThrow(ShapeError);
    expect(() => coupleIndices('sinkhorn', x0, x0)).toThrow(/coupling\.reg/);
    expect(() => coupleIndices('sinkhorn', x0, x0, { reg: 1 })).toThrow(/coupling\.seed/);
    expect(() => coupleIndices('independent', x0, x0, { shuffle: true })).toThrow(/coupling\.seed/);
    expect(() => coupleIndices('nope' as 'exact-ot', x0, x0)).toThrow(/coupling\.kind/);
    tf.dispose([x0, x1, x2]);
  });

  it('leaves no tensors behind', () => {
    const x0 = tf.randomNormal([32, 3]);
    const x1 = tf.randomNormal([32, 3]);
    const before = tf.memory().numTensors;
    for (const kind of ['independent', 'exact-ot', 'sinkhorn'] as const) {
      coupleIndices(kind, x0, x1, { reg: 0.5, seed: 1 });
      const r = couple(kind, x0, x1, { reg: 0.5, seed: 1 });
      tf.dispose([r.x0, r.x1]);
    }
    coupleIndices('exact-ot', x0, x1, { labels0: new Array(32).fill(0), labels1: new Array(32).fill(0) });
    expect(tf.memory().numTensors).toBe(before);
    const empty = tf.zeros([0, 3]);
    expect(coupleIndices('exact-ot', empty, empty).cost).toBe(0);
    tf.dispose([x0, x1, empty]);
  });
});
