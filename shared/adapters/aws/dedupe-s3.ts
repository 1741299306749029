/** The notification dedupe state as one JSON object in S3 (the notify Lambda has no other store). */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Reason, StateError } from '../../errors.ts';
import type { DedupeState, DedupeStore } from '../../notify/dedupe.ts';
import { errorMessage, errorName, httpStatus } from './aws-errors.ts';

export interface S3DedupeStoreOptions {
  readonly bucket: string;
  /** @default `notify/dedupe.json` */
  readonly key?: string;
  readonly client?: S3Client;
}

export class S3DedupeStore implements DedupeStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #key: string;

  constructor(options: S3DedupeStoreOptions) {
    this.#client = options.client ?? new S3Client({});
    this.#bucket = options.bucket;
    this.#key = options.key ?? 'notify/dedupe.json';
  }

  async load(): Promise<DedupeState | undefined> {
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key }));
      const text = (await out.Body?.transformToString('utf-8')) ?? '';
      return JSON.parse(text) as DedupeState;
    } catch (err) {
      if (errorName(err) === 'NoSuchKey' || httpStatus(err) === 404) return undefined;
      // A corrupt document only costs a duplicate alert: start again rather than stop notifying.
      if (err instanceof SyntaxError) return undefined;
      throw new StateError(
        Reason.StateUnavailable,
        `cannot read s3://${this.#bucket}/${this.#key}: ${errorMessage(err)}`,
        {
          retryable: true,
          cause: err,
        },
      );
    }
  }

  async save(state: DedupeState): Promise<void> {
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: this.#key,
          Body: JSON.stringify(state),
          ContentType: 'application/json',
        }),
      );
    } catch (err) {
      throw new StateError(
        Reason.StateUnavailable,
        `cannot write s3://${this.#bucket}/${this.#key}: ${errorMessage(err)}`,
        {
          retryable: true,
          cause: err,
        },
      );
    }
  }
}
