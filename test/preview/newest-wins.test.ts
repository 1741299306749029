/**
 * A burst of pushes to one pull request leaves only the newest preview: the run in flight is overtaken and publishes
 * nothing, the ones waiting collapse into one run of the newest, and the comment names the newest commit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GitOpsEvent } from '../../shared/events/catalog.ts';
import { forgeFor } from '../../shared/forges/index.ts';
import { OpenPreviews } from '../../shared/preview/open-previews.ts';
import type { PreviewRun } from '../../shared/preview/run.ts';
import type { PullRequest } from '../../shared/webhook/pull-request.ts';
import { type ForgeStandin, startForgeStandin } from '../helpers/forge-standin.ts';
import { git } from '../helpers/git-repo.ts';
import { type ExampleRepo, renameExportsBucket, renameOrdersTable, syncedExample } from './example-repo.ts';

let example: ExampleRepo;
let forge: ForgeStandin;

beforeAll(async () => {
  example = await syncedExample();
  forge = await startForgeStandin();
}, 120_000);

afterAll(async () => {
  await forge?.close();
});

const pr = (headSha: string, action: PullRequest['action'] = 'update'): PullRequest => ({
  kind: 'pull-request',
  action,
  provider: 'github',
  deliveryId: `d-${headSha.slice(0, 7)}-${action}`,
  repoUrl: 'https://github.com/acme/infra.git',
  repoName: 'acme/infra',
  number: 9,
  baseBranch: 'main',
  headBranch: 'burst',
  headSha,
  fromFork: false,
  draft: false,
});

describe('OpenPreviews', () => {
  it('keeps only the newest of a burst of pushes', async () => {
    const a = example.branch('burst', { 'templates/data.yaml': renameOrdersTable }, 'one');
    const b = example.branch('burst', { 'templates/data.yaml': renameExportsBucket }, 'two', 'burst');
    const c = example.branch(
      'burst',
      { 'templates/queue.yaml': (t) => t.replace('VisibilityTimeout: 30', 'VisibilityTimeout: 45') },
      'three',
      'burst',
    );
    const events: GitOpsEvent[] = [];
    const runs: [string, PreviewRun][] = [];
    const open = new OpenPreviews({
      deps: {
        ...example.deps(),
        events: { publish: async (e) => void events.push(...e) },
        forge: () =>
          forgeFor('github', {
            secrets: { get: async (n) => (n === 'github-token' ? 'ghp_burstToken00000000000000000000000' : undefined) },
            apiBaseUrls: { github: `${forge.url}/github` },
          }),
      },
      onRun: (p, run) => runs.push([p.headSha, run]),
    });

    // Three deliveries in one go, as a force-push burst arrives; the branch already points at the newest.
    await Promise.all([open.schedule(pr(a)), open.schedule(pr(b)), open.schedule(pr(c))]);
    await open.idle();

    expect(runs.map(([sha, run]) => [sha, run.kind])).toEqual([
      [a, 'superseded'],
      [c, 'published'],
    ]);
    const comments = forge.comments.get('/github/repos/acme/infra/issues/9/comments') ?? [];
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toContain(`Commit \`${c.slice(0, 7)}\``);
    const statuses = forge.calls.filter((x) => x.path.includes('/statuses/'));
    expect(statuses.map((x) => x.path.split('/').at(-1))).toEqual([c]);
    expect(events.filter((e) => e.detailType === 'Preview Ready').map((e) => e.detail.revision)).toEqual([c]);

    expect(open.list().map((o) => [o.key, o.requested, o.preview?.head.sha])).toEqual([['github:acme/infra#9', c, c]]);
  });

  it('a close forgets the pull request, and a run still in flight for it publishes nothing', async () => {
    const sha = git(example.genv, example.dir, ['rev-parse', 'burst']).toString().trim();
    const before = forge.calls.length;
    const kinds: string[] = [];
    const open = new OpenPreviews({
      deps: {
        ...example.deps(),
        events: { publish: async () => {} },
        forge: () =>
          forgeFor('github', {
            secrets: { get: async (n) => (n === 'github-token' ? 'ghp_burstToken00000000000000000000000' : undefined) },
            apiBaseUrls: { github: `${forge.url}/github` },
          }),
      },
      onRun: (_p, run) => kinds.push(run.kind),
    });
    const running = open.schedule({ ...pr(sha), number: 10 });
    await open.schedule({ ...pr(sha, 'close'), number: 10 });
    await running;
    expect(open.list()).toEqual([]);
    expect(kinds).toEqual(['superseded']);
    expect(forge.calls.length).toBe(before);
  });
});
