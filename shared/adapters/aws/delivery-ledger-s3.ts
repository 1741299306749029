/**
 * The webhook function's delivery ledger in the state bucket, so a replay is caught whichever container it lands on:
 * one small object per key (`webhook/deliveries/id-<sha256 of the id>.json` and `webhook/deliveries/body-<digest>.json`)
 * created with a conditional write (`If-None-Match: *`), so of two concurrent deliveries exactly one wins. Each
 * object carries its expiry: an expired one is taken over with `If-Match` on the ETag that was read, and the bucket's
 * lifecycle rule on the prefix deletes old ones (the construct adds it).
 */
import { createHash } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Reason, StateError } from '../../errors.ts';
import type { Clock } from '../../ports.ts';
import type { Claim, DeliveryKeys, DeliveryLedger } from '../../webhook/dedupe.ts';
import { errorMessage, errorName, httpStatus } from './aws-errors.ts';

/** Where the ledger lives under the state prefix; the construct's lifecycle rule expires this prefix. */
export const DELIVERY_LEDGER_PREFIX = 'webhook/deliveries/';

export interface S3DeliveryLedgerOptions {
  readonly bucket: string;
  /** The installation's state prefix (`GITOPS_STATE_PREFIX`), `''` or ending in `/`. @default '' */
  readonly prefix?: string;
  readonly client: S3Client;
  readonly clock: Pick<Clock, 'now'>;
  /** How long a delivery is remembered. @default 24 hours */
  readonly ttlMs?: number;
  /** Each request is abandoned after this long. @default 3 s (the forge waits 10 s for the whole answer) */
  readonly timeoutMs?: number;
}

interface Entry {
  readonly expiresAt: string;
}

export class S3DeliveryLedger implements DeliveryLedger {
  readonly #options: S3DeliveryLedgerOptions;
  readonly #prefix: string;
  readonly #ttlMs: number;

  constructor(options: S3DeliveryLedgerOptions) {
    this.#options = options;
    const prefix = options.prefix ?? '';
    this.#prefix = `${prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix}${DELIVERY_LEDGER_PREFIX}`;
    this.#ttlMs = options.ttlMs ?? 24 * 3_600_000;
  }

  async claim(keys: DeliveryKeys): Promise<Claim> {
    const idKey = this.#idKey(keys);
    if (!(await this.#claimKey(idKey))) return 'duplicate-id';
    let body: boolean;
    try {
      body = await this.#claimKey(this.#bodyKey(keys));
    } catch (err) {
      // The delivery is answered 503 and retried under the same id: that retry must not find the id recorded.
      await this.#delete(idKey).catch(() => undefined);
      throw err;
    }
    return body ? 'new' : 'duplicate-body';
  }

  async release(keys: DeliveryKeys): Promise<void> {
    for (const key of [this.#idKey(keys), this.#bodyKey(keys)]) await this.#delete(key);
  }

  async #delete(key: string): Promise<void> {
    try {
      await this.#options.client.send(
        new DeleteObjectCommand({ Bucket: this.#options.bucket, Key: key }),
        this.#opts(),
      );
    } catch (err) {
      throw this.#unavailable(`delete ${key}`, err);
    }
  }

  /** The delivery id comes from a header anyone can set: hashed, so it names a safe key of fixed length. */
  #idKey(keys: DeliveryKeys): string {
    return `${this.#prefix}id-${createHash('sha256').update(keys.id).digest('hex')}.json`;
  }

  #bodyKey(keys: DeliveryKeys): string {
    if (!/^[0-9a-f]{64}$/.test(keys.digest)) throw new StateError(Reason.Internal, 'not a sha256 body digest');
    return `${this.#prefix}body-${keys.digest}.json`;
  }

  /** True when this call recorded the key; false when a record of it had not expired yet. */
  async #claimKey(key: string): Promise<boolean> {
    if (await this.#put(key, { ifNoneMatch: true })) return true;
    const existing = await this.#read(key);
    // Deleted in between (a released delivery): try once more to be the one that records it.
    if (!existing) return this.#put(key, { ifNoneMatch: true });
    if (Date.parse(existing.entry.expiresAt) > this.#options.clock.now().getTime()) return false;
    // Expired, not yet removed by the lifecycle rule: take it over, unless another delivery just did.
    return this.#put(key, { ifMatch: existing.etag });
  }

  async #put(key: string, condition: { ifNoneMatch: true } | { ifMatch: string }): Promise<boolean> {
    const entry: Entry = { expiresAt: new Date(this.#options.clock.now().getTime() + this.#ttlMs).toISOString() };
    try {
      await this.#options.client.send(
        new PutObjectCommand({
          Bucket: this.#options.bucket,
          Key: key,
          Body: JSON.stringify(entry),
          ContentType: 'application/json',
          ...('ifNoneMatch' in condition ? { IfNoneMatch: '*' } : { IfMatch: condition.ifMatch }),
        }),
        this.#opts(),
      );
      return true;
    } catch (err) {
      const name = errorName(err);
      const status = httpStatus(err);
      // 412: the key exists (or changed since it was read); 409: a concurrent conditional write won; 404 on If-Match:
      // it was deleted since it was read. Each means another delivery holds the key.
      if (name === 'PreconditionFailed' || status === 412 || name === 'ConditionalRequestConflict' || status === 409) {
        return false;
      }
      if ('ifMatch' in condition && (name === 'NoSuchKey' || status === 404)) return false;
      throw this.#unavailable(`write ${key}`, err);
    }
  }

  async #read(key: string): Promise<{ entry: Entry; etag: string } | undefined> {
    let text: string;
    let etag: string;
    try {
      const out = await this.#options.client.send(
        new GetObjectCommand({ Bucket: this.#options.bucket, Key: key }),
        this.#opts(),
      );
      text = (await out.Body?.transformToString('utf-8')) ?? '';
      etag = out.ETag ?? '';
    } catch (err) {
      if (errorName(err) === 'NoSuchKey' || httpStatus(err) === 404) return undefined;
      throw this.#unavailable(`read ${key}`, err);
    }
    // Unreadable content counts as expired: it is replaced (on its ETag), never trusted.
    let expiresAt = new Date(0).toISOString();
    try {
      const parsed = JSON.parse(text) as Partial<Entry>;
      if (typeof parsed.expiresAt === 'string' && !Number.isNaN(Date.parse(parsed.expiresAt))) {
        expiresAt = parsed.expiresAt;
      }
    } catch {
      // keep the expired default
    }
    return { entry: { expiresAt }, etag };
  }

  #opts() {
    return { abortSignal: AbortSignal.timeout(this.#options.timeoutMs ?? 3_000) };
  }

  #unavailable(what: string, err: unknown): StateError {
    return new StateError(
      Reason.StateUnavailable,
      `cannot ${what} in s3://${this.#options.bucket}: ${errorMessage(err)}`,
      { retryable: true, cause: err },
    );
  }
}
