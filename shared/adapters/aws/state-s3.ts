/**
 * The state store in S3: `state/<env>/<stack>.json` (one object per stack, ETag as the version for conditional
 * writes), `history/<env>/<stack>/<ISO time>-<id>.json` (one object per attempt, ISO times sort by name) and
 * `rendered/<sha256>/<revision>.json` (by content hash and commit, written once with `If-None-Match: *`).
 *
 * `index/states/<env>/<shards>-<n>.json` is a read cache of the states with the ETag each was read at, sharded per
 * environment and then by a hash of the key into `<shards>` parts of at most {@link SHARD_ENTRIES} stacks (a power of
 * two, from the environment's stack count). Listing compares those ETags with the ones ListObjectsV2 returns and reads
 * only the state objects that changed since, so a scheduled run over an unchanged installation costs its LISTs (one
 * per 1,000 stacks) and one GET per shard instead of a GET per stack (bench/cost.ts), and a changed stack rewrites
 * only its shard. It is never the source of truth: an entry is used only when its ETag is the object's current one,
 * and a missing, unreadable or stale shard only means more reads.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Reason, StateError } from '../../errors.ts';
import type { HistoryRecord, StackKey, StackState } from '../../model.ts';
import type { RenderedArtifact, StateStore, StoredStackState } from '../../ports.ts';
import { errorMessage, errorName, httpStatus } from './aws-errors.ts';

export interface S3StateStoreOptions {
  readonly bucket: string;
  /** Key prefix, e.g. `gitops/`; a missing trailing `/` is added. @default '' */
  readonly prefix?: string;
  /** @default a new S3Client for the environment's region */
  readonly client?: S3Client;
  /** Each request is abandoned after this long and reported as StateUnavailable. @default 10 s */
  readonly timeoutMs?: number;
  /** Objects fetched in parallel when listing. @default 8 */
  readonly concurrency?: number;
}

const HASH = /^[0-9a-f]{64}$/;
/** A revision as a key segment: a commit id in practice; nothing that could leave the `rendered/<hash>/` prefix. */
const REVISION = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** One stack's state as last read, with the ETag of that read. */
interface IndexEntry {
  readonly etag: string;
  readonly state: StackState;
}

const INDEX_VERSION = 1;
/** Stacks per index shard at most: about 2 KB each, so a shard stays near half a megabyte. */
export const SHARD_ENTRIES = 256;

interface StateIndex {
  readonly version: number;
  readonly entries: Readonly<Record<string, IndexEntry>>;
}

