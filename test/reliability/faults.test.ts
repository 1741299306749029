/**
 * Faults under the apply function (`makeApplyHandler` over `applyStack`): CloudFormation on scripted responses that
 * copy its documented statuses and errors, S3 (s3rver behind a fault-injecting proxy), EventBridge partial failures,
 * and a handler killed mid-apply. Whatever happens, each message ends in a terminal event (Sync Succeeded, Failed or
 * Skipped) or fails its batch so SQS redelivers it (and finally moves it to the DLQ); lastApplied only moves when
 * the stack was applied; a redelivery applies nothing twice.
 */
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
} from '@aws-sdk/client-cloudformation';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeApplyHandler } from '../../functions/apply.ts';
import { CloudFormationApplier } from '../../shared/adapters/aws/applier-cfn.ts';
import { AwsClientFactory } from '../../shared/adapters/aws/clients.ts';
import { EventBridgeSink } from '../../shared/adapters/aws/events-eventbridge.ts';
import { S3StateStore } from '../../shared/adapters/aws/state-s3.ts';
import { FolderStateStore, LocalDriftDetector, MemoryEventSink } from '../../shared/adapters/local/index.ts';
import { applyStack } from '../../shared/engine/apply-stack.ts';
import type { EngineDeps } from '../../shared/engine/deps.ts';
import type { GitOpsEvent } from '../../shared/events/catalog.ts';
import { emptyChanges, type RenderedStack } from '../../shared/model.ts';
import type { Applier, ApplyRequest, EventSink, StateStore } from '../../shared/ports.ts';
import { CHANGE_SET_ID, STACK_ID, stack, throttling } from '../aws/cfn-responses.ts';
import { FakeClock, rendered as renderedFixture, stackState } from '../aws/fixtures.ts';
import { type S3TestServer, startS3 } from '../aws/s3-server.ts';
import { silent, TERMINAL } from './fixture.ts';

const cfn = mockClient(CloudFormationClient);
const eb = mockClient(EventBridgeClient);

const OLD_SHA = '1111111111111111111111111111111111111111';
const NEW_SHA = '2222222222222222222222222222222222222222';
const OLD_HASH = 'a'.repeat(64);
/** The installation's receive stamps of the syncs that rendered the old and the new revision. */
const OLD_RECEIVED = Date.parse('2026-03-01T11:00:01Z');
const NEW_RECEIVED = Date.parse('2026-03-01T12:00:01Z');
const NEW_HASH = 'c'.repeat(64);

/** The stack as applied at OLD_SHA, and the rendered stack of NEW_SHA waiting to be applied. */
function desired(overrides: Partial<RenderedStack> = {}): RenderedStack {
  return renderedFixture({
    hash: NEW_HASH,
    revision: NEW_SHA,
    commit: { sha: NEW_SHA, committedAt: '2026-03-01T12:00:00Z' },
    ...overrides,
  });
}

async function seed(state: StateStore, rendered: RenderedStack): Promise<void> {
  await state.putRendered({ hash: rendered.hash, rendered });
  await state.putStack(
    stackState({
      lastApplied: {
        revision: OLD_SHA,
        commit: { sha: OLD_SHA, committedAt: '2026-03-01T11:00:00Z' },
        hash: OLD_HASH,
        inputs: {},
        at: '2026-03-01T11:00:05Z',
        received: OLD_RECEIVED,
        outputs: {},
        changes: { added: [], modified: [], removed: [], replaced: [], parametersChanged: [], tagsChanged: [] },
      },
    }),
  );
}

