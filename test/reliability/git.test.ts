/**
 * The engine on RemoteSource against a real `git http-backend` server with Basic auth: repositories that cannot be
 * read end in Sync Failed with their reason and leave the state folder untouched; faults of the server (errors,
 * stalls, cut-off responses) fail the sync as retryable and the next sync, once the server is well, applies the head.
 * A force-push that rewrites history is applied, and nothing of the old history is served.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FolderStateStore,
  LocalApplier,
  LocalDriftDetector,
  MemoryEventSink,
} from '../../shared/adapters/local/index.ts';
import type { EngineDeps } from '../../shared/engine/deps.ts';
import { sync } from '../../shared/engine/sync.ts';
import { RemoteSource } from '../../shared/source/index.ts';
import {
  commitFiles,
  createBareRepo,
  createWorkRepo,
  type GitEnv,
  git,
  makeGitEnv,
  push,
} from '../helpers/git-repo.ts';
import { type FaultRule, type GitServer, startGitServer } from '../helpers/git-server.ts';
import { BASE_FILES, readTree, silent, steppingClock } from './fixture.ts';

const TOKEN = 'reliability-git-token-77c1e0';
let genv: GitEnv;
let root: string;
let server: GitServer;
let counter = 0;

beforeAll(async () => {
  genv = makeGitEnv();
  root = mkdtempSync(join(tmpdir(), 'gitops-rel-remotes-'));
  server = await startGitServer({ root, env: genv.env, auth: { username: 'x-access-token', password: TOKEN } });
});
afterAll(async () => {
  await server?.close();
});

interface Remote {
  readonly name: string;
  readonly work: string;
  readonly bare: string;
  commit(files: Record<string, string>, message: string, date?: string): string;
}

/** A bare repository on the server and a working repository that pushes to it. */
function remote(withCommit = true): Remote {
  const name = `repo-${++counter}`;
  const bare = createBareRepo(genv, root, name);
  const work = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-rel-work-')));
  const r: Remote = {
    name,
    work,
    bare,
    commit(files, message, date) {
      const sha = date
        ? commitFiles(
            { ...genv, env: { ...genv.env, GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date } },
            work,
            files,
            message,
          )
        : commitFiles(genv, work, files, message);
      push(genv, work, bare);
      return sha;
    },
  };
  if (withCommit) r.commit({ ...BASE_FILES }, 'Initial desired state', '2026-03-01T10:00:00Z');
  return r;
}

function engine(url: string, token: string | undefined, timeoutMs = 5_000) {
  const stateDir = mkdtempSync(join(tmpdir(), 'gitops-rel-state-'));
  const state = new FolderStateStore(stateDir);
  const events = new MemoryEventSink();
  const deps: EngineDeps = {
    source: new RemoteSource(url, { ...(token ? { token: async () => token } : {}), timeoutMs }),
    state,
    applier: new LocalApplier({ store: state }),
    drift: new LocalDriftDetector(),
    events,
    clock: steppingClock(),
    logger: silent,
    defaultRegion: 'eu-west-1',
  };
  return { deps, state, stateDir, events };
}

describe('repositories that cannot be read: Sync Failed with the reason, state untouched', () => {
  const cases = [
    { name: 'a repository that does not exist', url: () => server.url('does-not-exist'), reason: 'RepositoryNotFound' },
    { name: 'a wrong token', url: () => server.url(remote().name), token: 'wrong-token-123456', reason: 'AuthFailed' },
    {
      name: 'no token for a private repository',
      url: () => server.url(remote().name),
      token: '',
      reason: 'AuthFailed',
    },
    {
      name: 'a branch that does not exist',
      url: () => server.url(remote().name),
      ref: 'release',
      reason: 'RefNotFound',
    },
    { name: 'a tag that does not exist', url: () => server.url(remote().name), ref: 'v9.9.9', reason: 'RefNotFound' },
    { name: 'an empty repository', url: () => server.url(remote(false).name), reason: 'EmptyRepository' },
    {
      name: 'a URL that is not a Git endpoint',
      url: () => server.url(remote().name).replace(/\.git$/, '.git/objects'),
      reason: 'RepositoryNotFound',
    },
  ];

  it.each(cases)('$name → $reason', async (c) => {
    const e = engine(c.url(), c.token === undefined ? TOKEN : c.token || undefined);
    const before = readTree(e.stateDir);
    await expect(sync(e.deps, c.ref ? { ref: c.ref } : {})).rejects.toMatchObject({ reason: c.reason });
    expect(e.events.events.map((ev) => [ev.detailType, ev.detail.reason])).toEqual([['Sync Failed', c.reason]]);
    expect(readTree(e.stateDir)).toEqual(before);
    // The token never appears in what a person or a log sees.
    expect(JSON.stringify(e.events.events)).not.toContain(TOKEN);
  });
});

