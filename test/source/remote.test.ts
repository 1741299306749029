import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reason, SourceError } from '../../shared/errors.ts';
import { clearMemoryCache, openSource } from '../../shared/source/index.ts';
import {
  commitFiles,
  createBareRepo,
  createWorkRepo,
  type GitEnv,
  git,
  gitText,
  makeGitEnv,
  push,
  yamlTree,
} from '../helpers/git-repo.ts';
import { type GitServer, startGitServer } from '../helpers/git-server.ts';

let genv: GitEnv;
let root: string;
let server: GitServer;
let authServer: GitServer;
let work: string;
let firstSha: string;
let mainSha: string;
let featureSha: string;

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

async function rejection(promise: Promise<unknown>): Promise<SourceError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SourceError);
  return err as SourceError;
}

beforeAll(async () => {
  genv = makeGitEnv();
  root = tmp('gitops-srv-');
  const bare = createBareRepo(genv, root, 'app');
  createBareRepo(genv, root, 'empty');
  work = createWorkRepo(genv, join(root, 'work-app'));
  firstSha = commitFiles(genv, work, { ...yamlTree(40, 8), 'link.yaml': { symlink: 'app-000/stack-0.yaml' } }, 'first');
  mainSha = commitFiles(genv, work, { 'README.md': '# app\n' }, 'Add readme\n\nWith a body.');
  push(genv, work, bare);
  git(genv, work, ['checkout', '-q', '-b', 'feature']);
  featureSha = commitFiles(genv, work, { 'feature.txt': 'only on feature\n' }, 'feature work');
  push(genv, work, bare, 'feature');
  git(genv, work, ['checkout', '-q', 'main']);

  const privRoot = tmp('gitops-priv-');
  const privBare = createBareRepo(genv, privRoot, 'private');
  push(genv, work, privBare);
  server = await startGitServer({ root, env: genv.env });
  authServer = await startGitServer({
    root: privRoot,
    env: genv.env,
    auth: { username: 'x-access-token', password: 'ghp_right1234567890abcdefghij' },
  });
});

