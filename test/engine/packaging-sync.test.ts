/**
 * The bundled example — local Lambda code (examples/functions/api) and a nested template with an IAM role
 * (templates/api-role.yaml) — synced through the engine: locally (artifacts in the state folder) and on AWS against
 * the CloudFormation stand-in with artifacts in S3 (s3rver).
 */
import { existsSync, readFileSync } from 'node:fs';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudFormationApplier } from '../../shared/adapters/aws/applier-cfn.ts';
import { S3ArtifactStore } from '../../shared/adapters/aws/artifact-store-s3.ts';
import type { CloudFormationClients } from '../../shared/adapters/aws/clients.ts';
import type { FolderArtifactStore } from '../../shared/adapters/local/index.ts';
import { computePlan } from '../../shared/engine/plan.ts';
import { sync } from '../../shared/engine/sync.ts';
import type { RenderedStack } from '../../shared/model.ts';
import { FakeClock } from '../aws/fixtures.ts';
import { type S3TestServer, startS3 } from '../aws/s3-server.ts';
import { type CfnStandIn, startCfnStandIn } from '../helpers/cfn-standin.ts';
import { readZip } from '../helpers/zip-reader.ts';
import { exampleRepo } from './engine-fixture.ts';

const API_KEYS = ['dev/api', 'prod/api', 'staging/api'];
const codeKey = (r: RenderedStack | undefined): string =>
  (r?.template.Resources?.['Handler']?.Properties as { Code?: { S3Key?: string } } | undefined)?.Code?.S3Key ?? '';

describe('the example synced locally', () => {
  it('packages the Lambda code and the nested template into the state folder, and infers CAPABILITY_IAM', async () => {
    const repo = exampleRepo();
    const report = await sync(repo.deps, {});
    expect(report.failed).toEqual([]);
    const api = report.results.find((r) => r.key === 'dev/api')?.rendered;
    expect(api?.capabilities).toEqual(['CAPABILITY_IAM', 'CAPABILITY_AUTO_EXPAND']);
    expect(api?.artifacts?.map((a) => [a.kind, a.source])).toEqual([
      ['zip', 'functions/api'],
      ['template', 'templates/api-role.yaml'],
    ]);
    const zipPath = (repo.deps.artifacts as FolderArtifactStore).pathOf(codeKey(api));
    expect(existsSync(zipPath)).toBe(true);
    expect(readZip(readFileSync(zipPath)).map((e) => e.name)).toEqual(['index.mjs']);
    // The nested template is shown in the first sync's diff.
    expect(report.results.find((r) => r.key === 'dev/api')?.result?.diffText).toContain('Nested stack Roles');
  });

  it('a code change re-renders and re-applies only the stacks that use that code', async () => {
    const repo = exampleRepo();
    await sync(repo.deps, {});
    repo.edit('functions/api/index.mjs', 'ok: true', 'ok: true, version: 2', 'Say the version');
    repo.clearEvents();

    const plan = await computePlan(repo.deps, {});
    expect(plan.entries.filter((e) => e.action === 'update').map((e) => e.key)).toEqual(API_KEYS);
    expect(plan.entries.find((e) => e.key === 'dev/api')?.preview?.changes.modified).toEqual(['Handler']);
    const report = await sync(repo.deps, {});
    expect(report.results.map((r) => r.key)).toEqual(['dev/api', 'staging/api', 'prod/api'].sort());
    expect(repo.types().filter((t) => t === 'Apply Requested')).toHaveLength(3);
  });

  it("a change to the nested template shows in the plan's diff under the nested stack", async () => {
    const repo = exampleRepo();
    await sync(repo.deps, {});
    repo.edit('templates/api-role.yaml', 'dynamodb:Query]', 'dynamodb:Query, dynamodb:Scan]', 'Scan too');
    const plan = await computePlan(repo.deps, { environments: ['dev'] });
    const api = plan.entries.find((e) => e.key === 'dev/api');
    expect(api?.action).toBe('update');
    expect(api?.preview?.changes.modified).toEqual(['Roles', 'Roles/FunctionRole']);
    expect(api?.preview?.diffText).toContain('Nested stack Roles');
    expect(api?.preview?.diffText).toContain('dynamodb:Scan');
  });
});

describe('the example synced on AWS (CloudFormation stand-in, artifacts on s3rver)', () => {
  let cfn: CfnStandIn;
  let s3: S3TestServer;
  beforeEach(async () => {
    cfn = startCfnStandIn();
    s3 = await startS3('gitops-state');
    await s3.client().send(new CreateBucketCommand({ Bucket: 'cdk-hnb659fds-assets-111111111111-us-east-1' }));
  });
  afterEach(async () => {
    cfn.restore();
    await s3.close();
  });

  it('uploads the code where each stack runs and passes CAPABILITY_IAM for the nested role', async () => {
    const repo = exampleRepo();
    const clients: CloudFormationClients = {
      cloudFormation: (t) => new CloudFormationClient({ region: t.region }),
      cloudWatch: (t) => new CloudWatchClient({ region: t.region }),
    };
    const roles: (string | undefined)[] = [];
    const artifacts = new S3ArtifactStore({
      s3: (target) => {
        roles.push(target.role);
        return s3.client();
      },
      installation: { bucket: 'gitops-state', region: 'eu-west-1' },
    });
    const deps = {
      ...repo.deps,
      applier: new CloudFormationApplier({ clients, clock: new FakeClock() }),
      artifacts,
    };
    const report = await sync(deps, {});
    expect(report.failed).toEqual([]);

    // prod assumes a role in 111111111111 (us-east-1): its code is in that account's CDK assets bucket, written with
    // that role; dev and staging (the installation's account and region) use the installation bucket.
    const prod = report.results.find((r) => r.key === 'prod/api')?.rendered;
    const dev = report.results.find((r) => r.key === 'dev/api')?.rendered;
    expect(prod?.template.Resources?.['Handler']?.Properties).toMatchObject({
      Code: { S3Bucket: 'cdk-hnb659fds-assets-111111111111-us-east-1', S3Key: codeKey(dev) },
    });
    expect(dev?.template.Resources?.['Roles']?.Properties).toMatchObject({
      TemplateURL: expect.stringMatching(
        /^https:\/\/gitops-state\.s3\.eu-west-1\.amazonaws\.com\/templates\/[0-9a-f]{64}\.json$/,
      ),
    });
    expect(roles).toContain('arn:aws:iam::111111111111:role/lambda-gitops-deployer');
    const listed = async (bucket: string) =>
      ((await s3.client().send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key);
    expect(await listed('cdk-hnb659fds-assets-111111111111-us-east-1')).toContain(codeKey(prod));
    expect(await listed('gitops-state')).toContain(codeKey(dev));
    const object = await s3.client().send(new GetObjectCommand({ Bucket: 'gitops-state', Key: codeKey(dev) }));
    const zip = Buffer.from(await object.Body!.transformToByteArray());
    expect(readZip(zip).map((e) => e.name)).toEqual(['index.mjs']);

    // CloudFormation got the packaged template and the capability the nested role needs.
    expect(cfn.stacks.get('dev-api')?.status).toBe('CREATE_COMPLETE');
    expect(cfn.stacks.get('dev-api')?.capabilities).toEqual(['CAPABILITY_IAM', 'CAPABILITY_AUTO_EXPAND']);
    expect(cfn.stacks.get('dev-api')?.template?.Resources?.['Handler']?.Properties).toMatchObject({
      Code: { S3Bucket: 'gitops-state', S3Key: codeKey(dev) },
    });
  });
});
