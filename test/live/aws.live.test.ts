/**
 * End to end against a real AWS account: a real CloudFormation stack created, updated, checked for drift and deleted
 * through the same adapters the Lambda functions use, with the state in a real S3 bucket.
 *
 * Runs only when credentials and a test bucket are given:
 *   GITOPS_LIVE_BUCKET=<an S3 bucket you own>  AWS_REGION=eu-west-1  AWS_PROFILE=<profile> (or AWS_ACCESS_KEY_ID…)
 *   optional GITOPS_LIVE_BUS=<an EventBridge bus name> (default: the account's `default` bus)
 * It creates one SQS queue stack named `gitops-live-<random>` and deletes it at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDrift } from '../../shared/engine/drift.ts';
import { sync } from '../../shared/engine/sync.ts';
import { awsDeps } from '../../shared/runtime/aws-deps.ts';
import { LocalSource } from '../../shared/source/index.ts';
import { silent } from '../engine/engine-fixture.ts';
import { commitFiles, createWorkRepo, makeGitEnv } from '../helpers/git-repo.ts';

const env = process.env;
const hasCredentials = Boolean(
  env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE || env.AWS_CONTAINER_CREDENTIALS_FULL_URI,
);
const bucket = env.GITOPS_LIVE_BUCKET;
const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
const live = hasCredentials && Boolean(bucket) && Boolean(region);
if (!live) {
  console.info(
    'live AWS test not run: it needs AWS credentials (AWS_PROFILE or AWS_ACCESS_KEY_ID), AWS_REGION and GITOPS_LIVE_BUCKET',
  );
}

const queue = (retention: number) => `AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: ${retention}
Outputs:
  QueueUrl:
    Value: !Ref Queue
`;

describe.runIf(live)('live AWS: sync, update, drift and delete one real stack', () => {
  // Built in the hooks, not here: vitest runs this callback to collect the tests even when they are not run.
  const name = `gitops-live-${randomBytes(4).toString('hex')}`;
  const genv = makeGitEnv();
  let repo: string;
  let deps: ReturnType<typeof awsDeps>;
  beforeAll(() => {
    repo = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-live-')));
    deps = awsDeps(
      {
        bucket: bucket as string,
        prefix: `gitops-live/${name}/`,
        busName: env.GITOPS_LIVE_BUS ?? 'default',
        region: region as string,
        cacheDir: mkdtempSync(join(tmpdir(), 'gitops-live-cache-')),
        logger: silent,
      },
      repo,
      new LocalSource(repo),
    );
  });

  afterAll(async () => {
    if (!deps) return;
    const state = (await deps.state.getStack(`default/${name}`))?.state;
    if (state) {
      await deps.applier.delete({ state });
      await deps.state.deleteStack(state.key);
    }
  }, 15 * 60_000);

  it(
    'creates the stack, updates it, finds nothing to change, sees no drift',
    async () => {
      commitFiles(
        genv,
        repo,
        {
          [`${name}.yaml`]: `template-file-path: templates/queue.yaml\ntags:\n  purpose: lambda-gitops-live-test\n`,
          'templates/queue.yaml': queue(345600),
        },
        'Create',
      );
      const created = await sync(deps, {});
      expect(created.failed).toEqual([]);
      expect(created.results.map((r) => r.outcome)).toEqual(['Applied']);

      const cfn = new CloudFormationClient({ region });
      const described = await cfn.send(new DescribeStacksCommand({ StackName: name }));
      expect(described.Stacks?.[0]?.StackStatus).toBe('CREATE_COMPLETE');
      expect(described.Stacks?.[0]?.Tags).toContainEqual({ Key: 'purpose', Value: 'lambda-gitops-live-test' });

      commitFiles(genv, repo, { 'templates/queue.yaml': queue(86400) }, 'Shorter retention');
      const updated = await sync(deps, {});
      expect(updated.results[0]?.result?.changes.modified).toEqual(['Queue']);

      const state = (await deps.state.getStack(`default/${name}`))?.state;
      expect(state?.sync).toBe('Synced');
      expect(state?.lastApplied?.outputs.QueueUrl).toMatch(/^https:\/\/sqs\./);

      const drift = await checkDrift(deps, {});
      expect(drift.drifted).toEqual([]);
    },
    15 * 60_000,
  );
});
