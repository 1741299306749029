/**
 * Reads a packfile held in memory: every entry is inflated once with node:zlib, deltas (OFS_DELTA and REF_DELTA) are
 * resolved against their bases (each base inflated and resolved once, whatever the chain length), and every object is
 * hashed with synchronous sha-1. Nothing is written per object. REF_DELTA bases missing from the pack (a thin pack
 * sent on an incremental fetch) are looked up in `external`, the objects already cached.
 */
import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { applyDelta } from './delta.ts';
import { type GitObject, hashObject, type ObjectReader, type ObjectType } from './objects.ts';

export class PackError extends Error {
  override readonly name = 'PackError';
}

const typeNames: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;

interface Entry {
  readonly offset: number;
  readonly kind: number;
  /** Inflated payload: the object's data, or the delta for delta entries. */
  readonly payload: Buffer;
  readonly baseOffset?: number;
  readonly baseOid?: string;
  resolved?: GitObject;
  oid?: string;
}

/** Inflates one zlib stream starting at `pos`; returns the data and the compressed length consumed. */
function inflateAt(pack: Buffer, pos: number, size: number): { data: Buffer; used: number } {
  try {
    const { buffer, engine } = inflateSync(pack.subarray(pos), { info: true }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    if (buffer.length !== size) throw new PackError(`entry at ${pos} inflated to ${buffer.length}, expected ${size}`);
    return { data: buffer, used: engine.bytesWritten };
  } catch (err) {
    if (err instanceof PackError) throw err;
    throw new PackError(`pack entry at offset ${pos} is truncated or corrupt`, { cause: err });
  }
}

/**
 * Parses and resolves every object of `pack`. Returns them by id. Throws PackError on a truncated or corrupt pack
 * (bad header, checksum, zlib stream) or a delta whose base is neither in the pack nor in `external`.
 */
export function readPack(pack: Buffer, external?: ObjectReader): Map<string, GitObject> {
  if (pack.length < 32 || pack.toString('latin1', 0, 4) !== 'PACK') throw new PackError('not a packfile');
  const version = pack.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new PackError(`unsupported pack version ${version}`);
  const count = pack.readUInt32BE(8);
  const trailer = pack.length - 20;
  const digest = createHash('sha1').update(pack.subarray(0, trailer)).digest();
  if (!digest.equals(pack.subarray(trailer))) throw new PackError('pack checksum mismatch (truncated pack?)');

  const entries: Entry[] = new Array(count);
  const byOffset = new Map<number, Entry>();
  let pos = 12;
  for (let i = 0; i < count; i++) {
    if (pos >= trailer) throw new PackError(`pack ends after ${i} of ${count} objects`);
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
    const { data, used } = inflateAt(pack, pos, size);
    pos += used;
    const entry: Entry = {
      offset,
      kind,
      payload: data,
      ...(baseOffset !== undefined ? { baseOffset } : {}),
      ...(baseOid !== undefined ? { baseOid } : {}),
    };
    entries[i] = entry;
    byOffset.set(offset, entry);
  }

  const objects = new Map<string, GitObject>();
  const settle = (entry: Entry, obj: GitObject): GitObject => {
    entry.resolved = obj;
    entry.oid = hashObject(obj.type, obj.data);
    objects.set(entry.oid, obj);
    return obj;
  };
  for (const entry of entries) {
    if (entry.kind !== OFS_DELTA && entry.kind !== REF_DELTA) {
      settle(entry, { type: typeNames[entry.kind]!, data: entry.payload });
    }
  }

  // Resolve deltas iteratively (chains can be thousands long), base first. A REF_DELTA base may be a pack object
  // not hashed yet (it is itself a delta), so pending entries are retried until no progress is made.
  const resolve = (start: Entry): GitObject | undefined => {
    const chain: Entry[] = [];
    let cur: Entry | undefined = start;
    let base: GitObject | undefined;
    while (cur && !cur.resolved) {
      chain.push(cur);
      if (cur.baseOffset !== undefined) {
        const next = byOffset.get(cur.baseOffset);
        if (!next) throw new PackError(`delta at ${cur.offset} points to no entry at ${cur.baseOffset}`);
        cur = next;
      } else {
        const oid = cur.baseOid!;
        base = objects.get(oid) ?? external?.get(oid);
        cur = undefined;
        if (!base) return undefined;
      }
    }
    if (cur?.resolved) base = cur.resolved;
    for (let i = chain.length - 1; i >= 0; i--) {
      const entry = chain[i]!;
      try {
        base = settle(entry, { type: base!.type, data: applyDelta(base!.data, entry.payload) });
      } catch (err) {
        throw new PackError(`cannot apply delta at offset ${entry.offset}`, { cause: err });
      }
    }
    return base;
  };
  let pending = entries.filter((e) => !e.resolved);
  while (pending.length > 0) {
    const left = pending.filter((e) => !e.resolved && !resolve(e));
    if (left.length === pending.length) {
      throw new PackError(`${left.length} delta(s) have a base that is neither in the pack nor cached`);
    }
    pending = left;
  }
  return objects;
}
