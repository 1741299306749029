/**
 * The fetch cache of one remote: the objects of the branch heads fetched so far (each head's commit and its whole
 * tree), kept in memory for a warm process and mirrored to one file under `cacheDir` for the next process. It is
 * what makes an incremental fetch small: the cached heads are sent as `have`/`shallow` lines and thin-pack deltas
 * resolve against these objects.
 *
 * A published object map is never mutated: each fetch builds a new map holding only what the kept heads reach, so
 * a snapshot returned earlier keeps reading its own objects, and objects of rewritten history are dropped.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type GitObject, type ObjectType, parseCommit, parseTree } from './objects.ts';

export interface CacheState {
  /** Fetched heads: full ref name (or a commit id fetched by id) → commit id, most recent last. */
  readonly heads: ReadonlyMap<string, string>;
  readonly objects: ReadonlyMap<string, GitObject>;
}

/** How many heads (branches) of one remote are kept. */
const maxHeads = 8;
const magic = Buffer.from('LGOCACHE1\n');
const typeCodes: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };
const codeTypes: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };

const memory = new Map<string, CacheState>();
const locks = new Map<string, Promise<unknown>>();

export function cacheKey(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 24);
}

/** Runs `work` after any other work on the same key (one fetch at a time per remote in this process). */
export async function withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = locks.get(key) ?? Promise.resolve();
  const run = previous.then(work, work);
  const settled = run.catch(() => undefined);
  locks.set(key, settled);
  try {
    return await run;
  } finally {
    if (locks.get(key) === settled) locks.delete(key);
  }
}

const emptyState: CacheState = { heads: new Map(), objects: new Map() };

/** The cache of `key`: from memory, else from `cacheDir`, else empty. A damaged file counts as no cache. */
export function loadCache(key: string, cacheDir: string | undefined): CacheState {
  const inMemory = memory.get(key);
  if (inMemory) return inMemory;
  if (!cacheDir) return emptyState;
  let buf: Buffer;
  try {
    buf = readFileSync(join(cacheDir, `${key}.cache`));
  } catch {
    return emptyState;
  }
  const state = decode(buf);
  if (state) memory.set(key, state);
  return state ?? emptyState;
}

/** Objects reachable from `commitOid` (the commit, its trees and blobs) copied from `from` into `into`. */
function copyReachable(commitOid: string, from: ReadonlyMap<string, GitObject>, into: Map<string, GitObject>): boolean {
  const commit = from.get(commitOid);
  if (commit?.type !== 'commit') return false;
  into.set(commitOid, commit);
  const stack = [parseCommit(commit.data).tree];
  while (stack.length > 0) {
    const oid = stack.pop()!;
    if (into.has(oid)) continue;
    const obj = from.get(oid);
    if (!obj) return false;
    into.set(oid, obj);
    if (obj.type !== 'tree') continue;
    for (const item of parseTree(obj.data)) {
      if (item.mode === '160000') continue;
      if (item.mode === '040000') stack.push(item.oid);
      else if (!into.has(item.oid)) {
        const blob = from.get(item.oid);
        if (!blob) return false;
        into.set(item.oid, blob);
      }
    }
  }
  return true;
}

/**
 * The next cache state after fetching `ref` at `commitOid`: that head plus the most recent others, with only the
 * objects they reach. Heads whose objects are incomplete are dropped rather than kept half.
 */
export function nextState(
  previous: CacheState,
  fetched: ReadonlyMap<string, GitObject>,
  ref: string,
  commitOid: string,
): CacheState {
  const lookup: ReadonlyMap<string, GitObject> = {
    get: (oid: string) => fetched.get(oid) ?? previous.objects.get(oid),
  } as ReadonlyMap<string, GitObject>;
  const heads = new Map(previous.heads);
  heads.delete(ref);
  heads.set(ref, commitOid);
  while (heads.size > maxHeads) heads.delete(heads.keys().next().value!);
  const objects = new Map<string, GitObject>();
  for (const [name, oid] of [...heads]) {
    const scratch = new Map<string, GitObject>();
    if (copyReachable(oid, lookup, scratch)) for (const [k, v] of scratch) objects.set(k, v);
    else heads.delete(name);
  }
  return { heads, objects };
}

/** Publishes the new state to memory, and to `cacheDir` (written whole to a temporary file, then renamed). */
export function saveCache(key: string, cacheDir: string | undefined, state: CacheState): void {
  memory.set(key, state);
  if (!cacheDir) return;
  try {
    mkdirSync(cacheDir, { recursive: true });
    const file = join(cacheDir, `${key}.cache`);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, encode(state));
    renameSync(tmp, file);
  } catch {
    // The disk cache only saves time: a full /tmp or a read-only state dir must not fail the fetch.
  }
}

/** Forgets in-memory caches (tests and benchmarks use it to simulate a cold process). */
export function clearMemoryCache(): void {
  memory.clear();
}

// Format: magic, u32 header length, header JSON ({ heads: [[ref, oid]] }), then per object
// 20-byte id, 1-byte type, u32 length, data; then the sha-1 of everything before it.
function encode(state: CacheState): Buffer {
  const header = Buffer.from(JSON.stringify({ heads: [...state.heads] }));
  let size = magic.length + 4 + header.length + 20;
  for (const obj of state.objects.values()) size += 25 + obj.data.length;
  const out = Buffer.allocUnsafe(size);
  let pos = magic.copy(out, 0);
  pos = out.writeUInt32BE(header.length, pos);
  pos += header.copy(out, pos);
  for (const [oid, obj] of state.objects) {
    pos += out.write(oid, pos, 'hex');
    pos = out.writeUInt8(typeCodes[obj.type], pos);
    pos = out.writeUInt32BE(obj.data.length, pos);
    pos += obj.data.copy(out, pos);
  }
  createHash('sha1').update(out.subarray(0, pos)).digest().copy(out, pos);
  return out;
}

function decode(buf: Buffer): CacheState | undefined {
  if (buf.length < magic.length + 24 || !buf.subarray(0, magic.length).equals(magic)) return undefined;
  const end = buf.length - 20;
  if (!createHash('sha1').update(buf.subarray(0, end)).digest().equals(buf.subarray(end))) return undefined;
  try {
    let pos = magic.length;
    const headerLength = buf.readUInt32BE(pos);
    pos += 4;
    const header = JSON.parse(buf.toString('utf8', pos, pos + headerLength)) as { heads: [string, string][] };
    pos += headerLength;
    const objects = new Map<string, GitObject>();
    while (pos < end) {
      const oid = buf.toString('hex', pos, pos + 20);
      const type = codeTypes[buf[pos + 20]!];
      const length = buf.readUInt32BE(pos + 21);
      if (!type) return undefined;
      objects.set(oid, { type, data: buf.subarray(pos + 25, pos + 25 + length) });
      pos += 25 + length;
    }
    return { heads: new Map(header.heads), objects };
  } catch {
    return undefined;
  }
}
