/**
 * `gitops dev` with pull-request deliveries: a signed pull_request to /webhook is previewed against the state folder,
 * printed, listed on /previews with its diff, and forgotten when the pull request closes.
 */
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogger } from '../../shared/log.ts';
import type { OpenPreview } from '../../shared/preview/open-previews.ts';
import { type DevRuntime, startDevRuntime } from '../../shared/runtime/dev.ts';
import { createWorkRepo, git, gitText, makeGitEnv } from '../helpers/git-repo.ts';
import { fixture, hmac } from '../webhook/deliveries.ts';
import { renameOrdersTable } from './example-repo.ts';

const SECRET = 'dev-preview-secret-0123456789';
const genv = makeGitEnv();
let dir: string;
let runtime: DevRuntime;
const printed: string[] = [];

beforeAll(async () => {
  dir = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-dev-preview-')));
  cpSync(resolve('examples'), dir, { recursive: true });
  git(genv, dir, ['add', '-A']);
  git(genv, dir, ['commit', '-qm', 'Import the example']);
  runtime = await startDevRuntime({
    repo: dir,
    stateDir: mkdtempSync(join(tmpdir(), 'gitops-dev-preview-state-')),
    port: 0,
    intervalMs: 3_600_000,
    logger: consoleLogger({ level: 'error' }),
    out: (t) => printed.push(t),
    env: { GITOPS_WEBHOOK_SECRET: SECRET },
  });
}, 120_000);

afterAll(async () => {
  await runtime?.close();
});

async function deliver(action: string, sha: string, id: string): Promise<Response> {
  const p = JSON.parse(fixture(`github-pull-request-${action}`).toString('utf8'));
  p.pull_request.base.ref = 'main';
  p.pull_request.head.ref = 'rename-orders';
  p.pull_request.head.sha = sha;
  const body = JSON.stringify(p);
  return fetch(`${runtime.url}/webhook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'pull_request',
      'x-github-delivery': id,
      'x-hub-signature-256': hmac(body, SECRET),
    },
    body,
  });
}

describe('gitops dev previews pull requests', () => {
  it('prints the preview, lists it on /previews with its diff, and drops it when the pull request closes', async () => {
    git(genv, dir, ['checkout', '-q', '-b', 'rename-orders']);
    const { writeFileSync, readFileSync } = await import('node:fs');
    const file = join(dir, 'templates/data.yaml');
    writeFileSync(file, renameOrdersTable(readFileSync(file, 'utf8')));
    git(genv, dir, ['commit', '-qam', 'Name the orders table']);
    const sha = gitText(genv, dir, ['rev-parse', 'HEAD']);
    git(genv, dir, ['checkout', '-q', 'main']);

    const res = await deliver('opened', sha, 'dev-pr-1');
    expect(res.status).toBe(202);
    await runtime.previews.idle();

    const out = printed.join('');
    expect(out).toContain(`preview of #2 (github):\nPreview of rename-orders at ${sha.slice(0, 7)} into main`);
    expect(out).toContain('dev/data  dev-data (eu-west-1)  update: 1 replaced');

    const list = (await (await fetch(`${runtime.url}/api/previews`)).json()) as OpenPreview[];
    expect(list.map((o) => [o.key, o.requested, o.preview?.stacks.length])).toEqual([
      ['github:Codertocat/Hello-World#2', sha, 3],
    ]);
    const page = await (await fetch(`${runtime.url}/previews`)).text();
    expect(page).toContain('#2 Update the README with new information.');
    expect(page).toContain('3 to update (3 replacing resources)');
    expect(page).toContain('TableName (requires replacement)');
    expect(page).toContain('href="/previews"');

    expect((await deliver('closed', sha, 'dev-pr-2')).status).toBe(202);
    await runtime.previews.idle();
    expect(await (await fetch(`${runtime.url}/api/previews`)).json()).toEqual([]);
    expect(runtime.events.events.filter((e) => e.detailType === 'Preview Ready')).toHaveLength(1);
  });
});
