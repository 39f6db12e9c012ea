/**
 * Shared pieces of the benchmarks: timed rounds, summary statistics, logging to stderr (stdout
 * carries only the JSON document) and a line-protocol child process for peer implementations.
 *
 * Why rounds: the machine is shared (other jobs take cores on and off), so every variant runs in
 * short rounds interleaved with the others, and each reports its best round (what the code can do)
 * and its median round (what it typically got). A single long run would mostly measure the
 * neighbours.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';

/** Progress messages go to stderr, so stdout holds exactly one JSON document. */
export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Rounds a number to `digits` significant decimals for readable JSON. */
export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export interface RateStats {
  best: number;
  median: number;
  /** Every round's rate, in the order run. */
  rounds: number[];
}

/** Best (highest) and median of per-round rates. */
export function rateStats(rates: readonly number[]): RateStats {
  if (rates.length === 0) throw new Error('rateStats: no rounds');
  const sorted = [...rates].sort((a, b) => b - a);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { best: round(sorted[0]!, 2), median: round(median, 2), rounds: rates.map((r) => round(r, 2)) };
}

/** Best (lowest) and median of durations (ms). */
export function timeStats(ms: readonly number[]): { best: number; median: number; samples: number[] } {
  const sorted = [...ms].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { best: round(sorted[0]!, 1), median: round(median, 1), samples: ms.map((x) => round(x, 1)) };
}

/**
 * Calls `step` until `ms` milliseconds have passed (at least `minSteps` times); returns steps per
 * second over the round and the last value `step` returned.
 */
export function timedRound<T>(step: () => T, ms: number, minSteps = 1): { rate: number; steps: number; last: T } {
  let n = 0;
  let last: T;
  const t0 = performance.now();
  do {
    last = step();
    n++;
  } while (n < minSteps || performance.now() - t0 < ms);
  return { rate: (1000 * n) / (performance.now() - t0), steps: n, last };
}

/** `timedRound` for an asynchronous step (awaited one at a time). */
export async function timedRoundAsync<T>(
  step: () => Promise<T>,
  ms: number,
  minSteps = 1,
): Promise<{ rate: number; steps: number; last: T }> {
  let n = 0;
  let last: T;
  const t0 = performance.now();
  do {
    last = await step();
    n++;
  } while (n < minSteps || performance.now() - t0 < ms);
  return { rate: (1000 * n) / (performance.now() - t0), steps: n, last };
}

/**
 * A child process speaking one JSON object per line: the first line it prints describes it, then
 * each request written to its stdin gets one reply line. Used for the PyTorch peer.
 */
export class LinePeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly queue: ((line: string | null) => void)[] = [];
  private readonly buffered: string[] = [];
  private stderr = '';
  private ended = false;

  constructor(command: string, args: string[]) {
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    this.child.on('error', () => this.end());
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => {
      const next = this.queue.shift();
      if (next) next(line);
      else this.buffered.push(line);
    });
    this.lines.on('close', () => this.end());
  }

  private end(): void {
    this.ended = true;
    for (const w of this.queue.splice(0)) w(null);
  }

  /** The next line the child prints, parsed; throws with its stderr if it exited instead. */
  async read<T>(): Promise<T> {
    const line = this.buffered.shift() ?? (this.ended ? null : await new Promise<string | null>((r) => this.queue.push(r)));
    if (line === null) throw new Error(`peer exited: ${this.stderr.trim().split('\n').slice(-3).join(' | ') || 'no output'}`);
    return JSON.parse(line) as T;
  }

  async request<T>(message: object): Promise<T> {
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
    return this.read<T>();
  }

  close(): void {
    this.child.stdin.end();
    this.lines.close();
    if (this.child.exitCode === null) this.child.kill();
  }
}
