// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's Locator.innerText is the rendered text a person sees, which is what these tests assert; it is not the DOM property.
/**
 * The status page of `gitops dev`, end to end: a real runtime on a real Git repository, driven in headless Chromium.
 * The tests run in order and share the runtime, as one person's session would.
 */

import { mkdtempSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../shared/ports.ts';
import { type DevRuntime, startDevRuntime } from '../../shared/runtime/dev.ts';
import { launchBrowser, screenshotPath, type TestBrowser } from './browser.ts';
import { makeRepo, networkTemplate, type RepoFixture, sendGithubPush } from './repo-fixture.ts';

const SECRET = 'status-page-test-secret-0123456789';
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

let repo: RepoFixture;
let runtime: DevRuntime;
let browser: TestBrowser;
let page: Page;
const printed: string[] = [];

beforeAll(async () => {
  repo = makeRepo();
  [runtime, browser] = await Promise.all([
    startDevRuntime({
      repo: repo.dir,
      stateDir: mkdtempSync(join(tmpdir(), 'gitops-status-state-')),
      port: 0,
      intervalMs: 3_600_000,
      logger: silent,
      out: (t) => printed.push(t),
      env: { GITOPS_WEBHOOK_SECRET: SECRET },
    }),
    launchBrowser(),
  ]);
  page = await browser.context.newPage();
});

afterAll(async () => {
  await browser?.close();
  await runtime?.close();
});

const rows = () => page.locator('#rows tr');

describe('gitops dev status page', () => {
  it('shows one row per stack and environment with its status, and the counts', async () => {
    const response = await page.goto(`${runtime.url}/`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");

    await expect.poll(() => rows().count()).toBe(6);
    const keys = await rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-key')));
    expect(keys).toEqual(['dev/api', 'dev/data', 'dev/network', 'prod/api', 'prod/data', 'prod/network']);
    const api = page.locator('[id="row-prod/api"]');
    await expect.poll(() => api.locator('td').nth(1).innerText()).toContain('Synced');
    expect(await api.innerText()).toContain('prod-api');
    expect(await page.locator('#counts').innerText()).toMatch(/6\s+All[\s\S]*6\s+Synced[\s\S]*0\s+Failed/);
    expect(await page.locator('#feed li').count()).toBeGreaterThan(0);
    await page.screenshot({ path: screenshotPath('dev-overview'), fullPage: true });
  });

  it('filters by environment and status with query parameters', async () => {
    await page.goto(`${runtime.url}/`);
    await page.getByLabel('Environment', { exact: true }).selectOption('prod');
    await page.waitForURL(/env=prod/);
    expect(await rows().count()).toBe(3);
    expect(await page.locator('#shown').innerText()).toBe('Showing 3 of 3 stacks');

    await page.getByLabel('Sync status', { exact: true }).selectOption('Failed');
    await page.waitForURL(/status=Failed/);
    expect(await rows().count()).toBe(0);
    expect(await page.locator('.empty').innerText()).toContain('No stack matches');

    await page.locator('#counts a', { hasText: 'Synced' }).click();
    await page.waitForURL(/env=prod&status=Synced/);
    expect(await rows().count()).toBe(3);
    await page.screenshot({ path: screenshotPath('dev-filtered'), fullPage: true });
  });

  it('opens a stack page with its history, plan, outputs and events', async () => {
    await page.goto(`${runtime.url}/`);
    await page.locator('[id="row-dev/api"] a', { hasText: 'api' }).first().click();
    await page.waitForURL(/\/stacks\/dev\/api$/);
    expect(await page.locator('h1').innerText()).toContain('api');

    const history = page.locator('#history tbody tr');
    expect(await history.count()).toBe(1);
    expect(await history.first().innerText()).toMatch(/Succeeded[\s\S]*1 added \(Topic\)/);
    expect(await page.locator('#plan').innerText()).toMatch(/noop/i);
    expect(await page.locator('#outputs').innerText()).toContain('TopicArn');
    expect(await page.locator('#feed').innerText()).toContain('Sync Succeeded');
    expect(await page.locator('.facts').innerText()).toMatch(/Depends on\s+network, data/);
    await page.screenshot({ path: screenshotPath('dev-stack'), fullPage: true });
  });

  it('draws the dependsOn graph with links to the stack pages and a text alternative', async () => {
    await page.goto(`${runtime.url}/graph`);
    expect(await page.locator('svg a.node').count()).toBe(6);
    expect(await page.locator('svg path.edge').count()).toBe(6);
    await page.locator('details.graph-text summary').first().click();
    await page.screenshot({ path: screenshotPath('dev-graph'), fullPage: true });
    expect(await page.locator('details.graph-text').first().innerText()).toMatch(
      /api\s+Synced — depends on network, data/,
    );
    await page.locator('svg a.node[href="/stacks/dev/data"]').click();
    await page.waitForURL(/\/stacks\/dev\/data$/);
  });

  it('shows the plan of a new commit, then the sync a signed webhook starts, live', async () => {
    const sha = repo.commit({ 'templates/network.yaml': networkTemplate('10.1.0.0/16') }, 'Widen the network');

    // The plan is computed against the branch head: the commit is there before any sync.
    const planPage = await browser.context.newPage();
    await planPage.goto(`${runtime.url}/stacks/dev/network`);
    expect(await planPage.locator('#plan').innerText()).toMatch(
      /update[\s\S]*1 replaced \(Vpc\)[\s\S]*10\.0\.0\.0\/16[\s\S]*10\.1\.0\.0\/16/i,
    );
    await planPage.close();

    await page.goto(`${runtime.url}/`);
    await page.evaluate('window.__sameDocument = true');
    await expect.poll(() => page.locator('#live').innerText()).toContain('Live');
    const answer = await sendGithubPush(runtime.url, SECRET, sha, 'Widen the network');
    expect(answer.status).toBe(202);

    const network = page.locator('[id="row-dev/network"]');
    await expect.poll(() => network.innerText(), { timeout: 15_000 }).toContain(sha.slice(0, 7));
    await expect.poll(() => page.locator('#feed').innerText()).toMatch(/Sync Succeeded\s+dev\/network/);
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    await page.screenshot({ path: screenshotPath('dev-live'), fullPage: true });
  });

  it('starts a sync with the Sync now button', async () => {
    await page.goto(`${runtime.url}/`);
    const before = printed.filter((t) => t.includes('Sync now from the status page')).length;
    await page.getByRole('button', { name: 'Sync now' }).click();
    await expect.poll(() => page.locator('#sync-status').innerText()).toBe('Sync started');
    await runtime.idle();
    expect(printed.filter((t) => t.includes('Sync now from the status page')).length).toBe(before + 1);
    await page.screenshot({ path: screenshotPath('dev-sync-now'), fullPage: true });
  });

  it('refuses POST /sync from another origin, without the token, or for another host name', async () => {
    await page.goto(`${runtime.url}/`);
    const token = await page.locator('#sync-form input[name="token"]').inputValue();
    expect(token.length).toBeGreaterThanOrEqual(32);
    const syncs = () => printed.filter((t) => t.includes('Sync now from the status page')).length;
    const before = syncs();

    // A page of another origin that knows the token (it cannot, but assume the worst) posts the form.
    const evil = await serve(
      `<!doctype html><form method="post" action="${runtime.url}/sync"><input name="token" value="${token}"><button>go</button></form>`,
    );
    try {
      const other = await browser.context.newPage();
      await other.goto(evil.url);
      const [response] = await Promise.all([
        other.waitForResponse((r) => r.url().endsWith('/sync')),
        other.getByRole('button', { name: 'go' }).click(),
      ]);
      expect(response.status()).toBe(403);
      await other.close();
    } finally {
      evil.server.close();
    }

    // Same origin, but no token.
    expect(await page.evaluate("fetch('/sync', { method: 'POST' }).then((r) => r.status)")).toBe(403);
    expect(
      await page.evaluate(
        "fetch('/sync', { method: 'POST', headers: { 'x-gitops-token': 'wrong' } }).then((r) => r.status)",
      ),
    ).toBe(403);
    // A program that is not a browser page: the token alone is not enough.
    const bare = await fetch(`${runtime.url}/sync`, { method: 'POST', headers: { 'x-gitops-token': token } });
    expect(bare.status).toBe(403);
    // DNS rebinding: a page of evil.example resolved to 127.0.0.1 is refused before it can read the token.
    expect(await statusWithHost(`${runtime.url}/`, `evil.example:${new URL(runtime.url).port}`)).toBe(403);

    await runtime.idle();
    expect(syncs()).toBe(before);

    // The same request from the page itself, with the token, is accepted.
    expect(
      await page.evaluate(
        `fetch('/sync', { method: 'POST', headers: { 'x-gitops-token': ${JSON.stringify(token)}, accept: 'application/json' } }).then((r) => r.status)`,
      ),
    ).toBe(202);
    await runtime.idle();
    expect(syncs()).toBe(before + 1);

    // Without JavaScript the button posts the form: same origin, the token in the body, then back to the overview.
    const form = await fetch(`${runtime.url}/sync`, {
      method: 'POST',
      headers: { origin: runtime.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
      redirect: 'manual',
    });
    expect(form.status).toBe(303);
    expect(form.headers.get('location')).toBe('/?sync=started');
    await runtime.idle();
    expect(syncs()).toBe(before + 2);
  });

  it('closes the runtime while a page still listens to the live stream', async () => {
    await page.goto(`${runtime.url}/`);
    await page.waitForTimeout(200);
    // A live stream left open would keep close() waiting forever; resolving at all is the proof.
    await runtime.close();
  });
});

async function serve(body: string): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

function statusWithHost(url: string, host: string): Promise<number> {
  return new Promise((ok, fail) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    });
    req.on('error', fail);
    req.end();
  });
}
