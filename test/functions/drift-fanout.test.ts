/**
 * Drift that fans out, end to end on real parts: a real `git http-backend` server, the state and the run ledger in a
 * real S3-protocol server (conditional writes included), the CloudFormation stand-in behind the real drift detector.
 * The scheduled drift function plans and queues; the drift worker handler drains the queue the way SQS FIFO delivers
 * it (one message of a group at a time, deduplicated by id). EventBridge and SSM answers are scripted.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApplyHandler } from '../../functions/apply.ts';
import { makeDriftHandler } from '../../functions/drift.ts';
import { makeDriftWorkerHandler } from '../../functions/drift-worker.ts';
import { readEnvConfig } from '../../functions/lib/env-config.ts';
import { makeSyncHandler } from '../../functions/sync.ts';
import { driftMessage } from '../../shared/adapters/aws/drift-queue-sqs.ts';
import { S3DriftRunStore } from '../../shared/adapters/aws/drift-run-s3.ts';
import type { EngineDeps } from '../../shared/engine/deps.ts';
import { type DriftWorkItem, type DriftWorkQueue, runDriftWorkItem } from '../../shared/engine/drift-fanout.ts';
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

const TOKEN = 'glpat-fanout-token-canary-000001';
const instant: Clock = { now: () => new Date(), sleep: async () => {} };

const GITOPS = `defaults:
  stackName: "{env}-{stack}"
environments:
  - name: dev
    region: eu-west-1
  - name: prod
    region: us-east-1
stacks:
  - name: alpha
    template: templates/queue.yaml
  - name: beta
    template: templates/queue.yaml
  - name: gamma
    template: templates/queue.yaml
`;
const QUEUE = `Resources:
  Work:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 30
`;

/** SQS FIFO as the worker sees it: per group in order, one message of a group in flight, duplicates dropped by id. */
class FifoQueue implements DriftWorkQueue {
  readonly messages: { group: string; dedupe: string; item: DriftWorkItem }[] = [];
  readonly #seen = new Set<string>();
  sent = 0;

