/**
 * Adam and AdamW over tf.Variables, with a learning-rate schedule, global-norm clipping and an EMA of
 * the weights; state readable and writable for checkpoints.
 *
 * Update k (k = 1, 2, ...) with gradient g, learning rate lr_k and clipping factor c:
 *
 *   g'  = c g                      (+ wd w for 'adam': L2 in the gradient, as torch.optim.Adam)
 *   m   = b1 m + (1 - b1) g'
 *   v   = b2 v + (1 - b2) g'^2
 *   w   = w - lr_k m_hat / (sqrt(v_hat) + eps),   m_hat = m / (1 - b1^k),  v_hat = v / (1 - b2^k)
 *         ('adamw' first decays w <- w (1 - lr_k wd): decoupled weight decay, Loshchilov & Hutter)
 *   ema = d_k ema + (1 - d_k) w,   d_k = min(d, (1 + j) / (10 + j)) with warmup (j = k - 1), else d
 *
 * The bias-corrected step is computed as  a m / (sqrt(v) + eps sqrt(1 - b2^k)),
 * a = lr_k sqrt(1 - b2^k) / (1 - b1^k): algebraically the same, one tensor op fewer.
 *
 * Learning rate at step index j = k - 1 (warmup W, total T, ratio r):
 *   j < W:                 lr (j + 1) / W
 *   constant afterwards:   lr
 *   cosine afterwards:     lr (r + (1 - r) (1 + cos(pi p)) / 2),  p = min(1, (j - W) / max(1, T - W))
 *
 * Clipping: c = min(1, gradClip / ||g||) with ||g|| the global L2 norm over all parameters (gradClip
 * = 0: c = 1); the pre-clip norm is reported.
 *
 * Why not tf.train.adam: its state is not readable in a stable, named form, its learning rate is
 * fixed at construction, and it issues ~12 small ops per variable. The wasm backend pays a fixed
 * cost per op, so moments and EMA weights live here as single flat vectors: an update is ~35 ops
 * whatever the number of variables (gradients and weights concatenated in, new weights split out
 * through the host), and it includes the gradient norm and the EMA. Host scalars (lr, bias
 * corrections, clip factor) fold into the scalar multipliers, so clipping costs no extra op; an
 * update with norm and EMA costs about what tf.train.adam costs without them (bench/mlp.ts).
 *
 * Non-finite gradients (NaN or Inf anywhere makes the norm non-finite) skip the update entirely:
 * weights, moments, EMA and the step count are left as they were.
 */
import { tf, type Tensor } from '../tf';
import { ConfigError } from '../errors';
import { CheckpointError } from '../model/checkpoint';
import { adamKernelActive, adamUpdate, sumSquares, type AdamScalars } from '../kernels/adam';
import type { OptimSpec } from './config';

/** The learning rate of step index `step` (0-based) for a run of `totalSteps` steps (module comment). */
export function learningRate(
  o: Pick<OptimSpec, 'lr' | 'warmupSteps' | 'schedule' | 'minLrRatio'>,
  step: number,
  totalSteps: number,
): number {
  const W = o.warmupSteps;
  if (step < W) return (o.lr * (step + 1)) / W;
  if (o.schedule === 'constant') return o.lr;
  const p = Math.min(1, (step - W) / Math.max(1, totalSteps - W));
  return o.lr * (o.minLrRatio + (1 - o.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * p)));
}

/** The EMA decay used at step index `step` (0-based): min(d, (1 + step) / (10 + step)) with warmup, else d. */
export function emaDecayAt(o: Pick<OptimSpec, 'emaDecay' | 'emaWarmup'>, step: number): number {
  return o.emaWarmup === false ? o.emaDecay : Math.min(o.emaDecay, (1 + step) / (10 + step));
}

/** The clipping factor min(1, maxNorm / norm); 1 when maxNorm = 0 (clipping off). */
export function clipFactor(norm: number, maxNorm: number): number {
  return maxNorm > 0 && norm > maxNorm ? maxNorm / norm : 1;
}

/** What one `apply` did. */
export interface OptimizerStepInfo {
  /** True when the weights were updated; false for non-finite gradients. */
  readonly applied: boolean;
  /** Learning rate of this step. */
  readonly lr: number;
  /** Global L2 norm of the gradients before clipping (NaN/Infinity when non-finite). */
  readonly gradNorm: number;
  /** Clipping factor applied (1 = not clipped). */
  readonly clip: number;
}

