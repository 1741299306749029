/**
 * Bad and unwanted webhook deliveries, each through `handleWebhook` (what the Lambda runs) and through the real
 * `gitops dev` HTTP server: each gets its documented answer and reason, and none of them changes anything — no push
 * handed on, not a byte of the state folder written.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevRuntime, startDevRuntime } from '../../shared/runtime/dev.ts';
import { DeliveryDedupe } from '../../shared/webhook/dedupe.ts';
import { handleWebhook } from '../../shared/webhook/handle.ts';
import type { Push } from '../../shared/webhook/types.ts';
import { readTree, silent, smallRepo } from './fixture.ts';

const SECRET = 'reliability-webhook-secret-4b1d';
const MAX = 64 * 1024;

interface Delivery {
  readonly method?: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

const hmac = (body: Buffer, secret = SECRET, algorithm = 'sha256') =>
  `${algorithm}=${createHmac(algorithm, secret).update(body).digest('hex')}`;

const fixture = (name: string) =>
  Buffer.from(
    JSON.stringify(
      JSON.parse(readFileSync(join(import.meta.dirname, '..', 'webhook', 'fixtures', `${name}.json`), 'utf8')),
    ),
  );

const pushBody = (branch = 'main', after = 'a'.repeat(40)) =>
  Buffer.from(
    JSON.stringify({
      ref: `refs/heads/${branch}`,
      before: 'b'.repeat(40),
      after,
      repository: { full_name: 'acme/infra', clone_url: 'https://github.com/acme/infra.git' },
      head_commit: { id: after, message: 'Change', timestamp: '2026-03-01T10:00:00Z', author: { name: 'Ada' } },
    }),
  );

function github(body: Buffer, extra: Record<string, string | undefined> = {}, event = 'push'): Delivery {
  const headers: Record<string, string | undefined> = {
    'content-type': 'application/json',
    'x-github-event': event,
    'x-github-delivery': randomUUID(),
    'x-hub-signature-256': hmac(body),
    ...extra,
  };
  return { headers: defined(headers), body };
}

function gitlab(body: Buffer, extra: Record<string, string | undefined> = {}): Delivery {
  return {
    headers: defined({
      'content-type': 'application/json',
      'x-gitlab-event': 'Push Hook',
      'x-gitlab-token': SECRET,
      'x-gitlab-event-uuid': randomUUID(),
      ...extra,
    }),
    body,
  };
}

function bitbucket(body: Buffer, extra: Record<string, string | undefined> = {}): Delivery {
  return {
    headers: defined({
      'content-type': 'application/json',
      'x-event-key': 'repo:push',
      'x-request-uuid': randomUUID(),
      'x-hub-signature': hmac(body),
      ...extra,
    }),
    body,
  };
}

function defined(headers: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

interface Case {
  readonly name: string;
  readonly make: () => Delivery;
  readonly status: number;
  /** `error` field of the answer (a Reason), or the `ignored`/`duplicate` field's pattern. */
  readonly error?: string;
  readonly ignored?: RegExp;
  readonly duplicate?: boolean;
  /** Send the same delivery once before (it is accepted), then this one. */
  readonly replay?: boolean;
  /** Send the delivery once (it is accepted), then its very body and signature again under a new delivery id. */
  readonly replayUnderNewId?: boolean;
  /** Only through handleWebhook (a lying Content-Length cannot be sent to a real server without hanging it). */
  readonly handlerOnly?: boolean;
}

const big = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', padding: 'x'.repeat(MAX + 10) }));
const notJson = Buffer.from('ref=refs/heads/main&after=deadbeef');

