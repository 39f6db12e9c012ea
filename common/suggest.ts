/**
 * "Did you mean ...?" for unknown config keys: the known field closest to a name a user typed, or
 * null when nothing is close (a wrong suggestion is worse than none). Tried in order, first hit wins:
 *
 *   1. the same name up to case, '_' and '-'            batch_size -> batchSize
 *   2. a name users bring from PyTorch / diffusers / facebookresearch flow_matching / torchcfm
 *      configs (ALIASES, compared the same way)           learning_rate -> lr, max_train_steps -> steps
 *   3. initials of a camelCase / snake / kebab name      learningRate -> lr
 *   4. edit distance (optimal string alignment: insertions, deletions, substitutions and swaps of
 *      neighbours each cost 1) on the normalised names, at most 1 for names of up to 4 letters, 2 up
 *      to 8, 3 beyond; the closest wins, ties by the known fields' order.
 *
 * Plain functions, no imports: the renderer loads this with the schema.
 */

/** Lower case without '_', '-' and spaces: 'batch_size', 'batchSize', 'Batch-Size' -> 'batchsize'. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[_\-\s]/g, '');
}

/**
 * Names from other training codebases -> our field, keyed by the normalised foreign name. Only the
 * ones step 1 and the edit distance would not find; a target applies only where that field exists
 * (a list: the first that exists), so 'steps' can point to train.steps and sampling.steps alike.
 */
const ALIASES: Record<string, readonly string[]> = {
  // optimiser (torch.optim, diffusers train scripts: --learning_rate, --adam_beta1, --adam_epsilon ...)
  learningrate: ['lr'],
  baselr: ['lr'],
  maxlr: ['lr'],
  adambeta1: ['beta1'],
  adambeta2: ['beta2'],
  betas: ['beta1'],
  optimizerbetas: ['beta1'],
  epsilon: ['eps'],
  adameps: ['eps'],
  adamepsilon: ['eps'],
  wd: ['weightDecay'],
  adamweightdecay: ['weightDecay'],
  l2: ['weightDecay'],
  warmup: ['warmupSteps'],
  lrwarmupsteps: ['warmupSteps'],
  numwarmupsteps: ['warmupSteps'],
  warmupiters: ['warmupSteps'],
  lrscheduler: ['schedule'],
  lrschedule: ['schedule'],
  scheduler: ['schedule'],
  decaylr: ['schedule'],
  minlr: ['minLrRatio'],
  etamin: ['minLrRatio'],
  lrmin: ['minLrRatio'],
  maxgradnorm: ['gradClip'],
  clipgradnorm: ['gradClip'],
  gradnormclip: ['gradClip'],
  gradientclipping: ['gradClip'],
  clipgrad: ['gradClip'],
  clip: ['gradClip'],
  ema: ['emaDecay'],
  emarate: ['emaDecay'],
  emabeta: ['emaDecay'],
  emamomentum: ['emaDecay'],
  useema: ['emaDecay'],
  optimizer: ['kind'],
  // training loop (--max_train_steps, --train_batch_size, --checkpointing_steps, torchcfm total_steps)
  numsteps: ['steps'],
  numtrainsteps: ['steps'],
  maxtrainsteps: ['steps'],
  maxsteps: ['steps'],
  totalsteps: ['steps'],
  trainsteps: ['steps'],
  iterations: ['steps'],
  iters: ['steps'],
  numiters: ['steps'],
  niters: ['steps'],
  nsteps: ['steps'],
  numinferencesteps: ['steps'],
  trainbatchsize: ['batchSize'],
  perdevicetrainbatchsize: ['batchSize'],
  batch: ['batchSize'],
  bs: ['batchSize'],
  savestep: ['checkpointEvery'],
  saveevery: ['checkpointEvery'],
  savesteps: ['checkpointEvery'],
  checkpointingsteps: ['checkpointEvery'],
  checkpointinterval: ['checkpointEvery'],
  ckptevery: ['checkpointEvery'],
  saveinterval: ['checkpointEvery'],
  loggingsteps: ['logEvery'],
  loginterval: ['logEvery'],
  printevery: ['logEvery'],
  validationsteps: ['sampleEvery'],
  evalevery: ['sampleEvery'],
  sampleinterval: ['sampleEvery'],
  numsamples: ['sampleCount'],
  nsamples: ['sampleCount'],
  workers: ['threads'],
  numthreads: ['threads'],
  // sampling (flow_matching examples: --ode_method, --cfg_scale; diffusers: guidance_scale)
  odemethod: ['solver'],
  method: ['solver'],
  integrator: ['solver'],
  odesolver: ['solver'],
  cfgscale: ['cfg'],
  guidancescale: ['cfg'],
  guidance: ['cfg'],
  guidanceweight: ['cfg'],
  // labels (flow_matching: --class_drop_prob; diffusers: p_uncond)
  classdropprob: ['labelDropout'],
  classdropoutprob: ['labelDropout'],
  puncond: ['labelDropout'],
  conddropprob: ['labelDropout'],
  labeldropprob: ['labelDropout'],
  classcond: ['conditional'],
  classconditional: ['conditional'],
  // paths and couplings (torchcfm: sigma, ot_method; diffusers: prediction_type)
  sigma: ['sigmaMin', 's'],
  otmethod: ['coupling', 'kind'],
  predictiontype: ['prediction'],
  parameterization: ['prediction'],
  dataset: ['data'],
  // models (guided-diffusion / torchcfm UNetModel: num_channels, num_res_blocks, channel_mult ...)
  numchannels: ['baseChannels'],
  numchannel: ['baseChannels'],
  modelchannels: ['baseChannels'],
  channelmult: ['channelMults'],
  numresblocks: ['blocksPerLevel'],
  layersperblock: ['blocksPerLevel'],
  attentionresolutions: ['attention'],
  numgroups: ['groups'],
  normnumgroups: ['groups'],
  hidden: ['width'],
  hiddendim: ['width'],
  hiddensize: ['width'],
  numlayers: ['depth'],
  nlayers: ['depth'],
  layers: ['depth'],
  act: ['activation'],
  nonlinearity: ['activation'],
  timeembdim: ['timeEmbedDim'],
  timeembeddingdim: ['timeEmbedDim'],
};