  async send(items: readonly DriftWorkItem[]): Promise<void> {
    items.forEach((item, i) => {
      const m = driftMessage(item, i);
      this.sent++;
      if (this.#seen.has(m.MessageDeduplicationId)) return;
      this.#seen.add(m.MessageDeduplicationId);
      this.messages.push({
        group: m.MessageGroupId,
        dedupe: m.MessageDeduplicationId,
        item: JSON.parse(m.MessageBody),
      });
    });
  }

  /** The oldest message of each group: what Lambda's FIFO event source hands out at once. */
  heads(): { group: string; dedupe: string; item: DriftWorkItem }[] {
    const heads = new Map<string, (typeof this.messages)[number]>();
    for (const m of this.messages) if (!heads.has(m.group)) heads.set(m.group, m);
    return [...heads.values()];
  }

  remove(m: { dedupe: string }): void {
    this.messages.splice(
      this.messages.findIndex((x) => x.dedupe === m.dedupe),
      1,
    );
  }
}

describe('drift fan-out: scheduled plan → queued account-region items → workers', () => {
  const genv = makeGitEnv();
  const root = mkdtempSync(join(tmpdir(), 'gitops-fanout-'));
  const work = createWorkRepo(genv, join(root, 'work'));
  const bare = createBareRepo(genv, join(root, 'srv'), 'platform');
  let git: GitServer;
  let s3: S3TestServer;
  let cfn: CfnStandIn;
  const bus = mockClient(EventBridgeClient);
  const ssm = mockClient(SSMClient);
  const published: GitOpsEvent[] = [];
  const applyQueue: { message: ApplyQueueMessage; group: string }[] = [];
  let deps: EngineDeps;
  let url: string;
  let runs: S3DriftRunStore;
  const queue = new FifoQueue();

  const types = () => published.map((e) => e.detailType);
  const config = () =>
    readEnvConfig(
      {
        AWS_REGION: 'eu-west-1',
        GITOPS_BUS_NAME: 'lambda-gitops',
        GITOPS_STATE_BUCKET: 'gitops-state',
        GITOPS_APPLY_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/apply.fifo',
        GITOPS_REPOSITORIES: JSON.stringify([{ name: 'acme/platform', url, branch: 'main', provider: 'generic' }]),
      },
      ['busName', 'stateBucket'],
    );
  const planner = () =>
    makeDriftHandler(() => ({
      config: config(),
      logger: silent,
      engine: () => deps,
      fanOut: { runs, queue, staleAfterMs: 6 * 3600_000 },
    }));
  /** budget 0: each invocation checks one stack and queues the rest, so continuation is exercised on every stack. */
  const failures: string[] = [];
  const worker = makeDriftWorkerHandler(() => ({
    config: config(),
    logger: { ...silent, error: (m: string) => failures.push(m) },
    engine: () => deps,
    runs,
    queue,
    concurrency: 1,
    budgetMs: 0,
  }));
  /** Invokes the worker on each group's head until the queue is empty; returns the invocations. */
  const drain = async () => {
    let invocations = 0;
    for (let heads = queue.heads(); heads.length; heads = queue.heads()) {
      await Promise.all(
        heads.map(async (m) => {
          const out = await worker(sqsEvent(sqsRecord(JSON.stringify(m.item), m.group)));
          expect(out.batchItemFailures.length ? failures : []).toEqual([]);
          queue.remove(m);
          invocations++;
        }),
      );
    }
    return invocations;
  };
  const drifting = (name: string) => [
    {
      StackId: cfn.stacks.get(name)?.id,
      LogicalResourceId: 'Work',
      PhysicalResourceId: `https://sqs.eu-west-1.amazonaws.com/123456789012/${name}-Work`,
      ResourceType: 'AWS::SQS::Queue',
      StackResourceDriftStatus: 'MODIFIED' as const,
      PropertyDifferences: [
        {
          PropertyPath: '/VisibilityTimeout',
          ExpectedValue: '30',
          ActualValue: '90',
          DifferenceType: 'NOT_EQUAL' as const,
        },
      ],
      Timestamp: new Date(),
    },
  ];

  beforeAll(async () => {
    clearMemoryCache();
    git = await startGitServer({
      root: join(root, 'srv'),
      auth: { username: 'x-access-token', password: TOKEN },
      env: genv.env,
    });
    url = git.url('platform');
    s3 = await startS3();
    runs = new S3DriftRunStore({ bucket: s3.bucket, client: s3.client() });
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
    commitFiles(genv, work, { 'gitops.yaml': GITOPS, 'templates/queue.yaml': QUEUE }, 'Three stacks, two regions');
    push(genv, work, bare);
    // Applied through the deployed handlers, so every stack has applied state and a live stack in the stand-in.
    const sync = makeSyncHandler(() => ({
      config: config(),
      logger: silent,
      engine: () => deps,
      sendApply: async (message, group) => {
        applyQueue.push({ message, group });
      },
    }));
    const pushed = pushReceivedBody(url);
    expect((await sync(sqsEvent(sqsRecord(pushed, `${url}#main`)))).batchItemFailures).toEqual([]);
    const apply = makeApplyHandler(() => ({ ports: deps, logger: silent, maxReceives: 3 }));
    const applied = await apply(
      sqsEvent(...applyQueue.splice(0).map((a) => sqsRecord(JSON.stringify(a.message), a.group))),
    );
    expect(applied.batchItemFailures).toEqual([]);
  }, 60_000);

  afterAll(async () => {
    cfn.restore();
    bus.restore();
    ssm.restore();
    await git.close();
    await s3.close();
  });

  it('queues one item per account-region and skips, with the backlog, while that run is still going', async () => {
    published.length = 0;
    const first = await planner()({}, undefined);
    expect(first.plan).toMatchObject({ status: 'queued', items: 2, stacks: 6, outOfSync: 0 });
    expect(queue.messages.map((m) => [m.group, m.item.targets.map((t) => t.key)])).toEqual([
      ['self/eu-west-1', ['dev/alpha', 'dev/beta', 'dev/gamma']],
      ['self/us-east-1', ['prod/alpha', 'prod/beta', 'prod/gamma']],
    ]);
    const ledger = (await runs.read())?.run;
    expect(ledger?.finishedAt).toBeUndefined();
    expect(Object.values(ledger?.items ?? {}).map((i) => i.remaining)).toEqual([3, 3]);

    const second = await planner()({}, undefined);
    expect(second.plan).toMatchObject({ status: 'skipped', runId: ledger?.id, backlog: 6 });
    expect(queue.messages).toHaveLength(2);
    const skipped = published.find((e) => e.detailType === 'Drift Run Skipped');
    expect(skipped?.detail.message).toContain('still has 6 stack(s) to check');
    expect(skipped?.detail.data).toMatchObject({ runId: ledger?.id, backlog: 6 });
  });

  it('drains the items group by group, one bounded batch per invocation, and alerts on the transition once', async () => {
    cfn.setDrift('gitops-prod-beta', drifting('gitops-prod-beta'));
    published.length = 0;
    const invocations = await drain();
    // budget 0: one stack per invocation, the rest queued again behind it in the same group.
    expect(invocations).toBe(6);
    expect(cfn.calls.filter((c) => c.startsWith('DetectStackDrift')).sort()).toEqual(
      ['dev-alpha', 'dev-beta', 'dev-gamma', 'prod-alpha', 'prod-beta', 'prod-gamma'].map(
        (n) => `DetectStackDrift gitops-${n}`,
      ),
    );
    expect(types()).toEqual(['Drift Detected']);
    expect(published[0]?.detail).toMatchObject({ environment: 'prod', stack: 'beta', reason: 'ResourceDrift' });
    expect((await deps.state.getStack('prod/beta'))?.state.drift.status).toBe('Drifted');
    const ledger = (await runs.read())?.run;
    expect(ledger?.finishedAt).toBeDefined();
    expect(Object.values(ledger?.items ?? {}).every((i) => i.remaining === 0)).toBe(true);
  });

  it('loses only the current item when a worker dies, and a redelivered item alerts not twice', async () => {
    cfn.calls.length = 0;
    published.length = 0;
    const plan = await planner()({}, undefined);
    expect(plan.plan?.status).toBe('queued');
    const [head] = queue.heads();
    // The worker checked its first stack, queued the rest, and died before SQS deleted the message: SQS hands the same
    // message out again. Its continuation is deduplicated; the ledger's count is set, not decremented.
    await worker(sqsEvent(sqsRecord(JSON.stringify(head?.item), head?.group ?? '')));
    const sentBefore = queue.messages.length;
    await worker(sqsEvent(sqsRecord(JSON.stringify(head?.item), head?.group ?? '')));
    expect(queue.messages.length).toBe(sentBefore);
    queue.remove(head!);
    await drain();
    expect(types()).toEqual([]);
    expect((await runs.read())?.run.finishedAt).toBeDefined();
  });

  it('resolves once when two workers race on the same stack (a duplicate delivery in flight)', async () => {
    cfn.setDrift('gitops-prod-beta', []);
    published.length = 0;
    await planner()({}, undefined);
    const prod = queue.heads().find((m) => m.group === 'self/us-east-1')!;
    const options = { runs, queue, concurrency: 3, budgetMs: 60_000 };
    // Two workers are two processes: each its own S3 client.
    const [a, b] = await Promise.all([
      runDriftWorkItem(deps, prod.item, options),
      runDriftWorkItem(deps, prod.item, {
        ...options,
        runs: new S3DriftRunStore({ bucket: s3.bucket, client: s3.client() }),
      }),
    ]);
    expect(a.transitions + b.transitions).toBe(1);
    expect(types()).toEqual(['Drift Resolved']);
    expect((await deps.state.getStack('prod/beta'))?.state.drift.status).toBe('InSync');
    queue.remove(prod);
    await drain();
    expect((await runs.read())?.run.finishedAt).toBeDefined();
  });

  it('ignores an item of an earlier run, so a late message never overlaps the current run', async () => {
    const old: DriftWorkItem = {
      runId: 'an-earlier-run',
      repo: 'acme/platform',
      group: 'self/eu-west-1',
      item: 'acme/platform:self/eu-west-1:0',
      offset: 0,
      targets: [{ key: 'dev/alpha', stackName: 'dev-alpha', region: 'eu-west-1', drift: '' }],
    };
    cfn.calls.length = 0;
    const result = await runDriftWorkItem(deps, old, {
      runs,
      queue,
      concurrency: 1,
      budgetMs: 0,
    });
    expect(result.status).toBe('stale');
    expect(cfn.calls).toEqual([]);
  });
});
