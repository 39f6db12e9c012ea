import { describe, it, expect } from 'vitest';
import { tf, type Tensor } from '../../../core/tf';
import { odeSolve, uniformGrid, checkTimeGrid } from '../../../core/solver/ode';
import type { FixedStepMethod, OdeFunction, OdeMethod } from '../../../core/solver/types';
import { CancelledError, ConfigError, ShapeError, SolverError } from '../../../core/errors';
import { rotation, riccati, maxAbsErr, logLogSlope } from './problems';

const X0 = [
  [1, 0],
  [0.3, -0.8],
  [-0.5, 0.6],
];
const Y0 = [0.5, 0.8, 1.0, 1.2];
const STAGES: Record<FixedStepMethod, number> = { euler: 1, midpoint: 2, heun: 2, rk4: 4 };
const ALL: OdeMethod[] = ['euler', 'midpoint', 'heun', 'rk4', 'dopri5'];

/** Solves and returns the max error against `ref`, freeing everything. */
function errorOf(f: OdeFunction, init: () => Tensor, ref: number[] | number[][], method: OdeMethod, grid: number[], tol?: number) {
  const y0 = init();
  const r = odeSolve(f, [y0], { method, timeGrid: grid, rtol: tol, atol: tol });
  const err = maxAbsErr(r.state[0]!, ref);
  tf.dispose([y0, ...r.state]);
  return { err, nfe: r.nfe, steps: r.steps, rejected: r.rejected };
}