export class S3StateStore implements StateStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #concurrency: number;

  constructor(options: S3StateStoreOptions) {
    this.#client = options.client ?? new S3Client({});
    this.#bucket = options.bucket;
    const prefix = options.prefix ?? '';
    this.#prefix = prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#concurrency = options.concurrency ?? 8;
  }

  async getStack(key: StackKey): Promise<StoredStackState | undefined> {
    const got = await this.#getJson<StackState>(this.#stateKey(key));
    return got && { state: got.value, version: got.etag };
  }

  async listStacks(): Promise<readonly StackState[]> {
    const objects = (await this.#listObjects(`${this.#prefix}state/`)).filter((o) => o.key.endsWith('.json'));
    const shardOf = this.#shards(objects.map((o) => o.key));
    const shardKeys = [...new Set(shardOf.values())];
    const index = new Map<string, IndexEntry>();
    /** The shard each cached entry was read from. */
    const from = new Map<string, string>();
    const shardEntries = await mapLimit(shardKeys, this.#concurrency, (k) => this.#readIndex(k));
    shardKeys.forEach((shard, i) => {
      for (const [key, entry] of shardEntries[i] ?? []) {
        index.set(key, entry);
        from.set(key, shard);
      }
    });
    const current = new Map<string, IndexEntry>();
    const changed = new Set<string>();
    await mapLimit(objects, this.#concurrency, async ({ key, etag }) => {
      const cached = index.get(key);
      if (cached && etag && cached.etag === etag) {
        current.set(key, cached);
        return;
      }
      changed.add(shardOf.get(key) as string);
      // Read now: the object may have changed again since the listing, and the ETag of this read is the one cached.
      const got = await this.#getJson<StackState>(key);
      if (got) current.set(key, { etag: got.etag, state: got.value });
    });
    // A shard also changes when a stack left it: deleted, or moved to another shard as its environment grew.
    for (const [key, shard] of from) {
      if (!current.has(key) || shardOf.get(key) !== shard) changed.add(shard);
    }
    await mapLimit([...changed], this.#concurrency, (shard) =>
      this.#writeIndex(shard, new Map([...current].filter(([key]) => shardOf.get(key) === shard))),
    );
    // In listing order (S3 lists keys sorted), whatever order the reads finished in.
    return objects.flatMap((o) => {
      const entry = current.get(o.key);
      return entry ? [entry.state] : [];
    });
  }

  /**
   * Each state object's index shard: `index/states/<env>/<shards>-<n>.json`, `<shards>` the smallest power of two that
   * keeps the environment's shards at {@link SHARD_ENTRIES} stacks or fewer, `<n>` from a hash of the key.
   */
  #shards(keys: readonly string[]): Map<string, string> {
    const root = `${this.#prefix}state/`;
    const byEnv = new Map<string, string[]>();
    for (const key of keys) {
      const env = key.slice(root.length).split('/')[0] ?? '';
      const list = byEnv.get(env);
      if (list) list.push(key);
      else byEnv.set(env, [key]);
    }
    const out = new Map<string, string>();
    for (const [env, list] of byEnv) {
      let shards = 1;
      while (shards * SHARD_ENTRIES < list.length) shards *= 2;
      for (const key of list) out.set(key, `${this.#prefix}index/states/${env}/${shards}-${fnv1a(key) % shards}.json`);
    }
    return out;
  }

  async putStack(state: StackState, options: { readonly ifVersion?: string | null } = {}): Promise<string> {
    const key = this.#stateKey(state.key);
    const condition =
      options.ifVersion === undefined
        ? {}
        : options.ifVersion === null
          ? { IfNoneMatch: '*' }
          : { IfMatch: options.ifVersion };
    try {
      const out = await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: JSON.stringify(state, null, 2),
          ContentType: 'application/json',
          ...condition,
        }),
        this.#opts(),
      );
      if (!out.ETag) throw new StateError(Reason.StateUnavailable, `S3 gave no ETag for ${key}`, { retryable: true });
      return out.ETag;
    } catch (err) {
      if (options.ifVersion !== undefined && isConditionFailure(err, options.ifVersion !== null)) {
        throw new StateError(
          Reason.StateConflict,
          options.ifVersion === null
            ? `state of ${state.key} was created by another writer`
            : `state of ${state.key} was changed by another writer since version ${options.ifVersion}`,
          { retryable: true, notify: false, cause: err },
        );
      }
      throw this.#unavailable(`write state of ${state.key}`, err);
    }
  }

  async deleteStack(key: StackKey): Promise<void> {
    try {
      await this.#client.send(
        new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#stateKey(key) }),
        this.#opts(),
      );
    } catch (err) {
      throw this.#unavailable(`delete state of ${key}`, err);
    }
  }

  async putRendered(artifact: RenderedArtifact): Promise<void> {
    const key = this.#renderedKey(artifact.hash, artifact.rendered.revision);
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: JSON.stringify(artifact),
          ContentType: 'application/json',
          IfNoneMatch: '*',
        }),
        this.#opts(),
      );
    } catch (err) {
      // Addressed by content and commit: an object already under this key holds the same content.
      if (isConditionFailure(err, false)) return;
      throw this.#unavailable(`write rendered ${artifact.hash}`, err);
    }
  }

  async getRendered(hash: string, revision?: string): Promise<RenderedArtifact | undefined> {
    if (revision !== undefined) {
      const found = await this.#getJson<RenderedArtifact>(this.#renderedKey(hash, revision));
      if (found) return found.value;
    }
    // Written before artifacts were kept per revision: only good for the commit it names.
    const legacy = (await this.#getJson<RenderedArtifact>(this.#renderedKey(hash)))?.value;
    return legacy && (revision === undefined || legacy.rendered.revision === revision) ? legacy : undefined;
  }

  async appendHistory(record: HistoryRecord): Promise<void> {
    const id = record.id.replace(/[^\w.-]/g, '-');
    const key = `${this.#historyPrefix(record.key)}${record.startedAt}-${id}.json`;
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: JSON.stringify(record, null, 2),
          ContentType: 'application/json',
        }),
        this.#opts(),
      );
    } catch (err) {
      throw this.#unavailable(`append history of ${record.key}`, err);
    }
  }

  async listHistory(key: StackKey, limit = 50): Promise<readonly HistoryRecord[]> {
    const keys = (await this.#list(this.#historyPrefix(key))).filter((k) => k.endsWith('.json'));
    // ISO 8601 times sort by name: the newest are last.
    const newest = keys.sort().reverse().slice(0, limit);
    const records = await mapLimit(newest, this.#concurrency, (k) => this.#getJson<HistoryRecord>(k));
    return records.flatMap((r) => (r ? [r.value] : []));
  }

  #stateKey(key: StackKey): string {
    return `${this.#prefix}state/${checkKey(key)}.json`;
  }

  #historyPrefix(key: StackKey): string {
    return `${this.#prefix}history/${checkKey(key)}/`;
  }

  #renderedKey(hash: string, revision?: string): string {
    if (!HASH.test(hash)) throw new StateError(Reason.Internal, `not a sha256 hash: ${hash.slice(0, 80)}`);
    if (revision === undefined) return `${this.#prefix}rendered/${hash}.json`;
    if (!REVISION.test(revision)) throw new StateError(Reason.Internal, `not a commit id: ${revision.slice(0, 80)}`);
    return `${this.#prefix}rendered/${hash}/${revision}.json`;
  }

  async #getJson<T>(key: string): Promise<{ value: T; etag: string } | undefined> {
    let text: string;
    let etag: string;
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }), this.#opts());
      text = (await out.Body?.transformToString('utf-8')) ?? '';
      etag = out.ETag ?? '';
    } catch (err) {
      if (errorName(err) === 'NoSuchKey' || httpStatus(err) === 404) return undefined;
      throw this.#unavailable(`read ${key}`, err);
    }
    try {
      return { value: JSON.parse(text) as T, etag };
    } catch (err) {
      throw new StateError(Reason.StateUnavailable, `s3://${this.#bucket}/${key} is not valid JSON`, { cause: err });
    }
  }

  async #list(prefix: string): Promise<string[]> {
    return (await this.#listObjects(prefix)).map((o) => o.key);
  }

  async #listObjects(prefix: string): Promise<{ key: string; etag: string | undefined }[]> {
    const objects: { key: string; etag: string | undefined }[] = [];
    let token: string | undefined;
    try {
      do {
        const out = await this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.#bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
          this.#opts(),
        );
        for (const o of out.Contents ?? []) if (o.Key) objects.push({ key: o.Key, etag: o.ETag });
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.#unavailable(`list ${prefix}`, err);
    }
    return objects;
  }

  /** One shard of listStacks' read cache; empty when it is missing or unreadable (its state objects are read then). */
  async #readIndex(shard: string): Promise<Map<string, IndexEntry>> {
    let got: { value: StateIndex } | undefined;
    try {
      got = await this.#getJson<StateIndex>(shard);
    } catch {
      return new Map();
    }
    const entries = got?.value?.version === INDEX_VERSION ? got.value.entries : undefined;
    if (!entries || typeof entries !== 'object') return new Map();
    return new Map(
      Object.entries(entries).filter(
        ([, e]) => typeof e?.etag === 'string' && typeof e.state === 'object' && e.state !== null,
      ),
    );
  }

  /**
   * Best effort: a failed write leaves the old index, whose stale entries no ETag matches, so the next listing reads
   * those objects again. Concurrent writers are fine for the same reason (last one wins, every entry is checked).
   */
  async #writeIndex(shard: string, entries: ReadonlyMap<string, IndexEntry>): Promise<void> {
    const body: StateIndex = { version: INDEX_VERSION, entries: Object.fromEntries(entries) };
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: shard,
          Body: JSON.stringify(body),
          ContentType: 'application/json',
        }),
        this.#opts(),
      );
    } catch {
      // See above: the index is a cache, and the listing it would speed up has already succeeded.
    }
  }

  /** Per-request options: a timeout, so a stalled connection becomes StateUnavailable instead of a hung Lambda. */
  #opts(): { abortSignal: AbortSignal } {
    return { abortSignal: AbortSignal.timeout(this.#timeoutMs) };
  }

  #unavailable(what: string, err: unknown): StateError {
    if (err instanceof StateError) return err;
    const name = errorName(err);
    const timedOut = name === 'TimeoutError' || name === 'AbortError';
    return new StateError(
      Reason.StateUnavailable,
      timedOut
        ? `cannot ${what} in s3://${this.#bucket}: no answer within ${this.#timeoutMs} ms`
        : `cannot ${what} in s3://${this.#bucket}: ${name || 'Error'}: ${errorMessage(err)}`,
      { retryable: true, cause: err },
    );
  }
}

/**
 * S3 answers a failed `If-None-Match`/`If-Match` with 412 PreconditionFailed, a concurrent conditional write with 409
 * ConditionalRequestConflict, and `If-Match` on a missing key with 404 NoSuchKey.
 */
function isConditionFailure(err: unknown, ifMatch: boolean): boolean {
  const name = errorName(err);
  const status = httpStatus(err);
  if (name === 'PreconditionFailed' || status === 412) return true;
  if (name === 'ConditionalRequestConflict' || status === 409) return true;
  return ifMatch && (name === 'NoSuchKey' || status === 404);
}

function checkKey(key: StackKey): string {
  const parts = key.split('/');
  if (parts.length !== 2 || parts.some((p) => !p || p === '.' || p === '..')) {
    throw new StateError(Reason.Internal, `not a stack key (environment/stack): ${key}`);
  }
  return key;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return out;
}

/** FNV-1a, 32 bits: a stable spread of keys over shards (not a security hash). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
