/**
 * invert-image: time to invert ONE 28x28 MNIST digit to noise through the probability-flow ODE of
 * the shipped class-conditional U-Net (resources/models/mnist), data at t = 1 -> noise at t = 0,
 * with dopri5 (rtol = atol = 1e-5) and with RK4 at 20 steps (80 NFE), on the backend the engine
 * picks (the embedded wasm one unless tfjs-node is installed), at CFG 0 (one pass of batch 1 per
 * evaluation); and dopri5 at CFG 1, the shipped model's default, where each evaluation is one pass
 * of batch 2 split over the inference threads (main/models/threaded.ts). Goal of issue 5: < 2 s each.
 *
 * Each variant is warmed up once (wasm kernels compile, the heap grows), then timed `repeats` times,
 * interleaved with the other variant. Also reported: NFE, ms per field evaluation, and the PSNR of
 * decoding the latent back with the same solver (not timed), so a faster setting shows its cost; and
 * one field evaluation timed alone at batch 1 and at batch 2 (classifier-free guidance).
 *
 * Where a timed inversion's time goes: `inFieldMs` is the time spent inside the field's calls
 * (the U-Net and the prediction-to-velocity conversion), the rest is the solver's own tensor ops
 * and host reads. dopri5's `nfePerAttempt` = (nfe - 2) / (accepted + rejected steps): 6 when the
 * last stage of an accepted step is reused as the next step's first (FSAL), the 2 being f(t0)
 * and the initial step-size probe.
 *
 * Standalone: node ... --import ./scripts/ts-hooks.mjs bench/invert.ts [--repeats N] prints the JSON.
 */
import { tf } from '../core/tf';
import { decode, encode, type InversionOptions } from '../core/inversion/encode';
import { reconstructionError } from '../core/inversion/stats';
import { mnistDigit } from '../main/data';
import { shippedModel } from '../main/models/shipped';
import { inferenceThreads, warmInferenceThreads } from '../main/models/threaded';
import { log, round, timeStats } from './lib';

export interface InvertBenchOptions {
  repeats: number;
  /** Digit and index of the image (default a 3, the first of its class). */
  digit?: number;
  index?: number;
}

const GOAL_MS = 2000;
/** Field evaluations a round when timing one evaluation. */
const EVALS = 20;

export async function benchInvert(o: InvertBenchOptions): Promise<Record<string, unknown>> {
  const model = shippedModel('mnist');
  const digit = o.digit ?? 3;
  const img = mnistDigit(digit, o.index ?? 0);
  const x = tf.tensor(img.data, [1, 28, 28, 1]);
  const cond = tf.tensor1d([digit], 'int32');
  const field = model.field(0);
  const fieldFor = (cfg: number): typeof field => model.field(cfg);
  // CFG 0: one network pass per evaluation at batch 1 (one thread). CFG 1, the shipped model's
  // sampling default: the conditional and unconditional passes as one batch of 2, split over 2
  // threads where the machine has them (main/models/threaded.ts).
  const variants: { name: string; opts: InversionOptions; cfg: number }[] = [
    { name: 'dopri5 rtol 1e-5', opts: { method: 'dopri5', rtol: 1e-5, atol: 1e-5, cond }, cfg: 0 },
    { name: 'rk4 20 steps', opts: { method: 'rk4', steps: 20, cond }, cfg: 0 },
    { name: 'dopri5 rtol 1e-5, cfg 1', opts: { method: 'dopri5', rtol: 1e-5, atol: 1e-5, cond }, cfg: 1 },
  ];
  const ms = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const inField = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  let fieldMs = 0;
  let timed = field;
  const timedField: typeof field = (xx, t, c) => {
    const t0 = performance.now();
    try {
      return timed(xx, t, c);
    } finally {
      fieldMs += performance.now() - t0;
    }
  };
  const info = new Map<string, { nfe: number; steps: number; rejected: number; psnr: number }>();
  try {
    await warmInferenceThreads(); // the CFG variant's second thread, started before any timing
    for (const v of variants) {
      const e = encode(fieldFor(v.cfg), x, v.opts); // warm-up, and the round trip's accuracy
      const d = decode(fieldFor(v.cfg), e.x, v.opts);
      info.set(v.name, {
        nfe: e.nfe,
        steps: e.steps,
        rejected: e.rejected,
        psnr: round(reconstructionError(img.data, d.x.dataSync()).psnr, 2),
      });
      tf.dispose([e.x, d.x]);
    }
    for (let r = 0; r < o.repeats; r++) {
      for (const v of r % 2 ? [...variants].reverse() : variants) {
        fieldMs = 0;
        timed = fieldFor(v.cfg);
        const t0 = performance.now();
        const e = encode(timedField, x, v.opts);
        e.x.dataSync(); // the latent on the host, as the studio returns it
        ms.get(v.name)!.push(performance.now() - t0);
        inField.get(v.name)!.push(fieldMs);
        e.x.dispose();
        log(`invert-image ${v.name} repeat ${r + 1}/${o.repeats}: ${round(ms.get(v.name)!.at(-1)!, 0)} ms`);
      }
    }
    // One field evaluation on its own: the U-Net at batch 1 (CFG 0, as inverted above) and at
    // batch 2 (CFG 1: conditional and unconditional branches in one pass), median of `repeats` rounds.
    const evalMs: Record<string, number> = {};
    for (const [name, f] of [
      ['batch 1 (cfg 0)', field],
      ['batch 2 (cfg 1)', model.field(1)],
    ] as const) {
      const per: number[] = [];
      for (let r = 0; r <= o.repeats; r++) {
        const t0 = performance.now();
        for (let i = 0; i < EVALS; i++) f(x, 0.5, cond).dispose();
        if (r > 0) per.push((performance.now() - t0) / EVALS); // round 0 warms up
      }
      evalMs[name] = timeStats(per).median;
    }
    return {
      model: model.label,
      fieldEvalMs: evalMs,
      image: `MNIST digit ${digit} #${o.index ?? 0}, 28x28x1, inverted under its class`,
      threads: inferenceThreads(),
      goalMs: GOAL_MS,
      results: variants.map((v) => {
        const t = timeStats(ms.get(v.name)!);
        const i = info.get(v.name)!;
        const f = timeStats(inField.get(v.name)!);
        return {
          solver: v.name,
          cfg: v.cfg,
          ...i,
          ...(v.opts.method === 'dopri5' ? { nfePerAttempt: round((i.nfe - 2) / (i.steps + i.rejected), 3) } : {}),
          ms: t,
          msPerNfe: round(t.median / i.nfe, 2),
          inFieldMs: f,
          goalMet: t.median < GOAL_MS,
        };
      }),
    };
  } finally {
    tf.dispose([x, cond]);
    model.dispose();
  }
}

if (process.argv[1]?.endsWith('invert.ts')) {
  const { selectBackend } = await import('../main/runtime/backend');
  const at = process.argv.indexOf('--repeats');
  const repeats = at >= 0 ? Number(process.argv[at + 1]) : 5;
  if (!(Number.isInteger(repeats) && repeats >= 1)) throw new Error('--repeats must be an integer >= 1');
  const backend = await selectBackend();
  const doc = {
    bench: 'invert-image',
    date: new Date().toISOString(),
    backend: { name: backend.name, version: backend.version },
    ...(await benchInvert({ repeats })),
  };
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}
