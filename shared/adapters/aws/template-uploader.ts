/**
 * Templates over CloudFormation's 51,200-byte TemplateBody limit go through S3 and are passed as TemplateURL (up to
 * 1 MB). Objects are content-addressed, so the same template is uploaded once.
 *
 * Where they go: CloudFormation reads a TemplateURL with the credentials of whoever calls CreateChangeSet. A stack in
 * the installation's own account is called with the installation's credentials, so its templates go to the
 * installation bucket. A stack whose environment assumes a role in another account is called with that role, which
 * has no rights on the installation bucket (nothing grants them, and a bucket policy naming every account would
 * widen the bucket for every repository). So its templates are written, with that same role, into a bucket of the
 * target account and region (`crossAccount.bucketFor`: by default the CDK bootstrap assets bucket
 * `cdk-hnb659fds-assets-<account>-<region>`): the role that reads the template is the role that wrote it.
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ApplyError, Reason } from '../../errors.ts';
import type { RenderedStack } from '../../model.ts';
import { errorMessage, errorName, httpStatus, isTransient } from './aws-errors.ts';
import type { AwsTarget } from './clients.ts';
import { roleAccount, s3ObjectUrl } from './partition.ts';

export interface TemplateUploader {
  /** Stores the template body and returns the https URL CloudFormation reads it from. */
  upload(rendered: RenderedStack, body: string, signal?: AbortSignal): Promise<string>;
}

/** The CDK bootstrap assets bucket of an account and region (the default qualifier). */
export const cdkAssetsBucket = (account: string, region: string): string => `cdk-hnb659fds-assets-${account}-${region}`;

export interface S3TemplateUploaderOptions {
  readonly bucket: string;
  /** The bucket's region, used in the URL. */
  readonly region: string;
  /** @default `templates/` */
  readonly prefix?: string;
  /** @default a new S3Client for `region` */
  readonly client?: S3Client;
  /** The URL CloudFormation is given for a key. @default `https://<bucket>.s3.<region>.<partition's DNS suffix>/<key>` */
  readonly urlFor?: (key: string) => string;
  /** Stacks whose environment assumes a role: their templates go to a bucket of the role's account and region. */
  readonly crossAccount?: {
    /** An S3 client acting as the environment's role in its region. */
    readonly s3: (target: AwsTarget) => S3Client;
    /** @default `cdkAssetsBucket` */
    readonly bucketFor?: (account: string, region: string) => string;
  };
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
    const where = this.#where(rendered);
    try {
      await where.client.send(
        new PutObjectCommand({
          Bucket: where.bucket,
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
          `cannot upload the template of ${rendered.stackName} to s3://${where.bucket}/${key}${where.role ? ` as ${where.role}` : ''}: ${errorName(err)}: ${errorMessage(err)}`,
          { retryable: isTransient(err), cause: err },
        );
      }
    }
    if (!where.role && this.#options.urlFor) return this.#options.urlFor(key);
    return s3ObjectUrl(where.bucket, where.region, key);
  }

  #where(rendered: RenderedStack): { client: S3Client; bucket: string; region: string; role?: string } {
    const cross = this.#options.crossAccount;
    const account = rendered.role ? roleAccount(rendered.role) : undefined;
    if (!cross || !rendered.role || !account) {
      return { client: this.#client, bucket: this.#options.bucket, region: this.#options.region };
    }
    const bucketFor = cross.bucketFor ?? cdkAssetsBucket;
    return {
      client: cross.s3({
        region: rendered.region,
        role: rendered.role,
        ...(rendered.externalId ? { externalId: rendered.externalId } : {}),
        sessionName: 'lambda-gitops-templates',
      }),
      bucket: bucketFor(account.account, rendered.region),
      region: rendered.region,
      role: rendered.role,
    };
  }
}
