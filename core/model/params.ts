/**
 * Deterministic parameter creation.
 *
 * Every parameter is drawn from core/util/random.ts's Rng in creation order, so a (config, seed) pair
 * gives bit-identical weights on every backend and platform.
 *
 * Names: each parameter has a stable checkpoint name such as "mlp/0/W". tfjs keeps a global registry
 * of variable names and throws on a duplicate, and two models of the same config (EMA copy, reflow
 * teacher, a reloaded run) must coexist, so the tf.Variable itself gets the stable name plus a
 * per-model suffix ("mlp/0/W#3"); the stable names travel in VelocityModel.names.
 */
import { tf } from '../tf';
import { Rng } from '../util/random';

export type Init =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  /** U(-bound, bound). */
  | { kind: 'uniform'; bound: number }
  /** N(0, std²). */
  | { kind: 'normal'; std: number };

/** LeCun uniform: U(±sqrt(3 / fanIn)), i.e. variance 1 / fanIn. */
export function lecunUniform(fanIn: number, gain = 1): Init {
  return { kind: 'uniform', bound: gain * Math.sqrt(3 / fanIn) };
}

let modelCounter = 0;

/** Collects the variables of one model in creation order. */
export class ParamBuilder {
  readonly names: string[] = [];
  readonly variables: tf.Variable[] = [];
  private readonly rng: Rng;
  private readonly suffix: string;

  constructor(seed: number) {
    this.rng = new Rng(seed);
    this.suffix = `#${++modelCounter}`;
  }

  /** Creates a trainable float32 variable named `name` of `shape`, initialised by `init`. */
  add(name: string, shape: number[], init: Init): tf.Variable {
    if (this.names.includes(name)) throw new Error(`duplicate parameter name ${name}`);
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    switch (init.kind) {
      case 'zeros':
        break;
      case 'ones':
        data.fill(1);
        break;
      case 'uniform':
        for (let i = 0; i < n; i++) data[i] = (2 * this.rng.uniform() - 1) * init.bound;
        break;
      case 'normal':
        for (let i = 0; i < n; i++) data[i] = this.rng.normal() * init.std;
        break;
    }
    const v = tf.tidy(() => tf.variable(tf.tensor(data, shape, 'float32'), true, name + this.suffix));
    this.names.push(name);
    this.variables.push(v);
    return v;
  }
}
