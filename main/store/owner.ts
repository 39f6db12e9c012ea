/**
 * Run ownership: which process trains a run, and whether that process still exists.
 *
 * A run being trained (or queued to train) carries an owner lease in its row: the owner's host name,
 * boot id, pid, process start time, a per-process nonce and a heartbeat time. Any process may read a
 * run; only its owner writes progress (status, metrics, checkpoints, samples), renames or deletes it
 * (RunStore checks this inside each write transaction). A lease whose owner is provably gone no longer
 * protects the run: another process may take the run over (resume it from its last checkpoint), and
 * run lists show it as interrupted at once.
 *
 * "Provably gone" (docs/runs.md, "Ownership"):
 * - owner on this host, recorded boot id differs from ours: the machine restarted since;
 * - owner on this host, its pid does not exist;
 * - owner on this host, its pid exists but started at another time than recorded: the pid was reused;
 * - otherwise (another host, or no start time to compare): no heartbeat for `staleAfterMs`.
 * A pid that is alive with the recorded start time is alive however old its heartbeat (a long step or
 * a paused debugger must not let another process steal the run).
 *
 * Worker threads share their process's pid, start time and nonce, so a training worker of the web
 * host and the host's own connection are the same owner: the host can cancel or rename its own runs,
 * and a request on the host never mistakes its own training for a crashed one.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** How often an owner refreshes its heartbeat (the supervisor for all its runs, workers at checkpoints). */
export const HEARTBEAT_INTERVAL_MS = 5_000;
/** A lease without a heartbeat for this long is dead, when nothing better can be proven. */
export const LEASE_STALE_AFTER_MS = 60_000;

/** Who owns a run: one process on one host during one boot. */
export interface OwnerIdentity {
  host: string;
  /** Linux boot id (/proc/sys/kernel/random/boot_id); null where the OS has none we can read. */
  boot: string | null;
  pid: number;
  /** Process start time in clock ticks since boot (/proc/PID/stat field 22); null where unknown. */
  started: number | null;
  /** Random per process (shared by its worker threads); tells this process from an earlier one with its pid. */
  nonce: string;
}

/** A lease as stored in a run row. */
export interface Lease {
  owner: OwnerIdentity;
  /** Last heartbeat, ms since the epoch; null for a legacy row that recorded only host and pid. */
  heartbeatAt: number | null;
}

/** What the liveness rules need to know about this machine; tests pass their own. */
export interface OwnerProbe {
  self: OwnerIdentity;
  isAlive(pid: number): boolean;
  /** Start time (same unit as OwnerIdentity.started) of a pid on this host, or null when unknown. */
  startedOf(pid: number): number | null;
  now(): number;
  staleAfterMs: number;
}

/** Verdict on a lease. `why` says, in words for a user, why a dead owner is considered gone. */
export type Liveness = { alive: true; self: boolean } | { alive: false; why: string };

/** True when a process with this pid exists (EPERM means it exists but is not ours to signal). */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Start time of a process in clock ticks since boot, from /proc/PID/stat (field 22, counted after the
 * command name, which may itself contain spaces and parentheses). Null off Linux or when unreadable.
 */
export function processStartTicks(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  // After "pid (comm) " come fields 3, 4, ...; starttime is field 22, i.e. index 19 of the rest.
  const fields = text.slice(close + 2).split(' ');
  const ticks = Number(fields[19]);
  return Number.isSafeInteger(ticks) ? ticks : null;
}

function readBootId(): string | null {
  try {
    const id = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return id || null;
  } catch {
    return null;
  }
}

const NONCE_ENV = 'FLOW_STUDIO_PROCESS_NONCE';

/**
 * This process's nonce. Kept in process.env so worker threads (which start with a copy of the
 * environment) share it; prefixed with the pid, so a child process that inherits the variable
 * does not mistake itself for its parent.
 */
function processNonce(): string {
  const inherited = process.env[NONCE_ENV];
  if (inherited && inherited.startsWith(`${process.pid}.`)) return inherited;
  const nonce = `${process.pid}.${randomBytes(8).toString('hex')}`;
  process.env[NONCE_ENV] = nonce;
  return nonce;
}

/**
 * Makes a worker thread use the nonce its parent thread passed along (a worker created before the
 * parent first computed its identity would otherwise have made up its own). Ignored when it is not
 * this process's (another pid).
 */
export function adoptProcessNonce(nonce: string | undefined): void {
  if (nonce && nonce.startsWith(`${process.pid}.`)) {
    process.env[NONCE_ENV] = nonce;
    self = null;
  }
}

let self: OwnerIdentity | null = null;

/** The identity of this process (computed once). */
export function thisProcess(): OwnerIdentity {
  self ??= { host: hostname(), boot: readBootId(), pid: process.pid, started: processStartTicks(process.pid), nonce: processNonce() };
  return self;
}

/** The probe of this machine, with the default staleness bound. */
export function systemProbe(overrides: Partial<OwnerProbe> = {}): OwnerProbe {
  return {
    self: thisProcess(),
    isAlive: processAlive,
    startedOf: processStartTicks,
    now: Date.now,
    staleAfterMs: LEASE_STALE_AFTER_MS,
    ...overrides,
  };
}

/** "process 123 on box", for messages. */
export function describeOwner(o: Pick<OwnerIdentity, 'host' | 'pid'>): string {
  return `process ${o.pid} on ${o.host}`;
}

/** True when the lease belongs to this very process (any of its threads). */
export function isSelf(owner: OwnerIdentity, probe: OwnerProbe): boolean {
  const me = probe.self;
  return owner.host === me.host && owner.pid === me.pid && owner.nonce === me.nonce;
}

/** Applies the rules of the file comment. */
export function leaseLiveness(lease: Lease, probe: OwnerProbe): Liveness {
  const { owner } = lease;
  if (isSelf(owner, probe)) return { alive: true, self: true };
  const me = probe.self;
  const silentMs = lease.heartbeatAt === null ? null : probe.now() - lease.heartbeatAt;
  const stale = (): Liveness | null =>
    silentMs !== null && silentMs > probe.staleAfterMs
      ? { alive: false, why: `${describeOwner(owner)} has not reported for ${Math.round(silentMs / 1000)} s` }
      : null;
  if (owner.host !== me.host) return stale() ?? { alive: true, self: false };
  if (owner.boot !== null && me.boot !== null && owner.boot !== me.boot) {
    return { alive: false, why: `${describeOwner(owner)} ran before this machine restarted` };
  }
  if (!probe.isAlive(owner.pid)) return { alive: false, why: `${describeOwner(owner)} is gone` };
  if (owner.pid === me.pid) {
    // Our pid, another nonce: an earlier process that had our pid (we are alive, it is not).
    return { alive: false, why: `${describeOwner(owner)} is gone (its pid now belongs to this process)` };
  }
  const started = owner.started === null ? null : probe.startedOf(owner.pid);
  if (owner.started !== null && started !== null) {
    return started === owner.started
      ? { alive: true, self: false }
      : { alive: false, why: `${describeOwner(owner)} is gone (its pid now belongs to another process)` };
  }
  return stale() ?? { alive: true, self: false };
}
