/**
 * `gitops status --web` over plain HTTP: the page a browser without JavaScript gets, read from a state folder.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderStateStore } from '../../shared/adapters/local/index.ts';
import type { GitOpsEvent } from '../../shared/events/catalog.ts';
import { emptyChanges } from '../../shared/model.ts';
import type { Logger } from '../../shared/ports.ts';
import { type StatusServer, serveStatusPage, startStatusServer } from '../../shared/runtime/status-server.ts';
import { applied, history, state } from './fixtures.ts';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const SHA = '0123456789abcdef0123456789abcdef01234567';

let dir: string;
let server: StatusServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gitops-status-web-'));
  const store = new FolderStateStore(dir);
  await store.putStack(
    state('prod', 'web', {
      sync: 'Failed',
      dependsOn: ['prod/db'],
      lastApplied: applied(SHA, 'https://github.com/acme/infra/commit/0123456', { Url: 'https://web.example.com' }),
      lastAttempted: {
        revision: SHA,
        at: '2024-05-02T09:00:00.000Z',
        result: 'Failed',
        reason: 'ChangeSetFailed',
        message: 'web (prod) failed: <script>alert(1)</script> Resource handler returned message',
      },
      drift: {
        status: 'Drifted',
        checkedAt: '2024-05-02T10:00:00.000Z',
        resources: [
          {
            logicalId: 'Bucket',
            type: 'AWS::S3::Bucket',
            physicalId: 'web-bucket-1',
            status: 'MODIFIED',
            differences: [
              { path: 'VersioningConfiguration.Status', expected: 'Enabled', actual: 'Suspended', kind: 'NOT_EQUAL' },
            ],
          },
        ],
      },
    }),
  );
  await store.putStack(state('prod', 'db'));
  await store.putStack(state('dev', 'web', { sync: 'OutOfSync' }));
  await store.appendHistory(
    history('prod/web', '2024-05-01T10:00:00.000Z', {
      changes: { ...emptyChanges(), added: ['Bucket'], replaced: ['Distribution'] },
      commit: { sha: SHA, message: 'Serve the site from S3' },
    }),
  );
  const event: GitOpsEvent = {
    source: 'lambda-gitops',
    detailType: 'Drift Detected',
    time: '2024-05-02T10:00:00.000Z',
    detail: { stack: 'web', environment: 'prod', reason: 'Drifted', severity: 'warning', message: 'Bucket drifted' },
  };
  writeFileSync(join(dir, 'events.jsonl'), `{"cut off line\n${JSON.stringify(event)}\n`);
  server = await startStatusServer({ state: store, port: 0, logger: silent, out: () => {} });
});

afterAll(async () => {
  await server?.close();
});

describe('gitops status --web', () => {
  it('renders the overview as plain HTML: rows, counts and filters work without JavaScript', async () => {
    const res = await fetch(`${server.url}/`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const rows = [...text.matchAll(/<tr id="row-([^"]+)"/g)].map((m) => m[1]);
    expect(rows).toEqual(['dev/web', 'prod/db', 'prod/web']);
    expect(text).toContain('<form class="filters" method="get" action="/"');
    expect(text).toMatch(/<a href="\/\?status=Failed">\s*<span class="count">1<\/span>/);
    expect(text).toContain('href="https://github.com/acme/infra/commit/0123456"');
    expect(text).toContain('Drifted (1)');
    expect(text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(text).not.toContain('<script>alert');
    // Read-only: no Sync now form and no live stream.
    expect(text).not.toContain('action="/sync"');

    const filtered = await (await fetch(`${server.url}/?env=prod&status=Failed`)).text();
    expect([...filtered.matchAll(/<tr id="row-([^"]+)"/g)].map((m) => m[1])).toEqual(['prod/web']);
    expect(filtered).toContain('Showing 1 of 2 stacks');
  });

  it('sends the security headers', async () => {
    const res = await fetch(`${server.url}/`);
    expect(res.headers.get('content-security-policy')).toMatch(
      /default-src 'none'; script-src 'self'; style-src 'self'/,
    );
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });

  it('shows a stack: drift differences, outputs, history with change summaries, events from events.jsonl', async () => {
    const text = await (await fetch(`${server.url}/stacks/prod/web`)).text();
    expect(text).toContain('VersioningConfiguration.Status');
    expect(text).toMatch(/Enabled[\s\S]*Suspended/);
    expect(text).toContain('https://web.example.com');
    expect(text).toContain('1 added (Bucket), 1 replaced (Distribution)');
    expect(text).toContain('Serve the site from S3');
    expect(text).toMatch(/Drift Detected[\s\S]*Bucket drifted/);
    expect(text).toContain('has no repository, so it cannot compute the plan');
  });

  it('answers 404 for unknown stacks, and refuses what only gitops dev offers', async () => {
    expect((await fetch(`${server.url}/stacks/prod/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/stacks/prod/..%2F..%2Fetc`)).status).toBe(404);
    expect((await fetch(`${server.url}/events`)).status).toBe(404);
    expect((await fetch(`${server.url}/sync`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${server.url}/`, { method: 'DELETE' })).status).toBe(405);
  });

  it('answers only requests addressed to the loopback host', async () => {
    const port = new URL(server.url).port;
    expect(await statusWithHost(`${server.url}/`, `localhost:${port}`)).toBe(200);
    expect(await statusWithHost(`${server.url}/`, `rebind.example:${port}`)).toBe(403);
  });

  it('serveStatusPage prints the address, serves, and returns once stopped', async () => {
    const printed: string[] = [];
    const store = new FolderStateStore(dir);
    const stop = new AbortController();
    const done = serveStatusPage({
      state: store,
      port: 0,
      logger: silent,
      out: (t) => printed.push(t),
      signal: stop.signal,
    });
    await expect.poll(() => printed.join('')).toMatch(/status page: http:\/\/127\.0\.0\.1:\d+\//);
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(printed.join(''))![0];
    expect((await fetch(`${url}/graph`)).status).toBe(200);
    stop.abort();
    await done;
  });
});

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