let receive = 0;
/** One SQS record of the apply queue, as the sync function sends it. */
function message(hash = NEW_HASH, receives = 1): SQSEvent {
  return {
    Records: [
      {
        messageId: `m-${++receive}`,
        receiptHandle: 'r',
        body: JSON.stringify({
          source: 'lambda-gitops',
          'detail-type': 'Apply Requested',
          detail: { key: 'prod/web', renderedHash: hash, revision: NEW_SHA, received: NEW_RECEIVED },
        }),
        attributes: {
          ApproximateReceiveCount: String(receives),
          SentTimestamp: '0',
          SenderId: 'x',
          ApproximateFirstReceiveTimestamp: '0',
          MessageGroupId: 'prod/web',
          MessageDeduplicationId: hash,
          SequenceNumber: String(receive),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:apply.fifo',
        awsRegion: 'eu-west-1',
      } as SQSEvent['Records'][number],
    ],
  };
}

interface World {
  readonly state: StateStore;
  readonly events: MemoryEventSink;
  readonly clock: FakeClock;
  readonly ports: Omit<EngineDeps, 'source'>;
  deliver(receives?: number): Promise<{ failedBatch: boolean }>;
  terminal(): GitOpsEvent[];
  applied(): Promise<string | undefined>;
}

function world(options: { applier?: Applier; state?: StateStore; events?: EventSink } = {}): World {
  const clock = new FakeClock();
  const state = options.state ?? new FolderStateStore(mkdtempSync(join(tmpdir(), 'gitops-rel-faults-')));
  const events = new MemoryEventSink();
  const ports: Omit<EngineDeps, 'source'> = {
    state,
    applier:
      options.applier ??
      new CloudFormationApplier({ clients: new AwsClientFactory({ clock }), clock, stackTimeoutMs: 60_000 }),
    drift: new LocalDriftDetector(),
    events: options.events ?? events,
    clock,
    logger: silent,
    defaultRegion: 'eu-west-1',
  };
  const handler = makeApplyHandler(() => ({ ports, logger: silent, maxReceives: 5 }));
  return {
    state,
    events,
    clock,
    ports,
    async deliver(receives = 1) {
      const out = (await handler(message(NEW_HASH, receives))) as { batchItemFailures: unknown[] };
      return { failedBatch: out.batchItemFailures.length > 0 };
    },
    terminal: () => events.events.filter((e) => TERMINAL.has(e.detailType)),
    applied: async () => (await state.getStack('prod/web'))?.state.lastApplied?.revision,
  };
}

// ------------------------------------------------------------------ CloudFormation scripts

/** The stack by name before the apply, and by id after the execute. */
function existing(status: string, extra = {}) {
  cfn.on(DescribeStacksCommand, { StackName: 'web-prod' }).resolves(stack(status, extra));
}
function changeSet(status: 'CREATE_COMPLETE' | 'FAILED', reason?: string) {
  cfn.on(CreateChangeSetCommand).resolves({ Id: CHANGE_SET_ID, StackId: STACK_ID });
  cfn.on(DescribeChangeSetCommand).resolves({
    Status: status,
    ExecutionStatus: status === 'FAILED' ? 'UNAVAILABLE' : 'AVAILABLE',
    StackId: STACK_ID,
    ...(reason ? { StatusReason: reason } : {}),
    Changes: [
      {
        Type: 'Resource',
        ResourceChange: { Action: 'Modify', LogicalResourceId: 'Bucket', ResourceType: 'AWS::S3::Bucket' },
      },
    ],
  });
  cfn.on(DeleteChangeSetCommand).resolves({});
}
function afterExecute(...statuses: string[]) {
  cfn.on(ExecuteChangeSetCommand).resolves({});
  const byId = cfn.on(DescribeStacksCommand, { StackName: STACK_ID });
  for (const s of statuses.slice(0, -1)) byId.resolvesOnce(stack(s));
  byId.resolves(stack(statuses.at(-1) as string));
  cfn.on(DescribeStackEventsCommand).resolves({
    StackEvents: [
      {
        StackId: STACK_ID,
        EventId: 'e1',
        StackName: 'web-prod',
        LogicalResourceId: 'Bucket',
        ResourceType: 'AWS::S3::Bucket',
        ResourceStatus: 'UPDATE_FAILED',
        ResourceStatusReason: 'Resource handler returned message: "Access Denied"',
        Timestamp: new Date('2025-01-02T03:04:10Z'),
        ClientRequestToken: 'x',
      },
    ],
  });
}

interface CfnCase {
  readonly name: string;
  readonly script: () => void;
  readonly rendered?: Partial<RenderedStack>;
  /** `retry`: the message fails its batch (retryable), state says Progressing; otherwise the terminal event. */
  readonly first: { readonly event: 'Sync Succeeded' | 'Sync Failed' | 'retry'; readonly reason?: string };
}

const cfnCases: CfnCase[] = [
  {
    name: 'an update that completes',
    script: () => {
      existing('UPDATE_COMPLETE');
      changeSet('CREATE_COMPLETE');
      afterExecute('UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE');
    },
    first: { event: 'Sync Succeeded', reason: 'Applied' },
  },
  {
    name: 'a change set with no changes',
    script: () => {
      existing('UPDATE_COMPLETE');
      changeSet(
        'FAILED',
        "The submitted information didn't contain changes. Submit different information to create a change set.",
      );
    },
    first: { event: 'Sync Succeeded', reason: 'NoChanges' },
  },
  {
    name: 'throttling on every call',
    script: () => {
      existing('UPDATE_COMPLETE');
      cfn.on(CreateChangeSetCommand).rejects(throttling());
    },
    first: { event: 'retry', reason: 'Throttled' },
  },
  {
    name: 'throttling that passes',
    script: () => {
      existing('UPDATE_COMPLETE');
      changeSet('CREATE_COMPLETE');
      cfn
        .on(CreateChangeSetCommand)
        .rejectsOnce(throttling())
        .rejectsOnce(throttling())
        .resolves({ Id: CHANGE_SET_ID, StackId: STACK_ID });
      afterExecute('UPDATE_COMPLETE');
    },
    first: { event: 'Sync Succeeded', reason: 'Applied' },
  },
  {
    name: 'a FAILED change set',
    script: () => {
      existing('UPDATE_COMPLETE');
      changeSet('FAILED', 'Template error: instance of Fn::GetAtt references undefined resource Missing');
    },
    first: { event: 'Sync Failed', reason: 'ChangeSetFailed' },
  },
  {
    name: 'a change set that needs capabilities',
    script: () => {
      existing('UPDATE_COMPLETE');
      changeSet('FAILED', 'Requires capabilities : [CAPABILITY_NAMED_IAM]');
    },
    first: { event: 'Sync Failed', reason: 'InsufficientCapabilities' },
  },
  {
    name: 'a stack in ROLLBACK_COMPLETE (recreate off)',
    script: () => existing('ROLLBACK_COMPLETE'),
    first: { event: 'Sync Failed', reason: 'StackRollbackComplete' },
  },
  {
    name: 'a stack in ROLLBACK_COMPLETE (recreate on)',
    rendered: { recreateOnRollbackComplete: true },
    script: () => {
      cfn.on(DescribeStacksCommand, { StackName: 'web-prod' }).resolves(stack('ROLLBACK_COMPLETE'));
      cfn.on(DeleteStackCommand).resolves({});
      changeSet('CREATE_COMPLETE');
      // Looked up by id: deleted, then (after the execute) created.
      const byId = cfn.on(DescribeStacksCommand, { StackName: STACK_ID });
      byId.resolvesOnce(stack('DELETE_IN_PROGRESS')).resolvesOnce(stack('DELETE_COMPLETE'));
      byId.resolvesOnce(stack('CREATE_IN_PROGRESS')).resolves(stack('CREATE_COMPLETE'));
      cfn.on(ExecuteChangeSetCommand).resolves({});
    },
    first: { event: 'Sync Succeeded', reason: 'Applied' },
  },
  {
    name: 'a stack in UPDATE_ROLLBACK_FAILED',
    script: () => existing('UPDATE_ROLLBACK_FAILED', { StackStatusReason: 'Resource Bucket failed to roll back' }),
    first: { event: 'Sync Failed', reason: 'UpdateRollbackFailed' },
  },
  {
    name: 'an update whose rollback fails',
    script: () => {
      existing('UPDATE_COMPLETE');
      changeSet('CREATE_COMPLETE');
      afterExecute('UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_FAILED');
    },
    first: { event: 'Sync Failed', reason: 'UpdateRollbackFailed' },
  },
  {
    name: 'an update that rolls back',
    script: () => {
      existing('UPDATE_COMPLETE');
      changeSet('CREATE_COMPLETE');
      afterExecute('UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE');
    },
    first: { event: 'Sync Failed', reason: 'ChangeSetFailed' },
  },
  {
    name: 'a stack busy with another operation',
    script: () => existing('UPDATE_IN_PROGRESS'),
    first: { event: 'retry', reason: 'StackBusy' },
  },
  {
    name: 'a stack in progress past the deadline',
    script: () => {
      existing('UPDATE_COMPLETE');
      changeSet('CREATE_COMPLETE');
      afterExecute('UPDATE_IN_PROGRESS');
    },
    first: { event: 'retry', reason: 'DeadlineExceeded' },
  },
];

describe('CloudFormation faults through the apply handler', () => {
  beforeEach(() => {
    cfn.reset();
  });

  it.each(cfnCases)('$name → $first.event $first.reason', async (c) => {
    // Prepare
    const w = world();
    const rendered = desired(c.rendered);
    await seed(w.state, rendered);
    c.script();

    // Act: the first receive.
    const first = await w.deliver(1);

    // Assess: a terminal event or a failed batch, never neither, never both.
    const terminal = w.terminal();
    const state = (await w.state.getStack('prod/web'))?.state;
    if (c.first.event === 'retry') {
      expect(first.failedBatch).toBe(true);
      expect(terminal).toEqual([]);
      expect(state?.sync).toBe('Progressing');
      expect(state?.lastAttempted?.reason).toBe(c.first.reason);
      expect(state?.lastApplied?.revision).toBe(OLD_SHA);
      // The last receive before the DLQ: recorded as failed, with its terminal event.
      const last = await w.deliver(5);
      expect(last.failedBatch).toBe(false);
      expect(w.terminal().map((e) => [e.detailType, e.detail.reason])).toEqual([['Sync Failed', c.first.reason]]);
      expect(await w.applied()).toBe(OLD_SHA);
      return;
    }
    expect(first.failedBatch).toBe(false);
    expect(terminal.map((e) => [e.detailType, e.detail.reason])).toEqual([[c.first.event, c.first.reason]]);
    expect(await w.applied()).toBe(c.first.event === 'Sync Succeeded' ? NEW_SHA : OLD_SHA);
    if (c.first.event === 'Sync Failed') expect(state?.sync).toBe('Failed');
  });

  it('a handler killed mid-apply and redelivered applies once, and ends Synced at the new revision', async () => {
    const w = world();
    await seed(w.state, desired());
    existing('UPDATE_COMPLETE');
    changeSet('CREATE_COMPLETE');
    cfn.on(ExecuteChangeSetCommand).resolves({});
    // The stack takes a while; the Lambda's deadline fires during the third wait.
    const kill = new AbortController();
    let polls = 0;
    cfn.on(DescribeStacksCommand, { StackName: STACK_ID }).callsFake(() => {
      if (++polls === 3) kill.abort();
      return stack('UPDATE_IN_PROGRESS');
    });

    const killed = await applyStack(w.ports, {
      key: 'prod/web',
      renderedHash: NEW_HASH,
      revision: NEW_SHA,
      signal: kill.signal,
    }).catch((err: Error) => err);
    expect(killed).toMatchObject({ reason: 'DeadlineExceeded', retryable: true });
    expect(w.terminal()).toEqual([]);
    expect(await w.applied()).toBe(OLD_SHA);
    expect((await w.state.getStack('prod/web'))?.state.sync).toBe('Progressing');

    // Redelivered while CloudFormation is still busy: retried again, nothing new started.
    cfn.on(DescribeStacksCommand, { StackName: 'web-prod' }).resolves(stack('UPDATE_IN_PROGRESS'));
    expect((await w.deliver(2)).failedBatch).toBe(true);
    // Redelivered after the update finished: the new change set has nothing to do.
    cfn.on(DescribeStacksCommand, { StackName: 'web-prod' }).resolves(stack('UPDATE_COMPLETE'));
    changeSet('FAILED', 'No updates are to be performed.');
    expect((await w.deliver(3)).failedBatch).toBe(false);

    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(1);
    expect(w.terminal().map((e) => [e.detailType, e.detail.reason])).toEqual([['Sync Succeeded', 'NoChanges']]);
    const state = (await w.state.getStack('prod/web'))?.state;
    expect(state?.sync).toBe('Synced');
    expect(state?.lastApplied?.revision).toBe(NEW_SHA);
    expect(state?.lastApplied?.hash).toBe(NEW_HASH);
  });

  it('an Apply Requested received before the applied one is skipped, not applied, whatever the commit dates', async () => {
    const w = world();
    // The late request's commit claims a date far ahead: the installation's receive order decides, not the commit.
    const older = desired({
      hash: 'd'.repeat(64),
      revision: '0'.repeat(40),
      commit: { sha: '0'.repeat(40), committedAt: '2099-03-01T10:00:00Z' },
    });
    await seed(w.state, desired());
    await w.state.putRendered({ hash: older.hash, rendered: older });
    const out = await applyStack(w.ports, {
      key: 'prod/web',
      renderedHash: older.hash,
      revision: older.revision,
      received: OLD_RECEIVED - 1,
    });
    expect(out.outcome).toBe('Superseded');
    expect(cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
    expect(w.terminal().map((e) => [e.detailType, e.detail.reason])).toEqual([['Sync Skipped', 'Superseded']]);
    expect(await w.applied()).toBe(OLD_SHA);
  });
});

// ------------------------------------------------------------------ S3 behind a fault proxy

type S3Fault = { kind: 'status'; status: number; code: string } | { kind: 'stall' } | { kind: 'reset' };
interface S3Rule {
  readonly method: string;
  readonly path: RegExp;
  readonly fault: S3Fault;
  times: number;
}

/** A proxy in front of the S3 test server that fails matching requests as S3 (or the network) would. */
async function faultProxy(upstream: string) {
  const rules: S3Rule[] = [];
  const target = new URL(upstream);
  const server = http.createServer((req, res) => {
    const rule = rules.find((r) => r.times > 0 && r.method === req.method && r.path.test(req.url ?? ''));
    if (rule) {
      rule.times -= 1;
      req.resume();
      if (rule.fault.kind === 'stall') return;
      if (rule.fault.kind === 'reset') {
        req.socket.destroy();
        return;
      }
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${rule.fault.code}</Code><Message>injected</Message><RequestId>fault</RequestId></Error>`;
      res.writeHead(rule.fault.status, { 'content-type': 'application/xml' });
      res.end(body);
      return;
    }
    const out = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    fail: (method: string, path: RegExp, fault: S3Fault, times = 1) => rules.push({ method, path, fault, times }),
    clear: () => rules.splice(0),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** An applier that only counts: the apply is CloudFormation's business; here S3 is under test. */
class CountingApplier implements Applier {
  applies = 0;
  async preview() {
    return { changes: emptyChanges(), diffText: '', hasChanges: true };
  }
  async apply(request: ApplyRequest) {
    request.signal?.throwIfAborted();
    this.applies += 1;
    return { status: 'Applied' as const, changes: emptyChanges(), outputs: { BucketName: 'web-prod-bucket' } };
  }
  async delete() {}
}

describe('S3 state store faults (s3rver behind a fault proxy) through the apply handler', () => {
  let s3: S3TestServer;
  let proxy: Awaited<ReturnType<typeof faultProxy>>;
  let prefix = 0;

  beforeAll(async () => {
    s3 = await startS3();
    proxy = await faultProxy(s3.endpoint);
  });
  afterAll(async () => {
    await proxy?.close();
    await s3?.close();
  });

  const store = () =>
    new S3StateStore({
      bucket: s3.bucket,
      prefix: `faults-${++prefix}`,
      // Ends the stalled requests; long enough that a healthy request to s3rver never hits it on a busy machine
      // (at 300 ms, seeding the state failed with two CPU-bound processes running beside the suite).
      timeoutMs: 5_000,
      client: new S3Client({
        endpoint: proxy.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        maxAttempts: 1,
      }),
    });

  const cases: { name: string; method: string; path: RegExp; fault: S3Fault; applies: number }[] = [
    {
      name: 'a 500 reading the state',
      method: 'GET',
      path: /\/state\/prod\/web\.json/,
      fault: { kind: 'status', status: 500, code: 'InternalError' },
      applies: 1,
    },
    {
      name: 'a 503 SlowDown reading the rendered stack',
      method: 'GET',
      path: /\/rendered\//,
      fault: { kind: 'status', status: 503, code: 'SlowDown' },
      applies: 1,
    },
    {
      name: 'a reset connection reading the state',
      method: 'GET',
      path: /\/state\//,
      fault: { kind: 'reset' },
      applies: 1,
    },
    { name: 'a stalled read of the state', method: 'GET', path: /\/state\//, fault: { kind: 'stall' }, applies: 1 },
    {
      name: 'a 503 writing the state after the apply',
      method: 'PUT',
      path: /\/state\//,
      fault: { kind: 'status', status: 503, code: 'SlowDown' },
      applies: 2,
    },
    {
      name: 'a stalled write of the state after the apply',
      method: 'PUT',
      path: /\/state\//,
      fault: { kind: 'stall' },
      applies: 2,
    },
    {
      name: 'a 500 writing the history after the state',
      method: 'PUT',
      path: /\/history\//,
      fault: { kind: 'status', status: 500, code: 'InternalError' },
      applies: 1,
    },
    {
      name: 'a reset connection writing the history',
      method: 'PUT',
      path: /\/history\//,
      fault: { kind: 'reset' },
      applies: 1,
    },
  ];

  it.each(cases)('$name: the batch fails, the redelivery ends in one Sync Succeeded', async (c) => {
    const applier = new CountingApplier();
    const w = world({ applier, state: store() });
    await seed(w.state, desired());

    proxy.fail(c.method, c.path, c.fault);
    const first = await w.deliver(1);
    proxy.clear();

    expect(first.failedBatch).toBe(true);
    expect(w.terminal()).toEqual([]);
    // The state never claims what the store could not confirm.
    const claimed = await w.applied();
    expect([OLD_SHA, NEW_SHA]).toContain(claimed);
    if (claimed === NEW_SHA) expect(applier.applies).toBe(1);

    const second = await w.deliver(2);
    expect(second.failedBatch).toBe(false);
    expect(w.terminal().map((e) => [e.detailType, e.detail.reason])).toEqual([['Sync Succeeded', expect.any(String)]]);
    expect(await w.applied()).toBe(NEW_SHA);
    // An apply is repeated only when its outcome could not be recorded (CloudFormation then finds no changes).
    expect(applier.applies).toBe(c.applies);
  });
});

// ------------------------------------------------------------------ EventBridge partial failures

describe('EventBridge PutEvents failures through the apply handler', () => {
  beforeEach(() => {
    eb.reset();
  });

  const sink = (clock: FakeClock) =>
    new EventBridgeSink({ client: new EventBridgeClient({}), clock, eventBusName: 'lambda-gitops' });
  const sent = () =>
    eb.commandCalls(PutEventsCommand).flatMap((c) => (c.args[0].input.Entries ?? []).map((e) => e.DetailType));

  it('retries only the failed entry and delivers the terminal event once', async () => {
    const clock = new FakeClock();
    eb.on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    const applier = new CountingApplier();
    const w = world({ applier, events: sink(clock) });
    await seed(w.state, desired());

    expect((await w.deliver(1)).failedBatch).toBe(false);

    expect(sent()).toEqual(['Sync Succeeded', 'Sync Succeeded']);
    expect(await w.applied()).toBe(NEW_SHA);
  });

  it('fails the batch when the terminal event cannot be published, and publishes it on the redelivery', async () => {
    const clock = new FakeClock();
    eb.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
    });
    const applier = new CountingApplier();
    const w = world({ applier, events: sink(clock) });
    await seed(w.state, desired());

    expect((await w.deliver(1)).failedBatch).toBe(true);
    expect(await w.applied()).toBe(NEW_SHA);

    eb.reset();
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-2' }] });
    expect((await w.deliver(2)).failedBatch).toBe(false);

    // The redelivery does not apply again, and the event that was lost is published.
    expect(applier.applies).toBe(1);
    expect(sent()).toEqual(['Sync Succeeded']);
  });
});
