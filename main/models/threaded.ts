/**
 * Inference on more than one core: a trained model whose forward pass splits its batch between the
 * calling thread and helper threads (main/models/infer-worker.ts), each running its own copy of the
 * network on its own tfjs backend.
 *
 * Why here and not in the solver: every sampler, inversion and edit calls the network through
 * `VelocityModel.apply` (core/train/sample.ts guidedField, with classifier-free guidance doubling
 * the batch), so splitting that one call serves all of them, fixed-step or adaptive, ODE or SDE,
 * with the solver's state, noise and step-size decisions untouched on the calling thread.
 *
 *   apply(x, t, labels) = concat(f(x[0:b0], t[0:b0], labels[0:b0]),          calling thread
 *                                f(x[b0:B], t[b0:B], labels[b0:B]))           helper thread(s)
 *
 * Rows of a batch are independent in both networks (an MLP row, and a U-Net sample with its own
 * GroupNorm statistics and attention), and every kernel sums over the same index in the same order
 * whatever the batch size, so the split result equals the whole-batch result bit for bit
 * (test/main/models/threaded.test.ts checks this on an MLP and a conditional U-Net).
 *
 * The call stays synchronous, as the solvers are: the request goes to the helper on a MessagePort,
 * the helper is woken through a shared Int32Array (Atomics.notify), the calling thread computes its
 * own rows meanwhile, then blocks in Atomics.wait until the helper's DONE counter moves and takes the
 * reply with receiveMessageOnPort. Atomics.wait is allowed in Node's main thread and in worker
 * threads (the compute worker, the CLI); it is never used on a browser page.
 *
 * When it splits (`inferenceThreads`, `shouldSplit`, `SplitPolicy`): only on a single-threaded backend
 * (wasm, cpu; tfjs-node already uses every core), only when no gradient tape is recording, only for
 * batches where a shard's work outweighs the hand-off (MIN_ROWS), and only while splitting measures
 * faster than not (a busy machine gives the helper no core). Helpers start in the background on the
 * first call that qualifies; until one says it is ready, calls run whole on the calling thread (the
 * result is the same either way). A helper that fails or stops answering is dropped with its error
 * in `lastError`, and later calls run on the calling thread.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { tf, type Tensor } from '../../core/tf';
import type { VelocityModel } from '../../core/model';
import { workerEntry } from '../runtime/resources';
import type { InferRequest, InferReply, InferSetup, WeightList } from './infer-protocol';
import { CTRL_DONE, CTRL_READY, CTRL_REQ, HELPER_GONE } from './infer-protocol';

/** Smallest batch (rows of the network call) split between threads, by model kind. */
export const MIN_ROWS: Record<string, number> = { mlp: 256, unet: 2 };

/** How long the calling thread waits for a helper's shard before giving up on it. */
const REPLY_TIMEOUT_MS = 300_000;

/**
 * Threads a forward pass may use: FLOW_STUDIO_INFER_THREADS (an integer >= 1) if set, else 2 on a
 * machine with at least 2 cores, else 1. More than 2 is allowed by the variable; the default stays
 * at 2 because the app's other work (the UI's host, a training run) needs the other cores.
 */
export function inferenceThreads(env: string | undefined = process.env.FLOW_STUDIO_INFER_THREADS): number {
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`FLOW_STUDIO_INFER_THREADS must be an integer >= 1, got '${env}'`);
    return n;
  }
  return availableParallelism() >= 2 ? 2 : 1;
}

/** True when a call of `rows` rows of a `kind` model on `backend` is worth splitting over `threads`. */
export function shouldSplit(kind: string, rows: number, threads: number, backend: string): boolean {
  const min = MIN_ROWS[kind];
  return threads > 1 && (backend === 'wasm' || backend === 'cpu') && min !== undefined && rows >= min;
}

interface Helper {
  worker: Worker;
  port: MessagePort;
  ctrl: Int32Array;
  /** Requests sent so far (the REQ counter this side last wrote). */
  sent: number;
  /** The model the helper holds (a `ThreadedModel` key), or 0. */
  holds: number;
  broken: string | null;
}

let nextKey = 1;