afterAll(async () => {
  await server?.close();
  await authServer?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('RemoteSource fetch', () => {
  it('reads the default branch: commit details, every file sorted, symlinks as mode 120000', async () => {
    const snap = await openSource(server.url('app')).fetch();

    expect(snap.repo).toBe(server.url('app'));
    expect(snap.branch).toBe('main');
    expect(snap.commit.sha).toBe(mainSha);
    expect(snap.commit.author).toBe('Test Author <author@example.com>');
    expect(snap.commit.message).toBe('Add readme\n\nWith a body.');
    expect(new Date(snap.commit.committedAt!).getTime()).toBeGreaterThan(Date.now() - 3_600_000);
    expect(snap.commit.url).toBeUndefined();
    const list = await snap.list();
    expect(list).toHaveLength(42);
    expect(list.map((e) => e.path)).toEqual([...list.map((e) => e.path)].sort());
    expect(list.find((e) => e.path === 'link.yaml')?.mode).toBe('120000');
    expect(list.find((e) => e.path === 'README.md')).toMatchObject({
      mode: '100644',
      oid: gitText(genv, work, ['rev-parse', 'main:README.md']),
    });
    expect(Buffer.from(await snap.readFile('README.md')).toString()).toBe('# app\n');
    expect(Buffer.from(await snap.readFile('link.yaml')).toString()).toBe('app-000/stack-0.yaml');
  });

  it('reads a named branch, a tag and a commit id that is a branch tip', async () => {
    const src = openSource(server.url('app'));
    const feature = await src.fetch({ ref: 'feature' });
    expect(feature.branch).toBe('feature');
    expect(Buffer.from(await feature.readFile('feature.txt')).toString()).toBe('only on feature\n');

    const byId = await src.fetch({ ref: mainSha });
    expect(byId.commit.sha).toBe(mainSha);
    await expect(byId.readFile('feature.txt')).rejects.toMatchObject({ reason: Reason.MissingFile });
  });

  it('names a missing file or a directory as MissingFile', async () => {
    const snap = await openSource(server.url('app')).fetch();
    const err = await rejection(snap.readFile('app-000'));
    expect(err.reason).toBe(Reason.MissingFile);
    expect((await rejection(snap.readFile('nope.yaml'))).reason).toBe(Reason.MissingFile);
  });

  it('reports a missing branch, a missing repository and an empty repository by reason', async () => {
    const missingBranch = await rejection(openSource(server.url('app')).fetch({ ref: 'no-such-branch' }));
    expect(missingBranch.reason).toBe(Reason.RefNotFound);
    expect(missingBranch.message).toContain('no-such-branch');

    expect((await rejection(openSource(server.url('nothing-here')).fetch())).reason).toBe(Reason.RepositoryNotFound);
    expect((await rejection(openSource(server.url('empty')).fetch())).reason).toBe(Reason.EmptyRepository);
  });
});

describe('RemoteSource authentication', () => {
  const right = 'ghp_right1234567890abcdefghij';
  const wrong = 'ghp_wrong1234567890abcdefghij';

  it('fetches with the right token, sent only as Basic credentials', async () => {
    const snap = await openSource(authServer.url('private'), { token: async () => right }).fetch();
    expect(snap.commit.sha).toBe(mainSha);
    expect(authServer.requests.every((r) => !r.path.includes(right))).toBe(true);
  });

  it('fails with AuthFailed naming the URL, never the token, for a wrong or missing token', async () => {
    const url = authServer.url('private');
    const bad = await rejection(openSource(url, { token: async () => wrong }).fetch());
    expect(bad.reason).toBe(Reason.AuthFailed);
    expect(bad.message).toContain(url);
    expect(`${bad.message} ${bad.stack} ${JSON.stringify(bad)}`).not.toContain(wrong);

    const none = await rejection(openSource(url).fetch());
    expect(none.reason).toBe(Reason.AuthFailed);
  });

  it('never shows credentials written into the URL', async () => {
    const url = authServer.url('private').replace('http://', `http://x-access-token:${wrong}@`);
    const err = await rejection(openSource(url, { token: async () => right }).fetch({ ref: 'nope' }));
    expect(err.reason).toBe(Reason.RefNotFound);
    expect(err.message).not.toContain(wrong);
  });
});

describe('RemoteSource cache', () => {
  it('fetches only the new objects after one more commit, in the same process and in a new one', async () => {
    const bare = createBareRepo(genv, root, 'incremental');
    const dir = createWorkRepo(genv, join(root, 'work-incremental'));
    commitFiles(genv, dir, yamlTree(400, 40), 'many files');
    push(genv, dir, bare);
    const cacheDir = tmp('gitops-cache-');
    const src = openSource(server.url('incremental'), { cacheDir });

    let from = server.requests.length;
    await src.fetch();
    const coldBytes = server.bytesSentSince(from);

    const second = commitFiles(genv, dir, { 'app-001/stack-1.yaml': 'changed: true\n', 'new.yaml': 'new: 1\n' }, 'two');
    push(genv, dir, bare);
    from = server.requests.length;
    const snap = await src.fetch();
    const warmBytes = server.bytesSentSince(from);
    expect(snap.commit.sha).toBe(second);
    expect(Buffer.from(await snap.readFile('app-001/stack-1.yaml')).toString()).toBe('changed: true\n');
    expect((await snap.list()).length).toBe(401);
    expect(warmBytes).toBeLessThan(coldBytes / 10);

    // A new process (nothing in memory) finds the objects in cacheDir.
    clearMemoryCache();
    const third = commitFiles(genv, dir, { 'app-002/stack-2.yaml': 'third: true\n' }, 'three');
    push(genv, dir, bare);
    from = server.requests.length;
    const again = await openSource(server.url('incremental'), { cacheDir }).fetch();
    expect(again.commit.sha).toBe(third);
    expect(server.bytesSentSince(from)).toBeLessThan(coldBytes / 10);
    expect(Buffer.from(await again.readFile('app-001/stack-1.yaml')).toString()).toBe('changed: true\n');
  });

  it('reads the new head after a force-push that rewrote history, with no file of the old history', async () => {
    const bare = createBareRepo(genv, root, 'rewrite');
    const dir = createWorkRepo(genv, join(root, 'work-rewrite'));
    commitFiles(genv, dir, { 'a.yaml': 'a: 1\n', 'old.yaml': 'old\n' }, 'one');
    const old = commitFiles(genv, dir, { 'a.yaml': 'a: 2\n' }, 'two');
    push(genv, dir, bare);
    const src = openSource(server.url('rewrite'), { cacheDir: tmp('gitops-cache-') });
    expect((await src.fetch()).commit.sha).toBe(old);

    git(genv, dir, ['checkout', '-q', '--orphan', 'rewritten']);
    git(genv, dir, ['rm', '-q', '-r', '--cached', '.']);
    rmSync(join(dir, 'old.yaml'));
    const rewritten = commitFiles(genv, dir, { 'a.yaml': 'a: rewritten\n' }, 'rewritten');
    push(genv, dir, bare, 'main', true);

    const snap = await src.fetch();
    expect(snap.commit.sha).toBe(rewritten);
    expect((await snap.list()).map((e) => e.path)).toEqual(['a.yaml']);
    expect(Buffer.from(await snap.readFile('a.yaml')).toString()).toBe('a: rewritten\n');
    expect(await src.isAncestor?.(old, rewritten)).not.toBe(true);
  });

  it('answers isAncestor from the shallow history it holds, and deepens it when that is not enough', async () => {
    const src = openSource(server.url('app'));
    await src.fetch();
    expect(await src.isAncestor?.(mainSha, mainSha)).toBe(true);
    // The fetched commit names its parent, so that much is known without the parent's objects.
    expect(await src.isAncestor?.(firstSha, mainSha)).toBe(true);
    // Whether the feature head lies before main needs main's history: fetched, walked to the root, not there.
    expect(await src.isAncestor?.(featureSha, mainSha)).toBe(false);
    // With no history allowed beyond the fetched commit, it cannot tell.
    const bounded = openSource(server.url('app'), { maxHistoryDepth: 1 });
    await bounded.fetch();
    expect(await bounded.isAncestor?.(featureSha, mainSha)).toBeUndefined();
  });
});

describe('RemoteSource faults', () => {
  it('turns a 5xx, a truncated pack and a stalled server into retryable FetchFailed', async () => {
    const url = server.url('app');
    server.injectFault({ on: 'upload-pack', fault: { kind: 'status', status: 503 } });
    const unavailable = await rejection(openSource(url).fetch({ ref: 'feature' }));
    expect(unavailable).toMatchObject({ reason: Reason.FetchFailed, retryable: true });

    clearMemoryCache();
    server.injectFault({ on: 'upload-pack', fault: { kind: 'truncate', afterBytes: 300 } });
    const truncated = await rejection(openSource(url).fetch());
    expect(truncated).toMatchObject({ reason: Reason.FetchFailed, retryable: true });

    server.injectFault({ on: 'upload-pack', fault: { kind: 'stall' } });
    // The server stalls forever: only the 300 ms timeout can end the fetch, and the message says so.
    const stalled = await rejection(openSource(url, { timeoutMs: 300 }).fetch());
    expect(stalled).toMatchObject({ reason: Reason.FetchFailed, retryable: true });
    expect(stalled.message).toContain('timed out');

    server.injectFault({ on: 'info-refs', fault: { kind: 'stall' } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const aborted = await rejection(openSource(url).fetch({ signal: controller.signal }));
    expect(aborted).toMatchObject({ reason: Reason.FetchFailed, retryable: true });

    // Nothing of the failed attempts stays behind: the next fetch works.
    expect((await openSource(url).fetch()).commit.sha).toBe(mainSha);
  });
});
