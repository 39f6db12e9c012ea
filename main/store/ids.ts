/**
 * Run ids: 16 characters of Crockford base32, the first 10 encoding the creation time in milliseconds
 * (good until the year 10889), the last 6 random (30 bits). Sorting ids as strings sorts runs by
 * creation time, which keeps the runs table's primary-key order useful and ids short enough to show.
 *
 * Why hand-written rather than the ulid package (not installed): a ULID is 26 characters (48-bit time,
 * 80 random bits), too long for the run lists, URLs and CLI arguments where users read and type ids;
 * these are the ULID scheme cut to 16. Every stored run already has an id of this form, and
 * runIdTime reads its time back, so a change of format would need a migration for nothing gained.
 */
import { randomInt } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford: no I, L, O, U
const TIME_CHARS = 10;
const RANDOM_CHARS = 6;
const RANDOM_LIMIT = 32 ** RANDOM_CHARS;

let lastTime = -1;
let lastRandom = 0;

function encode(value: number, chars: number): string {
  let out = '';
  for (let i = 0; i < chars; i++) {
    out = ALPHABET[value % 32]! + out;
    value = Math.floor(value / 32);
  }
  return out;
}

/**
 * A new time-sortable id. Ids made in the same millisecond by this process increase (the random part
 * is incremented), and so do ids made while the clock steps backwards (the last time is reused), so
 * they sort in creation order; across processes the random part makes a clash
 * unlikely, and the primary key turns one into a loud error rather than a merge.
 */
export function newRunId(now: number = Date.now()): string {
  let time = Math.max(0, Math.floor(now));
  let random: number;
  if (time <= lastTime) {
    time = lastTime;
    random = lastRandom + 1;
    if (random >= RANDOM_LIMIT) {
      // 2^30 ids in one millisecond: borrow the next millisecond rather than wrap.
      time += 1;
      random = randomInt(RANDOM_LIMIT / 2);
    }
  } else {
    // Start in the lower half so same-millisecond increments have room.
    random = randomInt(RANDOM_LIMIT / 2);
  }
  lastTime = time;
  lastRandom = random;
  return encode(time, TIME_CHARS) + encode(random, RANDOM_CHARS);
}

/** The creation time (ms) encoded in an id made by newRunId, or NaN if it is not one. */
export function runIdTime(id: string): number {
  if (id.length !== TIME_CHARS + RANDOM_CHARS) return NaN;
  let t = 0;
  for (const ch of id.slice(0, TIME_CHARS)) {
    const digit = ALPHABET.indexOf(ch);
    if (digit < 0) return NaN;
    t = t * 32 + digit;
  }
  return t;
}