describe('uniformGrid / checkTimeGrid', () => {
  it('gives steps + 1 points ending exactly on t1, both directions', () => {
    expect(uniformGrid(0, 1, 4)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const back = uniformGrid(1, 0, 3);
    expect(back.length).toBe(4);
    expect(back[0]).toBe(1);
    expect(back[3]).toBe(0);
    const g = uniformGrid(0, 1, 7);
    expect(g[7]).toBe(1);
    expect(checkTimeGrid(g)).toBe(1);
    expect(checkTimeGrid(back)).toBe(-1);
  });

  it('rejects bad step counts and end points, naming the field', () => {
    for (const steps of [0, -1, 2.5, NaN]) {
      expect(() => uniformGrid(0, 1, steps)).toThrow(ConfigError);
      try {
        uniformGrid(0, 1, steps);
      } catch (e) {
        expect((e as ConfigError).field).toBe('steps');
      }
    }
    expect(() => uniformGrid(0.5, 0.5, 3)).toThrow(/t1/);
    expect(() => uniformGrid(0, Infinity, 3)).toThrow(/t1/);
  });
});

describe('fixed-step order of accuracy', () => {
  // Step counts chosen so errors stay in the asymptotic range and above float32 round-off (~1e-6).
  const rot = rotation(4, 1);
  const ric = riccati();
  const cases: { method: FixedStepMethod; rot: number[]; ric: number[]; band: [number, number] }[] = [
    { method: 'euler', rot: [32, 64, 128, 256], ric: [64, 128, 256, 512], band: [0.85, 1.2] },
    { method: 'midpoint', rot: [16, 32, 64, 128], ric: [16, 32, 64, 128], band: [1.8, 2.25] },
    { method: 'heun', rot: [16, 32, 64, 128], ric: [16, 32, 64, 128], band: [1.8, 2.25] },
    { method: 'rk4', rot: [8, 16, 32, 64], ric: [4, 8, 16], band: [3.6, 4.6] },
  ];
  it.each(cases)('$method: log-log slope within $band', ({ method, rot: nRot, ric: nRic, band }) => {
    const slope = (f: OdeFunction, init: () => Tensor, ref: number[] | number[][], ns: number[]) => {
      const errs = ns.map((n) => {
        const r = errorOf(f, init, ref, method, uniformGrid(0, 1, n));
        // Honest step counts: one step per interval, `stages` evaluations per step.
        expect(r.steps).toBe(n);
        expect(r.nfe).toBe(n * STAGES[method]);
        expect(r.rejected).toBe(0);
        return r.err;
      });
      for (let i = 1; i < errs.length; i++) expect(errs[i]!).toBeLessThan(errs[i - 1]!);
      expect(Math.min(...errs)).toBeGreaterThan(1e-6); // still above float32 round-off
      return logLogSlope(
        ns.map((n) => 1 / n),
        errs,
      );
    };
    const sRot = slope(rot.f, () => tf.tensor2d(X0), rot.exact(X0, 0, 1), nRot);
    const sRic = slope(ric.f, () => tf.tensor1d(Y0), ric.exact(Y0, 0, 1), nRic);
    expect(sRot).toBeGreaterThan(band[0]);
    expect(sRot).toBeLessThan(band[1]);
    expect(sRic).toBeGreaterThan(band[0]);
    expect(sRic).toBeLessThan(band[1]);
  });

  it('one Euler step is y + h f(t0, y) on a non-uniform grid', () => {
    const y0 = tf.tensor1d([0.5, 2]);
    const r = odeSolve(ric.f, [y0], { method: 'euler', timeGrid: [0.2, 0.3, 0.7] });
    // by hand: y1 = y0 + 0.1 * 0.2 y0^2, y2 = y1 + 0.4 * 0.3 y1^2
    const want = [0.5, 2].map((v) => {
      const y1 = v + 0.1 * 0.2 * v * v;
      return y1 + 0.4 * 0.3 * y1 * y1;
    });
    expect(maxAbsErr(r.state[0]!, want)).toBeLessThan(1e-6);
    expect(r.steps).toBe(2);
    expect(r.nfe).toBe(2);
    expect(r.times).toEqual([0.2, 0.3, 0.7]);
    tf.dispose([y0, ...r.state]);
  });
});

describe('dopri5', () => {
  const rot = rotation(4, 1);
  const ric = riccati();

  it.each([1e-4, 1e-6])('meets tolerance %s on the rotation (global error < 5 tol)', (tol) => {
    const r = errorOf(rot.f, () => tf.tensor2d(X0), rot.exact(X0, 0, 1), 'dopri5', [0, 1], tol);
    expect(r.err).toBeLessThan(5 * tol);
  });

  it('meets tolerance 1e-4 on the Riccati equation', () => {
    const r = errorOf(ric.f, () => tf.tensor1d(Y0), ric.exact(Y0, 0, 1), 'dopri5', [0, 1], 1e-4);
    expect(r.err).toBeLessThan(5e-4);
  });

  it('counts evaluations: 1 + 1 (first-step probe) + 6 per attempted step; tighter tol costs more', () => {
    const runs = [1e-3, 1e-5, 1e-7].map((tol) => errorOf(rot.f, () => tf.tensor2d(X0), rot.exact(X0, 0, 1), 'dopri5', [0, 1], tol));
    for (const r of runs) expect(r.nfe).toBe(2 + 6 * (r.steps + r.rejected));
    expect(runs[1]!.nfe).toBeGreaterThan(runs[0]!.nfe);
    expect(runs[2]!.nfe).toBeGreaterThan(runs[1]!.nfe);
    expect(runs[2]!.err).toBeLessThan(runs[0]!.err);
  });

  it('rejects a too-large first step and recovers; with firstStep there is no probe evaluation', () => {
    const y0 = tf.tensor2d(X0);
    const r = odeSolve(rot.f, [y0], { method: 'dopri5', timeGrid: [0, 1], rtol: 1e-6, atol: 1e-6, firstStep: 1 });
    expect(r.rejected).toBeGreaterThan(0);
    expect(r.nfe).toBe(1 + 6 * (r.steps + r.rejected));
    expect(maxAbsErr(r.state[0]!, rot.exact(X0, 0, 1))).toBeLessThan(5e-6);
    tf.dispose([y0, ...r.state]);
  });

  it('lands on every grid time and reports the state there', () => {
    const grid = [0, 0.1, 0.37, 0.5, 0.93, 1];
    const y0 = tf.tensor2d(X0);
    const r = odeSolve(rot.f, [y0], { method: 'dopri5', timeGrid: grid, rtol: 1e-6, atol: 1e-6, returnTrajectory: true });
    expect(r.times).toEqual(grid);
    expect(r.trajectory!.length).toBe(grid.length);
    r.trajectory!.forEach((s, i) => expect(maxAbsErr(s[0]!, rot.exact(X0, 0, grid[i]!))).toBeLessThan(5e-6));
    expect(r.steps).toBeGreaterThanOrEqual(grid.length - 1);
    tf.dispose([y0, ...r.state, ...r.trajectory!.flat()]);
  });

  it('a dense output grid does not shrink the steps between grid times', () => {
    // 101 output times: steps are forced to 100 at least, but each landing must not cut the next step.
    const sparse = errorOf(rot.f, () => tf.tensor2d(X0), rot.exact(X0, 0, 1), 'dopri5', [0, 1], 1e-5);
    const dense = errorOf(rot.f, () => tf.tensor2d(X0), rot.exact(X0, 0, 1), 'dopri5', uniformGrid(0, 1, 100), 1e-5);
    expect(dense.steps).toBe(100);
    expect(dense.rejected).toBe(0);
    expect(sparse.steps).toBeLessThan(40);
  });

  it("reports step-size underflow with t and h (finite-time blow-up of y' = y^2 at t = 1)", () => {
    const y0 = tf.tensor1d([1]);
    const before = tf.memory().numTensors;
    const f: OdeFunction = (_t, [y]) => [tf.square(y!)];
    expect(() => odeSolve(f, [y0], { method: 'dopri5', timeGrid: [0, 2], rtol: 1e-6, atol: 1e-6 })).toThrow(SolverError);
    try {
      odeSolve(f, [y0], { method: 'dopri5', timeGrid: [0, 2], rtol: 1e-6, atol: 1e-6 });
    } catch (e) {
      const m = /t=([-\d.e]+), h=([-\d.e]+)/.exec((e as Error).message);
      expect(m).not.toBeNull();
      expect(Math.abs(Number(m![1]) - 1)).toBeLessThan(1e-3); // stuck at the singularity
      expect(Math.abs(Number(m![2]))).toBeLessThan(1e-12);
    }
    expect(tf.memory().numTensors).toBe(before);
    y0.dispose();
  });

  it('gives up after maxSteps attempts, naming t and h', () => {
    const y0 = tf.tensor2d(X0);
    expect(() => odeSolve(rot.f, [y0], { method: 'dopri5', timeGrid: [0, 1], rtol: 1e-8, atol: 1e-8, maxSteps: 5 })).toThrow(
      /maxSteps = 5.*t=.*h=/,
    );
    y0.dispose();
  });
});

describe('backward solves', () => {
  const rot = rotation(2, 0.5);
  // tol: one-way error against the exact flow; trip: forward then backward against the start.
  const cases: { method: OdeMethod; n: number; tol: number; trip: number }[] = [
    { method: 'euler', n: 200, tol: 0.08, trip: 0.08 },
    { method: 'midpoint', n: 100, tol: 1e-3, trip: 1e-4 },
    { method: 'heun', n: 100, tol: 1e-3, trip: 1e-4 },
    { method: 'rk4', n: 50, tol: 1e-5, trip: 1e-5 },
    { method: 'dopri5', n: 1, tol: 1e-5, trip: 1e-5 },
  ];
  it.each(cases)(
    '$method: decreasing grid matches the exact backward flow and undoes the forward solve',
    ({ method, n, tol, trip: tripTol }) => {
      const x0 = tf.tensor2d(X0);
      const fwd = odeSolve(rot.f, [x0], { method, timeGrid: uniformGrid(0, 1, n), rtol: 1e-6, atol: 1e-6 });
      // backward from the exact x(1), against the exact x(0)
      const x1 = tf.tensor2d(rot.exact(X0, 0, 1));
      const back = odeSolve(rot.f, [x1], { method, timeGrid: uniformGrid(1, 0, n), rtol: 1e-6, atol: 1e-6 });
      expect(maxAbsErr(back.state[0]!, X0)).toBeLessThan(tol);
      // round trip
      const trip = odeSolve(rot.f, fwd.state, { method, timeGrid: uniformGrid(1, 0, n), rtol: 1e-6, atol: 1e-6 });
      expect(maxAbsErr(trip.state[0]!, X0)).toBeLessThan(tripTol);
      if (method !== 'dopri5') expect(trip.steps).toBe(n);
      tf.dispose([x0, x1, ...fwd.state, ...back.state, ...trip.state]);
    },
  );
});

describe('state handling', () => {
  const rot = rotation(2, 0.5);
  const ric = riccati();
  // x [3, 2] (rotation) and y [4] (Riccati) integrated as one state.
  const joint: OdeFunction = (t, [x, y]) => [...rot.f(t, [x!]), ...ric.f(t, [y!])];

  it.each(['rk4', 'dopri5'] as const)('%s integrates a joint state of two tensors', (method) => {
    const x0 = tf.tensor2d(X0);
    const y0 = tf.tensor1d(Y0);
    const r = odeSolve(joint, [x0, y0], { method, timeGrid: uniformGrid(0, 1, 40), rtol: 1e-6, atol: 1e-6 });
    expect(r.state.length).toBe(2);
    expect(r.state[0]!.shape).toEqual([3, 2]);
    expect(r.state[1]!.shape).toEqual([4]);
    expect(maxAbsErr(r.state[0]!, rot.exact(X0, 0, 1))).toBeLessThan(1e-5);
    expect(maxAbsErr(r.state[1]!, ric.exact(Y0, 0, 1))).toBeLessThan(2e-5);
    if (method === 'rk4') expect(r.nfe).toBe(160); // one call evaluates both parts
    tf.dispose([x0, y0, ...r.state]);
  });

  it.each(ALL)('%s: trajectory holds one state per grid time, copies owned by the caller', (method) => {
    const x0 = tf.tensor2d(X0);
    const grid = uniformGrid(0, 1, 5);
    const r = odeSolve(rot.f, [x0], { method, timeGrid: grid, returnTrajectory: true });
    const traj = r.trajectory!;
    expect(traj.length).toBe(grid.length);
    expect(r.times).toEqual(grid);
    expect(traj[0]![0]).not.toBe(x0);
    expect(Array.from(traj[0]![0]!.dataSync())).toEqual(Array.from(x0.dataSync()));
    expect(Array.from(traj[5]![0]!.dataSync())).toEqual(Array.from(r.state[0]!.dataSync()));
    expect(traj[5]![0]).not.toBe(r.state[0]);
    tf.dispose([...r.state, ...traj.flat()]);
    expect(x0.isDisposed).toBe(false);
    x0.dispose();
  });

  it('onStep reports every accepted step, with nfe and progress reaching 1 (backwards too)', () => {
    const x0 = tf.tensor2d(X0);
    for (const method of ALL) {
      const infos: { t: number; step: number; nfe: number; progress: number }[] = [];
      const r = odeSolve(rot.f, [x0], { method, timeGrid: uniformGrid(1, 0, 6), onStep: (i) => infos.push({ ...i }) });
      expect(infos.length).toBe(r.steps);
      expect(infos.map((i) => i.step)).toEqual(infos.map((_, k) => k + 1));
      expect(infos[infos.length - 1]!.progress).toBe(1);
      expect(infos[infos.length - 1]!.t).toBe(0);
      expect(infos[infos.length - 1]!.nfe).toBe(r.nfe);
      for (let k = 1; k < infos.length; k++) expect(infos[k]!.progress).toBeGreaterThan(infos[k - 1]!.progress);
      tf.dispose(r.state);
    }
    x0.dispose();
  });
});

describe('validation', () => {
  const rot = rotation(2, 0.5);
  const catchErr = (fn: () => unknown): Error => {
    try {
      fn();
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected a throw');
  };

  it('names the time grid and the offending value', () => {
    const x0 = tf.tensor2d(X0);
    const bad: [number[], RegExp][] = [
      [[0, 0.5, 0.4, 1], /timeGrid\[2\] = 0\.4 after 0\.5/],
      [[1, 0.5, 0.7], /timeGrid\[2\] = 0\.7/],
      [[0], /at least 2/],
      [[0, NaN], /timeGrid\[1\].*NaN/],
      [[0.3, 0.3], /repeats/],
    ];
    for (const [timeGrid, msg] of bad) {
      const e = catchErr(() => odeSolve(rot.f, [x0], { method: 'rk4', timeGrid }));
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).field).toBe('timeGrid');
      expect(e.message).toMatch(msg);
    }
    x0.dispose();
  });

  it('lists the allowed methods; checks tolerances, maxSteps and the state', () => {
    const x0 = tf.tensor2d(X0);
    const m = catchErr(() => odeSolve(rot.f, [x0], { method: 'rk45' as OdeMethod, timeGrid: [0, 1] }));
    expect((m as ConfigError).field).toBe('method');
    expect(m.message).toContain('euler, midpoint, heun, rk4, dopri5');
    for (const [key, val] of [
      ['rtol', 0],
      ['atol', -1e-5],
      ['rtol', NaN],
      ['firstStep', 0],
      ['maxSteps', 0],
    ] as const) {
      const e = catchErr(() => odeSolve(rot.f, [x0], { method: 'dopri5', timeGrid: [0, 1], [key]: val }));
      expect((e as ConfigError).field).toBe(key);
    }
    expect((catchErr(() => odeSolve(rot.f, [], { method: 'euler', timeGrid: [0, 1] })) as ConfigError).field).toBe('state');
    x0.dispose();
  });

  it('rejects a function whose output does not match the state, without leaking', () => {
    const x0 = tf.tensor2d(X0);
    const before = tf.memory().numTensors;
    const wrong: OdeFunction = (_t, [x]) => [tf.sum(x!, 1)];
    for (const method of ALL) {
      expect(() => odeSolve(wrong, [x0], { method, timeGrid: [0, 1] })).toThrow(ShapeError);
      expect(() => odeSolve(() => [], [x0], { method, timeGrid: [0, 1] })).toThrow(/1 tensor/);
    }
    expect(tf.memory().numTensors).toBe(before);
    x0.dispose();
  });
});

