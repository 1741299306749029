/**
 * End to end on the local runtime, with canary secrets. A real Git server (git http-backend, Basic auth with the git
 * token), `gitops dev` pointed at its http URL: signed commit → signed webhook → sync → apply → events; an unsigned
 * commit refused; a lost webhook caught by the drift check → Out Of Sync → a Slack alert (to a loopback receiver, its
 * URL read from SSM). Along the way the bad paths run too: bad deliveries, a fetch with a wrong token (read from
 * SSM), a failing stack, every notification format. The canaries — the webhook secret, the git token and the SSM
 * value — must appear in no log line, printed line, event, state file, rendered artifact, alert or error message.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SsmSecrets } from '../../shared/adapters/aws/secrets-ssm.ts';
import type { GitOpsEvent } from '../../shared/events/catalog.ts';
import { consoleLogger } from '../../shared/log.ts';
import { formatChatNotification, formatPlainText, formatSlack, SlackNotifier } from '../../shared/notify/index.ts';
import { type DevRuntime, startDevRuntime } from '../../shared/runtime/dev.ts';
import { RemoteSource } from '../../shared/source/index.ts';
import { commitFiles, createBareRepo, createWorkRepo, type GitEnv, makeGitEnv, push } from '../helpers/git-repo.ts';
import { type GitServer, startGitServer } from '../helpers/git-server.ts';
import { commitSigned, makeKey, type TestKey } from '../signing/signed-commit.ts';
import { BASE_FILES, GITOPS, readTree } from './fixture.ts';

const CANARY = {
  webhook: 'canary-webhook-secret-5f3a9c1e7d',
  token: 'canary-git-token-8b2e4d6f0a',
  ssm: 'canary-ssm-value-3c7a1b9e5d',
} as const;

const ssm = mockClient(SSMClient);
let genv: GitEnv;
let server: GitServer;
let work: string;
let bare: string;
let stateDir: string;
let runtime: DevRuntime;
let key: TestKey;
let receiver: http.Server;
let receiverUrl: string;
const alerts: string[] = [];
const logs: string[] = [];
const printed: string[] = [];
const errors: string[] = [];
let failNextAlert = false;

const gitops = (keys: string[]) => `${GITOPS}signing:\n  keys: [${keys.map((k) => JSON.stringify(k)).join(', ')}]\n`;

function webhook(sha: string, secret: string = CANARY.webhook) {
  const body = JSON.stringify({
    ref: 'refs/heads/main',
    before: '0'.repeat(40),
    after: sha,
    repository: { full_name: 'acme/infra', clone_url: server.url('infra') },
    head_commit: { id: sha, message: 'change', timestamp: new Date().toISOString(), author: { name: 'Ada' } },
  });
  return fetch(`${runtime.url}/webhook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    },
    body,
  });
}

const stack = async (name: string) => {
  const res = await fetch(`${runtime.url}/api/status`);
  const rows = (await res.json()) as { key: string; appliedRevision?: string; sync: string; lastReason?: string }[];
  return rows.find((r) => r.key === `dev/${name}`);
};
const events = () => runtime.events.events;
const since = (n: number) => events().slice(n);

beforeAll(async () => {
  process.env['GITOPS_GIT_TOKEN'] = CANARY.token;
  process.env['XDG_CACHE_HOME'] = mkdtempSync(join(tmpdir(), 'gitops-rel-cache-'));
  key = await makeKey('Release Signer');
  genv = makeGitEnv();
  const root = mkdtempSync(join(tmpdir(), 'gitops-rel-e2e-'));
  server = await startGitServer({ root, env: genv.env, auth: { username: 'x-access-token', password: CANARY.token } });
  bare = createBareRepo(genv, root, 'infra');
  work = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-rel-e2e-work-')));
  await commitSigned(genv, work, { ...BASE_FILES, 'gitops.yaml': gitops([key.publicArmored]) }, 'Desired state', key);
  push(genv, work, bare);
  stateDir = mkdtempSync(join(tmpdir(), 'gitops-rel-e2e-state-'));

  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      alerts.push(body);
      if (failNextAlert) {
        failNextAlert = false;
        // A misbehaving receiver that echoes the URL it was called on, secret path and all.
        res.writeHead(500).end(`no such hook: ${req.url}`);
        return;
      }
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/services/T0/B0/${CANARY.ssm}`;
  ssm
    .on(GetParameterCommand, { Name: '/lambda-gitops/slack-webhook-url' })
    .resolves({ Parameter: { Value: receiverUrl } });
  ssm.on(GetParameterCommand, { Name: '/lambda-gitops/git-token' }).resolves({ Parameter: { Value: CANARY.ssm } });

  runtime = await startDevRuntime({
    repo: server.url('infra'),
    stateDir,
    port: 0,
    intervalMs: 3_600_000,
    logger: consoleLogger({ level: 'debug', stream: { write: (l: string) => logs.push(l) } }),
    out: (t) => printed.push(t),
    env: { GITOPS_WEBHOOK_SECRET: CANARY.webhook },
  });
});

afterAll(async () => {
  await runtime?.close();
  await server?.close();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
});

describe('end to end on gitops dev against a real Git server, with canary secrets', () => {
  it('applies the signed first commit on start', async () => {
    expect((await stack('app'))?.appliedRevision).toMatch(/^[0-9a-f]{40}$/);
    expect((await stack('web'))?.sync).toBe('Synced');
  });

  it('commit → signed webhook → sync → apply → events', async () => {
    const from = events().length;
    const sha = await commitSigned(
      genv,
      work,
      { 'templates/app.yaml': BASE_FILES['templates/app.yaml']!.replace('30', '45') },
      'Longer visibility',
      key,
    );
    push(genv, work, bare);
    const res = await webhook(sha);
    expect(res.status).toBe(202);
    await runtime.idle();
    expect((await stack('app'))?.appliedRevision).toBe(sha);
    expect(since(from).map((e) => e.detailType)).toEqual(['Apply Requested', 'Sync Succeeded']);
    expect(since(from)[1]?.detail).toMatchObject({ stack: 'app', revision: sha, repo: server.url('infra') });
  });

  it('refuses a delivery signed with another secret, and changes nothing', async () => {
    const before = readTree(stateDir);
    const res = await webhook('f'.repeat(40), 'not-the-secret');
    expect(res.status).toBe(401);
    await runtime.idle();
    expect(readTree(stateDir)).toEqual(before);
  });

  it('refuses an unsigned commit with Sync Failed naming it, and applies nothing', async () => {
    const applied = (await stack('app'))?.appliedRevision;
    const from = events().length;
    const sha = commitFiles(
      genv,
      work,
      { 'templates/app.yaml': BASE_FILES['templates/app.yaml']!.replace('30', '99') },
      'Unsigned',
    );
    push(genv, work, bare);
    expect((await webhook(sha)).status).toBe(202);
    await runtime.idle();
    expect(since(from).map((e) => [e.detailType, e.detail.reason])).toEqual([['Sync Failed', 'UnsignedCommit']]);
    expect(since(from)[0]?.detail.message).toContain(sha.slice(0, 12));
    expect((await stack('app'))?.appliedRevision).toBe(applied);
  });

  it('a failing stack ends in Sync Failed and the other stack is applied', async () => {
    const from = events().length;
    const sha = await commitSigned(
      genv,
      work,
      {
        'templates/app.yaml': 'Resources:\n  Bad: [unclosed\n',
        'templates/web.yaml': BASE_FILES['templates/web.yaml']!.replace('60', '90'),
      },
      'Break app, change web',
      key,
    );
    push(genv, work, bare);
    expect((await webhook(sha)).status).toBe(202);
    await runtime.idle();
    const happened = since(from).map((e) => [e.detailType, e.detail.stack, e.detail.reason]);
    expect(happened).toContainEqual(['Sync Failed', 'app', 'InvalidTemplate']);
    expect((await stack('app'))?.sync).toBe('Failed');
  });

  it('a lost webhook: the drift check reports Out Of Sync, and the alert reaches Slack naming the stack', async () => {
    const sha = await commitSigned(
      genv,
      work,
      {
        'templates/app.yaml': BASE_FILES['templates/app.yaml']!.replace('30', '50'),
        'templates/web.yaml': BASE_FILES['templates/web.yaml']!.replace('60', '95'),
      },
      'Pushed while the webhook was down',
      key,
    );
    push(genv, work, bare);
    const from = events().length;
    await runtime.checkNow();
    await runtime.idle();
    const outOfSync = since(from).filter((e) => e.detailType === 'Out Of Sync');
    expect(outOfSync.map((e) => e.detail.stack)).toEqual(['web']);
    expect(outOfSync[0]?.detail.data?.['headRevision']).toBe(sha);

    const slack = new SlackNotifier({ secrets: new SsmSecrets({ client: new SSMClient({ region: 'eu-west-1' }) }) });
    await slack.send(outOfSync[0] as GitOpsEvent);
    expect(alerts.at(-1)).toContain('web');
    // A receiver that fails and echoes the secret URL: the error is sanitized.
    failNextAlert = true;
    const failed = await slack.send(outOfSync[0] as GitOpsEvent).catch((err: Error) => err);
    expect(failed).toMatchObject({ reason: 'PublishFailed' });
    errors.push(String(failed), (failed as Error).message);

    // The next webhook brings everything to the head.
    expect((await webhook(sha)).status).toBe(202);
    await runtime.idle();
    expect((await stack('app'))?.appliedRevision).toBe(sha);
    expect((await stack('web'))?.appliedRevision).toBe(sha);
  });

  it('a fetch with a wrong token read from SSM fails as AuthFailed without the token', async () => {
    const secrets = new SsmSecrets({ client: new SSMClient({ region: 'eu-west-1' }) });
    const source = new RemoteSource(server.url('infra'), { token: () => secrets.get('git-token') });
    const err = await source.fetch().catch((e: Error) => e);
    expect(err).toMatchObject({ reason: 'AuthFailed' });
    errors.push(String(err), JSON.stringify(err), (err as Error).stack ?? '');
  });

  it('no canary appears in any log line, printed line, event, state file, rendered artifact, alert or error', async () => {
    const everything = [
      ...logs,
      ...printed,
      ...events().map((e) => JSON.stringify(e)),
      ...events().flatMap((e) => [
        JSON.stringify(formatSlack(e)),
        JSON.stringify(formatChatNotification(e)),
        JSON.stringify(formatPlainText(e)),
      ]),
      ...[...readTree(stateDir)].map(([path, text]) => `${path}\n${text}`),
      ...alerts,
      ...errors,
    ];
    // The flows above really ran and produced text to search.
    expect(logs.length).toBeGreaterThan(3);
    expect(readTree(stateDir).size).toBeGreaterThan(5);
    expect(errors.length).toBeGreaterThanOrEqual(4);
    for (const [name, canary] of Object.entries(CANARY)) {
      const leaks = everything.filter((text) => text.includes(canary));
      expect(leaks, `${name} canary leaked`).toEqual([]);
    }
  });
});