/** Words of a camelCase / snake_case / kebab-case name: 'learningRate' -> ['learning', 'rate']. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[_\-\s]+/)
    .filter((w) => w !== '')
    .map((w) => w.toLowerCase());
}

/** Initials of a name of two or more words ('learningRate' -> 'lr'), or null for one word. */
function initials(name: string): string | null {
  const w = words(name);
  return w.length >= 2 ? w.map((x) => x[0]).join('') : null;
}

/** Optimal string alignment distance (Levenshtein plus swaps of neighbouring letters). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  // d[i][j] = distance of a[0, i) and b[0, j); three rows suffice for the swap term.
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = new Array<number>(n + 1).fill(0);
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[n]!;
}

/** The largest edit distance still taken as a typo of a name of `len` letters. */
function bound(len: number): number {
  return len <= 4 ? 1 : len <= 8 ? 2 : 3;
}

/**
 * The known name `name` most likely stands for, by the exact means only (steps 1 to 3 above): used
 * for a name one level up or down, where a near miss by spelling would be a guess.
 */
export function exactMatch(name: string, known: readonly string[]): string | null {
  const n = normalizeName(name);
  const byNorm = new Map(known.map((k) => [normalizeName(k), k]));
  const same = byNorm.get(n);
  if (same !== undefined) return same;
  for (const target of ALIASES[n] ?? []) {
    const hit = byNorm.get(normalizeName(target));
    if (hit !== undefined) return hit;
  }
  const ini = initials(name);
  if (ini !== null) {
    const hit = byNorm.get(ini);
    if (hit !== undefined) return hit;
  }
  // The other way round: 'lr' typed where the field is spelled out (not the case today, kept symmetric).
  for (const k of known) if (initials(k) === n) return k;
  return null;
}

/** The known name closest to `name` (steps 1 to 4), or null when none is close. */
export function closestName(name: string, known: readonly string[]): string | null {
  const exact = exactMatch(name, known);
  if (exact !== null) return exact;
  const n = normalizeName(name);
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const kn = normalizeName(k);
    const d = editDistance(n, kn);
    if (d <= bound(Math.min(n.length, kn.length)) && d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best;
}