describe('memory and cancellation', () => {
  const rot = rotation(2, 0.5);

  it.each(ALL)('%s: repeated solves leak nothing and never dispose y0', (method) => {
    const x0 = tf.tensor2d(X0);
    const before = tf.memory().numTensors;
    for (let rep = 0; rep < 3; rep++) {
      const r = odeSolve(rot.f, [x0], { method, timeGrid: uniformGrid(0, 1, 8), returnTrajectory: rep === 1 });
      tf.dispose([...r.state, ...(r.trajectory ?? []).flat()]);
      // dy/dt = y returns its input: the solver must not free it or lose track of it
      const s = odeSolve((_t, y) => y, [x0], { method, timeGrid: uniformGrid(0, 1, 4) });
      tf.dispose(s.state);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(x0.isDisposed).toBe(false);
    x0.dispose();
  });

  it.each(ALL)('%s: abort during the solve throws CancelledError and frees everything', (method) => {
    const x0 = tf.tensor2d(X0);
    const before = tf.memory().numTensors;
    const signal = { aborted: false };
    let seen = 0;
    const run = () =>
      odeSolve(rot.f, [x0], {
        method,
        timeGrid: uniformGrid(0, 1, 10),
        returnTrajectory: true,
        signal,
        onStep: () => {
          if (++seen === 3) signal.aborted = true;
        },
      });
    expect(run).toThrow(CancelledError);
    expect(seen).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
    // already aborted before the first step
    expect(run).toThrow(CancelledError);
    expect(tf.memory().numTensors).toBe(before);
    x0.dispose();
  });

  it('an error thrown by f mid-solve frees the solver state', () => {
    const x0 = tf.tensor2d(X0);
    const before = tf.memory().numTensors;
    for (const method of ALL) {
      let calls = 0;
      const flaky: OdeFunction = (t, s) => {
        if (++calls === 9) throw new Error('model failed');
        return rot.f(t, s);
      };
      expect(() => odeSolve(flaky, [x0], { method, timeGrid: uniformGrid(0, 1, 10), returnTrajectory: true })).toThrow('model failed');
    }
    expect(tf.memory().numTensors).toBe(before);
    x0.dispose();
  });
});
