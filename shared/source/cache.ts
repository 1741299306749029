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
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type ObjectType, parseCommit, parseTree, type StoredObject } from './objects.ts';

export interface CacheState {
  /** Fetched heads: full ref name (or a commit id fetched by id) → commit id, most recent last. */
  readonly heads: ReadonlyMap<string, string>;
  readonly objects: ReadonlyMap<string, StoredObject>;
}

/** What one fetch brought: its objects, and how many objects over the size limit it could not identify. */
export interface Fetched {
  readonly objects: ReadonlyMap<string, StoredObject>;
  readonly oversized: number;
  /** The per-object limit the fetch was read under. */
  readonly objectLimit: number;
}

/** How many heads (branches) of one remote are kept. */
const maxHeads = 8;
const magic = Buffer.from('LGOCACHE2\n');
const ZLIB = 0x10;
const TOO_LARGE = 0x20;
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

/**
 * Objects reachable from `commitOid` (the commit, its trees and blobs) copied from `from` into `into`. With
 * `oversizedUnder` (the limit of a fetch that left out objects over it), a blob the fetch could not identify is
 * recorded as over that limit.
 */
function copyReachable(
  commitOid: string,
  from: ReadonlyMap<string, StoredObject>,
  into: Map<string, StoredObject>,
  oversizedUnder: number | undefined,
): boolean {
  const commit = from.get(commitOid);
  if (commit?.type !== 'commit' || !('data' in commit)) return false;
  into.set(commitOid, commit);
  const stack = [parseCommit(commit.data).tree];
  while (stack.length > 0) {
    const oid = stack.pop()!;
    if (into.has(oid)) continue;
    const obj = from.get(oid);
    if (!obj) return false;
    into.set(oid, obj);
    if (obj.type !== 'tree') continue;
    if (!('data' in obj)) return false;
    for (const item of parseTree(obj.data)) {
      if (item.mode === '160000') continue;
      if (item.mode === '040000') stack.push(item.oid);
      else if (!into.has(item.oid)) {
        const blob =
          from.get(item.oid) ??
          (oversizedUnder !== undefined
            ? ({ type: 'blob', tooLarge: true, limit: oversizedUnder } as const)
            : undefined);
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
export function nextState(previous: CacheState, fetched: Fetched, ref: string, commitOid: string): CacheState {
  const lookup: ReadonlyMap<string, StoredObject> = {
    get: (oid: string) => fetched.objects.get(oid) ?? previous.objects.get(oid),
  } as ReadonlyMap<string, StoredObject>;
  const heads = new Map(previous.heads);
  heads.delete(ref);
  heads.set(ref, commitOid);
  while (heads.size > maxHeads) heads.delete(heads.keys().next().value!);
  const objects = new Map<string, StoredObject>();
  for (const [name, oid] of [...heads]) {
    const scratch = new Map<string, StoredObject>();
    const oversizedUnder = name === ref && fetched.oversized > 0 ? fetched.objectLimit : undefined;
    if (copyReachable(oid, lookup, scratch, oversizedUnder)) {
      for (const [k, v] of scratch) objects.set(k, v);
    } else heads.delete(name);
  }
  return { heads, objects };
}

/**
 * Publishes the new state to memory, and to `cacheDir`: streamed object by object to a temporary file (no second copy
 * of the objects in memory), then renamed over the old one.
 */
export function saveCache(key: string, cacheDir: string | undefined, state: CacheState): void {
  memory.set(key, state);
  if (!cacheDir) return;
  const file = join(cacheDir, `${key}.cache`);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(cacheDir, { recursive: true });
    writeEncoded(tmp, state);
    renameSync(tmp, file);
  } catch {
    // The disk cache only saves time: a full /tmp or a read-only state dir must not fail the fetch.
    rmSync(tmp, { force: true });
  }
}

/** Forgets in-memory caches (tests and benchmarks use it to simulate a cold process). */
export function clearMemoryCache(): void {
  memory.clear();
}

// Format: magic, u32 header length, header JSON ({ heads: [[ref, oid]] }), then per object a 33-byte head (20-byte
// id, 1-byte type code with the ZLIB or TOO_LARGE flag, u32 length of the bytes that follow, f64 size of a compressed
// or oversized object, -1 when unknown) and the bytes (the data, the zlib stream, or for an oversized object the
// limit it was over as an f64); then the sha-1 of everything before it.
function f64(value: number): Buffer {
  const buf = Buffer.allocUnsafe(8);
  buf.writeDoubleBE(value);
  return buf;
}

function writeEncoded(path: string, state: CacheState): void {
  const fd = openSync(path, 'w');
  try {
    const hash = createHash('sha1');
    const write = (buf: Buffer) => {
      let done = 0;
      while (done < buf.length) done += writeSync(fd, buf, done);
    };
    // Object heads and small objects are gathered in a bounded buffer, hashed and written 256 KiB at a time; a large
    // object goes straight to the file. Nothing is copied whole.
    const staging = Buffer.allocUnsafe(256 * 1024);
    let staged = 0;
    const flush = () => {
      if (staged === 0) return;
      const chunk = staging.subarray(0, staged);
      hash.update(chunk);
      write(chunk);
      staged = 0;
    };
    const room = (bytes: number) => {
      if (staged + bytes > staging.length) flush();
    };
    const put = (buf: Buffer) => {
      if (buf.length > staging.length / 2) {
        flush();
        hash.update(buf);
        write(buf);
        return;
      }
      room(buf.length);
      staged += buf.copy(staging, staged);
    };
    const header = Buffer.from(JSON.stringify({ heads: [...state.heads] }));
    put(magic);
    room(4);
    staged = staging.writeUInt32BE(header.length, staged);
    put(header);
    for (const [oid, obj] of state.objects) {
      const bytes = 'data' in obj ? obj.data : 'zlib' in obj ? obj.zlib : f64(obj.limit);
      const flag = 'data' in obj ? 0 : 'zlib' in obj ? ZLIB : TOO_LARGE;
      room(33);
      staged += staging.write(oid, staged, 20, 'hex');
      staged = staging.writeUInt8(typeCodes[obj.type] | flag, staged);
      staged = staging.writeUInt32BE(bytes.length, staged);
      staged = staging.writeDoubleBE('data' in obj ? 0 : (obj.size ?? -1), staged);
      if (bytes.length > 0) put(bytes);
    }
    flush();
    write(hash.digest());
  } finally {
    closeSync(fd);
  }
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
    const objects = new Map<string, StoredObject>();
    while (pos < end) {
      const oid = buf.toString('hex', pos, pos + 20);
      const code = buf[pos + 20]!;
      const type = codeTypes[code & 0x0f];
      const length = buf.readUInt32BE(pos + 21);
      const size = buf.readDoubleBE(pos + 25);
      if (!type) return undefined;
      const bytes = buf.subarray(pos + 33, pos + 33 + length);
      if (code & TOO_LARGE) {
        objects.set(oid, { type, ...(size >= 0 ? { size } : {}), tooLarge: true, limit: bytes.readDoubleBE(0) });
      } else if (code & ZLIB) objects.set(oid, { type, size, zlib: bytes });
      else objects.set(oid, { type, data: bytes });
      pos += 33 + length;
    }
    return { heads: new Map(header.heads), objects };
  } catch {
    return undefined;
  }
}
