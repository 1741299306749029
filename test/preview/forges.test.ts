/**
 * A pull request from delivery to where reviewers look, against local stand-ins of the GitHub, GitLab and Bitbucket
 * APIs: one comment per pull request, edited in place on every new push (never posted again), a status on the head
 * commit, `Preview Ready` on the bus; and a fork's pull request never gets a change set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GitOpsEvent } from '../../shared/events/catalog.ts';
import { forgeFor } from '../../shared/forges/index.ts';
import { consoleLogger } from '../../shared/log.ts';
import type { ApplyRequest, Secrets } from '../../shared/ports.ts';
import { PREVIEW_MARKER } from '../../shared/preview/markdown.ts';
import { type PreviewRun, runPreview } from '../../shared/preview/run.ts';
import { DeliveryDedupe } from '../../shared/webhook/dedupe.ts';
import { handleWebhook } from '../../shared/webhook/handle.ts';
import type { Provider } from '../../shared/webhook/types.ts';
import { type ForgeStandin, startForgeStandin } from '../helpers/forge-standin.ts';
import { git } from '../helpers/git-repo.ts';
import { delivery, fixture, SECRET } from '../webhook/deliveries.ts';
import { type ExampleRepo, renameExportsBucket, renameOrdersTable, syncedExample } from './example-repo.ts';

let example: ExampleRepo;
let forge: ForgeStandin;
let first: string;
let second: string;

beforeAll(async () => {
  example = await syncedExample();
  forge = await startForgeStandin();
  first = example.branch('rename-orders', { 'templates/data.yaml': renameOrdersTable }, 'Name the orders table');
  second = example.branch(
    'rename-orders',
    { 'templates/data.yaml': renameExportsBucket },
    'Name the exports bucket',
    'rename-orders',
  );
  // Re-point the branch at the first commit; the test moves it to `second` as the "new push".
  git(example.genv, example.dir, ['branch', '-f', 'rename-orders', first]);
}, 120_000);

afterAll(async () => {
  await forge?.close();
});

const tokens: Record<string, string> = {
  'github-token': 'ghp_previewTestToken000000000000000000',
  'gitlab-token': 'glpat-previewTestToken0000',
  'bitbucket-token': 'bb-previewTestToken0000',
};

function harness(options: { secrets?: Record<string, string>; changeSets?: boolean } = {}) {
  const events: GitOpsEvent[] = [];
  const runs: PreviewRun[] = [];
  const previewCalls: ApplyRequest[] = [];
  const secrets: Secrets = { get: async (name) => (options.secrets ?? tokens)[name] };
  const deps = example.deps();
  const runDeps = {
    ...deps,
    applier: {
      ...deps.applier,
      preview: async (request: ApplyRequest) => {
        previewCalls.push(request);
        return deps.applier.preview(request);
      },
    },
    events: { publish: async (e: readonly GitOpsEvent[]) => void events.push(...e) },
    changeSets: options.changeSets ?? false,
    forge: (pr: { provider: Provider }) =>
      forgeFor(pr.provider, {
        secrets,
        apiBaseUrls: {
          github: `${forge.url}/github`,
          gitlab: `${forge.url}/gitlab`,
          bitbucket: `${forge.url}/bitbucket`,
        },
      }),
  };
  const dedupe = new DeliveryDedupe({ clock: { now: () => new Date() } });
  const deliver = async (req: ReturnType<typeof delivery>) =>
    handleWebhook(req, {
      secret: async () => SECRET,
      dedupe,
      logger: consoleLogger({ level: 'error' }),
      onPush: async () => ({ ignored: 'not under test' }),
      onPullRequest: async (pr) => {
        if (pr.action === 'update') runs.push(await runPreview(runDeps, pr));
      },
    });
  return { events, runs, previewCalls, deliver };
}

// biome-ignore lint/suspicious/noExplicitAny: the edits reach deep into the forges' payloads
function payload(name: string, edit: (p: Record<string, any>) => void): Buffer {
  const p = JSON.parse(fixture(name).toString('utf8'));
  edit(p);
  return Buffer.from(JSON.stringify(p));
}

const callsTo = (prefix: string) => forge.calls.filter((c) => c.path.startsWith(prefix));
const moveBranch = (sha: string) => git(example.genv, example.dir, ['branch', '-f', 'rename-orders', sha]);

describe('GitHub: one issue comment edited in place, commit statuses, Preview Ready', () => {
  it('posts on opened, edits on synchronize, and says which commit each version describes', async () => {
    moveBranch(first);
    const h = harness();
    const pr = (name: string, sha: string) =>
      payload(name, (p) => {
        p.pull_request.base.ref = 'main';
        p.pull_request.head.ref = 'rename-orders';
        p.pull_request.head.sha = sha;
      });
    const opened = await h.deliver(
      delivery('github', 'pull_request', pr('github-pull-request-opened', first), {}, 'gh-1'),
    );
    expect(opened.status).toBe(202);
    moveBranch(second);
    await h.deliver(delivery('github', 'pull_request', pr('github-pull-request-synchronize', second), {}, 'gh-2'));

    const comments = forge.comments.get('/github/repos/Codertocat/Hello-World/issues/2/comments') ?? [];
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body.startsWith(PREVIEW_MARKER)).toBe(true);
    expect(comments[0]?.body).toContain(`Commit \`${second.slice(0, 7)}\``);
    expect(comments[0]?.body).toContain('`Exports`');

    const writes = callsTo('/github').filter((c) => c.method !== 'GET' && c.path.includes('comments'));
    expect(writes.map((c) => c.method)).toEqual(['POST', 'PATCH']);
    const statuses = callsTo('/github').filter((c) => c.path.includes('/statuses/'));
    expect(statuses.map((c) => c.path.split('/').at(-1))).toEqual([first, second]);
    expect(statuses.map((c) => (c.body as { state: string }).state)).toEqual(['success', 'success']);
    expect(statuses[1]?.body).toMatchObject({ context: 'lambda-gitops/preview' });
    expect(new Set(callsTo('/github').map((c) => c.auth))).toEqual(new Set([`Bearer ${tokens['github-token']}`]));

    const ready = h.events.filter((e) => e.detailType === 'Preview Ready');
    expect(ready).toHaveLength(2);
    expect(ready[1]?.detail).toMatchObject({
      revision: second,
      branch: 'main',
      data: { pullRequest: 2, counts: { update: 3, replace: 3, create: 0, removed: 0, failed: 0, unchanged: 12 } },
    });
    expect(JSON.stringify(h.events)).not.toContain(tokens['github-token']);
  });

  it('uses a check run instead of a commit status when an app token is configured', async () => {
    moveBranch(first);
    forge.calls.length = 0;
    const h = harness({ secrets: { ...tokens, 'github-app-token': 'ghs_appInstallationToken0000' } });
    const body = payload('github-pull-request-reopened', (p) => {
      p.number = 41;
      p.pull_request.number = 41;
      p.pull_request.base.ref = 'main';
      p.pull_request.head.ref = 'rename-orders';
      p.pull_request.head.sha = first;
    });
    await h.deliver(delivery('github', 'pull_request', body, {}, 'gh-app'));
    const check = forge.calls.find((c) => c.path.endsWith('/check-runs'));
    expect(check?.auth).toBe('Bearer ghs_appInstallationToken0000');
    expect(check?.body).toMatchObject({ name: 'lambda-gitops/preview', head_sha: first, conclusion: 'success' });
    expect(forge.calls.some((c) => c.path.includes('/statuses/'))).toBe(false);
  });

  it("a fork's pull request is rendered from refs/pull/N/head, offline: no change set even with change sets on", async () => {
    git(example.genv, example.dir, ['update-ref', 'refs/pull/77/head', first]);
    const h = harness({ changeSets: true });
    const body = payload('github-pull-request-opened', (p) => {
      p.number = 77;
      p.pull_request.number = 77;
      p.pull_request.base.ref = 'main';
      p.pull_request.head.ref = 'main';
      p.pull_request.head.sha = first;
      p.pull_request.head.repo.full_name = 'mallory/Hello-World';
    });
    await h.deliver(delivery('github', 'pull_request', body, {}, 'gh-fork'));
    expect(h.previewCalls).toEqual([]);
    const run = h.runs[0];
    expect(run?.kind === 'published' && run.preview.mode).toBe('offline');
    expect(run?.kind === 'published' && run.preview.head.sha).toBe(first);
    expect(forge.comments.get('/github/repos/Codertocat/Hello-World/issues/77/comments')?.[0]?.body).toContain(
      'nothing of this pull request ran in AWS',
    );
  });

  it('a same-repository pull request gets change sets only when the installation opts in', async () => {
    moveBranch(first);
    const h = harness({ changeSets: true });
    const body = payload('github-pull-request-opened', (p) => {
      p.number = 78;
      p.pull_request.number = 78;
      p.pull_request.base.ref = 'main';
      p.pull_request.head.ref = 'rename-orders';
      p.pull_request.head.sha = first;
    });
    await h.deliver(delivery('github', 'pull_request', body, {}, 'gh-cs'));
    expect(h.previewCalls.map((r) => r.rendered.key).sort()).toEqual(['dev/data', 'prod/data', 'staging/data']);
  });
});

describe('GitLab: one merge-request note edited in place, commit statuses', () => {
  it('posts on open, edits on update with new commits', async () => {
    moveBranch(first);
    const h = harness();
    const mr = (action: string, sha: string) =>
      payload('gitlab-merge-request-open', (p) => {
        p.object_attributes.action = action;
        p.object_attributes.target_branch = 'main';
        p.object_attributes.source_branch = 'rename-orders';
        p.object_attributes.last_commit.id = sha;
        if (action === 'update') p.object_attributes.oldrev = first;
      });
    await h.deliver(delivery('gitlab', 'Merge Request Hook', mr('open', first), {}, 'gl-1'));
    moveBranch(second);
    await h.deliver(delivery('gitlab', 'Merge Request Hook', mr('update', second), {}, 'gl-2'));

    const notes = forge.comments.get('/gitlab/projects/1/merge_requests/1/notes') ?? [];
    expect(notes).toHaveLength(1);
    expect(notes[0]?.body).toContain(`Commit \`${second.slice(0, 7)}\``);
    const writes = callsTo('/gitlab').filter((c) => c.method !== 'GET' && c.path.includes('notes'));
    expect(writes.map((c) => c.method)).toEqual(['POST', 'PUT']);
    const statuses = callsTo('/gitlab/projects/1/statuses/');
    expect(statuses.map((c) => [c.path.split('/').at(-1), (c.body as { state: string }).state])).toEqual([
      [first, 'success'],
      [second, 'success'],
    ]);
    expect(statuses[0]?.auth).toBe(tokens['gitlab-token']);
  });
});

describe('Bitbucket Cloud: one pull-request comment edited in place, build statuses', () => {
  it('posts on created, edits on updated; the status goes on the full commit the preview rendered', async () => {
    moveBranch(first);
    const h = harness();
    const pr = (sha: string) =>
      payload('bitbucket-pullrequest-created', (p) => {
        p.pullrequest.destination.branch.name = 'main';
        p.pullrequest.source.branch.name = 'rename-orders';
        p.pullrequest.source.commit.hash = sha.slice(0, 12);
      });
    await h.deliver(delivery('bitbucket', 'pullrequest:created', pr(first), {}, 'bb-1'));
    moveBranch(second);
    await h.deliver(delivery('bitbucket', 'pullrequest:updated', pr(second), {}, 'bb-2'));

    const comments = forge.comments.get('/bitbucket/repositories/acme/infra/pullrequests/7/comments') ?? [];
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toContain(`Commit \`${second.slice(0, 7)}\``);
    const writes = callsTo('/bitbucket').filter((c) => c.method !== 'GET' && c.path.includes('comments'));
    expect(writes.map((c) => c.method)).toEqual(['POST', 'PUT']);
    const statuses = callsTo('/bitbucket').filter((c) => c.path.endsWith('/statuses/build'));
    expect(statuses.map((c) => c.path.split('/').at(-3))).toEqual([first, second]);
    expect(statuses[1]?.body).toMatchObject({
      state: 'SUCCESSFUL',
      url: 'https://bitbucket.org/acme/infra/pull-requests/7',
    });
  });
});
