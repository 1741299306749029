/**
 * The installation policy, ownership and identity in the deployed loop: the sync and apply handlers configured from
 * their environment (`GITOPS_POLICY`, `GITOPS_CFN_SERVICE_ROLE_ARN`), a real `git http-backend`, a real S3-protocol
 * server for the state, and the CloudFormation stand-in behind the real CloudFormationApplier. `--target aws` of the
 * CLI runs the same adapters and passes the installation's service role on every change set.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseCli } from '../../bin/cli/args.ts';
import { awsDepsFor } from '../../bin/cli/target-aws.ts';
import { makeApplyHandler } from '../../functions/apply.ts';
import { awsSettings } from '../../functions/lib/engines.ts';
import { loadConfig, readEnvConfig } from '../../functions/lib/env-config.ts';
import { makeSyncHandler } from '../../functions/sync.ts';
import { AwsClientFactory } from '../../shared/adapters/aws/clients.ts';
import type { EngineDeps } from '../../shared/engine/deps.ts';
import { sync } from '../../shared/engine/sync.ts';
import type { GitOpsEvent } from '../../shared/events/catalog.ts';
import type { ApplyQueueMessage } from '../../shared/function-env.ts';
import type { Clock } from '../../shared/ports.ts';
import { awsDeps } from '../../shared/runtime/aws-deps.ts';
import { clearMemoryCache } from '../../shared/source/index.ts';
import { type S3TestServer, startS3 } from '../aws/s3-server.ts';
import { silent } from '../engine/engine-fixture.ts';
import {
  capturePutEvents,
  pushReceivedBody,
  sqsEvent,
  sqsRecord,
  standInClients,
  storeGitToken,
} from '../helpers/aws-pipeline.ts';
import { type CfnStandIn, startCfnStandIn } from '../helpers/cfn-standin.ts';
import { commitFiles, createBareRepo, createWorkRepo, makeGitEnv, push } from '../helpers/git-repo.ts';
import { type GitServer, startGitServer } from '../helpers/git-server.ts';

const TOKEN = 'glpat-policy-token-canary-000001';
const SERVICE_ROLE = 'arn:aws:iam::123456789012:role/gitops-cfn';
const instant: Clock = { now: () => new Date(), sleep: async () => {} };

const QUEUE = (timeout: number) => `Resources:
  Work:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: ${timeout}
`;
/** One stack `name` (key `dev/<name>`, one per test: the tests share a state bucket) named `gitops-<stackName>`. */
const GITOPS = (name: string, stackName = name, prune = false) => `defaults:
  region: eu-west-1
environments:
  - name: dev
    syncPolicy: { prune: ${prune} }
stacks:
  - name: ${name}
    template: templates/queue.yaml
    stackName: ${stackName}
`;

