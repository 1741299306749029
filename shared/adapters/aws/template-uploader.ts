/**
 * Templates over CloudFormation's 51,200-byte TemplateBody limit go through S3 and are passed as TemplateURL (up to
 * 1 MB). Objects are content-addressed, so the same template is uploaded once.
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ApplyError, Reason } from '../../errors.ts';
import type { RenderedStack } from '../../model.ts';
import { errorMessage, errorName, httpStatus, isTransient } from './aws-errors.ts';

export interface TemplateUploader {
  /** Stores the template body and returns the https URL CloudFormation reads it from. */
  upload(rendered: RenderedStack, body: string, signal?: AbortSignal): Promise<string>;
}

export interface S3TemplateUploaderOptions {
  readonly bucket: string;
  /** The bucket's region, used in the URL. */
  readonly region: string;
  /** @default `templates/` */
  readonly prefix?: string;
  /** @default a new S3Client for `region` */
  readonly client?: S3Client;
  /** The URL CloudFormation is given for a key. @default `https://<bucket>.s3.<region>.amazonaws.com/<key>` */
  readonly urlFor?: (key: string) => string;
}

export class S3TemplateUploader implements TemplateUploader {
  readonly #client: S3Client;
  readonly #options: S3TemplateUploaderOptions;

  constructor(options: S3TemplateUploaderOptions) {
    this.#options = options;
    this.#client = options.client ?? new S3Client({ region: options.region });
  }

  async upload(rendered: RenderedStack, body: string, signal?: AbortSignal): Promise<string> {
    const prefix = this.#options.prefix ?? 'templates/';
    const key = `${prefix}${createHash('sha256').update(body).digest('hex')}.json`;
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#options.bucket,
          Key: key,
          Body: body,
          ContentType: 'application/json',
          IfNoneMatch: '*',
        }),
        signal ? { abortSignal: signal } : {},
      );
    } catch (err) {
      // 412: the same content is already there.
      if (!(errorName(err) === 'PreconditionFailed' || httpStatus(err) === 412)) {
        throw new ApplyError(
          Reason.ApplyFailed,
          `cannot upload the template of ${rendered.stackName} to s3://${this.#options.bucket}/${key}: ${errorName(err)}: ${errorMessage(err)}`,
          { retryable: isTransient(err), cause: err },
        );
      }
    }
    const encodedKey = key.split('/').map(encodeURIComponent).join('/');
    return (
      this.#options.urlFor?.(key) ??
      `https://${this.#options.bucket}.s3.${this.#options.region}.amazonaws.com/${encodedKey}`
    );
  }
}
