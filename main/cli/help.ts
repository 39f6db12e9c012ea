/**
 * Usage texts: `flow-studio --help` and `flow-studio COMMAND --help`. Kept beside each other so the
 * list of commands is spelled once (index.ts dispatches on COMMAND_NAMES).
 */

export const COMMAND_NAMES = [
  'train',
  'sample',
  'likelihood',
  'invert',
  'decode',
  'interpolate',
  'edit',
  'runs',
  'export',
  'import',
  'bench',
  'doctor',
  'serve',
] as const;
/** A command of the CLI. */
export type CommandName = (typeof COMMAND_NAMES)[number];

const MODEL = `Models (--model):
  RUN_ID            a trained run: EMA weights of its latest checkpoint
  RUN_ID@STEP       ... of its checkpoint at STEP
  shipped:NAME      a model shipped with the app (resources/models/NAME), e.g. shipped:mnist
  oracle:8gaussians an exact Gaussian-mixture flow (closed-form velocity and density)
  oracle --gmm FILE the same for a mixture file {"weights": [...], "means": [[...]], "stds": [...]}
  --scheduler S     oracle path: condot (default), condot:SIGMA_MIN, polynomial:N, cosine, linear-vp, vp, vp:BETA_MAX,
                    sub-vp, ve, ve:SIGMA_MIN`;

const SOLVER = `Solver:
  --solver S        euler | midpoint | heun | rk4 | dopri5
  --steps K         steps of a fixed-step solver (exactly K are taken)
  --rtol R --atol A dopri5 tolerances (default 1e-5)`;

const SAMPLER = `Sampler:
  --solver S        an ODE method: euler | midpoint | heun | rk4 | dopri5
                    an exponential integrator: ddim | dpm++2m (DPM-Solver++(2M))
                    a stochastic sampler: sde (Euler-Maruyama on the reverse SDE) | ancestral |
                    pc (predictor-corrector, Langevin corrector) | edm (EDM stochastic Heun)
  --steps K         steps (exactly K grid intervals; dopri5: adaptive)
  --grid G          uniform (default; edm: karras) | karras (EDM's rho = 7) | logsnr (uniform in log(alpha / sigma))
  --noise G         sde, pc: g_t = G sigma_t (default 1); ancestral: eta (1 = DDPM, 0 = DDIM)
  --churn C         edm: S_churn (default 10; 0 = deterministic Heun)
  --snr R           pc: the Langevin corrector's signal-to-noise ratio (default 0.16)
  --corrector-steps M  pc: Langevin steps per step (default 1)
  --noise-seed S    seed of a stochastic sampler's noise (default --seed + 1)
  --rtol R --atol A dopri5 tolerances (default 1e-5)`;

const STUDIO = `Images: a PNG or JPEG file (centre-cropped, resized and converted to the model's size and
channels) or mnist:DIGIT[:INDEX] (a digit of the bundled MNIST, INDEX default 0).
  --exact-size      refuse image files that are not exactly the model's size
  --background B    white (default) | black: what transparent pixels become
  --save            store the result files (PNGs, APNG/GIF, JSON of the numbers) as artifacts: with
                    the model's run, or for shipped models and oracles a run "Latent studio: MODEL"
  --export DIR      write the same files into DIR`;

const GLOBAL = `Global options:
  --db FILE         run store (default: $FLOW_STUDIO_HOME/flow-studio.db, else the per-user data folder)
  --json            print exactly one JSON document on stdout (also for errors)
  --backend B       auto | tensorflow-gpu | tensorflow | wasm | cpu (default auto, or $FLOW_STUDIO_BACKEND)
  -h, --help        help for a command`;

/** `flow-studio --help`: the commands, global options and exit codes. */
export const OVERVIEW = `flow-studio: train, sample, measure and invert flow-matching models from the command line.

Convention: noise x0 ~ N(0, I) at t = 0, data x1 at t = 1, x_t = alpha_t x1 + sigma_t x0.

Usage: flow-studio COMMAND [options]

Commands:
  train        train a model from a preset or a config file (or resume a run)
  sample       draw samples: JSON points, or a PNG grid for images
  likelihood   log-density of points or images through the probability-flow ODE (bits/dim for images)
  invert       encode data into latents (data -> noise)
  decode       decode latents into data (noise -> data)
  interpolate  frames between two inputs along an interpolation of their latents
  edit         edit images in latent space: class-swap | sdedit | inpaint | arithmetic
  runs         list | show | export | delete stored runs
  export       a run as a launch folder for the PyTorch engine (GPU box, torchrun, Ray)
  import       a trained launch folder back into the run store
  bench        run the benchmarks in bench/
  doctor       check Node, the compute backend, packages and the data folder
  serve        the studio in a browser: web host on 127.0.0.1 with an access token

${GLOBAL}

Exit codes: 0 success, 1 a run failed or diverged, the disk or a lock failed (or an unexpected
error), 2 bad input (also a run store that is a folder, not a database, damaged, or not readable or
writable for this user), 130 training cancelled with Ctrl+C. FLOW_STUDIO_DEBUG=1 prints stacks.

Run 'flow-studio COMMAND --help' for a command's options.`;

