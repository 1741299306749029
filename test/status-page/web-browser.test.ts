// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's Locator.innerText is the rendered text a person sees, which is what these tests assert; it is not the DOM property.
/**
 * `gitops status --web` in headless Chromium with 1,000 stacks (paged on the server, 100 rows a page): how long the
 * overview takes to load (printed, and bounded loosely so only a gross regression fails), keyboard use, and
 * screenshots of the views.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderStateStore } from '../../shared/adapters/local/index.ts';
import type { SyncStatus } from '../../shared/model.ts';
import type { Logger } from '../../shared/ports.ts';
import { PAGE_SIZE } from '../../shared/runtime/status-page/model.ts';
import { type StatusServer, startStatusServer } from '../../shared/runtime/status-server.ts';
import { launchBrowser, screenshotPath, type TestBrowser } from './browser.ts';
import { applied, state } from './fixtures.ts';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const ENVIRONMENTS = ['dev', 'qa', 'staging', 'prod'];
const PER_ENVIRONMENT = 250;
const STATUSES: SyncStatus[] = ['Synced', 'Synced', 'Synced', 'OutOfSync', 'Progressing', 'Failed', 'Pending'];

let server: StatusServer;
let browser: TestBrowser;
let page: Page;

beforeAll(async () => {
  const store = new FolderStateStore(mkdtempSync(join(tmpdir(), 'gitops-status-1000-')));
  const writes: Promise<unknown>[] = [];
  for (const env of ENVIRONMENTS) {
    for (let i = 0; i < PER_ENVIRONMENT; i++) {
      const name = `svc-${String(i).padStart(3, '0')}`;
      // Every stack depends on one or two earlier ones: a graph a few levels deep.
      const dependsOn = i === 0 ? [] : [`${env}/svc-${String(Math.floor(i / 2)).padStart(3, '0')}`];
      const sha = (i * 2654435761 + 1).toString(16).padEnd(40, 'e');
      writes.push(
        store.putStack(
          state(env, name, {
            sync: STATUSES[i % STATUSES.length]!,
            dependsOn: i === 0 || i % 3 === 0 ? dependsOn : [...dependsOn, `${env}/svc-000`],
            lastApplied: applied(sha, `https://github.com/acme/infra/commit/${sha}`),
            lastAttempted: {
              revision: sha,
              at: '2024-05-02T09:00:00.000Z',
              result: 'Succeeded',
              reason: 'Applied',
              message: `${name} (${env}) applied ${sha.slice(0, 7)}: 1 modified`,
            },
          }),
        ),
      );
    }
  }
  await Promise.all(writes);
  [server, browser] = await Promise.all([
    startStatusServer({ state: store, port: 0, logger: silent, out: () => {} }),
    launchBrowser(),
  ]);
  page = await browser.context.newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('status page with 1,000 stacks', () => {
  it('loads the overview of 1,000 stacks (its time is printed; bench/ holds time goals)', async () => {
    const timings: number[] = [];
    for (let i = 0; i < 4; i++) {
      const started = performance.now();
      await page.goto(`${server.url}/`, { waitUntil: 'load' });
      timings.push(performance.now() - started);
    }
    // Paged on the server: the first of 10 pages, with a link to the next.
    expect(await page.locator('#rows tr').count()).toBe(PAGE_SIZE);
    expect(await page.locator('#shown').innerText()).toBe('Showing 1–100 of 1000 matching, 1000 stacks (page 1 of 10)');
    expect(await page.locator('a[rel="next"]').getAttribute('href')).toBe('/?page=2');
    const warm = timings.slice(1).sort((a, b) => a - b);
    const median = warm[1]!;
    const nav = (await page.evaluate(
      "(() => { const n = performance.getEntriesByType('navigation')[0]; return { ttfb: n.responseStart - n.startTime, domContentLoaded: n.domContentLoadedEventEnd - n.startTime, load: n.loadEventEnd - n.startTime, bytes: n.transferSize }; })()",
    )) as { ttfb: number; domContentLoaded: number; load: number; bytes: number };
    console.log(
      `status page, 1,000 stacks: first load ${timings[0]!.toFixed(0)} ms, median of 3 warm loads ${median.toFixed(0)} ms ` +
        `(server ${nav.ttfb.toFixed(0)} ms, DOMContentLoaded ${nav.domContentLoaded.toFixed(0)} ms, load ${nav.load.toFixed(0)} ms, ${Math.round(nav.bytes / 1024)} KiB)`,
    );
    await page.screenshot({ path: screenshotPath('web-1000-overview') });
  });

  it('is usable with the keyboard: a skip link first, visible focus, filters reachable', async () => {
    await page.goto(`${server.url}/?env=prod&status=Failed`);
    expect(await page.locator('#shown').innerText()).toMatch(/^Showing \d+ of 250 stacks$/);
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    // The first stop in main is the "All" count link, then the status links, then the filter controls.
    expect(await page.evaluate('document.activeElement.closest("main") !== null')).toBe(true);
    const labels: string[] = [];
    for (let i = 0; i < 9; i++) {
      labels.push(
        String(await page.evaluate('document.activeElement.id || document.activeElement.textContent.trim()')),
      );
      await page.keyboard.press('Tab');
    }
    expect(labels).toContain('f-env');
    expect(labels).toContain('f-status');
    await page.screenshot({ path: screenshotPath('web-filtered-keyboard') });
  });

  it('draws the graph of one environment and explains that this view is read-only', async () => {
    await page.goto(`${server.url}/graph?env=qa`);
    expect(await page.locator('svg a.node').count()).toBe(PER_ENVIRONMENT);
    expect(await page.locator('h2').allInnerTexts()).toEqual(['qa']);
    expect(await page.locator('footer').innerText()).toContain('Live updates and Sync now need gitops dev');
    await page.screenshot({ path: screenshotPath('web-graph') });
    await page.goto(`${server.url}/stacks/qa/svc-007`);
    expect(await page.locator('#plan').innerText()).toContain('no repository');
    await page.screenshot({ path: screenshotPath('web-stack'), fullPage: true });
  });
});
