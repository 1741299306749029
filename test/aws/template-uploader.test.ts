import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { AwsTarget } from '../../shared/adapters/aws/clients.ts';
import { partitionOf, roleAccount, s3ObjectUrl } from '../../shared/adapters/aws/partition.ts';
import { S3TemplateUploader } from '../../shared/adapters/aws/template-uploader.ts';
import { bucketPattern } from '../../shared/runtime/aws-deps.ts';
import { rendered } from './fixtures.ts';

const s3 = mockClient(S3Client);
beforeEach(() => s3.reset());

const BODY = JSON.stringify({ Resources: { Bucket: { Type: 'AWS::S3::Bucket' } } });

describe('partition-aware S3 URLs', () => {
  it.each([
    ['eu-west-1', 'aws', 'https://b.s3.eu-west-1.amazonaws.com/templates/a%20b.json'],
    ['cn-north-1', 'aws-cn', 'https://b.s3.cn-north-1.amazonaws.com.cn/templates/a%20b.json'],
    ['cn-northwest-1', 'aws-cn', 'https://b.s3.cn-northwest-1.amazonaws.com.cn/templates/a%20b.json'],
    ['us-gov-west-1', 'aws-us-gov', 'https://b.s3.us-gov-west-1.amazonaws.com/templates/a%20b.json'],
    ['us-iso-east-1', 'aws-iso', 'https://b.s3.us-iso-east-1.c2s.ic.gov/templates/a%20b.json'],
  ])('%s is in %s', (region, partition, url) => {
    expect(partitionOf(region).name).toBe(partition);
    expect(s3ObjectUrl('b', region, 'templates/a b.json')).toBe(url);
  });

  it('reads the account and partition of a role ARN', () => {
    expect(roleAccount('arn:aws-cn:iam::111111111111:role/deployer')).toEqual({
      account: '111111111111',
      partition: 'aws-cn',
    });
    expect(roleAccount('not-an-arn')).toBeUndefined();
  });
});

describe('S3TemplateUploader', () => {
  it('puts templates of stacks in the installation account into the installation bucket, with the partition URL', async () => {
    s3.on(PutObjectCommand).resolves({});
    const uploader = new S3TemplateUploader({
      bucket: 'gitops-state',
      region: 'cn-north-1',
      client: new S3Client({ region: 'cn-north-1' }),
    });
    const url = await uploader.upload(rendered({ region: 'cn-north-1' }), BODY);
    expect(url).toMatch(/^https:\/\/gitops-state\.s3\.cn-north-1\.amazonaws\.com\.cn\/templates\/[0-9a-f]{64}\.json$/);
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.Bucket).toBe('gitops-state');
  });

  it("writes another account's templates with its environment role into that account's bucket in the stack's region", async () => {
    s3.on(PutObjectCommand).resolves({});
    const targets: AwsTarget[] = [];
    const uploader = new S3TemplateUploader({
      bucket: 'gitops-state',
      region: 'eu-west-1',
      client: new S3Client({ region: 'eu-west-1' }),
      crossAccount: {
        s3: (target) => {
          targets.push(target);
          return new S3Client({ region: target.region });
        },
      },
    });
    const role = 'arn:aws-us-gov:iam::222222222222:role/lambda-gitops-deployer';
    const url = await uploader.upload(rendered({ region: 'us-gov-west-1', role, externalId: 'ext-1' }), BODY);
    // The CDK bootstrap assets bucket of the target account and region: the role that reads it wrote it.
    expect(url).toMatch(
      /^https:\/\/cdk-hnb659fds-assets-222222222222-us-gov-west-1\.s3\.us-gov-west-1\.amazonaws\.com\/templates\/[0-9a-f]{64}\.json$/,
    );
    expect(targets).toEqual([
      { region: 'us-gov-west-1', role, externalId: 'ext-1', sessionName: 'lambda-gitops-templates' },
    ]);
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      Bucket: 'cdk-hnb659fds-assets-222222222222-us-gov-west-1',
      IfNoneMatch: '*',
      Body: BODY,
    });
  });

  it('uses the bucket the installation names for each account and region', async () => {
    s3.on(PutObjectCommand).resolves({});
    const uploader = new S3TemplateUploader({
      bucket: 'gitops-state',
      region: 'eu-west-1',
      crossAccount: {
        s3: (target) => new S3Client({ region: target.region }),
        bucketFor: bucketPattern('acme-artifacts-{account}-{region}'),
      },
    });
    const url = await uploader.upload(
      rendered({ region: 'eu-central-1', role: 'arn:aws:iam::333333333333:role/deployer' }),
      BODY,
    );
    expect(url).toContain('https://acme-artifacts-333333333333-eu-central-1.s3.eu-central-1.amazonaws.com/');
  });

  it('names the bucket and the role when the upload is refused', async () => {
    s3.on(PutObjectCommand).rejects(
      Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }),
    );
    const uploader = new S3TemplateUploader({
      bucket: 'gitops-state',
      region: 'eu-west-1',
      crossAccount: { s3: (target) => new S3Client({ region: target.region }) },
    });
    const err = await uploader
      .upload(rendered({ role: 'arn:aws:iam::444444444444:role/deployer' }), BODY)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'ApplyFailed', retryable: false });
    expect(String((err as Error).message)).toContain('s3://cdk-hnb659fds-assets-444444444444-eu-west-1/templates/');
    expect(String((err as Error).message)).toContain('as arn:aws:iam::444444444444:role/deployer: AccessDenied');
  });
});
