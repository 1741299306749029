/**
 * The drift run ledger in the state bucket: one object, `<prefix>drift/run.json`, written with `If-Match` on the
 * ETag read (`If-None-Match: *` for the first run), so two planners never both start a run and workers of different
 * account-regions never lose each other's progress (drift-fanout.ts).
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { DriftRun, DriftRunStore } from '../../engine/drift-fanout.ts';
import { Reason, StateError } from '../../errors.ts';
import { errorMessage, errorName, httpStatus } from './aws-errors.ts';

export interface S3DriftRunStoreOptions {
  readonly bucket: string;
  /** Key prefix, as the state store's. @default '' */
  readonly prefix?: string;
  readonly client?: S3Client;
  /** @default 10 s */
  readonly timeoutMs?: number;
}

export class S3DriftRunStore implements DriftRunStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #key: string;
  readonly #timeoutMs: number;

  constructor(options: S3DriftRunStoreOptions) {
    this.#client = options.client ?? new S3Client({});
    this.#bucket = options.bucket;
    const prefix = options.prefix ?? '';
    this.#key = `${prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix}drift/run.json`;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  async read(): Promise<{ run: DriftRun; version: string } | undefined> {
    let text: string;
    let etag: string;
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key }), this.#opts());
      text = (await out.Body?.transformToString('utf-8')) ?? '';
      etag = out.ETag ?? '';
    } catch (err) {
      if (errorName(err) === 'NoSuchKey' || httpStatus(err) === 404) return undefined;
      throw this.#unavailable('read', err);
    }
    let run: DriftRun;
    try {
      run = JSON.parse(text) as DriftRun;
    } catch (err) {
      throw new StateError(Reason.StateUnavailable, `s3://${this.#bucket}/${this.#key} is not valid JSON`, {
        cause: err,
      });
    }
    if (typeof run?.id !== 'string' || typeof run.startedAt !== 'string' || typeof run.items !== 'object') {
      throw new StateError(Reason.StateUnavailable, `s3://${this.#bucket}/${this.#key} is not a drift run`);
    }
    return { run, version: etag };
  }

  async write(run: DriftRun, options: { readonly ifVersion: string | null }): Promise<string> {
    try {
      const out = await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: this.#key,
          Body: JSON.stringify(run),
          ContentType: 'application/json',
          ...(options.ifVersion === null ? { IfNoneMatch: '*' } : { IfMatch: options.ifVersion }),
        }),
        this.#opts(),
      );
      if (!out.ETag) throw new StateError(Reason.StateUnavailable, `S3 gave no ETag for ${this.#key}`);
      return out.ETag;
    } catch (err) {
      if (err instanceof StateError) throw err;
      const name = errorName(err);
      const status = httpStatus(err);
      // 412: the ETag moved on; 409: a concurrent conditional write; 404: If-Match on an object deleted meanwhile.
      if (
        name === 'PreconditionFailed' ||
        status === 412 ||
        name === 'ConditionalRequestConflict' ||
        status === 409 ||
        (options.ifVersion !== null && (name === 'NoSuchKey' || status === 404))
      ) {
        throw new StateError(Reason.StateConflict, `drift run ${run.id}: the ledger was changed by another writer`, {
          retryable: true,
          notify: false,
          cause: err,
        });
      }
      throw this.#unavailable('write', err);
    }
  }

  #opts(): { abortSignal: AbortSignal } {
    return { abortSignal: AbortSignal.timeout(this.#timeoutMs) };
  }

  #unavailable(what: string, err: unknown): StateError {
    return new StateError(
      Reason.StateUnavailable,
      `cannot ${what} s3://${this.#bucket}/${this.#key}: ${errorName(err) || 'Error'}: ${errorMessage(err)}`,
      { retryable: true, cause: err },
    );
  }
}
