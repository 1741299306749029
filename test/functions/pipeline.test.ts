/**
 * The deployed loop, handler by handler, on real parts where they can run here: a real `git http-backend` server with
 * token auth, a real S3-protocol server for the state, and the CloudFormation stand-in (AWS's statuses and messages)
 * behind the real CloudFormationApplier. EventBridge and SSM answers are scripted.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApplyHandler } from '../../functions/apply.ts';
import { makeDriftHandler } from '../../functions/drift.ts';
import { readEnvConfig } from '../../functions/lib/env-config.ts';
import { makeNotifyHandler } from '../../functions/notify.ts';
import { makeSyncHandler } from '../../functions/sync.ts';
import type { EngineDeps } from '../../shared/engine/deps.ts';
import type { GitOpsEvent } from '../../shared/events/catalog.ts';
import type { ApplyQueueMessage } from '../../shared/function-env.ts';
import { MemoryDedupeStore, NotificationDeduper } from '../../shared/notify/dedupe.ts';
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
import {
  commitFiles,
  createBareRepo,
  createWorkRepo,
  gitText,
  makeGitEnv,
  push,
  git as runGit,
} from '../helpers/git-repo.ts';
import { type GitServer, startGitServer } from '../helpers/git-server.ts';

const TOKEN = 'glpat-pipeline-token-canary-000001';
const instant: Clock = { now: () => new Date(), sleep: async () => {} };

const GITOPS = `defaults:
  region: eu-west-1
  stackName: "{env}-{stack}"
environments:
  - name: dev
stacks:
  - name: queue
    template: templates/queue.yaml
  - name: api
    template: templates/api.yaml
    dependsOn: [queue]
    parameters:
      QueueUrl: output:queue.QueueUrl
`;
const QUEUE = (timeout: number) => `Resources:
  Work:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: ${timeout}
Outputs:
  QueueUrl:
    Value: !Ref Work
`;
const API = `Parameters:
  QueueUrl: {Type: String}
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      DisplayName: !Ref QueueUrl
`;

describe('the deployed loop: sync → apply → drift → notify handlers', () => {
  const genv = makeGitEnv();
  const root = mkdtempSync(join(tmpdir(), 'gitops-pipeline-'));
  const work = createWorkRepo(genv, join(root, 'work'));
  const bare = createBareRepo(genv, join(root, 'srv'), 'platform');
  let git: GitServer;
  let s3: S3TestServer;
  let cfn: CfnStandIn;
  const bus = mockClient(EventBridgeClient);
  const ssm = mockClient(SSMClient);
  const published: GitOpsEvent[] = [];
  const applyQueue: { message: ApplyQueueMessage; group: string; dedupe: string }[] = [];
  let deps: EngineDeps;
  let url: string;

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
  const syncHandler = () =>
    makeSyncHandler(() => ({
      config: config(),
      logger: silent,
      engine: () => deps,
      sendApply: async (message, group, dedupe) => {
        applyQueue.push({ message, group, dedupe });
      },
    }));
  const applyHandler = makeApplyHandler(() => ({ ports: deps, logger: silent, maxReceives: 3 }));
  const pushReceived = () => pushReceivedBody(url);
  const drainApplies = async () => {
    const batch = applyQueue.splice(0).map((a) => sqsRecord(JSON.stringify(a.message), a.group));
    return applyHandler(sqsEvent(...batch));
  };

  beforeAll(async () => {
    clearMemoryCache();
    git = await startGitServer({
      root: join(root, 'srv'),
      auth: { username: 'x-access-token', password: TOKEN },
      env: genv.env,
    });
    url = git.url('platform');
    s3 = await startS3();
    cfn = startCfnStandIn();
    capturePutEvents(bus, published);
    storeGitToken(ssm, TOKEN);
    ssm
      .on(GetParameterCommand, { Name: '/lambda-gitops/webhook-secret' })
      .rejects(Object.assign(new Error('ParameterNotFound'), { name: 'ParameterNotFound' }));
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
    commitFiles(
      genv,
      work,
      { 'gitops.yaml': GITOPS, 'templates/queue.yaml': QUEUE(30), 'templates/api.yaml': API },
      'First',
    );
    push(genv, work, bare);
  }, 60_000);

  afterAll(async () => {
    cfn.restore();
    bus.restore();
    ssm.restore();
    await git.close();
    await s3.close();
  });

  it('turns a push into one apply message per stack, grouped by stack key, and applies them in order', async () => {
    const syncResult = await syncHandler()(sqsEvent(sqsRecord(pushReceived(), `${url}#main`)));
    expect(syncResult.batchItemFailures).toEqual([]);
    expect(applyQueue.map((a) => a.group)).toEqual(['dev/queue', 'dev/api']);
    expect(types().filter((t) => t === 'Apply Requested')).toHaveLength(2);

    const applied = await drainApplies();

    expect(applied.batchItemFailures).toEqual([]);
    expect(cfn.stacks.get('gitops-dev-queue')?.status).toBe('CREATE_COMPLETE');
    expect(cfn.stacks.get('gitops-dev-api')?.parameters).toEqual({ QueueUrl: 'gitops-dev-queue-QueueUrl' });
    const state = (await deps.state.getStack('dev/api'))?.state;
    expect(state?.sync).toBe('Synced');
    expect(state?.lastApplied?.outputs).toEqual({});
    expect((await deps.state.getStack('dev/queue'))?.state.lastApplied?.outputs).toEqual({
      QueueUrl: 'gitops-dev-queue-QueueUrl',
    });
    expect(types().filter((t) => t === 'Sync Succeeded')).toHaveLength(2);
    expect(JSON.stringify(published)).not.toContain(TOKEN);
  });

  it('treats a redelivered apply message as done: no second change set', async () => {
    const before = cfn.calls.filter((c) => c.startsWith('CreateChangeSet')).length;
    const applied = (await deps.state.getStack('dev/queue'))?.state.lastApplied;
    const message = {
      source: 'lambda-gitops',
      'detail-type': 'Apply Requested',
      detail: {
        key: 'dev/queue',
        renderedHash: applied?.hash,
        revision: applied?.revision,
        received: applied?.received,
      },
    };
    const result = await applyHandler(sqsEvent(sqsRecord(JSON.stringify(message), 'dev/queue', 2)));
    expect(result.batchItemFailures).toEqual([]);
    expect(cfn.calls.filter((c) => c.startsWith('CreateChangeSet')).length).toBe(before);
  });

  it('fails only its own message while the stack is busy, and records a final failure on the last receive', async () => {
    commitFiles(genv, work, { 'templates/queue.yaml': QUEUE(60) }, 'Longer timeout');
    push(genv, work, bare);
    await syncHandler()(sqsEvent(sqsRecord(pushReceived(), `${url}#main`)));
    expect(applyQueue.map((a) => a.group)).toEqual(['dev/queue']);
    cfn.setStatus('gitops-dev-queue', 'UPDATE_IN_PROGRESS');
    const [pending] = applyQueue.splice(0);
    const body = JSON.stringify(pending?.message);
    published.length = 0;

    const first = await applyHandler(sqsEvent(sqsRecord(body, 'dev/queue', 1)));
    expect(first.batchItemFailures).toHaveLength(1);
    expect(types()).not.toContain('Sync Failed');
    expect((await deps.state.getStack('dev/queue'))?.state.sync).toBe('Progressing');

    const last = await applyHandler(sqsEvent(sqsRecord(body, 'dev/queue', 3)));
    expect(last.batchItemFailures).toEqual([]);
    const failed = published.find((e) => e.detailType === 'Sync Failed');
    expect(failed?.detail.reason).toBe('StackBusy');
    const state = (await deps.state.getStack('dev/queue'))?.state;
    expect(state?.sync).toBe('Failed');
    expect(state?.lastApplied?.commit.message).toBe('First');

    cfn.setStatus('gitops-dev-queue', 'CREATE_COMPLETE');
    const retried = await applyHandler(sqsEvent(sqsRecord(body, 'dev/queue', 1)));
    expect(retried.batchItemFailures).toEqual([]);
    expect((await deps.state.getStack('dev/queue'))?.state.sync).toBe('Synced');
    expect(cfn.stacks.get('gitops-dev-queue')?.template?.Resources?.Work?.Properties).toEqual({
      VisibilityTimeout: 60,
    });
  });

  it('names the failing resource when an update rolls back, and keeps the applied revision', async () => {
    commitFiles(genv, work, { 'templates/queue.yaml': QUEUE(90) }, 'Even longer timeout');
    push(genv, work, bare);
    await syncHandler()(sqsEvent(sqsRecord(pushReceived(), `${url}#main`)));
    cfn.failNextExecution(
      'gitops-dev-queue',
      'Resource handler returned message: "Invalid value for VisibilityTimeout"',
    );
    published.length = 0;

    await drainApplies();

    const failed = published.find((e) => e.detailType === 'Sync Failed');
    expect(failed?.detail.message).toContain('VisibilityTimeout');
    const state = (await deps.state.getStack('dev/queue'))?.state;
    expect(state?.sync).toBe('Failed');
    expect(state?.lastApplied?.commit.message).toBe('Longer timeout');
  });

  it('reports resource drift once, and its resolution once', async () => {
    const drift = makeDriftHandler(() => ({ config: config(), logger: silent, engine: () => deps }));
    cfn.setStatus('gitops-dev-queue', 'UPDATE_ROLLBACK_COMPLETE');
    cfn.setDrift('gitops-dev-api', [
      {
        StackId: cfn.stacks.get('gitops-dev-api')?.id,
        LogicalResourceId: 'Topic',
        PhysicalResourceId: 'arn:aws:sns:eu-west-1:123456789012:gitops-dev-api-Topic',
        ResourceType: 'AWS::SNS::Topic',
        StackResourceDriftStatus: 'MODIFIED',
        PropertyDifferences: [
          {
            PropertyPath: '/DisplayName',
            ExpectedValue: 'gitops-dev-queue-QueueUrl',
            ActualValue: 'hand-edited',
            DifferenceType: 'NOT_EQUAL',
          },
        ],
        Timestamp: new Date(),
      },
    ]);
    published.length = 0;

    await drift({}, undefined);
    await drift({}, undefined);
    expect(types().filter((t) => t === 'Drift Detected')).toHaveLength(1);
    const detected = published.find((e) => e.detailType === 'Drift Detected');
    expect(detected?.detail.message).toContain('Topic');
    expect((await deps.state.getStack('dev/api'))?.state.drift.status).toBe('Drifted');

    cfn.setDrift('gitops-dev-api', []);
    await drift({}, undefined);
    expect(types().filter((t) => t === 'Drift Resolved')).toHaveLength(1);
  });

  it('stops at Plan Ready under a manual policy and applies exactly the approved revision', async () => {
    commitFiles(
      genv,
      work,
      {
        'gitops.yaml': GITOPS.replace(
          '  stackName: "{env}-{stack}"\n',
          '  stackName: "{env}-{stack}"\n  syncPolicy: { automated: false }\n',
        ),
      },
      'Manual syncs',
    );
    const reviewed = commitFiles(genv, work, { 'templates/queue.yaml': QUEUE(120) }, 'Reviewed change');
    push(genv, work, bare);
    cfn.setStatus('gitops-dev-queue', 'UPDATE_COMPLETE');
    published.length = 0;
    await syncHandler()(sqsEvent(sqsRecord(pushReceived(), `${url}#main`)));
    await drainApplies();
    const planReady = published.filter((e) => e.detailType === 'Plan Ready');
    expect(planReady.map((e) => e.detail.stack)).toEqual(['queue']);
    expect(cfn.stacks.get('gitops-dev-queue')?.template?.Resources?.Work?.Properties).not.toEqual({
      VisibilityTimeout: 120,
    });

    // The branch moves on after the review: the approval still applies the reviewed commit.
    commitFiles(genv, work, { 'templates/queue.yaml': QUEUE(150) }, 'Not reviewed yet');
    push(genv, work, bare);
    const approval = JSON.stringify({
      source: 'lambda-gitops',
      'detail-type': 'Sync Requested',
      detail: { repo: url, stack: 'queue', environment: 'dev', revision: reviewed, approve: true },
    });
    await syncHandler()(sqsEvent(sqsRecord(approval, `${url}#main`)));
    expect(applyQueue.map((a) => a.group)).toEqual(['dev/queue']);
    await drainApplies();

    expect(cfn.stacks.get('gitops-dev-queue')?.template?.Resources?.Work?.Properties).toEqual({
      VisibilityTimeout: 120,
    });
    expect((await deps.state.getStack('dev/queue'))?.state.lastApplied?.revision).toBe(reviewed);
  });

  it('applies a revert under its own SHA, and its dependent stack too, through the sync and apply functions', async () => {
    commitFiles(genv, work, { 'gitops.yaml': GITOPS, 'templates/queue.yaml': QUEUE(30) }, 'Automated again at 30');
    push(genv, work, bare);
    await syncHandler()(sqsEvent(sqsRecord(pushReceived(), `${url}#main`)));
    expect((await drainApplies()).batchItemFailures).toEqual([]);
    const at30 = (await deps.state.getStack('dev/queue'))?.state.lastApplied;
    const c45 = commitFiles(
      genv,
      work,
      {
        'templates/queue.yaml': QUEUE(45),
        'templates/api.yaml': API.replace('DisplayName: !Ref QueueUrl', 'DisplayName: !Sub "${QueueUrl}-v2"'),
      },
      'Forty-five',
    );
    push(genv, work, bare);
    await syncHandler()(sqsEvent(sqsRecord(pushReceived(), `${url}#main`)));
    expect((await drainApplies()).batchItemFailures).toEqual([]);
    expect((await deps.state.getStack('dev/api'))?.state.lastApplied?.revision).toBe(c45);
    runGit(genv, work, ['revert', '--no-edit', 'HEAD']);
    const revert = gitText(genv, work, ['rev-parse', 'HEAD']);
    push(genv, work, bare);
    published.length = 0;

    await syncHandler()(sqsEvent(sqsRecord(pushReceived(), `${url}#main`)));
    expect(applyQueue.map((a) => [a.group, a.message.detail['revision']])).toEqual([
      ['dev/queue', revert],
      ['dev/api', revert],
    ]);
    const applied = await drainApplies();

    expect(applied.batchItemFailures).toEqual([]);
    expect(cfn.stacks.get('gitops-dev-queue')?.template?.Resources?.Work?.Properties).toEqual({
      VisibilityTimeout: 30,
    });
    const queue = (await deps.state.getStack('dev/queue'))?.state;
    expect(queue?.lastApplied?.revision).toBe(revert);
    expect(queue?.lastApplied?.hash).toBe(at30?.hash);
    expect((await deps.state.listHistory('dev/queue', 1))[0]).toMatchObject({ revision: revert, result: 'Succeeded' });
    expect((await deps.state.getStack('dev/api'))?.state.lastApplied?.revision).toBe(revert);
    expect(
      published.filter((e) => e.detailType === 'Sync Succeeded').map((e) => [e.detail.stack, e.detail.revision]),
    ).toEqual([
      ['queue', revert],
      ['api', revert],
    ]);
    expect(types()).not.toContain('Sync Skipped');
    expect(types()).not.toContain('Sync Failed');
  });

  it('sends an identical alert once and always sends the recovery', async () => {
    const sent: string[] = [];
    const statuses: string[] = [];
    const notify = makeNotifyHandler(() => ({
      alerts: [{ send: async (e) => void sent.push(`${e.detailType} ${e.detail.stack}`) }],
      commitStatus: { send: async (e) => void statuses.push(e.detailType) },
      deduper: new NotificationDeduper({ store: new MemoryDedupeStore(), clock: instant }),
      logger: silent,
    }));
    const event = (type: string, reason: string) => ({
      version: '0',
      id: 'x',
      source: 'lambda-gitops',
      account: '123456789012',
      time: new Date().toISOString(),
      region: 'eu-west-1',
      resources: [],
      'detail-type': type,
      detail: {
        stack: 'queue',
        environment: 'dev',
        revision: 'a'.repeat(40),
        reason,
        severity: 'error' as const,
        message: `queue (dev): ${type}`,
      },
    });
    await notify(event('Sync Failed', 'ChangeSetFailed'));
    await notify(event('Sync Failed', 'ChangeSetFailed'));
    await notify(event('Sync Succeeded', 'Applied'));
    expect(sent).toEqual(['Sync Failed queue', 'Sync Succeeded queue']);
    expect(statuses).toEqual(['Sync Failed', 'Sync Failed', 'Sync Succeeded']);

    // The repository's notification routes leave this one out: a commit status, but no alert.
    const routedOut = event('Sync Failed', 'InvalidTemplate');
    await notify({ ...routedOut, detail: { ...routedOut.detail, stack: 'data', notify: false } });
    expect(sent).toEqual(['Sync Failed queue', 'Sync Succeeded queue']);
    expect(statuses).toHaveLength(4);
  });
});

describe('stack names on AWS', () => {
  it('carry the installation prefix, because its IAM rights only cover stacks named so', async () => {
    const { renderStacks } = await import('../../shared/render/render.ts');
    const { loadRepoConfig } = await import('../../shared/config/load.ts');
    const { memorySnapshot } = await import('../config/memory-snapshot.ts');
    const snapshot = memorySnapshot({
      'gitops.yaml': GITOPS,
      'templates/queue.yaml': QUEUE(30),
      'templates/api.yaml': API,
    });
    const config = await loadRepoConfig(snapshot, { defaultRegion: 'eu-west-1' });
    const local = await renderStacks(snapshot, config, {});
    const aws = await renderStacks(snapshot, config, { stackNamePrefix: 'gitops-' });
    expect(local.rendered.map((r) => r.stackName)).toEqual(['dev-queue', 'dev-api']);
    expect(aws.rendered.map((r) => r.stackName)).toEqual(['gitops-dev-queue', 'gitops-dev-api']);
    const already = await renderStacks(snapshot, config, { stackNamePrefix: 'dev-' });
    expect(already.rendered.map((r) => r.stackName)).toEqual(['dev-queue', 'dev-api']);
  });
});
