/**
 * Interpolation between latents.
 *
 * Why slerp: Gaussian latents in d dimensions concentrate on the shell ||z|| ~ sqrt(d). A straight
 * line between two of them cuts through the interior (the midpoint of two independent latents has
 * norm ~ sqrt(d / 2)), where the model has seen no noise, so decoded frames wash out. Spherical
 * interpolation follows the great circle and keeps the norm on the shell.
 *
 * Rows: a tensor of rank >= 2 holds one latent per row (axis 0, remaining axes flattened); a rank-1
 * tensor is one latent.
 */
import { tf, type Tensor } from '../tf';
import { ConfigError, checkShape } from '../errors';
import { INTERPOLATION_MODES, isOneOf, spellOut, type InterpolationMode } from '../catalog';

/** Linear interpolation (1 - s) z0 + s z1 (s outside [0, 1] extrapolates). New tensor. */
export function lerp(z0: Tensor, z1: Tensor, s: number): Tensor {
  checkPair(z0, z1);
  checkS(s);
  return tf.tidy(() => tf.add(tf.mul(z0, 1 - s), tf.mul(z1, s)));
}

/**
 * Spherical linear interpolation per row:
 *
 *   theta = acos(clamp(<z0, z1> / (|z0| |z1|), -1, 1)),
 *   slerp = sin((1 - s) theta) / sin(theta) z0 + sin(s theta) / sin(theta) z1.
 *
 * Rows with sin(theta) < 1e-4 (nearly parallel, or nearly antiparallel where the great circle is not
 * unique) or a zero vector fall back to lerp, whose error against slerp there is O(theta^2).
 * The clamp guards acos against |cos| creeping above 1 by round-off. Coefficients are computed in
 * float64 on the host from float32 dot products. s = 0 and s = 1 return z0 and z1 exactly.
 *
 * @param z0, z1 same shape, [batch, ...dims] or [d]; not disposed.
 * @returns new tensor of that shape.
 */
export function slerp(z0: Tensor, z1: Tensor, s: number): Tensor {
  checkPair(z0, z1);
  checkS(s);
  const rows = z0.rank >= 2 ? z0.shape[0]! : 1;
  const d = rows === 0 ? 0 : z0.size / rows;
  const stats = tf.tidy(() => {
    const a = tf.reshape(z0, [rows, d]);
    const b = tf.reshape(z1, [rows, d]);
    return tf.stack([tf.sum(tf.mul(a, b), 1), tf.sum(tf.square(a), 1), tf.sum(tf.square(b), 1)]);
  });
  const h = stats.dataSync();
  stats.dispose();
  const ca = new Float32Array(rows);
  const cb = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const n0 = Math.sqrt(h[rows + r]!);
    const n1 = Math.sqrt(h[2 * rows + r]!);
    const cos = n0 > 0 && n1 > 0 ? Math.min(1, Math.max(-1, h[r]! / (n0 * n1))) : 1;
    const theta = Math.acos(cos);
    const sin = Math.sin(theta);
    if (sin < 1e-4) {
      ca[r] = 1 - s;
      cb[r] = s;
    } else {
      ca[r] = Math.sin((1 - s) * theta) / sin;
      cb[r] = Math.sin(s * theta) / sin;
    }
  }
  if (s === 0) return tf.clone(z0);
  if (s === 1) return tf.clone(z1);
  return tf.tidy(() => {
    const colShape = z0.rank >= 2 ? [rows, ...z0.shape.slice(1).map(() => 1)] : [1];
    const wa = tf.tensor(z0.rank >= 2 ? ca : ca.subarray(0, 1), colShape);
    const wb = tf.tensor(z0.rank >= 2 ? cb : cb.subarray(0, 1), colShape);
    return tf.add(tf.mul(z0, wa), tf.mul(z1, wb));
  });
}

/**
 * nFrames latents from z0 to z1 at s_j = j / (nFrames - 1), stacked on a new leading axis:
 * output [nFrames, ...shape of z0]. Frame 0 is z0 and the last frame is z1.
 *
 * @param mode 'slerp' (default; keeps Gaussian latents on their shell) or 'lerp'.
 */
export function interpolatePath(z0: Tensor, z1: Tensor, nFrames: number, mode: InterpolationMode = 'slerp'): Tensor {
  if (!(Number.isInteger(nFrames) && nFrames >= 2)) throw new ConfigError('nFrames', `must be an integer >= 2, got ${nFrames}`);
  if (!isOneOf(INTERPOLATION_MODES, mode))
    throw new ConfigError('mode', `must be ${spellOut(INTERPOLATION_MODES.map((m) => `'${m}'`))}, got '${String(mode)}'`);
  checkPair(z0, z1);
  const step = mode === 'slerp' ? slerp : lerp;
  const frames: Tensor[] = [];
  try {
    for (let j = 0; j < nFrames; j++) frames.push(step(z0, z1, j / (nFrames - 1)));
    return tf.stack(frames);
  } finally {
    tf.dispose(frames);
  }
}

function checkPair(z0: Tensor, z1: Tensor): void {
  checkShape(z0.rank >= 1, () => `z0 must have shape [batch, ...dims] or [d]; got a scalar`);
  checkShape(
    tf.util.arraysEqual(z0.shape, z1.shape),
    () => `z1 must have the shape of z0 [${z0.shape.join(', ')}]; got [${z1.shape.join(', ')}]`,
  );
}

function checkS(s: number): void {
  if (!Number.isFinite(s)) throw new ConfigError('s', `must be a finite number, got ${s}`);
}