/**
 * Whether a call of a given batch size splits, learned from the calls themselves. A split only pays
 * when the helper gets a core: while another job keeps the cores busy (a training run, another
 * program) the helper waits for CPU and the split call is slower than the whole one. So per batch
 * size (sampling repeats one size every step) the policy keeps an exponential average of the wall
 * time of both ways (weight ALPHA for the newest), tries each once, then takes the faster, and every
 * PROBE_EVERY calls runs the other way once so a change in load is seen. The outputs are the same
 * either way (bit for bit), so this changes speed, never results. With `adaptive` false every
 * qualifying call splits (tests).
 */
export class SplitPolicy {
  static readonly ALPHA = 0.3;
  static readonly PROBE_EVERY = 16;
  private readonly stats = new Map<number, { whole: number; split: number; calls: number }>();

  constructor(readonly adaptive = true) {}

  choose(rows: number): 'split' | 'whole' {
    if (!this.adaptive) return 'split';
    const p = this.stats.get(rows);
    if (!p || p.split === 0) return 'split';
    if (p.whole === 0) return 'whole';
    p.calls++;
    const faster = p.split <= p.whole ? 'split' : 'whole';
    if (p.calls % SplitPolicy.PROBE_EVERY === 0) return faster === 'split' ? 'whole' : 'split';
    return faster;
  }

  record(rows: number, way: 'split' | 'whole', ms: number): void {
    const p = this.stats.get(rows) ?? { whole: 0, split: 0, calls: 0 };
    const a = SplitPolicy.ALPHA;
    p[way] = p[way] === 0 ? ms : (1 - a) * p[way] + a * ms;
    this.stats.set(rows, p);
  }

  /** The averages of a batch size (ms; 0 = not measured yet). */
  timings(rows: number): { whole: number; split: number } | undefined {
    const p = this.stats.get(rows);
    return p && { whole: p.whole, split: p.split };
  }
}

/**
 * The helper threads of this thread, shared by every ThreadedModel it creates: a compute task loads
 * a model, samples and disposes it, and the next task should not pay a thread's start again. A
 * helper holds one model at a time (the `key` of the ThreadedModel it last served) and is sent the
 * weights again when another model calls it.
 */
const pool: Helper[] = [];
let poolSize = 0;
let restarts = 0;
const MAX_RESTARTS = 3;

function startPool(threads: number): void {
  // A helper whose thread ended is replaced, a bounded number of times per calling thread.
  for (let i = pool.length - 1; i >= 0; i--) {
    if (pool[i]!.broken && restarts < MAX_RESTARTS) {
      restarts++;
      pool[i]!.port.close();
      pool.splice(i, 1);
      poolSize--;
    }
  }
  if (threads - 1 <= poolSize) return;
  const entry = workerEntry('infer');
  for (let k = poolSize + 1; k < threads; k++) {
    const ctrl = new Int32Array(new SharedArrayBuffer(4 * 4));
    const { port1, port2 } = new MessageChannel();
    const setup: InferSetup = { ctrl: ctrl.buffer as SharedArrayBuffer, port: port2, backend: tf.getBackend() };
    const worker = new Worker(entry.url, { workerData: setup, transferList: [port2], execArgv: entry.execArgv });
    const h: Helper = { worker, port: port1, ctrl, sent: 0, holds: 0, broken: null };
    worker.on('error', (e) => drop(h, e instanceof Error ? e.message : String(e)));
    worker.on('exit', (code) => drop(h, `the inference thread exited (code ${code})`));
    // A helper idles in Atomics.wait; it must not keep the process alive.
    worker.unref();
    pool.push(h);
  }
  poolSize = threads - 1;
}

let lastError: string | null = null;

function drop(h: Helper, why: string): void {
  if (h.broken) return;
  h.broken = why;
  lastError = why;
}

/** The last failure of a helper thread in this thread's pool (calls then ran on the calling thread). */
export function inferenceThreadError(): string | null {
  return lastError;
}

/** Stops this thread's helper threads (tests; a process that ends does not need it). */
export async function stopInferenceThreads(): Promise<void> {
  const all = pool.splice(0);
  poolSize = 0;
  await Promise.all(
    all.map(async (h) => {
      if (!h.broken) send(h, { kind: 'stop' });
      h.broken ??= 'stopped';
      await h.worker.terminate();
      h.port.close();
    }),
  );
}