/**
 * Adam / AdamW with schedule, clipping and EMA over a fixed list of variables.
 *
 * @example
 *   const opt = new Optimizer(model.variables, model.names, spec.optim, spec.train.steps);
 *   const { grads } = tf.variableGrads(lossFn, model.variables);
 *   opt.apply(model.variables.map((v) => grads[v.name]!));
 */
export class Optimizer {
  private readonly vars: readonly tf.Variable[];
  private readonly names: readonly string[];
  private readonly sizes: number[];
  private readonly spec: OptimSpec;
  private readonly totalSteps: number;
  private m: Tensor;
  private v: Tensor;
  private ema: Tensor;
  private k = 0;
  private emaVersion = 0;

  /**
   * @param variables the parameters, in a fixed order.
   * @param names     stable checkpoint names of the parameters (same order), e.g. model.names.
   * @param totalSteps length of the run (for the cosine schedule).
   */
  constructor(variables: readonly tf.Variable[], names: readonly string[], spec: OptimSpec, totalSteps: number) {
    if (variables.length === 0) throw new ConfigError('optim', 'needs at least one variable');
    if (names.length !== variables.length)
      throw new ConfigError('optim', `needs one name per variable (${variables.length}), got ${names.length}`);
    if (!(Number.isInteger(totalSteps) && totalSteps >= 1))
      throw new ConfigError('train.steps', `must be an integer >= 1, got ${totalSteps}`);
    this.vars = [...variables];
    this.names = [...names];
    this.sizes = variables.map((v) => v.size);
    this.spec = { ...spec };
    this.totalSteps = totalSteps;
    const n = this.sizes.reduce((a, b) => a + b, 0);
    this.m = tf.zeros([n]);
    this.v = tf.zeros([n]);
    this.ema = this.flatWeights();
  }

  /** Number of updates applied so far. */
  get step(): number {
    return this.k;
  }

  /** Incremented whenever the EMA weights change (lets holders of an EMA copy refresh lazily). */
  get version(): number {
    return this.emaVersion;
  }

  /** Learning rate of the next update. */
  get nextLr(): number {
    return learningRate(this.spec, this.k, this.totalSteps);
  }

  private flatWeights(): Tensor {
    return tf.tidy(() => (this.vars.length === 1 ? tf.reshape(this.vars[0]!, [-1]) : tf.concat(this.vars.map((v) => tf.reshape(v, [-1])))));
  }

  /**
   * Splits a flat vector into per-variable tensors of the variables' shapes, through the host: one
   * download and one upload per variable. Why not tf.split / tf.slice: on wasm every slice reads the
   * whole input back (readSync copies it), so k slices of an n-vector copy k n values, against one
   * pass over the n values this way.
   */
  private unflatten(flat: Tensor): Tensor[] {
    const host = flat.dataSync() as Float32Array;
    let offset = 0;
    return this.vars.map((v, i) => {
      const size = this.sizes[i]!;
      const t = tf.tensor(host.subarray(offset, offset + size), v.shape, 'float32');
      offset += size;
      return t;
    });
  }

  /**
   * One update from gradients `grads` (one per variable, same order and shapes). Gradients are read,
   * not disposed. Returns without changing anything when their norm is not finite.
   */
  apply(grads: readonly Tensor[]): OptimizerStepInfo {
    if (grads.length !== this.vars.length)
      throw new ConfigError('grads', `needs one gradient per variable (${this.vars.length}), got ${grads.length}`);
    // The spread gives tf.tidy an object type it accepts as a TensorContainer (an interface is not).
    if (adamKernelActive()) return tf.tidy(() => ({ ...this.updateFused(grads) }));
    return tf.tidy(() => ({
      ...this.update(grads.length === 1 ? tf.reshape(grads[0]!, [-1]) : tf.concat(grads.map((x) => tf.reshape(x, [-1])))),
    }));
  }

  /** Total number of parameter values (the length of a flat gradient). */
  get size(): number {
    return this.sizes.reduce((a, b) => a + b, 0);
  }

