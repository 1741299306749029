import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderStateStore } from '../../shared/adapters/local/state-folder.ts';
import { Reason, StateError } from '../../shared/errors.ts';
import { rendered } from '../plan/rendered-fixture.ts';
import { historyRecord, stackState } from './stack-state-fixture.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gitops-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return err instanceof StateError ? err.reason : `not a StateError: ${String(err)}`;
  }
  return 'resolved';
}

describe('FolderStateStore', () => {
  it('round-trips a stack state in the documented layout and lists it', async () => {
    // Prepare
    const store = new FolderStateStore(dir);
    const state = stackState({ sync: 'OutOfSync' });

    // Act
    const version = await store.putStack(state);
    const stored = await store.getStack('prod/web');
    const listed = await store.listStacks();

    // Assess
    expect(stored).toEqual({ state, version });
    expect(listed).toEqual([state]);
    expect(JSON.parse(await readFile(join(dir, 'state', 'prod', 'web.json'), 'utf8'))).toEqual(state);
    expect(await store.getStack('prod/absent')).toBeUndefined();
  });

  it('deletes a stack state and forgets it', async () => {
    // Prepare
    const store = new FolderStateStore(dir);
    await store.putStack(stackState());

    // Act
    await store.deleteStack('prod/web');
    await store.deleteStack('prod/web');

    // Assess
    expect(await store.getStack('prod/web')).toBeUndefined();
    expect(await store.listStacks()).toEqual([]);
  });

  it('lets only the first of two writers holding the same version win', async () => {
    // Prepare
    const store = new FolderStateStore(dir);
    await store.putStack(stackState());
    const read = (await store.getStack('prod/web'))!;

    // Act
    const first = await store.putStack(stackState({ sync: 'Progressing' }), { ifVersion: read.version });
    const second = await reasonOf(store.putStack(stackState({ sync: 'Failed' }), { ifVersion: read.version }));

    // Assess
    expect(first).not.toBe(read.version);
    expect(second).toBe(Reason.StateConflict);
    expect((await store.getStack('prod/web'))?.state.sync).toBe('Progressing');
  });

  it('creates with ifVersion null only when no state exists yet', async () => {
    // Prepare
    const store = new FolderStateStore(dir);

    // Act
    await store.putStack(stackState(), { ifVersion: null });
    const again = await reasonOf(store.putStack(stackState({ sync: 'Failed' }), { ifVersion: null }));

    // Assess
    expect(again).toBe(Reason.StateConflict);
    expect((await store.getStack('prod/web'))?.state.sync).toBe('Synced');
  });

  it('serialises concurrent writers of one stack in this process without losing the precondition', async () => {
    // Prepare
    const store = new FolderStateStore(dir);
    await store.putStack(stackState());
    const { version } = (await store.getStack('prod/web'))!;

    // Act
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        store.putStack(stackState({ updatedAt: `2024-05-01T11:00:0${i}.000Z` }), { ifVersion: version }),
      ),
    );

    // Assess
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const losers = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(losers.map((r) => (r.reason as StateError).reason)).toEqual(Array(7).fill(Reason.StateConflict));
  });

  it('honours a lock held by another process and sees what it wrote', async () => {
    // Prepare: a child process takes the lock, writes a newer state while holding it, then releases it.
    const store = new FolderStateStore(dir);
    await store.putStack(stackState());
    const { version } = (await store.getStack('prod/web'))!;
    const file = join(dir, 'state', 'prod', 'web.json');
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs');
         const [file] = process.argv.slice(1);
         fs.writeFileSync(file + '.lock', 'child', { flag: 'wx' });
         process.stdout.write('locked\\n');
         setTimeout(() => {
           const s = JSON.parse(fs.readFileSync(file, 'utf8'));
           fs.writeFileSync(file, JSON.stringify({ ...s, sync: 'Failed' }));
           fs.unlinkSync(file + '.lock');
           process.stdout.write('released\\n');
         }, 300);`,
        file,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const output: string[] = [];
    const released = new Promise<number>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output.push(chunk.toString());
        if (output.join('').includes('released')) resolve(Date.now());
      });
    });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));

    // Act
    const outcome = await reasonOf(store.putStack(stackState({ sync: 'Progressing' }), { ifVersion: version }));
    const finishedAt = Date.now();

    // Assess
    expect(outcome).toBe(Reason.StateConflict);
    expect(finishedAt).toBeGreaterThanOrEqual(await released);
    expect((await store.getStack('prod/web'))?.state.sync).toBe('Failed');
  });

  it('breaks a lock left behind by a crashed process after the stale period', async () => {
    // Prepare
    const store = new FolderStateStore(dir, { lock: { staleMs: 30_000 } });
    await mkdir(join(dir, 'state', 'prod'), { recursive: true });
    const lock = join(dir, 'state', 'prod', 'web.json.lock');
    await writeFile(lock, 'crashed');
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);

    // Act
    await store.putStack(stackState(), { ifVersion: null });

    // Assess
    expect((await store.getStack('prod/web'))?.state.key).toBe('prod/web');
    expect(await readdir(join(dir, 'state', 'prod'))).toEqual(['web.json']);
  });

  it('gives up on a live lock with a retryable StateUnavailable', async () => {
    // Prepare
    const store = new FolderStateStore(dir, { lock: { timeoutMs: 100, pollMs: 10 } });
    await mkdir(join(dir, 'state', 'prod'), { recursive: true });
    await writeFile(join(dir, 'state', 'prod', 'web.json.lock'), 'someone');

    // Act
    const error = await store.putStack(stackState()).catch((err: unknown) => err);

    // Assess
    expect(error).toBeInstanceOf(StateError);
    expect((error as StateError).reason).toBe(Reason.StateUnavailable);
    expect((error as StateError).retryable).toBe(true);
  });

  it('writes atomically: readers never see a partial file and no temp file is left', async () => {
    // Prepare
    const store = new FolderStateStore(dir);
    const big = (n: number) => stackState({ headRevision: String(n).repeat(50_000) });
    await store.putStack(big(0));

    // Act
    const reads: Promise<unknown>[] = [];
    const writes: Promise<unknown>[] = [];
    for (let i = 1; i <= 5; i++) {
      writes.push(store.putStack(big(i)));
      reads.push(store.getStack('prod/web'));
    }
    const readResults = await Promise.allSettled(reads);
    await Promise.all(writes);

    // Assess
    expect(readResults.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(await readdir(join(dir, 'state', 'prod'))).toEqual(['web.json']);
  });

  it('keeps the old state and leaves no temp file when the final rename fails', async () => {
    // Prepare: the target name is taken by a directory, so rename cannot replace it.
    const store = new FolderStateStore(dir);
    await mkdir(join(dir, 'state', 'prod', 'web.json'), { recursive: true });

    // Act
    const reason = await reasonOf(store.putStack(stackState()));

    // Assess
    expect(reason).toBe(Reason.StateUnavailable);
    expect((await readdir(join(dir, 'state', 'prod'))).sort()).toEqual(['web.json']);
  });

  it('names the corrupt file in a StateUnavailable error', async () => {
    // Prepare
    const store = new FolderStateStore(dir);
    await mkdir(join(dir, 'state', 'prod'), { recursive: true });
    await writeFile(join(dir, 'state', 'prod', 'web.json'), '{"key": "prod/web",');

    // Act
    const error = (await store.getStack('prod/web').catch((err: unknown) => err)) as StateError;

    // Assess
    expect(error.reason).toBe(Reason.StateUnavailable);
    expect(error.message).toContain(join('state', 'prod', 'web.json'));
  });

  it('lists history newest first and honours the limit', async () => {
    // Prepare
    const store = new FolderStateStore(dir);
    await store.appendHistory(historyRecord('2024-05-01T10:00:00.000Z', 'first'));
    await store.appendHistory(historyRecord('2024-05-03T10:00:00.000Z', 'third'));
    await store.appendHistory(historyRecord('2024-05-02T10:00:00.000Z', 'second'));
    await store.appendHistory(historyRecord('2024-05-04T10:00:00.000Z', 'other', 'prod/api'));

    // Act
    const all = await store.listHistory('prod/web');
    const two = await store.listHistory('prod/web', 2);

    // Assess
    expect(all.map((r) => r.id)).toEqual(['third', 'second', 'first']);
    expect(two.map((r) => r.id)).toEqual(['third', 'second']);
    expect(await store.listHistory('prod/none')).toEqual([]);
  });

  it('stores rendered artifacts under their hash, once', async () => {
    // Prepare
    const store = new FolderStateStore(dir);
    const hash = 'b'.repeat(64);
    const artifact = { hash, rendered: rendered({ template: { Resources: {} }, hash }) };

    const revision = artifact.rendered.revision;
    // A revert renders the same content at another commit.
    const revert = '4'.repeat(40);
    const reverted = { hash, rendered: rendered({ template: { Resources: {} }, hash, revision: revert }) };

    // Act
    await store.putRendered(artifact);
    await store.putRendered({ hash, rendered: rendered({ template: { Resources: {} }, hash, stackName: 'changed' }) });
    await store.putRendered(reverted);

    // Assess
    expect(await store.getRendered(hash, revision)).toEqual(artifact);
    expect(await store.getRendered(hash, revert)).toEqual(reverted);
    expect(await readdir(join(dir, 'rendered'))).toEqual([hash]);
    expect((await readdir(join(dir, 'rendered', hash))).sort()).toEqual([`${revert}.json`, `${revision}.json`].sort());
    expect(await store.getRendered('c'.repeat(64), revision)).toBeUndefined();
    // One written before artifacts were kept per revision is read for the revision it names, and only for it.
    const legacy = { hash: 'c'.repeat(64), rendered: rendered({ template: { Resources: {} }, hash: 'c'.repeat(64) }) };
    await writeFile(join(dir, 'rendered', `${'c'.repeat(64)}.json`), JSON.stringify(legacy));
    expect(await store.getRendered('c'.repeat(64), revision)).toEqual(legacy);
    expect(await store.getRendered('c'.repeat(64), revert)).toBeUndefined();
  });

  it.each([
    ['../escape'],
    ['prod/../../etc'],
    ['prod/web/extra'],
    ['/abs/path'],
    ['prod/.hidden'],
    ['prod'],
    ['prod\\..\\x/web'],
  ])('refuses the key %s that could leave the folder', async (key) => {
    // Prepare
    const store = new FolderStateStore(dir);

    // Act
    const reasons = [
      await reasonOf(store.getStack(key)),
      await reasonOf(store.putStack(stackState({ key }))),
      await reasonOf(store.listHistory(key)),
      await reasonOf(store.appendHistory(historyRecord('2024-05-01T10:00:00.000Z', 'x', key))),
    ];

    // Assess
    expect(reasons).toEqual(Array(4).fill(Reason.PathEscape));
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a rendered hash that is not a sha256, and a revision that could leave the folder', async () => {
    // Prepare
    const store = new FolderStateStore(dir);

    // Act
    const reasons = [
      await reasonOf(store.getRendered('../state/prod/web')),
      await reasonOf(store.getRendered('b'.repeat(64), '../../state/prod/web')),
    ];

    // Assess
    expect(reasons).toEqual([Reason.PathEscape, Reason.PathEscape]);
  });
});
