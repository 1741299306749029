import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventBridgeSink, entrySize, MAX_ENTRY_BYTES } from '../../shared/adapters/aws/events-eventbridge.ts';
import { DetailType, type GitOpsEvent } from '../../shared/events/catalog.ts';
import { makeEvent } from '../../shared/events/publish.ts';
import { FakeClock } from './fixtures.ts';

const eb = mockClient(EventBridgeClient);
let clock: FakeClock;
beforeEach(() => {
  eb.reset();
  clock = new FakeClock();
});
const sink = () =>
  new EventBridgeSink({ eventBusName: 'lambda-gitops', client: new EventBridgeClient({ region: 'eu-west-1' }), clock });

const event = (stack: string, extra: Partial<GitOpsEvent['detail']> = {}): GitOpsEvent =>
  makeEvent(
    DetailType.SyncSucceeded,
    { stack, environment: 'prod', reason: 'Applied', message: `${stack} applied`, ...extra },
    clock,
  );

type Entries = { Source?: string; DetailType?: string; Detail?: string; EventBusName?: string }[];
const sentEntries = () => eb.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries as Entries);

describe('EventBridgeSink', () => {
  it('sends 23 events in batches of at most 10 with source, detail-type, detail and bus', async () => {
    eb.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map((_, i) => ({ EventId: `id-${i}` })),
    }));
    await sink().publish(Array.from({ length: 23 }, (_, i) => event(`s${i}`)));
    const batches = sentEntries();
    expect(batches.map((b) => b.length)).toEqual([10, 10, 3]);
    const first = batches[0]?.[0];
    expect(first).toMatchObject({
      Source: 'lambda-gitops',
      DetailType: 'Sync Succeeded',
      EventBusName: 'lambda-gitops',
    });
    expect(JSON.parse(first?.Detail ?? '{}')).toMatchObject({ stack: 's0', environment: 'prod', severity: 'info' });
  });

  it('resends only the entries that failed, then succeeds', async () => {
    eb.on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [
          { EventId: 'a' },
          { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service error' },
          { EventId: 'c' },
        ],
      })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'b' }] });
    await sink().publish([event('a'), event('b'), event('c')]);
    const batches = sentEntries();
    expect(batches).toHaveLength(2);
    expect(batches[1]?.map((e) => JSON.parse(e.Detail ?? '{}').stack)).toEqual(['b']);
    expect(clock.sleeps).toHaveLength(1);
  });

  it('names the entries that never get through in PublishFailed', async () => {
    eb.on(PutEventsCommand).callsFake((input: { Entries: { Detail: string }[] }) => ({
      FailedEntryCount: input.Entries.filter((e) => JSON.parse(e.Detail).stack === 'b').length,
      Entries: input.Entries.map((e) =>
        JSON.parse(e.Detail).stack === 'b'
          ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'Request rate exceeded' }
          : { EventId: 'ok' },
      ),
    }));
    const err = await sink()
      .publish([event('a'), event('b')])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'PublishFailed', retryable: true });
    expect((err as Error).message).toContain('Sync Succeeded prod/b');
    expect((err as Error).message).toContain('ThrottlingException');
    expect((err as Error).message).not.toContain('prod/a');
    // First call with both, then three resends of b alone.
    expect(sentEntries().map((b) => b.length)).toEqual([2, 1, 1, 1]);
  });

  it('trims the resources list of an oversized event with a note, under 256 KB', async () => {
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'x' }] });
    const resources = Array.from({ length: 400 }, (_, i) => ({
      logicalId: `Queue${i}`,
      type: 'AWS::SQS::Queue',
      status: 'MODIFIED' as const,
      differences: [{ path: '/Policy', expected: 'x'.repeat(1_000), actual: 'y'.repeat(1_000), kind: 'NOT_EQUAL' }],
    }));
    await sink().publish([
      makeEvent(
        DetailType.DriftDetected,
        { stack: 'web', environment: 'prod', reason: 'Drifted', message: 'm', resources },
        clock,
      ),
    ]);
    const entry = sentEntries()[0]?.[0];
    expect(entrySize({ ...entry, Time: new Date() })).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
    const detail = JSON.parse(entry?.Detail ?? '{}');
    expect(detail.resources.length).toBeGreaterThan(0);
    expect(detail.resources.length).toBeLessThan(400);
    expect(detail.data.truncated).toMatch(/state store/);
  });

  it('refuses an event that cannot be trimmed under 256 KB before sending, and still sends the others', async () => {
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'x' }] });
    // makeEvent bounds free text (shared/events/bounded.ts); sinks also take events built elsewhere, so the sink
    // still refuses what cannot fit.
    const built = makeEvent(
      DetailType.SyncFailed,
      { stack: 'big', environment: 'prod', reason: 'ChangeSetFailed', message: 'm' },
      clock,
    );
    const huge = { ...built, detail: { ...built.detail, message: 'z'.repeat(300_000) } };
    const err = await sink()
      .publish([huge, event('small')])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'PublishFailed' });
    expect((err as Error).message).toContain('Sync Failed prod/big');
    expect(sentEntries()).toEqual([[expect.objectContaining({ DetailType: 'Sync Succeeded' })]]);
  });
});