  /**
   * One update from a flat gradient: all variables' gradients concatenated in variable order, each
   * flattened row-major (what `apply` forms internally). Read, not disposed. The same update as
   * `apply` with the per-variable pieces: a data-parallel trainer averages flat gradients of its
   * shards on the host and applies them here.
   */
  applyFlat(grad: Tensor): OptimizerStepInfo {
    if (grad.size !== this.size) throw new ConfigError('grads', `a flat gradient needs ${this.size} values, got ${grad.size}`);
    if (adamKernelActive()) return tf.tidy(() => ({ ...this.updateFused([tf.reshape(grad, [-1])]) }));
    return tf.tidy(() => ({ ...this.update(tf.reshape(grad, [-1])) }));
  }

  /**
   * The same update as `update`, as two kernels (core/kernels/adam.ts): the gradient's sum of
   * squares, then one pass over all parameters that writes new weights, moments and EMA. Same
   * float32 operations per value; no concat of gradients or weights and no split through the host.
   * `grads`: one per variable, or one flat gradient.
   */
  private updateFused(grads: readonly Tensor[]): OptimizerStepInfo {
    const o = this.spec;
    const lr = learningRate(o, this.k, this.totalSteps);
    const gradNorm = Math.sqrt(sumSquares(grads));
    if (!Number.isFinite(gradNorm)) return { applied: false, lr, gradNorm, clip: 1 };
    const clip = clipFactor(gradNorm, o.gradClip);
    const k = this.k + 1;
    const b1 = o.beta1;
    const b2 = o.beta2;
    const l2 = o.kind === 'adam' && o.weightDecay > 0;
    const sbc2 = Math.sqrt(1 - b2 ** k);
    const d = emaDecayAt(o, this.k);
    const s: AdamScalars = {
      gs: l2 ? clip : 1,
      wd: l2 ? o.weightDecay : 0,
      b1,
      c1: l2 ? 1 - b1 : (1 - b1) * clip,
      b2,
      c2: l2 ? 1 - b2 : (1 - b2) * clip * clip,
      epsS: o.eps * sbc2,
      dw: o.kind === 'adamw' && o.weightDecay > 0 ? 1 - lr * o.weightDecay : 1,
      stepS: (lr * sbc2) / (1 - b1 ** k),
      d,
      dm: 1 - d,
    };
    const r = adamUpdate(grads, this.vars, this.m, this.v, this.ema, s);
    this.vars.forEach((variable, i) => variable.assign(r.weights[i]!));
    this.replace(tf.keep(r.m), tf.keep(r.v), tf.keep(r.ema));
    this.k = k;
    return { applied: true, lr, gradNorm, clip };
  }

  /** The update of the module comment from the flat gradient g (inside the caller's tidy). */
  private update(g: Tensor): OptimizerStepInfo {
    const o = this.spec;
    const lr = learningRate(o, this.k, this.totalSteps);
    let g2 = tf.square(g);
    const gradNorm = Math.sqrt(tf.sum(g2).dataSync()[0]!);
    if (!Number.isFinite(gradNorm)) return { applied: false, lr, gradNorm, clip: 1 };
    const clip = clipFactor(gradNorm, o.gradClip);
    const k = this.k + 1;
    const b1 = o.beta1;
    const b2 = o.beta2;
    const w = this.flatWeights();
    // g' = c g: the clip factor c folds into the moment multipliers (c and c^2), reusing g^2 from
    // the norm. L2-coupled Adam adds wd w to the gradient, so there g' and g'^2 are formed.
    let gEff = g;
    let c1 = (1 - b1) * clip;
    let c2 = (1 - b2) * clip * clip;
    if (o.kind === 'adam' && o.weightDecay > 0) {
      gEff = tf.add(clip === 1 ? g : tf.mul(g, clip), tf.mul(w, o.weightDecay));
      g2 = tf.square(gEff);
      c1 = 1 - b1;
      c2 = 1 - b2;
    }
    const m = tf.add(tf.mul(this.m, b1), tf.mul(gEff, c1));
    const v = tf.add(tf.mul(this.v, b2), tf.mul(g2, c2));
    const bc1 = 1 - b1 ** k;
    const sbc2 = Math.sqrt(1 - b2 ** k);
    const dir = tf.div(m, tf.add(tf.sqrt(v), o.eps * sbc2));
    const decayed = o.kind === 'adamw' && o.weightDecay > 0 ? tf.mul(w, 1 - lr * o.weightDecay) : w;
    const wNew = tf.sub(decayed, tf.mul(dir, (lr * sbc2) / bc1));
    const parts = this.unflatten(wNew);
    this.vars.forEach((variable, i) => variable.assign(parts[i]!));
    const d = emaDecayAt(o, this.k);
    const ema = d === 0 ? wNew : tf.add(tf.mul(this.ema, d), tf.mul(wNew, 1 - d));
    this.replace(tf.keep(m), tf.keep(v), tf.keep(ema));
    this.k = k;
    return { applied: true, lr, gradNorm, clip };
  }