const cases: Case[] = [
  {
    name: 'GitHub push without a signature',
    make: () => github(pushBody(), { 'x-hub-signature-256': undefined }),
    status: 401,
    error: 'SignatureMissing',
  },
  {
    name: 'a push with no provider headers at all',
    make: () => ({ headers: { 'content-type': 'application/json' }, body: pushBody() }),
    status: 401,
    error: 'SignatureMissing',
  },
  {
    name: 'GitHub push signed with another secret',
    make: () => github(pushBody(), { 'x-hub-signature-256': hmac(pushBody(), 'not-the-secret') }),
    status: 401,
    error: 'SignatureInvalid',
  },
  {
    name: 'GitHub push with a truncated signature',
    make: () => github(pushBody(), { 'x-hub-signature-256': hmac(pushBody()).slice(0, 40) }),
    status: 401,
    error: 'SignatureInvalid',
  },
  {
    name: 'GitHub push with an empty signature',
    make: () => github(pushBody(), { 'x-hub-signature-256': '' }),
    status: 401,
    error: 'SignatureMissing',
  },
  {
    name: 'GitHub push signed with the sha1 prefix',
    make: () => github(pushBody(), { 'x-hub-signature-256': hmac(pushBody(), SECRET, 'sha1') }),
    status: 401,
    error: 'SignatureInvalid',
  },
  {
    name: 'GitHub push signed with sha512',
    make: () => github(pushBody(), { 'x-hub-signature-256': hmac(pushBody(), SECRET, 'sha512') }),
    status: 401,
    error: 'SignatureInvalid',
  },
  {
    name: 'GitHub push with only the legacy SHA-1 X-Hub-Signature',
    make: () =>
      github(pushBody(), { 'x-hub-signature-256': undefined, 'x-hub-signature': hmac(pushBody(), SECRET, 'sha1') }),
    status: 401,
    error: 'SignatureInvalid',
  },
  {
    name: 'a body changed after it was signed',
    make: () => ({ ...github(pushBody()), body: pushBody('main', 'c'.repeat(40)) }),
    status: 401,
    error: 'SignatureInvalid',
  },
  {
    name: 'a correctly signed body that is not JSON',
    make: () => github(notJson),
    status: 400,
    error: 'PayloadInvalid',
  },
  {
    name: 'a correctly signed JSON array',
    make: () => github(Buffer.from('[1,2,3]')),
    status: 400,
    error: 'PayloadInvalid',
  },
  {
    name: 'a correctly signed push without "after"',
    make: () => github(Buffer.from(JSON.stringify({ ref: 'refs/heads/main', repository: { full_name: 'a/b' } }))),
    status: 400,
    error: 'PayloadInvalid',
  },
  {
    name: 'a correctly signed push whose clone URL is not http(s)',
    make: () => {
      const body = JSON.parse(pushBody().toString()) as Record<string, unknown>;
      body['repository'] = { full_name: 'acme/infra', clone_url: 'file:///etc/passwd' };
      return github(Buffer.from(JSON.stringify(body)));
    },
    status: 400,
    error: 'PayloadInvalid',
  },
  {
    name: 'a correctly signed empty body',
    make: () => github(Buffer.alloc(0)),
    status: 400,
    error: 'PayloadInvalid',
  },
  {
    name: 'a JSON push sent as a form without a payload field',
    make: () => github(pushBody(), { 'content-type': 'application/x-www-form-urlencoded' }),
    status: 400,
    error: 'PayloadInvalid',
  },
  {
    name: 'a form delivery whose payload field is not JSON',
    make: () => {
      const body = Buffer.from('payload=%7Bnot-json');
      return github(body, { 'content-type': 'application/x-www-form-urlencoded' });
    },
    status: 400,
    error: 'PayloadInvalid',
  },
  { name: 'an oversized body', make: () => github(big), status: 413, error: 'PayloadTooLarge' },
  {
    name: 'an oversized declared Content-Length',
    make: () => github(pushBody(), { 'content-length': String(MAX * 4) }),
    status: 413,
    error: 'PayloadTooLarge',
    handlerOnly: true,
  },
  { name: 'a GET', make: () => ({ method: 'GET', headers: {}, body: Buffer.alloc(0) }), status: 405 },
  {
    name: 'an unknown GitHub event',
    make: () => github(Buffer.from('{"action":"opened"}'), {}, 'issues'),
    status: 200,
    ignored: /unsupported event issues/,
  },
  { name: 'a GitHub ping', make: () => github(fixture('github-ping'), {}, 'ping'), status: 200, ignored: /ping/ },
  { name: 'a GitHub tag push', make: () => github(fixture('github-tag-push')), status: 200, ignored: /tag push/ },
  {
    name: 'a GitHub branch deletion',
    make: () => github(fixture('github-branch-delete')),
    status: 200,
    ignored: /branch deleted/,
  },
  {
    name: 'a push to another branch',
    make: () => github(pushBody('feature/x')),
    status: 200,
    ignored: /push to feature\/x/,
  },
  {
    name: 'a replayed delivery id',
    make: () => github(pushBody()),
    status: 200,
    duplicate: true,
    replay: true,
  },
  {
    name: 'a captured signed body replayed under a new delivery id',
    make: () => github(pushBody('main', 'c'.repeat(40))),
    status: 200,
    duplicate: true,
    replayUnderNewId: true,
  },
  {
    name: 'GitLab push with a wrong token',
    make: () => gitlab(fixture('gitlab-push'), { 'x-gitlab-token': 'wrong-token' }),
    status: 401,
    error: 'SignatureInvalid',
  },
  {
    name: 'GitLab push without a token',
    make: () => gitlab(fixture('gitlab-push'), { 'x-gitlab-token': undefined }),
    status: 401,
    error: 'SignatureMissing',
  },
  {
    name: 'GitLab tag push',
    make: () => gitlab(fixture('gitlab-tag-push'), { 'x-gitlab-event': 'Tag Push Hook' }),
    status: 200,
    ignored: /tag push/,
  },
  {
    name: 'GitLab branch deletion',
    make: () => gitlab(fixture('gitlab-branch-delete')),
    status: 200,
    ignored: /branch deleted/,
  },
  {
    name: 'Bitbucket push signed with sha1',
    make: () =>
      bitbucket(fixture('bitbucket-push'), { 'x-hub-signature': hmac(fixture('bitbucket-push'), SECRET, 'sha1') }),
    status: 401,
    error: 'SignatureInvalid',
  },
  {
    name: 'Bitbucket push with a wrong signature',
    make: () => bitbucket(fixture('bitbucket-push'), { 'x-hub-signature': hmac(fixture('bitbucket-push'), 'nope') }),
    status: 401,
    error: 'SignatureInvalid',
  },
  {
    name: 'Bitbucket tag push',
    make: () => bitbucket(fixture('bitbucket-tag-push')),
    status: 200,
    ignored: /tag push/,
  },
];