describe('the sync and apply functions under an installation policy', () => {
  const genv = makeGitEnv();
  const root = mkdtempSync(join(tmpdir(), 'gitops-fn-policy-'));
  const srv = join(root, 'srv');
  let git: GitServer;
  let s3: S3TestServer;
  let cfn: CfnStandIn;
  const bus = mockClient(EventBridgeClient);
  const ssm = mockClient(SSMClient);
  const published: GitOpsEvent[] = [];
  const applyQueue: { message: ApplyQueueMessage; group: string }[] = [];
  const repos: Record<string, { work: string; bare: string; url: string }> = {};

  const failures = () => published.filter((e) => e.detailType === 'Sync Failed').map((e) => e.detail);

  /** The functions' engine exactly as their environment configures it, with the test's clients. */
  const engineFor = async (url: string, policy?: object): Promise<EngineDeps> => {
    const config = await loadConfig(
      {
        AWS_REGION: 'eu-west-1',
        GITOPS_BUS_NAME: 'lambda-gitops',
        GITOPS_STATE_BUCKET: s3.bucket,
        GITOPS_CFN_SERVICE_ROLE_ARN: SERVICE_ROLE,
        GITOPS_REPOSITORIES: JSON.stringify(
          Object.entries(repos).map(([name, r]) => ({ name, url: r.url, branch: 'main', provider: 'generic' })),
        ),
        ...(policy ? { GITOPS_POLICY: JSON.stringify(policy) } : {}),
      },
      ['busName', 'stateBucket'],
    );
    return awsDeps(
      {
        ...awsSettings(config, silent, join(root, 'cache', String(Object.keys(repos).length))),
        clock: instant,
        clients: standInClients(s3, instant),
      },
      url,
    );
  };
  const runSync = async (url: string, deps: EngineDeps) => {
    const handler = makeSyncHandler(() => ({
      config: readEnvConfig(
        {
          GITOPS_BUS_NAME: 'b',
          GITOPS_STATE_BUCKET: 's',
          GITOPS_REPOSITORIES: JSON.stringify(
            Object.entries(repos).map(([name, r]) => ({ name, url: r.url, branch: 'main', provider: 'generic' })),
          ),
        },
        [],
      ),
      logger: silent,
      engine: () => deps,
      sendApply: async (message, group) => {
        applyQueue.push({ message, group });
      },
    }));
    const body = pushReceivedBody(url);
    return handler(sqsEvent(sqsRecord(body, `${url}#main`)));
  };
  const drain = (deps: EngineDeps) => {
    const handler = makeApplyHandler(() => ({ ports: deps, logger: silent, maxReceives: 3 }));
    return handler(sqsEvent(...applyQueue.splice(0).map((a) => sqsRecord(JSON.stringify(a.message), a.group))));
  };
  const newRepo = (name: string, files: Record<string, string>) => {
    const bare = createBareRepo(genv, srv, name);
    const work = createWorkRepo(genv, join(root, name));
    commitFiles(genv, work, files, `${name}: first`);
    push(genv, work, bare);
    repos[name] = { work, bare, url: git.url(name) };
    return repos[name];
  };

  beforeAll(async () => {
    clearMemoryCache();
    // `--target aws` caches fetched repositories under XDG_CACHE_HOME.
    process.env.XDG_CACHE_HOME = mkdtempSync(join(tmpdir(), 'gitops-fn-policy-cache-'));
    createBareRepo(genv, srv, 'placeholder');
    git = await startGitServer({ root: srv, auth: { username: 'x-access-token', password: TOKEN }, env: genv.env });
    s3 = await startS3();
    cfn = startCfnStandIn();
    capturePutEvents(bus, published);
    storeGitToken(ssm, TOKEN);
  }, 60_000);

  beforeEach(() => {
    published.length = 0;
    applyQueue.length = 0;
  });

  afterAll(async () => {
    cfn.restore();
    bus.restore();
    ssm.restore();
    await git.close();
    await s3.close();
  });

  it('refuses a stack in an account the policy does not allow: PolicyViolation, no apply, no change set', async () => {
    const repo = newRepo('accounts', { 'gitops.yaml': GITOPS('acct-queue'), 'templates/queue.yaml': QUEUE(30) });
    const policy = {
      repositories: [{ repo: repo.url, environments: { dev: { accounts: ['999999999999'], regions: ['eu-west-1'] } } }],
    };

    const result = await runSync(repo.url, await engineFor(repo.url, policy));

    expect(result.batchItemFailures).toEqual([]);
    expect(applyQueue).toEqual([]);
    expect(failures()).toEqual([
      expect.objectContaining({ stack: 'acct-queue', environment: 'dev', reason: 'PolicyViolation' }),
    ]);
    expect(String(failures()[0]?.message)).toContain('account 123456789012 is not allowed (allowed: 999999999999)');
    expect(String(failures()[0]?.message)).toContain('GITOPS_POLICY: repositories[0].environments.dev.accounts');
    expect(cfn.stacks.has('gitops-acct-queue')).toBe(false);
  });

  it('the apply function checks again: a stored stack the policy refuses is never sent to CloudFormation', async () => {
    const repo = newRepo('recheck', { 'gitops.yaml': GITOPS('recheck-queue'), 'templates/queue.yaml': QUEUE(30) });
    // Rendered and queued by a sync without the policy (or a forged Apply Requested naming a stored artifact).
    await runSync(repo.url, await engineFor(repo.url));
    expect(applyQueue.map((a) => a.group)).toEqual(['dev/recheck-queue']);
    const before = cfn.changeSetInputs.length;
    const policy = { repositories: [{ repo: repo.url, environments: { dev: { regions: ['us-east-1'] } } }] };

    await drain(await engineFor(repo.url, policy));

    expect(cfn.changeSetInputs.length).toBe(before);
    expect(failures()).toEqual([expect.objectContaining({ stack: 'recheck-queue', reason: 'PolicyViolation' })]);
    expect(String(failures()[0]?.message)).toContain('region eu-west-1 is not allowed');
  });

  it("the apply function refuses a stored stack named outside the repository's prefix", async () => {
    const repo = newRepo('prefixed', { 'gitops.yaml': GITOPS('prefixed-queue'), 'templates/queue.yaml': QUEUE(30) });
    await runSync(repo.url, await engineFor(repo.url));
    const before = cfn.changeSetInputs.length;
    const policy = { repositories: [{ repo: repo.url, stackNamePrefix: 'platform-', environments: { dev: {} } }] };

    await drain(await engineFor(repo.url, policy));

    expect(cfn.changeSetInputs.length).toBe(before);
    expect(String(failures()[0]?.message)).toContain(
      'stack name gitops-prefixed-queue does not start with gitops-platform-',
    );
  });

  it('a second repository declaring dev/shared-queue gets StackOwnedElsewhere; the first keeps its state and stack', async () => {
    const first = newRepo('owner-a', { 'gitops.yaml': GITOPS('shared-queue'), 'templates/queue.yaml': QUEUE(30) });
    const firstDeps = await engineFor(first.url);
    await runSync(first.url, firstDeps);
    await drain(firstDeps);
    const before = await firstDeps.state.getStack('dev/shared-queue');
    expect(before?.state.repo).toBe(first.url);
    expect(cfn.stacks.get('gitops-shared-queue')?.tags['lambda-gitops:repository']).toBe(first.url);
    published.length = 0;

    const second = newRepo('owner-b', { 'gitops.yaml': GITOPS('shared-queue'), 'templates/queue.yaml': QUEUE(90) });
    await runSync(second.url, await engineFor(second.url));

    expect(applyQueue).toEqual([]);
    expect(failures()).toEqual([expect.objectContaining({ stack: 'shared-queue', reason: 'StackOwnedElsewhere' })]);
    expect((await firstDeps.state.getStack('dev/shared-queue'))?.version).toBe(before?.version);
    expect(cfn.stacks.get('gitops-shared-queue')?.template?.Resources?.Work?.Properties).toEqual({
      VisibilityTimeout: 30,
    });
  });

  it('a new stack name creates the new stack and, with prune on, deletes the old one', async () => {
    const repo = newRepo('rename', {
      'gitops.yaml': GITOPS('renamed', 'before', true),
      'templates/queue.yaml': QUEUE(30),
    });
    const deps = await engineFor(repo.url);
    await runSync(repo.url, deps);
    await drain(deps);
    expect(cfn.stacks.get('gitops-before')?.status).toBe('CREATE_COMPLETE');

    commitFiles(genv, repo.work, { 'gitops.yaml': GITOPS('renamed', 'after', true) }, 'Rename');
    push(genv, repo.work, repo.bare);
    await runSync(repo.url, deps);
    await drain(deps);

    expect(cfn.stacks.get('gitops-after')?.status).toBe('CREATE_COMPLETE');
    expect(cfn.stacks.get('gitops-before')?.status).toBe('DELETE_COMPLETE');
    expect(published.filter((e) => e.detailType === 'Stack Pruned').map((e) => e.detail.stackName)).toEqual([
      'gitops-before',
    ]);
    expect((await deps.state.getStack('dev/renamed'))?.state).toMatchObject({
      stackName: 'gitops-after',
      sync: 'Synced',
    });
  });

  describe('gitops sync --target aws', () => {
    const cliDeps = (args: string[], url: string) =>
      awsDepsFor(
        parseCli([
          'sync',
          url,
          '--target',
          'aws',
          '--region',
          'eu-west-1',
          '--bucket',
          s3.bucket,
          '--bus',
          'b',
          ...args,
        ]),
        url,
        silent,
        { GITOPS_GIT_TOKEN: TOKEN },
        undefined,
        {
          s3: s3.client(),
          eventBridge: new EventBridgeClient({ region: 'eu-west-1' }),
          ssm: new SSMClient({ region: 'eu-west-1' }),
          cloudFormation: new AwsClientFactory({ clock: instant }),
        },
      );

    it("passes the installation's service role on every change set", async () => {
      const repo = newRepo('cli-role', { 'gitops.yaml': GITOPS('cli-queue'), 'templates/queue.yaml': QUEUE(30) });
      const before = cfn.changeSetInputs.length;

      const report = await sync(await cliDeps(['--service-role', SERVICE_ROLE], repo.url), {});

      expect(report.failed).toEqual([]);
      const sent = cfn.changeSetInputs.slice(before);
      expect(sent.length).toBeGreaterThan(0);
      expect(sent.map((c) => c.RoleARN)).toEqual(sent.map(() => SERVICE_ROLE));
      expect(cfn.stacks.get('gitops-cli-queue')?.status).toBe('CREATE_COMPLETE');
    });

    it('refuses without a service role, unless told to use the own credentials', async () => {
      const repo = newRepo('cli-own', { 'gitops.yaml': GITOPS('own-queue'), 'templates/queue.yaml': QUEUE(30) });
      // The stand-in has no installation stack: no CfnServiceRoleArn output to read.
      const refused = await cliDeps([], repo.url).catch((e: unknown) => e);
      expect(refused).toMatchObject({ reason: 'InvalidConfig' });
      expect((refused as Error).message).toContain('--service-role');
      expect((refused as Error).message).toContain('--use-own-credentials');

      const before = cfn.changeSetInputs.length;
      const report = await sync(await cliDeps(['--use-own-credentials'], repo.url), {});
      expect(report.failed).toEqual([]);
      expect(cfn.changeSetInputs.slice(before).map((c) => c.RoleARN)).toEqual(
        cfn.changeSetInputs.slice(before).map(() => undefined),
      );
    });
  });
});