/** Starts this thread's pool for `threads` threads and waits until every helper is ready. */
export async function warmInferenceThreads(threads = inferenceThreads(), timeoutMs = 120_000): Promise<void> {
  startPool(threads);
  const t0 = Date.now();
  while (pool.some((h) => !h.broken && Atomics.load(h.ctrl, CTRL_READY) === 0)) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`inference threads did not start within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const failed = pool.find((h) => h.broken);
  if (failed) throw new Error(`an inference thread failed: ${failed.broken}`);
}

function send(h: Helper, req: InferRequest, transfer: ArrayBuffer[] = []): void {
  h.port.postMessage(req, transfer);
  h.sent++;
  Atomics.store(h.ctrl, CTRL_REQ, h.sent);
  Atomics.notify(h.ctrl, CTRL_REQ);
}

/**
 * Blocks until helper h answers its latest request. null when the thread is gone or silent (then h
 * is dropped); an error reply (the helper could not load or run this model) leaves h in the pool.
 */
function receive(h: Helper): InferReply | null {
  const t0 = Date.now();
  for (;;) {
    const done = Atomics.load(h.ctrl, CTRL_DONE);
    if (done === h.sent) break;
    if (Atomics.load(h.ctrl, CTRL_READY) === HELPER_GONE) {
      drop(h, 'the inference thread stopped');
      return null;
    }
    if (Date.now() - t0 > REPLY_TIMEOUT_MS) {
      drop(h, `no answer within ${REPLY_TIMEOUT_MS / 1000} s`);
      void h.worker.terminate();
      return null;
    }
    Atomics.wait(h.ctrl, CTRL_DONE, done, 1000);
  }
  const reply = receiveMessageOnPort(h.port)?.message as InferReply | undefined;
  if (!reply) {
    drop(h, 'the inference thread answered without a result');
    return null;
  }
  return reply;
}

function readyHelpers(n: number): Helper[] {
  return pool.filter((h) => !h.broken && Atomics.load(h.ctrl, CTRL_READY) === 1).slice(0, n);
}

/**
 * Splits the forward pass of `model` over `threads` threads (this one and threads - 1 helpers). The
 * weights are copied to a helper when it first serves this model; they must not change afterwards (a
 * model loaded for inference). Training models are not wrapped: their weights move every step.
 */
export class ThreadedModel implements VelocityModel {
  readonly config: VelocityModel['config'];
  readonly variables: VelocityModel['variables'];
  readonly names: VelocityModel['names'];
  /** Calls split so far, and calls run whole (for the bench and the tests). */
  readonly counts = { split: 0, whole: 0 };
  /** Whether splitting pays at each batch size, from this model's own timings (see SplitPolicy). */
  readonly policy: SplitPolicy;
  private readonly key = nextKey++;
  private weights: WeightList | null = null;
  /** Why helpers cannot run this model, once one said so. */
  private refused: string | null = null;

  constructor(
    private readonly inner: VelocityModel,
    readonly threads = inferenceThreads(),
    opts: { adaptive?: boolean } = {},
  ) {
    this.policy = new SplitPolicy(opts.adaptive ?? true);
    this.config = inner.config;
    this.variables = inner.variables;
    this.names = inner.names;
  }

  apply(x: Tensor, t: Tensor, labels?: Tensor): Tensor {
    const rows = x.shape[0]!;
    const tape = (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
    if (tape || !shouldSplit(this.config.kind, rows, this.threads, tf.getBackend())) {
      this.counts.whole++;
      return this.inner.apply(x, t, labels);
    }
    const ready = this.refused ? [] : readyHelpers(this.threads - 1);
    const t0 = performance.now();
    if (ready.length === 0 || this.policy.choose(rows) === 'whole') {
      if (ready.length === 0 && !this.refused) startPool(this.threads);
      this.counts.whole++;
      const y = this.inner.apply(x, t, labels);
      // The backends that split (wasm, cpu) compute synchronously: the time is the pass's.
      if (ready.length > 0) this.policy.record(rows, 'whole', performance.now() - t0);
      return y;
    }
    const r = this.split(x, t, labels, ready);
    this.policy.record(rows, r.split ? 'split' : 'whole', performance.now() - t0);
    return r.y;
  }

  /** Frees the model; the helper threads stay for the next one (see `stopInferenceThreads`). */
  dispose(): void {
    for (const h of pool)
      if (h.holds === this.key && !h.broken) {
        send(h, { kind: 'unload' });
        if (receive(h)) h.holds = 0;
      }
    this.inner.dispose();
  }

  /** Starts the helper threads and waits until they are ready (tests and benches, so timing does not include the start). */
  warm(timeoutMs = 120_000): Promise<void> {
    return warmInferenceThreads(this.threads, timeoutMs);
  }

  /** A helper could not load or run this model: it runs whole from now on (the helper stays for others). */
  private refuse(message: string): void {
    this.refused = message;
    lastError = message;
  }

  private weightsForHelpers(): WeightList {
    this.weights ??= this.inner.variables.map((v, i) => ({
      name: this.inner.names[i]!,
      shape: v.shape.slice(),
      data: v.dataSync() as Float32Array,
    }));
    return this.weights;
  }

  private split(x: Tensor, t: Tensor, labels: Tensor | undefined, helpers: Helper[]): { y: Tensor; split: boolean } {
    const rows = x.shape[0]!;
    const rowSize = x.size / rows;
    const parts = helpers.length + 1;
    // Rows [bounds[k], bounds[k + 1]) go to part k; part 0 (the largest when uneven) stays here.
    const bounds = Array.from({ length: parts + 1 }, (_, k) => rows - Math.floor(((parts - k) * rows) / parts));
    const xs = x.dataSync() as Float32Array;
    const ts = t.dataSync() as Float32Array;
    const ls = labels ? (labels.dataSync() as Int32Array) : null;
    const used: Helper[] = [];
    helpers.forEach((h, i) => {
      const a = bounds[i + 1]!;
      const b = bounds[i + 2]!;
      if (h.holds !== this.key) {
        send(h, { kind: 'load', key: this.key, config: this.config, weights: this.weightsForHelpers() });
        const r = receive(h);
        if (r?.kind === 'error') this.refuse(r.message);
        if (r?.kind !== 'loaded') return;
        h.holds = this.key;
      }
      const xPart = xs.slice(a * rowSize, b * rowSize);
      const tPart = ts.slice(a, b);
      const lPart = ls ? ls.slice(a, b) : null;
      send(h, { kind: 'apply', key: this.key, shape: [b - a, ...x.shape.slice(1)], x: xPart, t: tPart, labels: lPart }, [
        xPart.buffer as ArrayBuffer,
        tPart.buffer as ArrayBuffer,
        ...(lPart ? [lPart.buffer as ArrayBuffer] : []),
      ]);
      used.push(h);
    });
    const b0 = bounds[1]!;
    const mine = tf.tidy(() => this.inner.apply(tf.slice(x, 0, b0), tf.slice(t, 0, b0), labels ? tf.slice(labels, 0, b0) : undefined));
    const out = new Float32Array(x.size);
    try {
      out.set(mine.dataSync() as Float32Array, 0);
    } finally {
      mine.dispose();
    }
    let missing = false;
    helpers.forEach((h, i) => {
      const r = used.includes(h) ? receive(h) : null;
      if (r?.kind === 'error') this.refuse(r.message);
      if (r?.kind === 'result') out.set(r.y, bounds[i + 1]! * rowSize);
      else missing = true;
    });
    if (missing) {
      // A helper dropped out mid-call: redo the whole call here (same result, one thread).
      this.counts.whole++;
      return { y: this.inner.apply(x, t, labels), split: false };
    }
    this.counts.split++;
    return { y: tf.tensor(out, x.shape, 'float32'), split: true };
  }
}

/** `model` split over `threads` threads when that can help (see ThreadedModel), else `model` itself. */
export function threadedForInference(model: VelocityModel, threads = inferenceThreads()): VelocityModel {
  if (threads < 2 || MIN_ROWS[model.config.kind] === undefined) return model;
  return new ThreadedModel(model, threads);
}
