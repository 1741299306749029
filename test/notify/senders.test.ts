import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DetailType } from '../../shared/events/catalog.ts';
import { GitHubStatusNotifier } from '../../shared/notify/github-status.ts';
import { SlackNotifier } from '../../shared/notify/slack-notifier.ts';
import type { Secrets } from '../../shared/ports.ts';
import { event, failed, SHA } from './events.ts';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let server: http.Server;
let base: string;
let seen: Seen[] = [];
let answer = { status: 201, body: '{}' };

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});
beforeEach(() => {
  seen = [];
  answer = { status: 201, body: '{}' };
});

const secrets = (values: Record<string, string>): Secrets => ({ get: async (n) => values[n] });
const TOKEN = 'ghp_0123456789abcdefghij0123456789abcdef';

describe('GitHubStatusNotifier against a loopback GitHub Enterprise API', () => {
  it('POSTs the status to {apiBase}/repos/{owner}/{repo}/statuses/{sha} with the token', async () => {
    await new GitHubStatusNotifier({ secrets: secrets({ 'github-token': TOKEN }), apiBaseUrl: `${base}/api/v3/` }).send(
      failed(),
    );
    expect(seen).toHaveLength(1);
    const [req] = seen;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe(`/api/v3/repos/acme/infra/statuses/${SHA}`);
    expect(req?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req?.headers.accept).toBe('application/vnd.github+json');
    const body = JSON.parse(req?.body ?? '{}');
    expect(body).toMatchObject({ state: 'failure', context: 'lambda-gitops/prod/web' });
    expect(body.description.length).toBeLessThanOrEqual(140);
    expect(body.sha).toBeUndefined();
  });

  it('sends nothing for events that set no status', async () => {
    await new GitHubStatusNotifier({ secrets: secrets({ 'github-token': TOKEN }), apiBaseUrl: base }).send(
      event(DetailType.DriftDetected, { reason: 'Drifted' }),
    );
    expect(seen).toHaveLength(0);
  });

  it.each([
    { status: 422, retryable: false },
    { status: 502, retryable: true },
  ])(
    'reports a $status answer as PublishFailed (retryable: $retryable) without the token',
    async ({ status, retryable }) => {
      answer = { status, body: '{"message":"Validation Failed"}' };
      const err = await new GitHubStatusNotifier({ secrets: secrets({ 'github-token': TOKEN }), apiBaseUrl: base })
        .send(event(DetailType.SyncSucceeded))
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ reason: 'PublishFailed', retryable });
      expect((err as Error).message).toContain(String(status));
      expect((err as Error).message).not.toContain(TOKEN);
    },
  );

  it('refuses to run without a token', async () => {
    await expect(
      new GitHubStatusNotifier({ secrets: secrets({}), apiBaseUrl: base }).send(failed()),
    ).rejects.toMatchObject({
      reason: 'SecretMissing',
    });
    expect(seen).toHaveLength(0);
  });
});

describe('SlackNotifier against a loopback webhook', () => {
  it('posts the Block Kit message to the webhook URL from Secrets', async () => {
    await new SlackNotifier({ secrets: secrets({ 'slack-webhook-url': `${base}/services/T000/B000/XXXX` }) }).send(
      failed(),
    );
    expect(seen[0]?.url).toBe('/services/T000/B000/XXXX');
    const body = JSON.parse(seen[0]?.body ?? '{}');
    expect(body.text).toContain('prod/web: sync failed');
    expect(JSON.stringify(body.blocks)).toContain('Bucket (AWS::S3::Bucket)');
  });

  it('keeps the webhook URL out of its errors', async () => {
    answer = { status: 404, body: 'no_service' };
    const url = `${base}/services/T000/B000/SECRETPATH`;
    const err = await new SlackNotifier({ secrets: secrets({ 'slack-webhook-url': url }) })
      .send(failed())
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'PublishFailed' });
    expect((err as Error).message).not.toContain('SECRETPATH');
  });
});
