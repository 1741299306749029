/**
 * Packaged artifacts on AWS, content-addressed, in a bucket of the account and region each stack runs in: Lambda
 * reads its code only from its own region, and the role that creates the stack must be able to read its nested
 * templates. A stack whose environment assumes a role has its artifacts written with that role into `bucketFor(
 * account, region)` of the role's account (by default the CDK bootstrap assets bucket
 * `cdk-hnb659fds-assets-<account>-<region>`), so the role that reads them is the role that wrote them and nothing
 * has to be granted across accounts. A stack in the installation's own account and region uses the installation
 * bucket; one in another region of that account needs `artifactBucket` with `{region}` (and `{account}`).
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ApplyError, ConfigError, Reason } from '../../errors.ts';
import type { ArtifactStore, ArtifactTarget } from '../../ports.ts';
import { errorMessage, errorName, httpStatus, isTransient } from './aws-errors.ts';
import type { AwsTarget } from './clients.ts';
import { roleAccount, s3ObjectUrl } from './partition.ts';
import { cdkAssetsBucket } from './template-uploader.ts';

export interface S3ArtifactStoreOptions {
  /** An S3 client for a target: acting as its role (when it has one) in its region. */
  readonly s3: (target: AwsTarget) => S3Client;
  /** The installation's bucket and region: for stacks without a role in that region. */
  readonly installation: { readonly bucket: string; readonly region: string; readonly account?: string };
  /** The bucket of an account and region. @default the CDK bootstrap assets bucket */
  readonly bucketFor?: (account: string, region: string) => string;
  /** Whether `bucketFor` was named by the installation (then it also serves its own account's other regions). */
  readonly named?: boolean;
}

export class S3ArtifactStore implements ArtifactStore {
  readonly #options: S3ArtifactStoreOptions;

  constructor(options: S3ArtifactStoreOptions) {
    this.#options = options;
  }

  locate(target: ArtifactTarget): { bucket: string; url(key: string): string } {
    const bucket = this.#bucket(target);
    return { bucket, url: (key) => s3ObjectUrl(bucket, target.region, key) };
  }

  async put(target: ArtifactTarget, key: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
    const bucket = this.#bucket(target);
    const client = this.#options.s3({
      region: target.region,
      ...(target.role ? { role: target.role } : {}),
      ...(target.externalId ? { externalId: target.externalId } : {}),
      sessionName: 'lambda-gitops-artifacts',
    });
    try {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: bytes,
          ContentType: key.endsWith('.json') ? 'application/json' : 'application/octet-stream',
          IfNoneMatch: '*',
        }),
        signal ? { abortSignal: signal } : {},
      );
    } catch (err) {
      // 412: the same content is already there (the key is its hash).
      if (errorName(err) === 'PreconditionFailed' || httpStatus(err) === 412) return;
      throw new ApplyError(
        Reason.ApplyFailed,
        `cannot store artifact s3://${bucket}/${key}${target.role ? ` as ${target.role}` : ''}: ${errorName(err)}: ${errorMessage(err)}`,
        { retryable: isTransient(err), cause: err },
      );
    }
  }

  #bucket(target: ArtifactTarget): string {
    const { installation, named } = this.#options;
    const bucketFor = this.#options.bucketFor ?? cdkAssetsBucket;
    const account = target.role ? roleAccount(target.role)?.account : installation.account;
    if (target.role && account) return bucketFor(account, target.region);
    if (!target.role && target.region === installation.region) return installation.bucket;
    if (account && named) return bucketFor(account, target.region);
    throw new ConfigError(
      Reason.InvalidConfig,
      `packaged artifacts of a stack in ${target.region} must be in that region, and the installation bucket is in ${installation.region}: name a bucket per region with artifactBucket (GITOPS_ARTIFACT_BUCKET=my-artifacts-{account}-{region}) and the installation's account`,
      { field: 'artifactBucket' },
    );
  }
}
