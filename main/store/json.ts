/**
 * JSON columns (config, summary, meta, JSON samples): values are checked before they are written, so
 * what reads back equals what was given. JSON.stringify alone would silently turn NaN into null, drop
 * a Date's type and write a Float32Array as {"0": ...}; here each of those is an error naming the path.
 */
import { StoreInputError } from './errors';
import type { JsonObject, JsonValue } from './types';

function check(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) {
        throw new StoreInputError(path, `must be a finite number (JSON has no NaN or Infinity); got ${value}`);
      }
      return;
    case 'object': {
      if (value === null) return;
      if (seen.has(value)) throw new StoreInputError(path, 'refers back to itself (a cycle cannot be stored as JSON)');
      seen.add(value);
      if (Array.isArray(value)) {
        value.forEach((item, i) => check(item, `${path}[${i}]`, seen));
      } else {
        const proto: unknown = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          const kind = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
          throw new StoreInputError(path, `must be a plain object, array or primitive; got a ${kind}`);
        }
        for (const [key, item] of Object.entries(value)) {
          if (item !== undefined) check(item, `${path}.${key}`, seen);
        }
      }
      seen.delete(value);
      return;
    }
    case 'undefined':
      throw new StoreInputError(path, 'is undefined (use null for "no value")');
    default:
      throw new StoreInputError(path, `cannot be stored as JSON (a ${typeof value})`);
  }
}

/** JSON text of `value`, or a StoreInputError naming the first unstorable part (path starts at `field`). */
export function toJsonText(value: unknown, field: string): string {
  check(value, field, new Set());
  return JSON.stringify(value);
}

/** Like toJsonText, but the value must be a plain object (configs, summaries and meta are objects). */
export function objectToJsonText(value: unknown, field: string): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StoreInputError(field, `must be a plain object; got ${Array.isArray(value) ? 'an array' : String(value)}`);
  }
  return toJsonText(value, field);
}

/** Parses a JSON column written by this module. */
export function parseJson(text: string): JsonValue {
  return JSON.parse(text) as JsonValue;
}

/** Parses a JSON object column written by objectToJsonText. */
export function parseJsonObject(text: string): JsonObject {
  return JSON.parse(text) as JsonObject;
}
