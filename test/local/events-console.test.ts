import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsoleEventSink, FanoutEventSink, MemoryEventSink } from '../../shared/adapters/local/events-console.ts';
import { type GitOpsError, Reason } from '../../shared/errors.ts';
import type { GitOpsEvent } from '../../shared/events/catalog.ts';
import { DetailType } from '../../shared/events/catalog.ts';
import { makeEvent } from '../../shared/events/publish.ts';
import type { EventSink } from '../../shared/ports.ts';
import { registerSecret } from '../../shared/sanitize.ts';

const clock = { now: () => new Date('2024-05-01T10:00:00.123Z') };
const succeeded = makeEvent(
  DetailType.SyncSucceeded,
  { environment: 'prod', stack: 'web', revision: '1a2b3c4d5e6f7a8b', reason: 'Applied', message: 'applied 2 changes' },
  clock,
);
const failed = makeEvent(
  DetailType.SyncFailed,
  { environment: 'prod', stack: 'api', revision: 'ffffeeee', reason: 'ApplyFailed', message: 'Bucket Logs: denied' },
  clock,
);

function collector() {
  const lines: string[] = [];
  return { lines, out: { write: (chunk: string) => lines.push(chunk) } };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gitops-events-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ConsoleEventSink', () => {
  it('prints one plain line per event with time, type, env/stack, short revision and message', async () => {
    // Prepare
    const { lines, out } = collector();
    const sink = new ConsoleEventSink({ out });

    // Act
    await sink.publish([succeeded, failed]);

    // Assess
    expect(lines).toEqual([
      '2024-05-01T10:00:00Z  Sync Succeeded  prod/web  1a2b3c4  applied 2 changes\n',
      '2024-05-01T10:00:00Z  Sync Failed  prod/api  ffffeee  Bucket Logs: denied\n',
    ]);
  });

  it('colours by severity only when asked', async () => {
    // Prepare
    const plain = collector();
    const coloured = collector();

    // Act
    await new ConsoleEventSink({ out: plain.out, color: false }).publish([failed]);
    await new ConsoleEventSink({ out: coloured.out, color: true }).publish([failed]);

    // Assess
    expect(plain.lines[0]).not.toContain('\x1b[');
    expect(coloured.lines[0]).toContain('\x1b[31mSync Failed');
  });

  it('appends one JSON line per event to the JSONL file, creating its folder', async () => {
    // Prepare
    const path = join(dir, 'nested', 'events.jsonl');
    const sink = new ConsoleEventSink({ out: collector().out, jsonlPath: path });

    // Act
    await sink.publish([succeeded]);
    await sink.publish([failed]);

    // Assess
    const parsed = (await readFile(path, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as GitOpsEvent);
    expect(parsed).toEqual([succeeded, failed]);
  });

  it('masks registered secrets even in events that did not come through makeEvent', async () => {
    // Prepare
    registerSecret('console-sink-secret-value');
    const { lines, out } = collector();
    const path = join(dir, 'events.jsonl');
    const raw: GitOpsEvent = {
      ...succeeded,
      detail: { ...succeeded.detail, message: 'token console-sink-secret-value' },
    };

    // Act
    await new ConsoleEventSink({ out, jsonlPath: path }).publish([raw]);

    // Assess
    expect(lines.join('')).not.toContain('console-sink-secret-value');
    expect(await readFile(path, 'utf8')).not.toContain('console-sink-secret-value');
  });

  it('fails with PublishFailed when the JSONL file cannot be written', async () => {
    // Prepare: the path's parent is a file.
    const blocker = join(dir, 'file');
    await new ConsoleEventSink({ out: collector().out, jsonlPath: blocker }).publish([succeeded]);
    const sink = new ConsoleEventSink({ out: collector().out, jsonlPath: join(blocker, 'events.jsonl') });

    // Act
    const error = await sink.publish([succeeded]).catch((err: unknown) => err);

    // Assess
    expect((error as GitOpsError).reason).toBe(Reason.PublishFailed);
  });
});

describe('MemoryEventSink', () => {
  it('keeps events and tells subscribers until they unsubscribe', async () => {
    // Prepare
    const sink = new MemoryEventSink();
    const seen: string[] = [];
    const unsubscribe = sink.subscribe((e) => seen.push(e.detailType));
    sink.subscribe(() => {
      throw new Error('broken listener');
    });

    // Act
    await sink.publish([succeeded]);
    unsubscribe();
    await sink.publish([failed]);

    // Assess
    expect(sink.events).toEqual([succeeded, failed]);
    expect(seen).toEqual(['Sync Succeeded']);
  });

  it('drops the oldest events beyond its maximum', async () => {
    // Prepare
    const sink = new MemoryEventSink({ max: 1 });

    // Act
    await sink.publish([succeeded, failed]);

    // Assess
    expect(sink.events).toEqual([failed]);
  });
});

describe('FanoutEventSink', () => {
  it('delivers to every sink even when one fails, then reports the failure', async () => {
    // Prepare
    const a = new MemoryEventSink();
    const b = new MemoryEventSink();
    const broken: EventSink = {
      publish: async () => {
        throw new Error('bus down');
      },
    };
    const fanout = new FanoutEventSink(a, broken, b);

    // Act
    const error = await fanout.publish([succeeded]).catch((err: unknown) => err);

    // Assess
    expect(a.events).toEqual([succeeded]);
    expect(b.events).toEqual([succeeded]);
    expect((error as GitOpsError).reason).toBe(Reason.PublishFailed);
    expect((error as GitOpsError).message).toContain('sink 2: bus down');
  });
});
