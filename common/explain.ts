/**
 * What every option and metric of the studio means, in one place: a one-line explanation (shown on
 * hover and focus), and for the "learn" panel a formula in our convention (KaTeX source: noise at
 * t = 0, data at t = 1, x_t = alpha_t x1 + sigma_t x0; docs/conventions.md), what the option changes
 * and which way is better. The app, the CLI's help and the docs read the same texts.
 *
 * Keys are the option's config path (e.g. 'path.scheduler.kind', 'sampling.solver') or, for a
 * choice, the path and the value ('sampling.solver=dopri5'); metrics are keyed by their stored name.
 */

/** One explanation. */
export interface Explanation {
  /** A short label, e.g. "Scheduler". */
  title: string;
  /** One line, shown on hover/focus. */
  short: string;
  /** KaTeX source of the formula it stands for, in our convention. */
  formula?: string;
  /** A few sentences for the learn panel: what it changes, when to use it. */
  learn?: string;
  /** For metrics and tunable numbers: which way is better. */
  better?: 'higher' | 'lower';
}

/** Options of the experiment, the samplers and the latent studio, by config path (and `path=value` for a choice). */
export const OPTION_HELP: Record<string, Explanation> = {
  // issue 14: samplers and schedulers
  'path.scheduler.kind=sub-vp': {
    title: 'sub-VP',
    short: "score-SDE's sub-variance-preserving path: VP's mean with sigma = 1 - exp(-T), so less noise than VP at every t.",
    formula: String.raw`\alpha_t = e^{-T(1-t)/2},\ \sigma_t = 1 - e^{-T(1-t)},\ T(u) = \beta_{\min} u + \tfrac12 (\beta_{\max} - \beta_{\min}) u^2`,
  },
  'prediction=score': {
    title: 'Score',
    short: 'The network predicts the score grad log p_t(x_t), trained by denoising score matching with weight sigma_t^2.',
    formula: String.raw`\mathcal L = \mathbb E\, \sigma_t^2 \| s_\theta(x_t, t) + x_0 / \sigma_t \|^2`,
  },
  'sampling.solver=ddim': {
    title: 'DDIM',
    short: 'First-order exponential integrator of the denoiser in log-SNR time (DPM-Solver++ order 1); exact at both ends.',
    formula: String.raw`x_s = \tfrac{\sigma_s}{\sigma_t} x_t + \alpha_s (1 - e^{-h}) D(x_t, t),\ h = \lambda_s - \lambda_t`,
  },
  'sampling.solver=dpm++2m': {
    title: 'DPM-Solver++(2M)',
    short: 'Second-order multistep exponential integrator: good samples in 10 to 20 network evaluations.',
    formula: String.raw`D \to (1 + \tfrac{1}{2r}) D_t - \tfrac{1}{2r} D_{t_{prev}},\ r = h_{prev} / h`,
  },
  'sampling.solver=sde': {
    title: 'Reverse SDE (Euler-Maruyama)',
    short: 'Stochastic sampling of the reverse SDE with diffusion g_t = noise * sigma_t; the same marginals as the ODE.',
    formula: String.raw`dx = [v + \tfrac{g^2}{2} \nabla \log p_t]\,dt + g\,dW`,
  },
  'sampling.solver=ancestral': {
    title: 'Ancestral',
    short: 'DDPM-like steps: denoise, then re-noise with part fresh noise (eta = noise; 1 is DDPM, 0 is DDIM).',
  },
  'sampling.solver=pc': {
    title: 'Predictor-corrector',
    short: "score_sde's sampler: Langevin corrector steps at each time, then an Euler-Maruyama predictor step.",
    formula: String.raw`x \leftarrow x + \epsilon \nabla \log p_t(x) + \sqrt{2 \epsilon}\, z`,
  },
  'sampling.solver=edm': {
    title: 'EDM stochastic Heun',
    short: 'Karras et al. 2022: raise the noise level by a churn factor, add matching noise, then a Heun step.',
  },
  'sampling.grid': {
    title: 'Time grid',
    short: "Where the sampler's steps fall: uniform in t, Karras' rho schedule or uniform in log-SNR.",
  },
  'sampling.grid=uniform': { title: 'Uniform', short: 'Equal steps in t.' },
  'sampling.grid=karras': {
    title: 'Karras (rho = 7)',
    short: 'EDM schedule of the noise level sigma/alpha: dense steps near the data, where detail forms.',
    formula: String.raw`\rho_i = (\rho_{\max}^{1/7} + \tfrac{i}{N} (\rho_{\min}^{1/7} - \rho_{\max}^{1/7}))^7`,
  },
  'sampling.grid=logsnr': {
    title: 'Log-SNR uniform',
    short: 'Equal steps in lambda = log(alpha/sigma): the natural grid of DDIM and DPM-Solver++.',
  },
  'sampling.noise': {
    title: 'Noise level',
    short: 'sde and pc: g_t = noise * sigma_t; ancestral: eta (1 = DDPM, 0 = deterministic DDIM).',
  },
  'sampling.churn': { title: 'Churn', short: "EDM's S_churn: how much noise each step adds back (0 = deterministic Heun)." },
  'sampling.snr': { title: 'Corrector SNR', short: "The Langevin corrector's signal-to-noise ratio: its step size (score_sde uses 0.16)." },
  'sampling.correctorSteps': {
    title: 'Corrector steps',
    short: 'Langevin corrector steps at each time of the predictor-corrector sampler.',
  },
  'sampling.scheduler': {
    title: 'Sample under scheduler',
    short: 'Sample the trained model along another scheduler: the same network, its predictions carried over exactly.',
  },
};

/** Metrics, by their stored name (e.g. 'loss', 'energyDistance', 'bitsPerDim'). */
export const METRIC_HELP: Record<string, Explanation> = {
  // issue 14: sample-quality metrics (core/metrics/quality.ts)
  fid: {
    title: 'FID',
    short: "Frechet distance between Gaussians fitted to classifier features of samples and of data (the project's MNIST classifier).",
    formula: String.raw`\|\mu_1 - \mu_2\|^2 + \operatorname{tr}(\Sigma_1 + \Sigma_2 - 2 (\Sigma_1 \Sigma_2)^{1/2})`,
    better: 'lower',
  },
  kid: {
    title: 'KID',
    short: 'Kernel inception distance: unbiased MMD^2 with a cubic polynomial kernel on classifier features.',
    better: 'lower',
  },
  coverage: {
    title: 'Coverage',
    short: "Share of data points whose k-nearest-neighbour ball holds at least one sample: how much of the data's modes are reached.",
    better: 'higher',
  },
};

/** The explanation of an option (or of its value, when one is given), or undefined. */
export function optionHelp(path: string, value?: string | number | boolean): Explanation | undefined {
  return (value !== undefined ? OPTION_HELP[`${path}=${String(value)}`] : undefined) ?? OPTION_HELP[path];
}