/** The same signed body under a fresh delivery id: what someone who captured a delivery can send. */
function underNewId<T extends { headers: Record<string, string> }>(d: T): T {
  return { ...d, headers: { ...d.headers, 'x-github-delivery': randomUUID() } };
}

/** Asserts one answer against its case; `json` is the parsed body. */
function expectAnswer(c: Case, status: number, json: Record<string, string>): void {
  expect(status).toBe(c.status);
  if (c.error) expect(json['error']).toBe(c.error);
  if (c.ignored) expect(json['ignored']).toMatch(c.ignored);
  if (c.duplicate) expect(json['duplicate']).toBeTruthy();
  // Nothing of the body, the signature or the secret is echoed.
  expect(JSON.stringify(json)).not.toContain(SECRET);
}

describe('bad webhook deliveries through handleWebhook: answered, never handed on', () => {
  it.each(cases)('$name → $status', async (c) => {
    const pushes: Push[] = [];
    const dedupe = new DeliveryDedupe({ clock: { now: () => new Date() } });
    const deps = {
      secret: async () => SECRET,
      dedupe,
      maxBytes: MAX,
      logger: silent,
      onPush: async (push: Push) => {
        if (push.branch !== 'main') return { ignored: `push to ${push.branch}; watching main` };
        pushes.push(push);
        return undefined;
      },
    };
    const delivery = c.make();
    const req = { method: delivery.method ?? 'POST', headers: delivery.headers, body: delivery.body };
    if (c.replay || c.replayUnderNewId) {
      expect((await handleWebhook(req, deps)).status).toBe(202);
      pushes.splice(0);
    }
    const answer = await handleWebhook(c.replayUnderNewId ? underNewId(req) : req, deps);
    expectAnswer(c, answer.status, JSON.parse(answer.body) as Record<string, string>);
    expect(pushes).toEqual([]);
  });

  it('answers 500 SecretMissing when no secret is configured, and hands nothing on', async () => {
    const pushes: Push[] = [];
    const answer = await handleWebhook(
      { method: 'POST', ...github(pushBody()) },
      {
        secret: async () => undefined,
        dedupe: new DeliveryDedupe({ clock: { now: () => new Date() } }),
        logger: silent,
        onPush: async (p) => {
          pushes.push(p);
        },
      },
    );
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'SecretMissing' });
    expect(pushes).toEqual([]);
  });
});

describe('bad webhook deliveries through the gitops dev server: the state folder is untouched', () => {
  let runtime: DevRuntime;
  let stateDir: string;

  beforeAll(async () => {
    const repo = smallRepo();
    stateDir = repo.stateDir;
    runtime = await startDevRuntime({
      repo: repo.dir,
      stateDir,
      port: 0,
      intervalMs: 3_600_000,
      logger: silent,
      out: () => undefined,
      env: { GITOPS_WEBHOOK_SECRET: SECRET },
      maxBodyBytes: MAX,
    });
  });
  afterAll(async () => {
    await runtime?.close();
  });

  const post = async (d: Delivery) => {
    const res = await fetch(`${runtime.url}/webhook`, {
      method: d.method ?? 'POST',
      headers: d.headers,
      ...(d.method === 'GET' ? {} : { body: d.body }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, string> };
  };

  it('refuses to start without a webhook secret (SecretMissing)', async () => {
    const repo = smallRepo();
    await expect(
      startDevRuntime({
        repo: repo.dir,
        stateDir: repo.stateDir,
        port: 0,
        intervalMs: 3_600_000,
        logger: silent,
        out: () => undefined,
        env: {},
      }),
    ).rejects.toMatchObject({ reason: 'SecretMissing' });
    expect(readTree(repo.stateDir).size).toBe(0);
  });

  it.each(cases.filter((c) => !c.handlerOnly))('$name → $status', async (c) => {
    const delivery = c.make();
    if (c.replay || c.replayUnderNewId) {
      expect((await post(delivery)).status).toBe(202);
      await runtime.idle();
    }
    const before = readTree(stateDir);
    const events = runtime.events.events.length;

    const { status, json } = await post(c.replayUnderNewId ? underNewId(delivery) : delivery);
    await runtime.idle();

    expectAnswer(c, status, json);
    expect(readTree(stateDir)).toEqual(before);
    expect(runtime.events.events.length).toBe(events);
  });
});