  private replace(m: Tensor, v: Tensor, ema: Tensor): void {
    tf.dispose([this.m, this.v, this.ema]);
    this.m = m;
    this.v = v;
    this.ema = ema;
    this.emaVersion++;
  }

  /** Copies the EMA weights into `targets` (variables of the same shapes and order, e.g. a twin model). */
  assignEma(targets: readonly tf.Variable[]): void {
    if (targets.length !== this.vars.length)
      throw new ConfigError('ema', `needs ${this.vars.length} target variables, got ${targets.length}`);
    tf.tidy(() => this.unflatten(this.ema).forEach((p, i) => targets[i]!.assign(p)));
  }

  /** The EMA weights by stable name (new tensors the caller owns). */
  emaWeights(): Map<string, Tensor> {
    const parts = tf.tidy(() => this.unflatten(this.ema));
    return new Map(parts.map((p, i) => [this.names[i]!, p]));
  }

  /**
   * The optimiser state, as new tensors the caller owns: `m/<name>`, `v/<name>`, `ema/<name>` per
   * variable and `step` (int32 scalar, updates applied).
   */
  getState(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const [m, v, e] = tf.tidy(() => [this.unflatten(this.m), this.unflatten(this.v), this.unflatten(this.ema)]) as [
      Tensor[],
      Tensor[],
      Tensor[],
    ];
    this.names.forEach((name, i) => {
      out.set(`m/${name}`, m[i]!);
      out.set(`v/${name}`, v[i]!);
      out.set(`ema/${name}`, e[i]!);
    });
    out.set('step', tf.scalar(this.k, 'int32'));
    return out;
  }

  /**
   * Restores a state written by `getState` (values are copied; the caller keeps `state`). Every key
   * must be present with the variable's shape, or a CheckpointError names the key and nothing changes.
   * Extra keys are ignored (the trainer keeps its own entries in the same map).
   */
  setState(state: ReadonlyMap<string, Tensor>): void {
    const step = state.get('step');
    if (!step || step.size !== 1) throw new CheckpointError('step', 'missing from the optimiser state (an int32 scalar)');
    const k = step.dataSync()[0]!;
    if (!(Number.isInteger(k) && k >= 0)) throw new CheckpointError('step', `must be an integer >= 0, got ${k}`);
    const lists: Record<'m' | 'v' | 'ema', Tensor[]> = { m: [], v: [], ema: [] };
    for (const prefix of ['m', 'v', 'ema'] as const) {
      this.names.forEach((name, i) => {
        const key = `${prefix}/${name}`;
        const t = state.get(key);
        const shape = this.vars[i]!.shape;
        if (!t) throw new CheckpointError(key, 'missing from the optimiser state', shape);
        if (t.shape.length !== shape.length || t.shape.some((d, j) => d !== shape[j])) {
          throw new CheckpointError(key, `expected shape [${shape.join(', ')}], got [${t.shape.join(', ')}]`, shape, t.shape);
        }
        if (t.dtype !== 'float32') throw new CheckpointError(key, `expected dtype float32, got ${t.dtype}`);
        lists[prefix].push(t);
      });
    }
    const flat = (ts: Tensor[]): Tensor =>
      tf.tidy(() => (ts.length === 1 ? tf.reshape(ts[0]!, [-1]) : tf.concat(ts.map((x) => tf.reshape(x, [-1])))));
    this.replace(flat(lists.m), flat(lists.v), flat(lists.ema));
    this.k = k;
  }

  /** Frees the moments and EMA (not the variables). */
  dispose(): void {
    tf.dispose([this.m, this.v, this.ema]);
  }
}
