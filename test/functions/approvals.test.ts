/**
 * Approvals through the deployed path: a Sync Requested naming a revision, on the sync handler, against a real
 * `git http-backend` server, the state in s3rver, and the CloudFormation stand-in behind the apply handler. A revision
 * is applied only when it is the one Plan Ready recorded for the stack or one on the branch the installation follows.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeApplyHandler } from '../../functions/apply.ts';
import { readEnvConfig } from '../../functions/lib/env-config.ts';
import { makeSyncHandler } from '../../functions/sync.ts';
import { RevisionAuthorizer } from '../../shared/engine/approval.ts';
import type { EngineDeps } from '../../shared/engine/deps.ts';
import { Reason, SourceError } from '../../shared/errors.ts';
import type { GitOpsEvent } from '../../shared/events/catalog.ts';
import type { ApplyQueueMessage } from '../../shared/function-env.ts';
import type { Clock } from '../../shared/ports.ts';
import { awsDeps } from '../../shared/runtime/aws-deps.ts';
import { clearMemoryCache } from '../../shared/source/index.ts';
import { type S3TestServer, startS3 } from '../aws/s3-server.ts';
import { memorySnapshot } from '../config/memory-snapshot.ts';
import { silent } from '../engine/engine-fixture.ts';
import { capturePutEvents, sqsEvent, sqsRecord, standInClients, storeGitToken } from '../helpers/aws-pipeline.ts';
import { type CfnStandIn, startCfnStandIn } from '../helpers/cfn-standin.ts';
import { commitFiles, createBareRepo, createWorkRepo, git, makeGitEnv, push } from '../helpers/git-repo.ts';
import { type GitServer, startGitServer } from '../helpers/git-server.ts';

const TOKEN = 'glpat-approvals-token-canary-000001';
const instant: Clock = { now: () => new Date(), sleep: async () => {} };

const GITOPS = (automated: boolean) => `defaults:
  region: eu-west-1
  stackName: "{env}-{stack}"
  syncPolicy: { automated: ${automated} }
environments:
  - name: dev
stacks:
  - name: queue
    template: templates/queue.yaml
`;
const QUEUE = (timeout: number) => `Resources:
  Work:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: ${timeout}
`;

describe('a Sync Requested naming a revision', () => {
  const genv = makeGitEnv();
  const root = mkdtempSync(join(tmpdir(), 'gitops-approvals-'));
  const work = createWorkRepo(genv, join(root, 'work'));
  const bare = createBareRepo(genv, join(root, 'srv'), 'platform');
  let git_: GitServer;
  let s3: S3TestServer;
  let cfn: CfnStandIn;
  const bus = mockClient(EventBridgeClient);
  const ssm = mockClient(SSMClient);
  const published: GitOpsEvent[] = [];
  const applyQueue: { message: ApplyQueueMessage; group: string }[] = [];
  let deps: EngineDeps;
  let url: string;
  let first: string;

  const syncHandler = () =>
    makeSyncHandler(() => ({
      config: readEnvConfig(
        {
          AWS_REGION: 'eu-west-1',
          GITOPS_BUS_NAME: 'lambda-gitops',
          GITOPS_STATE_BUCKET: 'gitops-state',
          GITOPS_APPLY_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/apply.fifo',
          GITOPS_REPOSITORIES: JSON.stringify([{ name: 'platform', url, branch: 'main', provider: 'generic' }]),
        },
        ['busName', 'stateBucket'],
      ),
      logger: silent,
      engine: () => deps,
      sendApply: async (message, group) => {
        applyQueue.push({ message, group });
      },
    }));
  const applyHandler = makeApplyHandler(() => ({ ports: deps, logger: silent, maxReceives: 3 }));
  const deliver = async (detailType: string, detail: Record<string, unknown>) => {
    const body = JSON.stringify({ source: 'lambda-gitops', 'detail-type': detailType, detail });
    const synced = await syncHandler()(sqsEvent(sqsRecord(body, 'platform/main')));
    expect(synced.batchItemFailures).toEqual([]);
    const applies = applyQueue.splice(0).map((a) => sqsRecord(JSON.stringify(a.message), a.group));
    if (applies.length > 0) expect((await applyHandler(sqsEvent(...applies))).batchItemFailures).toEqual([]);
    return applies.length;
  };
  const approve = (revision: string) =>
    deliver('Sync Requested', {
      repo: 'platform',
      branch: 'main',
      stack: 'queue',
      environment: 'dev',
      revision,
      approve: true,
    });
  const timeout = () =>
    (cfn.stacks.get('gitops-dev-queue')?.template?.Resources?.Work?.Properties as { VisibilityTimeout?: number })
      ?.VisibilityTimeout;
  const queueState = async () => (await deps.state.getStack('dev/queue'))?.state;
  const events = (type: string) => published.filter((e) => e.detailType === type);

  beforeAll(async () => {
    clearMemoryCache();
    git_ = await startGitServer({
      root: join(root, 'srv'),
      auth: { username: 'x-access-token', password: TOKEN },
      env: genv.env,
    });
    url = git_.url('platform');
    s3 = await startS3();
    cfn = startCfnStandIn();
    capturePutEvents(bus, published);
    storeGitToken(ssm, TOKEN);
    deps = awsDeps(
      {
        bucket: s3.bucket,
        busName: 'lambda-gitops',
        region: 'eu-west-1',
        cacheDir: join(root, 'cache'),
        logger: silent,
        clock: instant,
        clients: standInClients(s3, instant),
      },
      url,
    );
    first = commitFiles(genv, work, { 'gitops.yaml': GITOPS(true), 'templates/queue.yaml': QUEUE(30) }, 'First');
    push(genv, work, bare);
    expect(await deliver('Push Received', { repo: url, branch: 'main' })).toBe(1);
    expect(timeout()).toBe(30);
  }, 60_000);

  beforeEach(() => {
    published.length = 0;
  });

  afterAll(async () => {
    cfn.restore();
    bus.restore();
    ssm.restore();
    await git_.close();
    await s3.close();
  });

  it('is refused when the commit exists only on a pull request ref: Sync Failed ApprovalRefused, state untouched', async () => {
    git(genv, work, ['checkout', '-q', '-b', 'contributor']);
    const pr = commitFiles(genv, work, { 'templates/queue.yaml': QUEUE(999) }, 'Drive-by change');
    git(genv, work, ['push', '-q', bare, 'HEAD:refs/pull/7/head']);
    git(genv, work, ['checkout', '-q', 'main']);
    const before = await queueState();

    expect(await approve(pr)).toBe(0);

    const [refusal, ...more] = events('Sync Failed');
    expect(more).toEqual([]);
    expect(refusal?.detail.reason).toBe('ApprovalRefused');
    expect(refusal?.detail.stack).toBe('queue');
    expect(refusal?.detail.revision).toBe(pr);
    expect(refusal?.detail.message).toContain(`requested revision ${pr.slice(0, 7)} refused`);
    expect(refusal?.detail.message).toContain(`it is not on branch 'main' (head ${first.slice(0, 7)})`);
    expect(events('Apply Requested')).toEqual([]);
    expect(timeout()).toBe(30);
    expect(await queueState()).toEqual(before);
  });

  it("is refused when the commit rebinds the environment to a branch its author can push, since main's binding counts", async () => {
    git(genv, work, ['checkout', '-q', '-b', 'evil', 'main']);
    const rebinding = commitFiles(
      genv,
      work,
      {
        'gitops.yaml': GITOPS(true).replace('  - name: dev\n', '  - name: dev\n    branch: evil\n'),
        'templates/queue.yaml': QUEUE(666),
      },
      'Bind dev to my branch',
    );
    push(genv, work, bare, 'evil');
    git(genv, work, ['checkout', '-q', 'main']);

    expect(await deliver('Sync Requested', { repo: 'platform', branch: 'main', revision: rebinding })).toBe(0);

    const [refusal] = events('Sync Failed');
    expect(refusal?.detail.reason).toBe('ApprovalRefused');
    expect(refusal?.detail.message).toContain(`it is not on branch 'main' (head ${first.slice(0, 7)})`);
    expect(timeout()).toBe(30);
  });

  it('applies a revision reachable from the branch, though the branch has moved past it', async () => {
    const reachable = commitFiles(genv, work, { 'templates/queue.yaml': QUEUE(45) }, 'Reachable');
    const head = commitFiles(genv, work, { 'templates/queue.yaml': QUEUE(60) }, 'Head');
    push(genv, work, bare);

    expect(await deliver('Sync Requested', { repo: 'platform', branch: 'main', revision: reachable })).toBe(1);

    expect(events('Sync Failed')).toEqual([]);
    expect(timeout()).toBe(45);
    expect((await queueState())?.lastApplied?.revision).toBe(reachable);
    expect(head).not.toBe(reachable);
  });

  it('applies the revision Plan Ready recorded, even after a force-push took it off the branch', async () => {
    const base = commitFiles(genv, work, { 'templates/queue.yaml': QUEUE(60) }, 'Catch up');
    const reviewed = commitFiles(
      genv,
      work,
      { 'gitops.yaml': GITOPS(false), 'templates/queue.yaml': QUEUE(120) },
      'Manual, reviewed',
    );
    push(genv, work, bare);
    // The push itself syncs: the manual policy stops it at Plan Ready for the reviewed commit.
    await deliver('Push Received', { repo: url, branch: 'main' });
    expect(events('Plan Ready').map((e) => e.detail.revision)).toEqual([reviewed]);
    expect((await queueState())?.lastAttempted).toMatchObject({ result: 'PlanReady', revision: reviewed });

    // History is rewritten: the reviewed commit is no longer on main.
    git(genv, work, ['reset', '-q', '--hard', base]);
    commitFiles(genv, work, { 'gitops.yaml': GITOPS(false), 'templates/queue.yaml': QUEUE(130) }, 'Rewritten');
    push(genv, work, bare, 'main', true);
    published.length = 0;

    expect(await approve(reviewed)).toBe(1);

    expect(events('Sync Failed')).toEqual([]);
    expect(timeout()).toBe(120);
    const state = await queueState();
    expect(state?.lastApplied?.revision).toBe(reviewed);
    expect(state?.lastAttempted).toMatchObject({ result: 'Succeeded', revision: reviewed });
  });
});

describe('RevisionAuthorizer', () => {
  const mainHead = 'c'.repeat(40);
  const releaseHead = 'b'.repeat(40);
  const revision = 'a'.repeat(40);
  // The installation's branch binds prod to `release`; dev follows the installation's branch.
  const MAIN_CONFIG = `defaults:
  region: eu-west-1
environments:
  - name: dev
  - name: prod
    branch: release
stacks:
  - name: queue
    template: templates/queue.yaml
`;
  const source = (ancestorOf: Record<string, boolean | undefined>) => {
    const fetched: string[] = [];
    return {
      fetched,
      fetch: async ({ ref }: { ref?: string }) => {
        fetched.push(String(ref));
        if (ref === 'main') {
          return memorySnapshot({ 'gitops.yaml': MAIN_CONFIG, 'templates/queue.yaml': QUEUE(30) }, { sha: mainHead });
        }
        if (ref === 'release') return memorySnapshot({}, { branch: 'release', sha: releaseHead });
        throw new SourceError(Reason.RefNotFound, `branch or tag '${ref}' not found`);
      },
      isAncestor: async (_ancestor: string, descendant: string) => ancestorOf[descendant],
    };
  };

  it("checks ancestry against the environment's branch as the installation's branch configures it", async () => {
    const s = source({ [releaseHead]: true, [mainHead]: false });
    const authorizer = new RevisionAuthorizer(s, { branch: 'main' }, { defaultRegion: 'eu-west-1' });
    expect(await authorizer.authorize({ environment: 'prod', revision, hash: 'h' })).toEqual({
      allowed: true,
      how: 'Reachable',
    });
    expect(await authorizer.authorize({ environment: 'dev', revision, hash: 'h' })).toEqual({
      allowed: false,
      why: `no Plan Ready is pending for this stack, and it is not on branch 'main' (head ${mainHead.slice(0, 7)})`,
    });
    // Each head is fetched once per request.
    expect(s.fetched).toEqual(['main', 'release']);
  });

  it('refuses when the fetched history cannot tell', async () => {
    const authorizer = new RevisionAuthorizer(source({}), { branch: 'main' }, { defaultRegion: 'eu-west-1' });
    expect(await authorizer.authorize({ environment: 'dev', revision, hash: 'h' })).toEqual({
      allowed: false,
      why: `no Plan Ready is pending for this stack, and whether it is on branch 'main' (head ${mainHead.slice(0, 7)}) cannot be told from the fetched history`,
    });
  });

  it('accepts the Plan Ready revision only with the hash Plan Ready recorded', async () => {
    const authorizer = new RevisionAuthorizer(source({}), { branch: 'main' }, { defaultRegion: 'eu-west-1' });
    const previous = {
      lastAttempted: { result: 'PlanReady', revision, hash: 'planned', at: '', reason: '', message: '' },
    } as never;
    expect(await authorizer.authorize({ environment: 'prod', revision, hash: 'planned', previous })).toEqual({
      allowed: true,
      how: 'PlanReady',
    });
    const other = await authorizer.authorize({ environment: 'prod', revision, hash: 'changed', previous });
    expect(other).toMatchObject({ allowed: false });
    expect(other.allowed === false && other.why).toContain('with another rendered stack');
  });

  it('refuses, naming the branch, when the bound branch does not exist', async () => {
    const authorizer = new RevisionAuthorizer(source({}), { branch: 'trunk' }, { defaultRegion: 'eu-west-1' });
    const verdict = await authorizer.authorize({ environment: 'dev', revision, hash: 'h' });
    expect(verdict).toMatchObject({ allowed: false });
    expect(verdict.allowed === false && verdict.why).toContain("branch 'trunk' could not be read to check it");
  });
});
