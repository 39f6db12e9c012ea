/**
 * What a U-Net's shape hyperparameters must satisfy, as plain arithmetic (no tfjs), so the
 * experiment schema (every process, the renderer included) and core's validateUNetConfig apply the
 * very same rules with the same messages.
 *
 * Why these two:
 *   - GroupNorm splits C channels into `groups` groups of C / groups, so groups must divide every
 *     channel count the network normalises: the input convolution's `baseChannels`, each level's
 *     baseChannels * mult, and the skip concatenations (sums of those). groups | baseChannels is
 *     exactly the condition for all of them at once (baseChannels itself is normalised by the first
 *     ResBlock, so nothing weaker works).
 *   - Each level but the last halves the image with a 2x2 average pool, and the up path doubles it
 *     back: with L = channelMults.length levels the side S must be divisible by 2^(L-1).
 */

/** One violated rule: the field (relative to the model config: 'groups', 'channelMults') and why. */
export interface UNetShapeProblem {
  field: 'groups' | 'channelMults';
  message: string;
}

/** The shape fields the rules read; `size` is the image side (the data's, e.g. 28 for MNIST). */
export interface UNetShape {
  size: number;
  baseChannels: number;
  channelMults: readonly number[];
  groups: number;
}

/** The rules `shape` violates (empty when it builds), each with both values named. */
export function unetShapeProblems(shape: UNetShape): UNetShapeProblem[] {
  const out: UNetShapeProblem[] = [];
  const { size, baseChannels: base, channelMults: mults, groups } = shape;
  if (base % groups !== 0) {
    const fits = divisors(base).filter((d) => d <= 32);
    out.push({
      field: 'groups',
      message: `${groups} does not divide baseChannels (${base}); GroupNorm needs it to divide every channel count (baseChannels and baseChannels x mult). Use one of ${fits.join(', ')}`,
    });
  }
  const down = 2 ** (mults.length - 1);
  if (size % down !== 0) {
    let fit = 1;
    while (size % 2 ** fit === 0) fit++;
    out.push({
      field: 'channelMults',
      message: `${mults.length} levels halve the image ${mults.length - 1} times, so its side must be divisible by ${down}; the data's side ${size} is not (at most ${fit} levels fit)`,
    });
  }
  return out;
}

function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out;
}
