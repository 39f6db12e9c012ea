/**
 * The API's check of an image folder before a run is created (createRun): is it there, does it hold
 * PNG or JPEG files, do the first few decode. Bounded in files listed, folder depth and seconds
 * (FOLDER_CHECK_LIMITS), and run in a short-lived worker thread that is terminated when time is up,
 * so neither the host thread (which serves the UI) nor the compute worker (which samples for every
 * page) waits on a huge folder or a slow network drive. The training worker still loads the whole
 * folder, and reports any bad file the check did not decode.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DataError } from '../../core/errors';
import { workerEntry } from '../runtime/resources';
import { BadImage } from './formats';
import { DEFAULT_MAX_FILE_BYTES, findImages, noImages, readCandidate, type ListingBounds } from './images';
import { FolderLimitError, ImageFileError, type Channels, type FolderBound } from './types';

/** Bounds of the check (see ListingBounds) and how many files it decodes. */
export interface FolderCheckLimits extends ListingBounds {
  /** Files decoded (the first ones in load order) to see that they are images. */
  decodeFiles: number;
}

/**
 * The documented bounds of the API's folder check: at most 200,000 files and folders listed, 16
 * folder levels deep, 15 seconds in all (listing and decoding), 4 files decoded.
 */
export const FOLDER_CHECK_LIMITS: Readonly<FolderCheckLimits> = Object.freeze({
  maxEntries: 200_000,
  maxDepth: 16,
  seconds: 15,
  decodeFiles: 4,
});

/** The image folder a config names (the schema's `images` data spec, defaults optional). */
export interface FolderCheckSpec {
  folder: string;
  size: number;
  channels: Channels;
  onCorrupt?: 'skip' | 'reject';
  labelsFromSubfolders?: boolean;
}

export interface FolderCheckResult {
  /** Image files found (not all of them decoded). */
  files: number;
  /** Classes (subfolders with images) with labelsFromSubfolders, else 0. */
  classes: number;
  /** Files decoded, and those of them (or of unreadable subfolders) skipped with why. */
  decoded: number;
  skipped: { file: string; reason: string }[];
}

function timeUp(folder: string, seconds: number): FolderLimitError {
  return new FolderLimitError(
    folder,
    'seconds',
    `image folder "${folder}": the check took longer than ${seconds} s, its limit (a slow or network drive?)`,
  );
}

/**
 * The check itself, in this thread: lists the folder within `limits`, then decodes its first
 * `limits.decodeFiles` files in load order as the loader would.
 *
 * @throws DataError naming the folder (missing, not a folder, no images, none of the decoded files
 *   readable when they are all there is); ImageFileError naming a bad file when onCorrupt is
 *   'reject'; FolderLimitError naming the folder and the bound it exceeded
 */
export async function checkImageFolder(spec: FolderCheckSpec, limits: FolderCheckLimits = FOLDER_CHECK_LIMITS): Promise<FolderCheckResult> {
  const deadline = performance.now() + limits.seconds * 1000;
  const onCorrupt = spec.onCorrupt ?? 'skip';
  const found = await findImages(spec.folder, spec.labelsFromSubfolders ?? false, limits);
  const skipped: { file: string; reason: string }[] = [];
  const bad = (file: { rel: string; abs: string }, reason: string) => {
    if (onCorrupt === 'reject') throw new ImageFileError(file.abs, reason);
    skipped.push({ file: file.rel, reason });
  };
  for (const u of found.unreadable) bad({ rel: u.file, abs: join(spec.folder, u.file) }, u.reason);
  const { candidates } = found;
  if (candidates.length === 0) throw noImages(spec.folder);
  let decoded = 0;
  let good = 0;
  for (const c of candidates.slice(0, limits.decodeFiles)) {
    if (performance.now() > deadline) throw timeUp(spec.folder, limits.seconds);
    decoded++;
    try {
      await readCandidate(c.abs, { size: spec.size, channels: spec.channels }, DEFAULT_MAX_FILE_BYTES);
      good++;
    } catch (e) {
      bad(c, e instanceof BadImage ? e.message : `cannot read: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  // Only when every file was decoded is "none could be read" known; otherwise the rest may be fine.
  if (good === 0 && decoded === candidates.length) {
    const first = skipped[0];
    throw new DataError(
      `no image in "${spec.folder}" could be loaded: ${skipped.length} file(s) skipped${first ? ` (first: ${first.file}: ${first.reason})` : ''}`,
    );
  }
  return { files: candidates.length, classes: found.classNames?.length ?? 0, decoded, skipped };
}

/** What the worker posts: that it started (the clock starts then), then one reply. */
export type FolderCheckMessage =
  | { started: true }
  | { ok: true; value: FolderCheckResult }
  | { ok: false; error: { name: string; message: string; folder?: string; bound?: FolderBound; file?: string; reason?: string } };

type WireError = Extract<FolderCheckMessage, { ok: false }>['error'];

/** An error as the worker posts it: name, message and the fields its class carries. */
export function toWire(e: unknown): WireError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const out: WireError = { name: e.name, message: e.message };
  if (e instanceof FolderLimitError) Object.assign(out, { folder: e.folder, bound: e.bound });
  if (e instanceof ImageFileError) Object.assign(out, { file: e.file, reason: e.reason });
  return out;
}

/** The worker's error as the class it was thrown as. */
function revive(e: WireError): Error {
  if (e.name === 'FolderLimitError' && e.folder && e.bound) return new FolderLimitError(e.folder, e.bound, e.message);
  if (e.name === 'ImageFileError' && e.file !== undefined && e.reason !== undefined) return new ImageFileError(e.file, e.reason);
  return new DataError(e.message);
}

/** How long a worker may take to start before the clock of its bounds runs (loading its code). */
const STARTUP_MS = 30_000;
/** Time beyond the bound before the worker is terminated (its own deadline checks answer first). */
const SLACK_MS = 250;

/**
 * `checkImageFolder` in a worker thread of its own, terminated when it exceeds `limits.seconds`
 * (even inside a long decode, which no deadline check can interrupt). Errors arrive as the classes
 * `checkImageFolder` throws.
 */
export function checkImageFolderInWorker(
  spec: FolderCheckSpec,
  limits: FolderCheckLimits = FOLDER_CHECK_LIMITS,
): Promise<FolderCheckResult> {
  const entry = workerEntry('folder-check');
  const worker = new Worker(entry.url, { workerData: { spec, limits }, execArgv: entry.execArgv });
  return new Promise<FolderCheckResult>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      void worker.terminate();
    };
    let timer = setTimeout(
      () => finish(() => reject(new DataError(`image folder "${spec.folder}": the check did not start within ${STARTUP_MS / 1000} s`))),
      STARTUP_MS,
    );
    worker.on('message', (m: FolderCheckMessage) => {
      if ('started' in m) {
        clearTimeout(timer);
        timer = setTimeout(() => finish(() => reject(timeUp(spec.folder, limits.seconds))), limits.seconds * 1000 + SLACK_MS);
        return;
      }
      if (m.ok) finish(() => resolve(m.value));
      else finish(() => reject(revive(m.error)));
    });
    worker.on('error', (e) => finish(() => reject(new DataError(`image folder "${spec.folder}": the check failed: ${e.message}`))));
    worker.on('exit', (code) =>
      finish(() => reject(new DataError(`image folder "${spec.folder}": the check stopped (exit ${code}) without an answer`))),
    );
  });
}
