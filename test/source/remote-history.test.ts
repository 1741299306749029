/**
 * Ordering commits of a remote repository fetched at depth 1: the history needed to tell which commit is newer is
 * fetched on demand, as deep as needed and no deeper than the bound, from a real `git http-backend`.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FolderArtifactStore,
  FolderStateStore,
  LocalApplier,
  LocalDriftDetector,
  MemoryEventSink,
} from '../../shared/adapters/local/index.ts';
import type { EngineDeps } from '../../shared/engine/deps.ts';
import { sync } from '../../shared/engine/sync.ts';
import { clearMemoryCache, RemoteSource } from '../../shared/source/index.ts';
import { silent, steppingClock } from '../engine/engine-fixture.ts';
import {
  commitFiles,
  createBareRepo,
  createWorkRepo,
  type GitEnv,
  git,
  gitText,
  makeGitEnv,
  push,
} from '../helpers/git-repo.ts';
import { type GitServer, startGitServer } from '../helpers/git-server.ts';

let genv: GitEnv;
let root: string;
let server: GitServer;
/** c0 … c39 on main, each the child of the one before. */
const chain: string[] = [];

beforeAll(async () => {
  genv = makeGitEnv();
  root = mkdtempSync(join(tmpdir(), 'gitops-history-srv-'));
  const bare = createBareRepo(genv, root, 'chain');
  const work = createWorkRepo(genv, join(root, 'work-chain'));
  for (let i = 0; i < 40; i++) chain.push(commitFiles(genv, work, { 'n.txt': `${i}\n` }, `c${i}`));
  push(genv, work, bare);
  server = await startGitServer({ root, env: genv.env });
});
afterAll(async () => {
  await server?.close();
});

describe('RemoteSource ancestry beyond a shallow fetch', () => {
  it('deepens until the ancestor is found, and says "no" once the whole history is walked', async () => {
    clearMemoryCache();
    const src = new RemoteSource(server.url('chain'));
    await src.fetch();
    const before = server.requests.length;

    expect(await src.isAncestor(chain[5]!, chain[39]!)).toBe(true);
    // 34 commits back: the 16-commit step was not enough, the 128-commit one was.
    const deepened = server.requests.slice(before).filter((r) => r.path.endsWith('/git-upload-pack'));
    expect(deepened).toHaveLength(2);
    // The history is kept: asking again fetches nothing.
    expect(await src.isAncestor(chain[0]!, chain[39]!)).toBe(true);
    // The other way round: the walk from c5 reaches the root without meeting c39.
    expect(await src.isAncestor(chain[39]!, chain[5]!)).toBe(false);
    expect(server.requests.length).toBe(before + 2);
  });

  it('stops at the configured bound and answers "unknown"', async () => {
    clearMemoryCache();
    const src = new RemoteSource(server.url('chain'), { maxHistoryDepth: 8 });
    await src.fetch();
    const before = server.requests.length;
    expect(await src.isAncestor(chain[5]!, chain[39]!)).toBeUndefined();
    expect(server.requests.slice(before).filter((r) => r.path.endsWith('/git-upload-pack'))).toHaveLength(1);
    expect(await src.isAncestor(chain[35]!, chain[39]!)).toBe(true);
  });
});

describe('newest wins on a shallow remote, whatever the commit dates say', () => {
  let url: string;
  let work: string;
  let bare: string;
  beforeAll(() => {
    bare = createBareRepo(genv, root, 'platform');
    work = createWorkRepo(genv, join(root, 'work-platform'));
    cpSync(resolve('examples'), work, { recursive: true });
    git(genv, work, ['add', '-A']);
    git(genv, work, ['commit', '-q', '-m', 'Import the example']);
    push(genv, work, bare);
    url = server.url('platform');
  });

  const edit = (from: string, to: string, message: string, env: NodeJS.ProcessEnv = genv.env): string => {
    const path = join(work, 'templates/queue.yaml');
    writeFileSync(path, readFileSync(path, 'utf8').replace(from, to));
    git({ ...genv, env }, work, ['commit', '-q', '-am', message]);
    return gitText(genv, work, ['rev-parse', 'HEAD']);
  };

  it('skips a 2099-dated commit asked for after a newer one is applied, and applies the commits after it', async () => {
    clearMemoryCache();
    const stateDir = mkdtempSync(join(tmpdir(), 'gitops-history-state-'));
    const state = new FolderStateStore(stateDir);
    const events = new MemoryEventSink();
    const deps: EngineDeps = {
      source: new RemoteSource(url, { cacheDir: mkdtempSync(join(tmpdir(), 'gitops-history-cache-')) }),
      state,
      applier: new LocalApplier({ store: state }),
      drift: new LocalDriftDetector(),
      events,
      clock: steppingClock(),
      logger: silent,
      defaultRegion: 'eu-west-1',
      // The example packages its Lambda code (functions/api), which needs a place to store the zips.
      artifacts: new FolderArtifactStore(stateDir),
    };
    await sync(deps, { environments: ['dev'] });
    // Every stack applied first, so what follows is decided by ancestry alone.
    expect(events.events.filter((e) => e.detailType === 'Sync Failed').map((e) => e.detail.message)).toEqual([]);
    const future = { ...genv.env, GIT_COMMITTER_DATE: '2099-01-01T00:00:00Z', GIT_AUTHOR_DATE: '2099-01-01T00:00:00Z' };
    const dated2099 = edit('VisibilityTimeout: 30', 'VisibilityTimeout: 99', 'Dated 2099', future);
    edit('VisibilityTimeout: 99', 'VisibilityTimeout: 40', 'Normal commit');
    const head = edit('VisibilityTimeout: 40', 'VisibilityTimeout: 41', 'Another normal commit');
    push(genv, work, bare);

    // Three commits after the applied one, fetched at depth 1: ancestry is found by deepening.
    await sync(deps, { environments: ['dev'] });
    expect((await state.getStack('dev/queue'))?.state.lastApplied?.revision).toBe(head);

    // The 2099 commit, asked for now (an old approval, a late request): older by ancestry, so skipped.
    events.events.splice(0);
    const report = await sync(deps, { ref: dated2099, environments: ['dev'] });
    expect(report.plan.entries.filter((e) => e.action === 'superseded').map((e) => e.key)).toEqual(['dev/queue']);
    expect(events.events.map((e) => [e.detailType, e.detail.reason])).toEqual([['Sync Skipped', 'Superseded']]);
    expect((await state.getStack('dev/queue'))?.state.lastApplied?.revision).toBe(head);
  });
});
