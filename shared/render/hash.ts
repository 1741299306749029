/**
 * Content hashing for rendered stacks: the same desired state gives the same hash whatever the key order of the
 * files it came from, so an unchanged stack is recognised and its artifact stored once.
 */
import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level and no whitespace. `undefined` members are dropped and `undefined` in
 * arrays becomes `null`, as `JSON.stringify` does, so the output is itself valid JSON.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

/** sha256 of the UTF-8 bytes of `text`, lowercase hex. */
export function sha256Hex(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : sortKeys(v)));
  if (value && typeof value === 'object') {
    const maybeJson = value as { toJSON?: () => unknown };
    if (typeof maybeJson.toJSON === 'function') return sortKeys(maybeJson.toJSON());
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined || typeof v === 'function') continue;
      Object.defineProperty(out, key, { value: sortKeys(v), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}
