/**
 * Reads a packfile held in memory, within the fetch's limits (limits.ts). Every size an entry declares is checked
 * before it is inflated, and inflating stops at that size. Commits, trees, tags and small blobs are inflated once with
 * node:zlib and hashed; a blob over `lazyBlobBytes` is streamed through sha-1 (never held inflated) and kept
 * compressed, so a file nobody reads costs its compressed size only. Deltas (OFS_DELTA and REF_DELTA) are resolved
 * against their bases, each base resolved once whatever the chain length; REF_DELTA bases missing from the pack (a thin
 * pack sent on an incremental fetch) are looked up in `external`, the objects already cached. A delta whose result
 * would exceed `maxObjectBytes`, or whose base does, is never expanded: its id stays unknown and it is counted in
 * `oversized`, so a read of a file that is not found can say why.
 */
import { createHash } from 'node:crypto';
import { createInflate, deflateSync, inflateSync } from 'node:zlib';
import { Reason, SourceError } from '../errors.ts';
import { applyDelta } from './delta.ts';
import { formatBytes, lazyBlobBytes, limitVariables, type SourceLimits } from './limits.ts';
import {
  type GitObject,
  hashObject,
  heldBytes,
  loadObject,
  type ObjectReader,
  type ObjectType,
  type StoredObject,
} from './objects.ts';

export class PackError extends Error {
  override readonly name = 'PackError';
}

const typeNames: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;

interface Entry {
  readonly offset: number;
  readonly kind: number;
  /** The inflated delta, while it waits to be applied. */
  payload?: Buffer;
  readonly baseOffset?: number;
  readonly baseOid?: string;
  /** Resolved: the object and its id; or `oversized`, never expanded. */
  resolved?: { readonly oid: string; readonly object: StoredObject } | 'oversized';
}

export interface PackContents {
  readonly objects: Map<string, StoredObject>;
  /** Objects over `maxObjectBytes` whose id could not be known without expanding them (deltas). */
  readonly oversized: number;
  /** The per-object limit the pack was read under. */
  readonly objectLimit: number;
}