/** `flow-studio COMMAND --help`, per command. */
export const USAGE: Record<CommandName, string> = {
  train: `Usage:
  flow-studio train --preset NAME | --config FILE [--steps N] [--seed S] [--name NAME] [--engine E]
  flow-studio train --resume RUN_ID

Trains in a worker thread and stores the run (metrics, checkpoints, samples) in the run store.
  --preset NAME     a bundled preset: resources/presets/NAME.json (moons, 8gaussians, ...)
  --config FILE     an experiment config (JSON; '-' for stdin); validated field by field
  --steps N         total training steps (stored in the run's config); checkpoint, log and
                    sample intervals and optim.warmupSteps longer than the run are shortened
  --seed S          random seed (stored in the run's config)
  --name NAME       the run's name (default: the config's name or the preset's)
  --engine E        tfjs (default: the studio's own engine) | pytorch (a Python with torch
                    trains the run: FLOW_STUDIO_PYTHON or discovery; see flow-studio doctor);
                    stored as the config's train.engine
  --resume RUN_ID   continue a paused, cancelled, failed or interrupted run from its last
                    checkpoint up to its configured steps
Progress: a bar on a terminal, else a line every 10%. Ctrl+C cancels after a checkpoint
(a second Ctrl+C quits at once; resume later with --resume).
Exit: 0 completed, 1 failed or diverged, 2 bad input, 130 cancelled.

${GLOBAL}`,
  sample: `Usage:
  flow-studio sample --model MODEL [--n N] [--seed S] [--cfg W] [--class C] [sampler] [--scheduler S]
                     [--out FILE] [--trajectories FILE.csv]

Draws N samples (default 1000; 64 for images) from noise (t = 0) to data (t = 1), exact at both ends
for every prediction type (eps, x1 and score models end with a denoising step where needed).
Points: a JSON array of vectors on stdout or in --out (FILE.png: a scatter plot; FILE.csv: CSV).
Images: a PNG grid (--out FILE.png required).
  --cfg W           classifier-free guidance weight: v = (1 + W) v_cond - W v_uncond
  --class C         class label of a conditional model
  --cols K          grid columns for images (default 8)
  --scheduler S     sample a trained model under another scheduler (exact; e.g. cosine, vp, ve:0.01)
  --trajectories F  every grid time's points as CSV (step,t,sample,x0,x1,...)
Defaults for a run come from its config's sampling section; for an oracle: dopri5.

${MODEL}

${SAMPLER}

${GLOBAL}`,
  likelihood: `Usage:
  flow-studio likelihood --model MODEL --points FILE|- [--exact | --hutchinson [--probes P]] [solver]
  flow-studio likelihood --model MODEL --images FILE.png... [--hutchinson] [--seed S]

log p(x) in nats per input, by integrating [x, log-density] from data (t = 1) to noise (t = 0).
  --exact           exact divergence (d backward passes per evaluation; default for points)
  --hutchinson      Hutchinson estimate with fixed Rademacher probes (default for images)
  --probes P        probes per evaluation (default 1)
  --seed S          seed of the probes and of the image dequantisation noise (default 0)
Oracles also print their closed-form log-density for comparison. Images are dequantised with
uniform noise and reported in bits/dim (8-bit data scaled to [-1, 1]).
Default solver: dopri5.

${MODEL}

${SOLVER}

${GLOBAL}`,
  invert: `Usage:
  flow-studio invert --model MODEL --points FILE|- [solver] [--out FILE]
  flow-studio invert --model MODEL --image IMAGE... [--class C] [--bpd [--probes P] [--repeats R] [--seed S]]
                     [--reconstruction FILE.png] [solver] [--out FILE] [--save] [--export DIR]

Encodes data into latents (PF-ODE from t = 1 back to t = 0): a JSON array of vectors (images are
flattened HWC) and the number of field evaluations. Default solver: dopri5.
For images the report (--json) also gives, per image, the latent's statistics against N(0, I)
(mean, std, norm / sqrt(d), skewness, excess kurtosis, Kolmogorov-Smirnov distance and p-value) and
the reconstruction decode(encode(x)) with the same solver: PSNR (data range 2, images in [-1, 1])
and max abs error.
  --class C         invert under class C (default: the unconditional field)
  --bpd             also bits/dim by Hutchinson's estimator, mean and std over --repeats estimates
                    (default 3) with --probes probes each (default 1), seeds S, S+1, ...
  --reconstruction FILE.png   rows of input | reconstruction | latent (z / 3)

${STUDIO}

${MODEL}

${SOLVER}

${GLOBAL}`,
  decode: `Usage:
  flow-studio decode --model MODEL --latents FILE|- [solver] [--out FILE]

Decodes latents (a JSON array of vectors, as 'invert' writes) into data (t = 0 -> 1): points as
JSON, images as a PNG grid (--out FILE.png required). Default solver: dopri5.

${MODEL}

${SOLVER}

${GLOBAL}`,
  interpolate: `Usage:
  flow-studio interpolate --model MODEL --from FILE --to FILE [--frames N] [--mode slerp|lerp] [--latents]
  flow-studio interpolate --model MODEL --from IMAGE --to IMAGE --out STRIP.png [--mode slerp|lerp|both]
                          [--gif FILE.gif] [--apng FILE.png] [--delay MS] [--bounce] [--class C]

Encodes both inputs (JSON points with the same number of items, or one image each), interpolates
their latents (slerp keeps Gaussian latents on their shell) and decodes every frame.
Points: JSON [frame][item][coordinate]. Images: a PNG strip (--out FILE.png required; one row per
mode with --mode both), the latent norm of every frame against sqrt(d), and the PSNR of the end
frames against the inputs.
  --frames N        frames including both ends (default 8)
  --latents         the inputs are latents already (skip encoding)
  --gif, --apng     also write the frames as an animated GIF / APNG (first mode), --delay MS per frame
                    (default 150); --bounce plays them forwards then backwards

${STUDIO}

${MODEL}

${SOLVER}

${GLOBAL}`,
  edit: `Usage:
  flow-studio edit class-swap --model MODEL --image IMAGE... --to-class B [--from-class A] [--cfg W]
  flow-studio edit sdedit     --model MODEL --image IMAGE... [--t0 T] [--start invert|noise] [--sampler ode|sde]
                              [--noise G] [--seed S] [--class C | --from-class A --to-class B] [--cfg W]
  flow-studio edit inpaint    --model MODEL --image IMAGE... (--mask MASK.png | --mask-rect X,Y,W,H)
                              [--class C] [--x0 random|inverted] [--seed S] [--cfg W]
  flow-studio edit arithmetic --model MODEL --a IMAGE --b IMAGE --c IMAGE [--scale S] [--renormalise] [--class C]

Edits through the probability-flow ODE (x_t = alpha_t x1 + sigma_t x0, noise at t = 0):
  class-swap   invert under class A (default: the digit of mnist:D inputs, else unconditional),
               decode under class B with guidance W (default 1)
  sdedit       go back to time T (default 0.2; the edit strength is 1 - T) by inverting the ODE or
               by the path sample alpha_T x + sigma_T eps, then forwards by the ODE or the SDE
               (noise level G, default 1; Euler-Maruyama with --steps, default 50) under class B with
               guidance W (default 1). IMAGE...: --image a.png b.png or a repeated --image
  inpaint      regenerate the masked pixels (white in MASK.png, or the rectangle), keeping the others:
               after every step the known region is reset to its path sample alpha_t x + sigma_t x0
               (x0 seeded noise, or the image's own latent); default solver heun, 50 steps
  arithmetic   decode z_a + S (z_b - z_c) (S default 1); --renormalise rescales it to |z_a|
  --out FILE.png    rows of original | edited (arithmetic: a | b | c | result)

${STUDIO}

${MODEL}

${SOLVER}

${GLOBAL}`,
  runs: `Usage:
  flow-studio runs list
  flow-studio runs show RUN_ID
  flow-studio runs export RUN_ID [--out FILE] [--model FILE]
  flow-studio runs export RUN_ID --archive FILE.zip [--backend NAME]
  flow-studio runs export RUN_ID --dir DIR [--backend NAME]
  flow-studio runs rename RUN_ID NAME
  flow-studio runs delete RUN_ID [--yes]

  list              a table (or --json) of runs, newest first, with status, step and final loss;
                    'interrupted' marks a run whose training process died (continue it with
                    flow-studio train --resume RUN_ID)
  show              one run: config, status, owner, summary, checkpoints, metrics
  export            config + metrics + checkpoint list as JSON; --model FILE also writes the EMA
                    weights of the latest checkpoint as a safetensors model file (the model's
                    names, with its config in the metadata; the PyTorch engine reads it);
                    --archive FILE.zip writes the app's one-file export instead: config, weights,
                    metrics, samples (PNG with axes and CSV), trajectories and a README;
                    --dir DIR writes the app's export files instead: config JSON, metrics CSV,
                    samples PNG, trajectories CSV (2D), model JSON
  rename            gives a run a new name
  delete            deletes a run and everything stored with it (asks unless --yes)

  A run that another live process trains (the app, another flow-studio train) cannot be renamed,
  deleted or resumed here: stop it there first. Exit 2 says so, naming the process.

${GLOBAL}`,
  bench: `Usage:
  flow-studio bench [NAME] [-- ARGS...]

Runs bench/run.ts (or bench/NAME.ts) with Node's TypeScript support; its output is passed through.
Only in a source checkout.

${GLOBAL}`,
  export: `Usage:
  flow-studio export --run RUN_ID --to DIR

Writes a launch folder: the run's config (train.engine 'pytorch'), its data as arrays (MNIST and
image folders), its newest checkpoint to continue from, its metrics so far, the PyTorch engine
package and a README with the commands: one process (CUDA, MPS or CPU), torchrun
(--nproc_per_node=N: DDP, the global batch split across processes) and Ray Train. DIR must not
exist or be empty. The run in the store is not changed. Reflow runs cannot be exported.
Bring the result back with 'flow-studio import DIR'.

${GLOBAL}`,
  import: `Usage:
  flow-studio import DIR [--name NAME]

Stores what a launch folder (from 'flow-studio export') trained as a new run: metrics (the
exported history, then out/events.jsonl), every checkpoint in out/checkpoints, the samples, and
the status the engine ended with (a folder still training or killed is imported as 'failed' and
resumes from its last checkpoint with 'flow-studio train --resume'). Nothing is stored when the
folder cannot be read.
  --name NAME       the new run's name (default: the exported run's name + " (imported)")

${GLOBAL}`,
  doctor: `Usage:
  flow-studio doctor
  flow-studio doctor --recover [--out FILE]
  flow-studio doctor --restore BACKUP

Reports the Node version, the compute backend chosen and why (with the ones skipped), package
versions, whether the Electron binary is installed, the data folder, the run store's health (a full
integrity check: ok, damaged, read-only ...) and size, its backups, and a write check.
Then the training engines: the PyTorch engine (train.engine 'pytorch': the Python found, from
FLOW_STUDIO_PYTHON or discovery, its torch version and devices: CUDA GPUs with name and memory,
MPS, CPU), and for tfjs-node-gpu the NVIDIA driver and the libraries it loads (libcudart.so.11.0,
libcudnn.so.8): what is missing, and the PyTorch engine as the way to use CUDA 12.
Exit 0 when everything needed works, 1 otherwise (the engines are optional).
  --recover         copy what can be read of a damaged run store into a new one beside it
                    (NAME.recovered-DATE.db, or --out FILE) and list the runs lost or partly read;
                    the damaged file is never written
  --restore BACKUP  put a backup (from the backups folder doctor lists) in place of the run store;
                    the current file is kept as NAME.before-restore-DATE.db. Refused while another
                    process has the store open

${GLOBAL}`,
  serve: `Usage:
  flow-studio serve [--host ADDR] [--port N] [--renderer DIR]

Serves the studio (the built renderer, out/renderer) and its API over HTTP + WebSocket, training
in worker threads of this process. Prints the URL to open, with its access token: every request
and socket needs the token. Binds 127.0.0.1 unless --host says otherwise (--host 0.0.0.0 exposes
it to the network: do that deliberately, e.g. behind an SSH tunnel or a firewall). --port 0 (the
default) picks a free port. Ctrl+C stops; running trainings checkpoint first and can be resumed.

${GLOBAL}`,
};
