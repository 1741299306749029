/**
 * Git objects as the Source port reads them: raw bytes by id, with the parsers for the two kinds it interprets
 * (trees and commits). Parsing works on the raw object so that what is read is exactly what git hashed.
 */
import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { ObjectTooLarge } from './limits.ts';

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';

export interface GitObject {
  readonly type: ObjectType;
  readonly data: Buffer;
}

/**
 * An object as a fetch keeps it: in memory; kept compressed (a large blob, inflated only when it is read); or known to
 * be over the per-object limit in force when it was fetched (`limit`), never inflated (its size is unknown when it
 * came as a delta over the limit).
 */
export type StoredObject =
  | GitObject
  | { readonly type: ObjectType; readonly size: number; readonly zlib: Buffer }
  | { readonly type: ObjectType; readonly size?: number; readonly tooLarge: true; readonly limit: number };

/** Whether `obj` was left out under a smaller limit than `maxObjectBytes`, so fetching again could read it. */
export function leftOutUnder(obj: StoredObject, maxObjectBytes: number): boolean {
  return 'tooLarge' in obj && obj.limit < maxObjectBytes && (obj.size === undefined || obj.size <= maxObjectBytes);
}

/** Read access to stored objects by id (hex sha-1). */
export interface ObjectReader {
  get(oid: string): StoredObject | undefined;
}

/** The bytes held for `obj` (what it costs in memory). */
export function heldBytes(obj: StoredObject): number {
  if ('data' in obj) return obj.data.length;
  if ('zlib' in obj) return obj.zlib.length;
  return 0;
}

/**
 * The object's bytes: inflated now if it is kept compressed, never more than its declared size. Throws ObjectTooLarge
 * for an object over `maxObjectBytes`.
 */
export function loadObject(oid: string, obj: StoredObject, maxObjectBytes: number): GitObject {
  if ('data' in obj) return obj;
  if ('tooLarge' in obj || obj.size > maxObjectBytes) throw new ObjectTooLarge(oid, obj.size, maxObjectBytes);
  const data = inflateSync(obj.zlib, { maxOutputLength: Math.max(obj.size, 1) });
  if (data.length !== obj.size) throw new Error(`object ${oid} inflated to ${data.length}, expected ${obj.size}`);
  return { type: obj.type, data };
}

/** The object id git gives these bytes: sha-1 of `<type> <size>\0<data>`, computed synchronously. */
export function hashObject(type: ObjectType, data: Buffer): string {
  return createHash('sha1').update(`${type} ${data.length}\0`).update(data).digest('hex');
}

export interface TreeItem {
  readonly name: string;
  readonly mode: string;
  readonly oid: string;
}

/** Parses a tree object: `<mode> <name>\0<20-byte id>` repeated. Modes are normalised to six digits. */
export function parseTree(data: Buffer): TreeItem[] {
  const items: TreeItem[] = [];
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const nul = data.indexOf(0, space);
    if (space < 0 || nul < 0 || nul + 21 > data.length) throw new Error('malformed tree object');
    const mode = data.toString('latin1', pos, space).padStart(6, '0');
    const name = data.toString('utf8', space + 1, nul);
    items.push({ mode, name, oid: data.toString('hex', nul + 1, nul + 21) });
    pos = nul + 21;
  }
  return items;
}

export interface ParsedCommit {
  readonly tree: string;
  readonly parents: readonly string[];
  /** `Name <email>` */
  readonly author: string;
  readonly committer: string;
  /** Committer time, ISO 8601 (UTC). */
  readonly committedAt: string;
  readonly message: string;
  readonly gpgsig?: string;
}

/** Splits a commit into its headers (continuation lines joined) and message. */
function commitHeaders(text: string): { headers: [string, string][]; message: string } {
  const end = text.indexOf('\n\n');
  const headerText = end < 0 ? text : text.slice(0, end);
  const message = end < 0 ? '' : text.slice(end + 2);
  const headers: [string, string][] = [];
  for (const line of headerText.split('\n')) {
    const last = headers[headers.length - 1];
    if (line.startsWith(' ') && last) last[1] += `\n${line.slice(1)}`;
    else {
      const space = line.indexOf(' ');
      headers.push(space < 0 ? [line, ''] : [line.slice(0, space), line.slice(space + 1)]);
    }
  }
  return { headers, message };
}

/** `Name <email> 1700000000 +0100` → the identity and the time as ISO 8601. */
function splitIdentity(value: string): { who: string; at: string } {
  const match = /^(.*>)\s+(\d+)\s+[+-]\d{4}$/.exec(value);
  if (!match) return { who: value, at: '' };
  return { who: match[1]!, at: new Date(Number(match[2]) * 1000).toISOString() };
}

export function parseCommit(data: Buffer): ParsedCommit {
  const { headers, message } = commitHeaders(data.toString('utf8'));
  let tree = '';
  const parents: string[] = [];
  let author = '';
  let committer = '';
  let committedAt = '';
  let gpgsig: string | undefined;
  for (const [name, value] of headers) {
    if (name === 'tree') tree = value;
    else if (name === 'parent') parents.push(value);
    else if (name === 'author') author = splitIdentity(value).who;
    else if (name === 'committer') {
      const id = splitIdentity(value);
      committer = id.who;
      committedAt = id.at;
    } else if (name === 'gpgsig' || name === 'gpgsig-sha256') gpgsig ??= value;
  }
  if (!/^[0-9a-f]{40}$/.test(tree)) throw new Error('malformed commit object: no tree');
  return { tree, parents, author, committer, committedAt, message, ...(gpgsig ? { gpgsig } : {}) };
}

/**
 * The commit's signature and the payload it signs: the commit object with the `gpgsig` header (and its continuation
 * lines) removed, byte for byte as `git verify-commit` feeds it to gpg.
 */
export function splitSignature(data: Buffer): { signature?: string; payload: string } {
  const text = data.toString('utf8');
  const end = text.indexOf('\n\n');
  const headerText = end < 0 ? text : text.slice(0, end + 1);
  const lines = headerText.split('\n');
  const kept: string[] = [];
  const sig: string[] = [];
  let inSig = false;
  for (const line of lines) {
    if (inSig && line.startsWith(' ')) {
      sig.push(line.slice(1));
      continue;
    }
    inSig = false;
    if (sig.length === 0 && line.startsWith('gpgsig ')) {
      inSig = true;
      sig.push(line.slice('gpgsig '.length));
      continue;
    }
    kept.push(line);
  }
  const payload = kept.join('\n') + (end < 0 ? '' : text.slice(end + 1));
  if (sig.length === 0) return { payload: text };
  return { signature: `${sig.join('\n')}\n`, payload };
}