/** Inflates one zlib stream starting at `pos`, never past `size` bytes; returns the data and the input consumed. */
function inflateAt(pack: Buffer, pos: number, size: number): { data: Buffer; used: number } {
  try {
    const { buffer, engine } = inflateSync(pack.subarray(pos), {
      info: true,
      maxOutputLength: Math.max(size, 1),
    }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    if (buffer.length !== size) throw new PackError(`entry at ${pos} inflated to ${buffer.length}, expected ${size}`);
    return { data: buffer, used: engine.bytesWritten };
  } catch (err) {
    if (err instanceof PackError) throw err;
    if (err instanceof RangeError) throw new PackError(`entry at ${pos} inflates past its declared ${size} bytes`);
    throw new PackError(`pack entry at offset ${pos} is truncated or corrupt`, { cause: err });
  }
}

/**
 * Streams one zlib stream at `pos` through sha-1 (when `type` is given) in 64 KiB pieces, holding none of it: finds
 * where the entry ends and the id of a large blob. Fails past `size` bytes.
 */
function scanAt(
  pack: Buffer,
  pos: number,
  size: number,
  type: ObjectType | undefined,
  signal: AbortSignal | undefined,
): Promise<{ used: number; oid?: string }> {
  return new Promise((resolve, reject) => {
    const inflate = createInflate({ chunkSize: 64 * 1024 });
    const hash = type ? createHash('sha1').update(`${type} ${size}\0`) : undefined;
    let out = 0;
    const onAbort = () => inflate.destroy(signal?.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
    inflate.on('data', (chunk: Buffer) => {
      out += chunk.length;
      if (out > size) inflate.destroy(new PackError(`entry at ${pos} inflates past its declared ${size} bytes`));
      else hash?.update(chunk);
    });
    inflate.on('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted || err instanceof PackError) reject(err);
      else reject(new PackError(`pack entry at offset ${pos} is truncated or corrupt`, { cause: err }));
    });
    inflate.on('end', () => {
      signal?.removeEventListener('abort', onAbort);
      if (out !== size) reject(new PackError(`entry at ${pos} inflated to ${out}, expected ${size}`));
      else resolve({ used: inflate.bytesWritten, ...(hash ? { oid: hash.digest('hex') } : {}) });
    });
    inflate.end(pack.subarray(pos));
  });
}

/** The result size a delta declares (its second varint), read before the delta is applied. */
function deltaResultSize(delta: Buffer): number {
  let pos = 0;
  const readSize = (): number => {
    let size = 0;
    let shift = 0;
    let byte: number;
    do {
      if (pos >= delta.length) throw new PackError('delta header is truncated');
      byte = delta[pos++]!;
      size += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return size;
  };
  readSize();
  return readSize();
}

function tooLarge(what: string, limit: string, variable: string): SourceError {
  return new SourceError(Reason.FetchTooLarge, `${what}, over the limit of ${limit} (${variable})`);
}

/**
 * Parses and resolves every object of `pack` within `limits`. Throws PackError on a truncated or corrupt pack (bad
 * header, checksum, zlib stream, an entry inflating past its declared size) or a delta whose base is neither in the
 * pack nor in `external`; SourceError `FetchTooLarge` when the pack has too many objects, a commit or tree over the
 * object limit, or holds more than the fetch limit in memory.
 */
export async function readPack(
  pack: Buffer,
  limits: SourceLimits,
  external?: ObjectReader,
  signal?: AbortSignal,
): Promise<PackContents> {
  if (pack.length < 32 || pack.toString('latin1', 0, 4) !== 'PACK') throw new PackError('not a packfile');
  const version = pack.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new PackError(`unsupported pack version ${version}`);
  const count = pack.readUInt32BE(8);
  if (count > limits.maxObjects) {
    throw tooLarge(`the pack holds ${count} objects`, String(limits.maxObjects), limitVariables.maxObjects);
  }
  const trailer = pack.length - 20;
  const digest = createHash('sha1').update(pack.subarray(0, trailer)).digest();
  if (!digest.equals(pack.subarray(trailer))) throw new PackError('pack checksum mismatch (truncated pack?)');

  const objects = new Map<string, StoredObject>();
  let held = 0;
  const hold = (bytes: number) => {
    held += bytes;
    if (held > limits.maxFetchBytes) {
      throw tooLarge(
        'the objects of this fetch take more memory',
        formatBytes(limits.maxFetchBytes),
        limitVariables.maxFetchBytes,
      );
    }
  };
  let oversized = 0;
  let declared = 0;
  const entries: Entry[] = new Array(count);
  const byOffset = new Map<number, Entry>();
  let pos = 12;
  for (let i = 0; i < count; i++) {
    if (pos >= trailer) throw new PackError(`pack ends after ${i} of ${count} objects`);
    signal?.throwIfAborted();
    const offset = pos;
    let byte = pack[pos++]!;
    const kind = (byte >> 4) & 7;
    let size = byte & 0x0f;
    let shift = 4;
    while (byte & 0x80) {
      byte = pack[pos++]!;
      size += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    }
    let baseOffset: number | undefined;
    let baseOid: string | undefined;
    if (kind === OFS_DELTA) {
      byte = pack[pos++]!;
      let rel = byte & 0x7f;
      while (byte & 0x80) {
        byte = pack[pos++]!;
        rel = (rel + 1) * 128 + (byte & 0x7f);
      }
      baseOffset = offset - rel;
    } else if (kind === REF_DELTA) {
      baseOid = pack.toString('hex', pos, pos + 20);
      pos += 20;
    } else if (!typeNames[kind]) {
      throw new PackError(`unknown pack entry type ${kind} at offset ${offset}`);
    }
    declared += size;
    if (declared > limits.maxInflateBytes) {
      throw new SourceError(
        Reason.FetchTooLarge,
        `the pack's entries declare more bytes than the limit of ${formatBytes(limits.maxInflateBytes)} (${limitVariables.maxInflateBytes})`,
      );
    }
    const entry: Entry = {
      offset,
      kind,
      ...(baseOffset !== undefined ? { baseOffset } : {}),
      ...(baseOid !== undefined ? { baseOid } : {}),
    };
    entries[i] = entry;
    byOffset.set(offset, entry);
    const type = typeNames[kind];
    if (type === 'blob' && size > lazyBlobBytes) {
      // Large blob: hashed as it streams by, kept compressed (or, over the object limit, only its id and size).
      const { used, oid } = await scanAt(pack, pos, size, type, signal);
      const object: StoredObject =
        size > limits.maxObjectBytes
          ? { type, size, tooLarge: true, limit: limits.maxObjectBytes }
          : { type, size, zlib: Buffer.from(pack.subarray(pos, pos + used)) };
      hold(heldBytes(object));
      entry.resolved = { oid: oid!, object };
      objects.set(oid!, object);
      pos += used;
      continue;
    }
    if (size > limits.maxObjectBytes) {
      if (type) {
        throw tooLarge(
          `a ${type} in the pack is ${formatBytes(size)}`,
          formatBytes(limits.maxObjectBytes),
          limitVariables.maxObjectBytes,
        );
      }
      // A delta this large: skipped (never inflated); what it builds counts as over the limit.
      pos += (await scanAt(pack, pos, size, undefined, signal)).used;
      entry.resolved = 'oversized';
      oversized += 1;
      continue;
    }
    const { data, used } = inflateAt(pack, pos, size);
    pos += used;
    if (type) {
      hold(data.length);
      const oid = hashObject(type, data);
      entry.resolved = { oid, object: { type, data } };
      objects.set(oid, entry.resolved.object);
      continue;
    }
    const resultSize = deltaResultSize(data);
    if (resultSize > limits.maxObjectBytes) {
      entry.resolved = 'oversized';
      oversized += 1;
      continue;
    }
    hold(data.length);
    entry.payload = data;
  }

  // Resolve deltas iteratively (chains can be thousands long), base first. A REF_DELTA base may be a pack object
  // not hashed yet (it is itself a delta), so pending entries are retried until no progress is made.
  const resolve = (start: Entry): boolean => {
    const chain: Entry[] = [];
    let cur: Entry | undefined = start;
    let base: { oid: string; object: StoredObject } | 'oversized' | undefined;
    while (cur && !cur.resolved) {
      chain.push(cur);
      if (cur.baseOffset !== undefined) {
        const next = byOffset.get(cur.baseOffset);
        if (!next) throw new PackError(`delta at ${cur.offset} points to no entry at ${cur.baseOffset}`);
        cur = next;
      } else {
        const oid = cur.baseOid!;
        const object = objects.get(oid) ?? external?.get(oid);
        cur = undefined;
        if (!object) return false;
        base = { oid, object };
      }
    }
    if (cur?.resolved) base = cur.resolved;
    let current: GitObject | undefined;
    for (let i = chain.length - 1; i >= 0; i--) {
      const entry = chain[i]!;
      const payload = entry.payload!;
      entry.payload = undefined;
      held -= payload.length;
      if (base === 'oversized' || (base && 'tooLarge' in base.object)) {
        entry.resolved = 'oversized';
        base = 'oversized';
        oversized += 1;
        continue;
      }
      try {
        current ??= loadObject(base!.oid, base!.object, limits.maxObjectBytes);
        const data = applyDelta(current.data, payload);
        const oid = hashObject(current.type, data);
        // A large result is kept compressed like a large blob in the pack: only what is read is held inflated.
        const object: StoredObject =
          current.type === 'blob' && data.length > lazyBlobBytes
            ? { type: current.type, size: data.length, zlib: deflateSync(data, { level: 1 }) }
            : { type: current.type, data };
        hold(heldBytes(object));
        entry.resolved = { oid, object };
        objects.set(oid, object);
        base = entry.resolved;
        current = { type: current.type, data };
      } catch (err) {
        if (err instanceof SourceError) throw err;
        throw new PackError(`cannot apply delta at offset ${entry.offset}`, { cause: err });
      }
    }
    return true;
  };
  let pending = entries.filter((e) => !e.resolved);
  while (pending.length > 0) {
    const left = pending.filter((e) => !e.resolved && !resolve(e));
    if (left.length === pending.length) {
      throw new PackError(`${left.length} delta(s) have a base that is neither in the pack nor cached`);
    }
    pending = left;
  }
  return { objects, oversized, objectLimit: limits.maxObjectBytes };
}
