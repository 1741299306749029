import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3ArtifactStore } from '../../shared/adapters/aws/artifact-store-s3.ts';
import { bucketPattern } from '../../shared/runtime/aws-deps.ts';

const s3 = mockClient(S3Client);
beforeEach(() => s3.reset());

const store = (extra: Partial<ConstructorParameters<typeof S3ArtifactStore>[0]> = {}) =>
  new S3ArtifactStore({
    s3: (target) => new S3Client({ region: target.region }),
    installation: { bucket: 'gitops-state', region: 'eu-west-1' },
    ...extra,
  });
const KEY = `artifacts/${'a'.repeat(64)}.zip`;

describe('S3ArtifactStore', () => {
  it('puts a stack of another account into its CDK assets bucket in its region, with partition URLs', () => {
    const where = store().locate({ region: 'cn-north-1', role: 'arn:aws-cn:iam::222222222222:role/deployer' });
    expect(where.bucket).toBe('cdk-hnb659fds-assets-222222222222-cn-north-1');
    expect(where.url(KEY)).toBe(
      `https://cdk-hnb659fds-assets-222222222222-cn-north-1.s3.cn-north-1.amazonaws.com.cn/${KEY}`,
    );
  });

  it("uses the installation bucket in the installation's account and region, and a named bucket elsewhere", () => {
    expect(store().locate({ region: 'eu-west-1' }).bucket).toBe('gitops-state');
    const named = store({
      bucketFor: bucketPattern('acme-artifacts-{account}-{region}'),
      named: true,
      installation: { bucket: 'gitops-state', region: 'eu-west-1', account: '123456789012' },
    });
    expect(named.locate({ region: 'us-east-1' }).bucket).toBe('acme-artifacts-123456789012-us-east-1');
  });

  it('refuses a stack of the installation account in another region without a named bucket, naming the setting', () => {
    expect(() => store().locate({ region: 'us-east-1' })).toThrow(/GITOPS_ARTIFACT_BUCKET/);
  });

  it('stores content-addressed objects once: an existing key (412) is success', async () => {
    s3.on(PutObjectCommand).rejects(
      Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
        name: 'PreconditionFailed',
        $metadata: { httpStatusCode: 412 },
      }),
    );
    await expect(store().put({ region: 'eu-west-1' }, KEY, Buffer.from('zip'))).resolves.toBeUndefined();
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      Bucket: 'gitops-state',
      Key: KEY,
      IfNoneMatch: '*',
      ContentType: 'application/octet-stream',
    });
  });
});