describe('a force-push that rewrites history', () => {
  it('applies the new head, and serves nothing of the rewritten history', async () => {
    const r = remote();
    const e = engine(server.url(r.name), TOKEN);
    await sync(e.deps, {});
    const old = r.commit(
      { 'templates/app.yaml': BASE_FILES['templates/app.yaml']!.replace('30', '31') },
      'Change to be rewritten',
      '2026-03-01T11:00:00Z',
    );
    await sync(e.deps, {});
    expect((await e.state.getStack('dev/app'))?.state.lastApplied?.revision).toBe(old);

    // Rewrite: drop the commit, make another in its place, force-push.
    git(genv, r.work, ['reset', '-q', '--hard', 'HEAD~1']);
    const rewritten = commitFiles(
      { ...genv, env: { ...genv.env, GIT_COMMITTER_DATE: '2026-03-01T12:00:00Z' } },
      r.work,
      { 'templates/app.yaml': BASE_FILES['templates/app.yaml']!.replace('30', '32') },
      'Rewritten change',
    );
    push(genv, r.work, r.bare, 'main', true);
    e.events.events.splice(0);

    const report = await sync(e.deps, {});

    expect(report.failed).toEqual([]);
    const app = (await e.state.getStack('dev/app'))?.state;
    expect(app?.lastApplied?.revision).toBe(rewritten);
    const artifact = await e.state.getRendered(app?.lastApplied?.hash ?? '', app?.lastApplied?.revision);
    expect(JSON.stringify(artifact?.rendered.template)).toContain('"VisibilityTimeout":32');
    expect(e.events.events.map((ev) => ev.detailType)).toEqual(['Apply Requested', 'Sync Succeeded']);
    // The old commit is not in the fetch cache any more: nothing stale can be read from it.
    await expect((e.deps.source as RemoteSource).readSignature(old)).rejects.toMatchObject({ reason: 'RefNotFound' });
  });
});

describe('git server faults: retryable Sync Failed, nothing recorded, the next sync applies the head', () => {
  const faults: { name: string; rule: FaultRule; says: RegExp; timeoutMs?: number }[] = [
    {
      name: 'HTTP 500 on ref discovery',
      rule: { fault: { kind: 'status', status: 500 }, on: 'info-refs' },
      says: /HTTP 500/,
    },
    {
      name: 'HTTP 503 on ref discovery',
      rule: { fault: { kind: 'status', status: 503 }, on: 'info-refs' },
      says: /HTTP 503/,
    },
    {
      name: 'HTTP 500 on the pack request',
      rule: { fault: { kind: 'status', status: 500 }, on: 'upload-pack' },
      says: /500/,
    },
    {
      name: 'HTTP 429 on the pack request',
      rule: { fault: { kind: 'status', status: 429 }, on: 'upload-pack' },
      says: /429/,
    },
    {
      name: 'a server that stalls on ref discovery',
      rule: { fault: { kind: 'stall' }, on: 'info-refs' },
      says: /timed out/,
      timeoutMs: 400,
    },
    {
      name: 'a server that stalls on the pack request',
      rule: { fault: { kind: 'stall' }, on: 'upload-pack' },
      says: /timed out/,
      timeoutMs: 400,
    },
    {
      name: 'a pack cut off after 100 bytes',
      rule: { fault: { kind: 'truncate', afterBytes: 100 }, on: 'upload-pack' },
      says: /./,
    },
    {
      name: 'a pack cut off after 12 bytes',
      rule: { fault: { kind: 'truncate', afterBytes: 12 }, on: 'upload-pack' },
      says: /./,
    },
    {
      name: 'ref discovery cut off after 40 bytes',
      rule: { fault: { kind: 'truncate', afterBytes: 40 }, on: 'info-refs' },
      says: /./,
    },
  ];

  it.each(faults)('$name', async (f) => {
    const r = remote();
    const e = engine(server.url(r.name), TOKEN, f.timeoutMs ?? 5_000);
    await sync(e.deps, {});
    const head = r.commit(
      { 'templates/web.yaml': BASE_FILES['templates/web.yaml']!.replace('60', '75') },
      'Change behind a fault',
      '2026-03-01T11:00:00Z',
    );
    const before = readTree(e.stateDir);
    e.events.events.splice(0);

    server.injectFault(f.rule);
    const failed = await sync(e.deps, {}).catch((err: Error) => err);
    server.clearFaults();

    expect(failed).toMatchObject({ reason: 'FetchFailed', retryable: true });
    expect((failed as Error).message).toMatch(f.says);
    expect(e.events.events.map((ev) => [ev.detailType, ev.detail.reason])).toEqual([['Sync Failed', 'FetchFailed']]);
    expect(readTree(e.stateDir)).toEqual(before);

    // The fault passes (the queue redelivers): the head is applied once.
    e.events.events.splice(0);
    const report = await sync(e.deps, {});
    expect(report.failed).toEqual([]);
    expect((await e.state.getStack('dev/web'))?.state.lastApplied?.revision).toBe(head);
    expect(e.events.events.filter((ev) => ev.detailType === 'Sync Succeeded')).toHaveLength(1);
  });
});
