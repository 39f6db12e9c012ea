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

// The formulas follow docs/formulas.md, section by section; the texts say what a newcomer sees change.
const XT = 'x_t = \\alpha_t\\, x_1 + \\sigma_t\\, x_0,\\quad x_0 \\sim \\mathcal N(0, I)';

/** Options of the experiment, the samplers and the latent studio, by config path (and `path=value` for a choice). */
export const OPTION_HELP: Record<string, Explanation> = {
  // ---- general
  name: { title: 'Run name', short: 'A name for the run in the Runs list; the dataset and path are used when empty.' },
  seed: {
    title: 'Seed',
    short: 'Seeds the network initialisation, the batches and the noise: the same seed and config give the same run.',
    learn: 'Change it to see how much of a result is luck. Two runs that differ only in the seed show the run-to-run spread.',
  },

  // ---- data (also used for source.data.*)
  'data.kind': {
    title: 'Target data',
    short: 'What the model learns to generate (x₁, at t = 1): a 2D toy set, a Gaussian mixture, drawn points, MNIST or an image folder.',
    formula: 'x_1 \\sim p_{\\text{data}}',
    learn:
      '2D data trains in seconds and shows every particle; a Gaussian mixture also has an exact ("oracle") velocity field to compare the learned one with. Images need a U-Net and minutes to hours.',
  },
  'data.kind=toy2d': {
    title: '2D toy set',
    short: 'A classic 2D point cloud (moons, 8 Gaussians, checkerboard, spirals ...), generated from a seed.',
  },
  'data.kind=gmm': {
    title: 'Gaussian mixture',
    short: 'Your own mixture of round Gaussians: its flow is known exactly, so the learned field can be checked against it.',
    formula: 'p(x_1) = \\sum_k \\pi_k\\, \\mathcal N(x_1;\\, \\mu_k,\\, s_k^2 I)',
  },
  'data.kind=points': { title: 'Drawn points', short: 'A point set you paint with the mouse; batches resample it with replacement.' },
  'data.kind=mnist': { title: 'MNIST', short: '28 × 28 handwritten digits in [-1, 1], with their labels 0-9.' },
  'data.kind=images': { title: 'Image folder', short: 'PNG/JPEG files from a folder on the host, resized to 28 or 32 pixels.' },
  'data.name': { title: 'Dataset', short: 'Which 2D toy distribution; its definition is shown below the choice.' },
  'data.noise': {
    title: 'Noise',
    short: 'Gaussian noise added to the toy points, in the units of the dataset’s definition; empty keeps the dataset default.',
    learn: 'More noise blurs the shape (moons at 0.2 turn into blobs); less noise makes a sharper target that needs a better model.',
  },
  'data.gmm': { title: 'Mixture components', short: 'Weights, means and standard deviations of the mixture components.' },
  'data.points': { title: 'Point set', short: 'The points you drew, as [x, y] pairs.' },
  'data.digits': { title: 'Digits', short: 'Train on these digits only (e.g. 1, 7); empty trains on all ten.' },
  'data.folder': { title: 'Image folder', short: 'A folder on the machine running the host; subfolders can be classes.' },
  'data.size': { title: 'Image size', short: 'Images are resized to size × size pixels (28 or 32).' },
  'data.channels': { title: 'Channels', short: '1 for greyscale, 3 for colour.' },
  'data.onCorrupt': { title: 'Unreadable files', short: 'skip leaves files that do not decode out; reject refuses the folder.' },
  'data.labelsFromSubfolders': {
    title: 'Labels from subfolders',
    short: 'Each subfolder is a class (sorted by name), for class-conditional training.',
  },

  // ---- source
  'source.kind': {
    title: 'Source',
    short: 'Where the flow starts (x₀, at t = 0): Gaussian noise, or another dataset (data-to-data translation).',
    formula: 'x_0 \\sim \\mathcal N(0, I) \\quad\\text{or}\\quad x_0 \\sim p_{\\text{source}}',
    learn:
      'With a data source the model learns to move one point cloud onto another; pair it with an OT coupling for short, straight paths.',
  },
  'source.kind=gaussian': { title: 'Gaussian noise', short: 'x₀ ~ N(0, I): the usual generative model.' },
  'source.kind=data': { title: 'Another dataset', short: 'x₀ drawn from a second dataset: the flow translates it into the target.' },

  // ---- probability path
  'path.kind': {
    title: 'Probability path',
    short: 'How a noise point and a data point are mixed at time t: the straight-line family every target below is defined on.',
    formula: XT,
    learn:
      'The path decides what the network sees at each t. Affine paths mix x₀ and x₁ with a scheduler; the stochastic interpolant adds a bridge of noise in the middle.',
  },
  'path.kind=affine': { title: 'Affine path', short: 'x_t = αₜ x₁ + σₜ x₀ with the scheduler below.', formula: XT },
  'path.kind=interpolant': {
    title: 'Stochastic interpolant',
    short: 'The straight path plus noise that vanishes at both ends (Schrödinger-bridge CFM).',
    formula: 'x_t = t\\,x_1 + (1-t)\\,x_0 + s\\sqrt{t(1-t)}\\,\\varepsilon',
  },
  'path.s': {
    title: 'Bridge noise s',
    short: 'Standard deviation scale of the noise in the middle of the path; 0 is the plain straight path.',
    formula: '\\gamma_t = s\\sqrt{t(1-t)}',
    learn: 'A little bridge noise smooths the regression target where paths cross; too much makes the learned paths wander.',
  },
  'path.scheduler.kind': {
    title: 'Scheduler',
    short: 'The curves αₜ (signal) and σₜ (noise) of the affine path: where along t the model spends its effort.',
    formula: XT,
    learn:
      'CondOT (linear) gives the straightest paths and is the default of flow matching. Cosine and VP spend more time near noise, as diffusion models do; VE keeps the data and only adds noise.',
  },
  'path.scheduler.kind=condot': {
    title: 'CondOT (linear)',
    short: 'αₜ = t, σₜ = 1 − (1 − σ_min) t: straight lines from noise to data (rectified flow).',
    formula: '\\alpha_t = t,\\quad \\sigma_t = 1 - (1-\\sigma_{\\min})\\,t',
  },
  'path.scheduler.kind=polynomial': {
    title: 'Polynomial',
    short: 'αₜ = tⁿ, σₜ = 1 − tⁿ: n > 1 stays noisy longer.',
    formula: '\\alpha_t = t^n,\\quad \\sigma_t = 1 - t^n',
  },
  'path.scheduler.kind=cosine': {
    title: 'Cosine',
    short: 'αₜ = sin(πt/2), σₜ = cos(πt/2): a variance-preserving circle.',
    formula: '\\alpha_t = \\sin\\tfrac{\\pi t}{2},\\quad \\sigma_t = \\cos\\tfrac{\\pi t}{2}',
  },
  'path.scheduler.kind=linear-vp': {
    title: 'Linear VP',
    short: 'αₜ = t, σₜ = √(1 − t²): variance preserving with a linear signal.',
    formula: '\\alpha_t = t,\\quad \\sigma_t = \\sqrt{1 - t^2}',
  },
  'path.scheduler.kind=vp': {
    title: 'VP (score SDE)',
    short: 'The variance-preserving diffusion of score-based models, with β from β_min to β_max.',
    formula:
      '\\alpha_t = e^{-T/2},\\ \\sigma_t = \\sqrt{1 - e^{-T}},\\ T = \\tfrac12 u^2(\\beta_{\\max}-\\beta_{\\min}) + u\\,\\beta_{\\min},\\ u = 1-t',
  },
  'path.scheduler.kind=ve': {
    title: 'VE (score SDE)',
    short: 'Variance exploding: the data stays, noise from σ_max down to σ_min is added.',
    formula: '\\alpha_t = 1,\\quad \\sigma_t = \\sigma_{\\min}\\,(\\sigma_{\\max}/\\sigma_{\\min})^{1-t}',
  },
  'path.scheduler.sigmaMin': {
    title: 'σ min',
    short: 'CondOT: noise left at t = 1 (0 = exact data). VE: the smallest noise level.',
    formula: '\\sigma_1 = \\sigma_{\\min}',
    learn: 'A small σ_min (e.g. 1e-4) keeps the target field finite at t = 1; 0 is rectified flow.',
  },
  'path.scheduler.n': { title: 'Exponent n', short: 'The polynomial scheduler’s power: αₜ = tⁿ.', formula: '\\alpha_t = t^n' },
  'path.scheduler.betaMin': { title: 'β min', short: 'VP: the noise rate at the data end.' },
  'path.scheduler.betaMax': { title: 'β max', short: 'VP: the noise rate at the noise end.' },
  'path.scheduler.sigmaMax': { title: 'σ max', short: 'VE: the noise level at t = 0; it must dwarf the data’s spread.' },

  // ---- prediction
  prediction: {
    title: 'Prediction target',
    short: 'What the network outputs: the velocity, the noise ε or the clean data x₁; all are converted to a velocity for sampling.',
    formula: 'u_t = \\dot\\alpha_t\\, x_1 + \\dot\\sigma_t\\, x_0,\\qquad \\varepsilon = x_0,\\qquad x_1',
    learn:
      'The loss value depends on the target: compare losses only between runs with the same prediction. Velocity is the flow-matching default; ε is the DDPM choice; x₁ predicts the denoised data.',
  },
  'prediction=velocity': {
    title: 'Velocity',
    short: 'Regress u = α̇ x₁ + σ̇ x₀ (flow matching).',
    formula: 'f_\\theta(x_t,t) \\approx \\dot\\alpha_t x_1 + \\dot\\sigma_t x_0',
  },
  'prediction=eps': { title: 'Noise ε', short: 'Regress the noise x₀ (DDPM).', formula: 'f_\\theta(x_t,t) \\approx x_0' },
  'prediction=x1': { title: 'Data x₁', short: 'Regress the clean data point.', formula: 'f_\\theta(x_t,t) \\approx x_1' },

  // ---- coupling and time
  'coupling.kind': {
    title: 'Coupling',
    short: 'How noise and data points of a batch are paired: at random, or by optimal transport for shorter, straighter paths.',
    formula: '\\pi^\\star = \\arg\\min_{\\pi}\\ \\sum_{i} \\lVert x_0^{(i)} - x_1^{(\\pi(i))} \\rVert^2',
    learn:
      'OT pairing (OT-CFM) makes the learned paths nearly straight, so few solver steps suffice. Independent pairing is cheaper and the standard choice for images.',
  },
  'coupling.kind=independent': { title: 'Independent', short: 'Pair each noise point with a random data point (I-CFM).' },
  'coupling.kind=exact-ot': { title: 'Exact OT', short: 'The pairing of least total squared distance within the batch (OT-CFM).' },
  'coupling.kind=sinkhorn': {
    title: 'Sinkhorn (entropic OT)',
    short: 'A soft OT plan with regularisation; pairs are drawn from it.',
    formula:
      'P^\\star = \\arg\\min_{P\\mathbf 1 = a,\\,P^\\top\\mathbf 1 = b} \\langle P, C\\rangle + \\varepsilon \\sum_{ij} P_{ij}(\\log P_{ij} - 1)',
  },
  'coupling.reg': {
    title: 'Sinkhorn regularisation',
    short: 'Entropic blur of the OT plan, relative to the batch’s mean squared distance: small = close to exact OT.',
    formula: '\\varepsilon = \\text{reg}\\cdot \\tfrac1{n^2}\\sum_{ij}\\lVert x_0^{(i)} - x_1^{(j)}\\rVert^2',
  },
  'coupling.classAware': { title: 'Class-aware pairing', short: 'Pair only points of the same class (needs labelled source and target).' },
  'time.distribution': {
    title: 't sampling',
    short: 'Which times t the training batches see: uniform, or concentrated in the middle (logit-normal, as SD3).',
    formula: 't = \\operatorname{sigmoid}(z),\\ z \\sim \\mathcal N(m, s^2)\\quad\\text{or}\\quad t \\sim U[0,1]',
  },
  'time.distribution=uniform': { title: 'Uniform', short: 't ~ U[0, 1].' },
  'time.distribution=logit-normal': {
    title: 'Logit-normal',
    short: 't = sigmoid(z), z ~ N(mean, std²): more training in the middle of the path.',
  },
  'time.mean': { title: 'Logit mean', short: 'Shifts the logit-normal times: > 0 towards the data, < 0 towards the noise.' },
  'time.std': { title: 'Logit std', short: 'Spread of the logit-normal times: small = concentrated around sigmoid(mean).' },
  'time.weighting': {
    title: 'Loss weighting',
    short: 'How much each time counts in the loss: equally, or by the clipped signal-to-noise ratio (min-SNR-γ).',
    formula: 'w(t) = \\min(\\mathrm{snr}_t, \\gamma)\\, B_t^2,\\quad \\mathrm{snr}_t = \\alpha_t^2/\\sigma_t^2',
  },
  'time.weighting=none': { title: 'None', short: 'Every t weighs the same.' },
  'time.weighting=snr-clipped': {
    title: 'min-SNR-γ',
    short: 'Down-weights nearly clean times so noisy ones are not drowned out (Hang et al. 2023).',
  },

  // ---- model
  'model.kind': {
    title: 'Network',
    short: 'The network that predicts the target from (x_t, t): an MLP for points, a U-Net for images.',
    formula: 'f_\\theta(x_t, t, c)',
  },
  'model.kind=mlp': { title: 'MLP', short: 'Fully connected layers on [x, time features]: right for 2D data.' },
  'model.kind=unet': { title: 'U-Net', short: 'Convolutional encoder-decoder with skip connections: right for images.' },
  'model.width': { title: 'Width', short: 'Units per hidden layer: wider learns finer shapes and costs more per step.', better: 'higher' },
  'model.depth': { title: 'Depth', short: 'Number of hidden layers.' },
  'model.activation': { title: 'Activation', short: 'The non-linearity between layers; SiLU is smooth and the usual choice.' },
  'model.timeEmbedDim': {
    title: 'Time embedding',
    short: 'Sinusoidal features of t fed to the network (even); 0 feeds t itself.',
    formula: '\\big(\\sin(\\omega_k t), \\cos(\\omega_k t)\\big)_{k}',
  },
  'model.baseChannels': { title: 'Base channels', short: 'Channels of the first U-Net level; every level multiplies it.' },
  'model.channelMults': { title: 'Channel multipliers', short: 'One factor per level, e.g. 1, 2, 2: more levels see larger structures.' },
  'model.blocksPerLevel': { title: 'Blocks per level', short: 'Residual blocks at each resolution.' },
  'model.attention': { title: 'Attention', short: 'Self-attention at the lowest resolution: better global shape, slower.' },
  'model.groups': { title: 'Norm groups', short: 'Group normalisation groups; must divide every level’s channels.' },
  conditional: {
    title: 'Class-conditional',
    short: 'Feed the class label to the network, so you can ask for a class when sampling.',
    formula: 'f_\\theta(x_t, t, c)',
  },
  labelDropout: {
    title: 'Label dropout (CFG)',
    short: 'Probability of hiding the label in training, which teaches an unconditional model too: needed for classifier-free guidance.',
    formula: 'c \\mapsto \\varnothing \\text{ with probability } p',
  },

  // ---- optimiser
  'optim.kind': {
    title: 'Optimiser',
    short: 'Adam, or AdamW (weight decay applied to the weights directly).',
    formula: 'w \\leftarrow w - \\eta_k\\,\\hat m / (\\sqrt{\\hat v} + \\epsilon)',
  },
  'optim.lr': {
    title: 'Learning rate',
    short: 'Size of each update step; 1e-4 … 1e-2 is the usual range. Too high diverges, too low crawls.',
    formula: 'w \\leftarrow w - \\eta\\,\\hat m / (\\sqrt{\\hat v} + \\epsilon)',
    learn:
      'Start with 1e-3 for MLPs and 2e-4 … 1e-3 for U-Nets. If the loss explodes or becomes NaN, lower it; if it barely moves, raise it.',
  },
  'optim.beta1': {
    title: 'β₁',
    short: 'Momentum: how much of past gradients the update keeps (0.9 is standard).',
    formula: 'm \\leftarrow \\beta_1 m + (1-\\beta_1) g',
  },
  'optim.beta2': {
    title: 'β₂',
    short: 'How slowly the squared-gradient average forgets (0.999 is standard).',
    formula: 'v \\leftarrow \\beta_2 v + (1-\\beta_2) g^2',
  },
  'optim.eps': { title: 'ε', short: 'Keeps Adam’s division finite; rarely changed.' },
  'optim.weightDecay': { title: 'Weight decay', short: 'Pulls weights towards 0 each step (a regulariser).' },
  'optim.warmupSteps': {
    title: 'Warmup steps',
    short: 'The learning rate ramps up linearly over these first steps, which avoids early blow-ups.',
    formula: '\\eta_j = \\eta\\,(j+1)/W \\quad (j < W)',
  },
  'optim.schedule': {
    title: 'LR schedule',
    short: 'After warmup: constant, or cosine decay down to min lr ratio × lr.',
    formula: '\\eta_j = \\eta\\,\\big(r + (1-r)\\tfrac{1+\\cos(\\pi p)}{2}\\big)',
  },
  'optim.minLrRatio': { title: 'Min lr ratio', short: 'The floor of the cosine schedule, as a fraction of the learning rate.' },
  'optim.gradClip': {
    title: 'Gradient clipping',
    short: 'Scales a gradient down to this global norm when it is larger; 0 = off.',
    formula: 'g \\leftarrow g\\,\\min(1, c/\\lVert g\\rVert)',
  },
  'optim.emaDecay': {
    title: 'EMA decay',
    short: 'Sampling uses an exponential moving average of the weights: closer to 1 = smoother, slower to follow.',
    formula: '\\bar w \\leftarrow d\\,\\bar w + (1-d)\\,w',
  },

  // ---- training
  'train.steps': { title: 'Steps', short: 'Number of optimiser updates.' },
  'train.batchSize': { title: 'Batch size', short: 'Samples per step: larger = smoother gradients, slower steps.' },
  'train.checkpointEvery': { title: 'Checkpoint every', short: 'Steps between saved weights; a crash loses at most this many.' },
  'train.logEvery': { title: 'Log every', short: 'Steps between stored loss points.' },
  'train.sampleEvery': { title: 'Sample every', short: 'Steps between the samples shown live; 0 = none.' },
  'train.sampleCount': { title: 'Sample count', short: 'Points (or images) in each live sample.' },
  'train.threads': { title: 'Threads', short: 'Data-parallel worker threads: a count, or auto.' },
  'train.engine': {
    title: 'Engine',
    short: 'Which engine trains the run: the built-in TensorFlow.js one, or PyTorch when it is installed.',
  },

  // ---- sampling
  'sampling.solver': {
    title: 'ODE solver',
    short: 'How the flow dx/dt = v(x, t) is integrated from noise to data: more accurate solvers cost more evaluations per step.',
    formula: '\\frac{dx}{dt} = v_\\theta(x, t),\\quad x(0) \\sim \\mathcal N(0, I)',
    learn:
      'Euler is one evaluation per step; Heun and midpoint two; RK4 four; dopri5 adapts its steps to a tolerance. Straight flows (OT coupling, reflow) need few steps.',
  },
  'sampling.solver=euler': { title: 'Euler', short: '1 evaluation per step, first order.', formula: 'x_{k+1} = x_k + h\\,v(x_k, t_k)' },
  'sampling.solver=midpoint': {
    title: 'Midpoint',
    short: '2 evaluations per step, second order.',
    formula: 'x_{k+1} = x_k + h\\,v\\big(x_k + \\tfrac h2 v(x_k,t_k),\\ t_k + \\tfrac h2\\big)',
  },
  'sampling.solver=heun': {
    title: 'Heun',
    short: '2 evaluations per step, second order (explicit trapezoid).',
    formula: 'x_{k+1} = x_k + \\tfrac h2\\big(k_1 + v(x_k + h k_1, t_k + h)\\big)',
  },
  'sampling.solver=rk4': { title: 'RK4', short: '4 evaluations per step, fourth order.' },
  'sampling.solver=dopri5': {
    title: 'Dormand-Prince 5(4)',
    short: 'Adaptive steps to a tolerance (rtol, atol): as many evaluations as the flow needs.',
    formula: '\\mathrm{err} = \\sqrt{\\operatorname{mean}\\big(e / (\\mathrm{atol} + \\mathrm{rtol}\\,|x|)\\big)^2} \\le 1',
  },
  'sampling.steps': { title: 'Solver steps', short: 'Steps of a fixed-step solver (dopri5: output intervals).' },
  'sampling.rtol': { title: 'rtol', short: 'dopri5’s relative tolerance: smaller = more accurate, more evaluations.', better: 'lower' },
  'sampling.atol': { title: 'atol', short: 'dopri5’s absolute tolerance.' },
  'sampling.cfg': {
    title: 'Guidance weight w',
    short: 'Classifier-free guidance: push samples towards the class; 0 = no guidance.',
    formula: '\\hat f = (1 + w)\\,f(x, t, c) - w\\,f(x, t, \\varnothing)',
    learn: 'Higher w gives more typical, less varied samples of the class. It needs a model trained with label dropout.',
  },
  'sampling.n': { title: 'Number of samples', short: 'How many points (or images) to draw.' },
  'sampling.paths': { title: 'Paths', short: 'How many particle paths (trajectories) to keep and animate (2D only).' },
  'sampling.classLabel': { title: 'Class', short: 'Which class to sample; "all" cycles through the classes.' },

  // ---- reflow
  reflow: {
    title: 'Reflow',
    short: 'Train on (noise, sample) pairs of a finished run: the new flow is straighter, so it needs fewer steps.',
    formula: '(x_0,\\ \\Phi(x_0)),\\quad \\Phi = \\text{the finished run’s ODE map}',
    learn:
      'Rectified flow (Liu et al.): each reflow straightens the paths. Only runs that finished and model data of the same shape can be reflowed.',
  },
  'reflow.from': { title: 'From run', short: 'The finished run whose samples become the new targets (same data shape).' },
  'reflow.pairs': { title: 'Pairs', short: 'How many (noise, sample) pairs to generate once, before training.' },
  'reflow.solver': { title: 'Pair solver', short: 'The solver that pushes the noise through the parent run.' },
  'reflow.steps': { title: 'Pair solver steps', short: 'Steps of that solver.' },

  // ---- latent studio
  'latent.model': { title: 'Model', short: 'The image model to work with: a shipped one or one of your runs.' },
  'latent.bitsPerDim': {
    title: 'Bits per dimension',
    short: 'Also estimate the likelihood of the image (slow: a backward pass per evaluation).',
    formula: '\\mathrm{bpd} = -\\frac{\\log p(y)}{d \\ln 2} + \\text{bits} - \\log_2 R',
  },
  'latent.t0': { title: 'SDEdit start t₀', short: 'How far towards noise the image is taken before regenerating: lower = stronger edit.' },
  'latent.scale': { title: 'Arithmetic scale s', short: 'z = z_A + s (z_B − z_C).', formula: 'z = z_A + s\\,(z_B - z_C)' },
  'latent.frames': { title: 'Frames', short: 'Images along the interpolation from A to B.' },

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
  loss: {
    title: 'Loss',
    short:
      'Mean squared error of the prediction against the path’s target; its floor is not 0, and its scale depends on the prediction target.',
    formula: '\\mathcal L = \\mathbb E_{t, x_0, x_1}\\, w(t)\\,\\lVert f_\\theta(x_t, t) - \\text{target}\\rVert^2',
    learn:
      'Flow-matching losses stay well above 0 even for a perfect model (the conditional target is noisy). Compare sample quality (energy distance) rather than losses across configs, and never compare losses of different prediction targets.',
    better: 'lower',
  },
  'final loss': {
    title: 'Final loss',
    short: 'The last logged training loss.',
    formula: '\\mathcal L = \\mathbb E\\, w(t)\\,\\lVert f_\\theta(x_t, t) - \\text{target}\\rVert^2',
    better: 'lower',
  },
  finalLoss: { title: 'Final loss', short: 'The last logged training loss.', better: 'lower' },
  smoothedLoss: { title: 'Smoothed loss', short: 'Exponential moving average of the loss at the end of the run.', better: 'lower' },
  lr: { title: 'Learning rate', short: 'The learning rate of the last step (after warmup and schedule).' },
  grad_norm: {
    title: 'Gradient norm',
    short: 'Global L2 norm of the gradient; spikes warn of instability.',
    formula: '\\lVert g\\rVert_2 = \\sqrt{\\textstyle\\sum_i g_i^2}',
  },
  energyDistance: {
    title: 'Energy distance',
    short: 'How far the samples are from fresh target data: 0 when they match in distribution.',
    formula:
      "D^2 = \\tfrac{2}{nm}\\sum_{ij}\\lVert x_i - y_j\\rVert - \\tfrac{1}{n(n-1)}\\sum_{i\\ne i'}\\lVert x_i - x_{i'}\\rVert - \\tfrac{1}{m(m-1)}\\sum_{j\\ne j'}\\lVert y_j - y_{j'}\\rVert",
    learn:
      'The unbiased U-statistic of Székely and Rizzo, squared form: it can be slightly negative for two samples of the same distribution. Use it to compare solvers, step budgets and runs on 2D data.',
    better: 'lower',
  },
  samplingNfe: { title: 'Sampling NFE', short: 'Network evaluations of the final evaluation’s sampler.', better: 'lower' },
  nfe: {
    title: 'NFE',
    short: 'Number of function (network) evaluations a solve took: the cost of sampling.',
    formula: '\\mathrm{NFE} = \\text{steps} \\times \\text{stages}',
    learn:
      'Euler has 1 stage, midpoint and Heun 2, RK4 4; dopri5 adapts. Fewer NFE for the same quality means a straighter flow or a better solver.',
    better: 'lower',
  },
  straightness: {
    title: 'Straightness',
    short: 'How far the particle paths bend away from straight lines: 0 = perfectly straight.',
    formula: 'S = \\mathbb E \\int_0^1 \\lVert (x_1 - x_0) - v(x_t, t)\\rVert^2\\,dt',
    learn: 'Straight flows can be sampled in very few steps. OT coupling and reflow lower it.',
    better: 'lower',
  },
  straightnessBefore: { title: 'Straightness before reflow', short: 'Straightness of the parent run’s flow.', better: 'lower' },
  straightnessAfter: {
    title: 'Straightness after reflow',
    short: 'Straightness of this run’s flow: lower than before when reflow worked.',
    better: 'lower',
  },
  wallSeconds: { title: 'Wall time', short: 'Seconds the run trained.', better: 'lower' },
  stepsPerSec: { title: 'Steps per second', short: 'Training speed.', better: 'higher' },
  steps: { title: 'Steps', short: 'Optimiser steps done.' },
  seconds: { title: 'Time', short: 'Seconds the computation took.', better: 'lower' },
  relError: {
    title: 'Relative field error',
    short: 'Mean |learned − exact| velocity over the grid, relative to the exact one (mixture targets only).',
    formula: '\\frac{\\sum_g \\lVert v_\\theta(x_g,t) - u_t(x_g)\\rVert}{\\sum_g \\lVert u_t(x_g)\\rVert}',
    better: 'lower',
  },
  logPrior: {
    title: 'log N(z)',
    short: 'Log-density of the inverted noise point under N(0, I): how typical a latent it is.',
    formula: '\\log \\mathcal N(z; 0, I) = -\\tfrac12\\lVert z\\rVert^2 - \\tfrac d2\\log 2\\pi',
    learn: 'Points in the data’s bulk invert to typical noise (high log N); outliers invert far out (low).',
    better: 'higher',
  },
  psnr: {
    title: 'PSNR',
    short: 'Peak signal-to-noise ratio of the round trip decode(encode(x)) against x: higher = more exact inversion.',
    formula: '\\mathrm{PSNR} = 10 \\log_{10} \\frac{R^2}{\\mathrm{MSE}},\\quad R = 2',
    better: 'higher',
  },
  bitsPerDim: {
    title: 'Bits per dimension',
    short: 'Negative log-likelihood per pixel in bits: how well the model explains the image.',
    formula: '\\mathrm{bpd} = -\\frac{\\log p(y)}{d \\ln 2} + \\text{bits} - \\log_2 R',
    learn:
      'Computed by integrating the divergence along the ODE (Hutchinson’s estimator); an upper bound on the code length of the 8-bit image.',
    better: 'lower',
  },
  normRatio: {
    title: '‖z‖ / √d',
    short: 'Norm of the latent over √d: about 1 for a typical N(0, I) latent.',
    formula: '\\lVert z\\rVert/\\sqrt d \\approx 1',
  },
  ks: {
    title: 'Normality (KS D)',
    short: 'Kolmogorov-Smirnov distance of the latent’s entries to N(0, 1): smaller = more Gaussian.',
    formula: 'D = \\max_x |F_n(x) - \\Phi(x)|',
    better: 'lower',
  },
  mse: { title: 'MSE', short: 'Mean squared error.', better: 'lower' },
  maxAbsError: { title: 'max |error|', short: 'Largest absolute error of any pixel.', better: 'lower' },

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

/** What each bundled preset (resources/presets) demonstrates, by preset name. */
export const PRESET_HELP: Record<string, Explanation> = {
  moons: {
    title: 'Two moons',
    short: 'The hello-world of flow matching: noise flows into two interleaved half circles in a few hundred steps.',
    learn: 'Watch the particles split between the moons; try exact-OT coupling and compare straightness.',
  },
  '8gaussians': {
    title: '8 Gaussians with OT-CFM',
    short: 'A mixture target with an exact oracle: the learned field is compared with the true one, and OT pairing gives straight paths.',
  },
  checkerboard: {
    title: 'Checkerboard',
    short: 'Sharp edges and separate squares: shows what a small MLP can and cannot resolve.',
  },
  '8gaussians-to-moons': {
    title: '8 Gaussians → moons',
    short: 'Data-to-data translation: the source is a dataset, not noise, paired by exact OT.',
  },
  mnist: {
    title: 'MNIST, class-conditional with guidance',
    short: 'A U-Net on handwritten digits with label dropout, so guidance (CFG) can sharpen each class. Slow on the CPU.',
  },
};

/** The explanation of an option (or of its value, when one is given), or undefined. */
export function optionHelp(path: string, value?: string | number | boolean): Explanation | undefined {
  const key = helpKey(path);
  return (value !== undefined ? OPTION_HELP[`${key}=${String(value)}`] : undefined) ?? OPTION_HELP[key];
}

/**
 * The table key of a form path: list indices dropped ('data.gmm.means[3]' -> 'data.gmm'), and the
 * source's data edited by the same form as the target's ('source.data.name' -> 'data.name').
 */
export function helpKey(path: string): string {
  let p = path.replace(/\[\d+\]/g, '');
  if (p.startsWith('source.data.')) p = p.slice('source.'.length);
  if (OPTION_HELP[p]) return p;
  // A mixture's rows: weights, means, stds share the mixture's explanation.
  const gmm = /^(data\.gmm)\./.exec(p);
  return gmm ? gmm[1]! : p;
}

/** The explanation of a metric by its stored (or displayed) name, or undefined. */
export function metricHelp(name: string): Explanation | undefined {
  return METRIC_HELP[name];
}

/**
 * Every value of a choice that has an explanation of its own, as [value, explanation] pairs in
 * table order (the learn panel lists them under the option).
 */
export function choiceHelp(path: string): [string, Explanation][] {
  const prefix = `${helpKey(path)}=`;
  return Object.entries(OPTION_HELP)
    .filter(([k]) => k.startsWith(prefix))
    .map(([k, e]) => [k.slice(prefix.length), e]);
}
