import { createHmac } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeWebhookHandler, webhookDepsFromEnv } from '../../functions/webhook.ts';
import { S3DeliveryLedger } from '../../shared/adapters/aws/delivery-ledger-s3.ts';
import { systemClock } from '../../shared/clock.ts';
import { type S3TestServer, startS3 } from '../aws/s3-server.ts';

const SECRET = 'whsec-function-url-canary-7f3a';
const ssm = mockClient(SSMClient);
const bus = mockClient(EventBridgeClient);

const env = {
  AWS_REGION: 'eu-west-1',
  GITOPS_BUS_NAME: 'lambda-gitops',
  GITOPS_SECRETS_PREFIX: '/lambda-gitops',
  GITOPS_STATE_BUCKET: 'gitops-state',
  GITOPS_REPOSITORIES: JSON.stringify([
    { name: 'acme/platform', url: 'https://github.com/acme/platform.git', branch: 'main', provider: 'github' },
  ]),
};

function pushBody(branch = 'main', repo = 'acme/platform') {
  return JSON.stringify({
    ref: `refs/heads/${branch}`,
    before: '1'.repeat(40),
    after: 'a'.repeat(40),
    repository: { full_name: repo, clone_url: `https://github.com/${repo}.git` },
    head_commit: {
      id: 'a'.repeat(40),
      message: 'Bump the queue timeout',
      timestamp: '2026-11-26T08:00:00Z',
      author: { name: 'Ada', email: 'ada@example.com' },
    },
  });
}

function urlEvent(body: string, headers: Record<string, string>, base64 = false): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers,
    body: base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: base64,
    requestContext: {
      http: { method: 'POST', path: '/', protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'GitHub-Hookshot' },
    },
  } as unknown as LambdaFunctionURLEvent;
}

const signed = (body: string, delivery: string) => ({
  'content-type': 'application/json',
  'x-github-event': 'push',
  'x-github-delivery': delivery,
  'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
});

let s3: S3TestServer;
let installation = 0;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3?.close();
});

/** The webhook function's ports from its environment, its S3 client pointed at the S3-protocol test server. */
function containerDeps(prefix: string) {
  return () => ({
    ...webhookDepsFromEnv(env),
    dedupe: new S3DeliveryLedger({ bucket: s3.bucket, prefix, client: s3.client(), clock: systemClock }),
  });
}

describe('webhook function (Function URL)', () => {
  let handler: ReturnType<typeof makeWebhookHandler>;
  let prefix: string;
  beforeEach(() => {
    // Each test is its own installation: its own ledger in the bucket.
    prefix = `i${++installation}/`;
    ssm.reset();
    bus.reset();
    ssm.on(GetParameterCommand, { Name: '/lambda-gitops/webhook-secret', WithDecryption: true }).resolves({
      Parameter: { Name: '/lambda-gitops/webhook-secret', Type: 'SecureString', Value: SECRET },
    });
    bus.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    handler = makeWebhookHandler(containerDeps(prefix));
  });

  it('puts one Push Received on the bus for a signed push to the followed branch and answers 202', async () => {
    const body = pushBody();
    const res = await handler(urlEvent(body, signed(body, 'd-1')));
    expect(res).toMatchObject({ statusCode: 202 });
    const calls = bus.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(1);
    const entry = calls[0]?.args[0].input.Entries?.[0];
    expect(entry).toMatchObject({
      Source: 'lambda-gitops',
      DetailType: 'Push Received',
      EventBusName: 'lambda-gitops',
    });
    expect(JSON.parse(entry?.Detail ?? '{}')).toMatchObject({
      repo: 'https://github.com/acme/platform.git',
      branch: 'main',
      revision: 'a'.repeat(40),
      provider: 'github',
      deliveryId: 'd-1',
      commit: { author: expect.stringContaining('Ada'), message: 'Bump the queue timeout' },
    });
  });

  it('verifies a base64-encoded body as the bytes GitHub signed', async () => {
    const body = pushBody();
    const res = await handler(urlEvent(body, signed(body, 'd-b64'), true));
    expect(res.statusCode).toBe(202);
  });

  it.each([
    ['no signature', (_b: string) => ({ 'x-github-event': 'push', 'x-github-delivery': 'd-2' }), 401, (b: string) => b],
    ['a signature over another body', (b: string) => signed(`${b} `, 'd-3'), 401, (b: string) => b],
    ['a valid signature over a body that is not JSON', () => signed('not json', 'd-4'), 400, () => 'not json'],
  ] as const)('answers %s with %i and puts nothing on the bus', async (_name, headers, status, bodyOf) => {
    const body = bodyOf(pushBody());
    const res = await handler(urlEvent(body, headers(pushBody()) as Record<string, string>));
    expect(res.statusCode).toBe(status);
    expect(bus.commandCalls(PutEventsCommand)).toHaveLength(0);
    expect(String(res.body)).not.toContain('Bump the queue timeout');
    expect(String(res.body)).not.toContain(SECRET);
  });

  it('answers 413 to a body over 1 MiB without reading the secret', async () => {
    const body = `{"pad":"${'x'.repeat(1024 * 1024)}"}`;
    const res = await handler(urlEvent(body, signed(body, 'd-5')));
    expect(res.statusCode).toBe(413);
    expect(bus.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('ignores pushes to another branch or an unconfigured repository with 200', async () => {
    const other = pushBody('feature/x');
    const foreign = pushBody('main', 'someone/else');
    const a = await handler(urlEvent(other, signed(other, 'd-6')));
    const b = await handler(urlEvent(foreign, signed(foreign, 'd-7')));
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    expect(String(a.body)).toContain('ignored');
    expect(String(b.body)).toContain('not configured');
    expect(bus.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('answers a redelivered delivery id once', async () => {
    const body = pushBody();
    await handler(urlEvent(body, signed(body, 'd-8')));
    const again = await handler(urlEvent(body, signed(body, 'd-8')));
    expect(again.statusCode).toBe(200);
    expect(String(again.body)).toContain('duplicate');
    expect(bus.commandCalls(PutEventsCommand)).toHaveLength(1);
  });

  it('answers a captured signed body replayed under a new delivery id as a duplicate, on another container too', async () => {
    const body = pushBody();
    const first = await handler(urlEvent(body, signed(body, 'd-11')));
    // Another container of the same installation: nothing in memory, the ledger in the bucket decides.
    const other = makeWebhookHandler(containerDeps(prefix));
    const replay = await other(urlEvent(body, signed(body, 'd-replayed-under-a-new-id')));
    const replayHere = await handler(urlEvent(body, signed(body, 'd-12')));

    expect(first.statusCode).toBe(202);
    expect([replay.statusCode, JSON.parse(replay.body)]).toEqual([200, { duplicate: 'd-replayed-under-a-new-id' }]);
    expect([replayHere.statusCode, JSON.parse(replayHere.body)]).toEqual([200, { duplicate: 'd-12' }]);
    expect(bus.commandCalls(PutEventsCommand)).toHaveLength(1);
    // A different push (another body) under a fresh id still goes through.
    const next = pushBody().replace('Bump the queue timeout', 'Bump it again');
    expect((await other(urlEvent(next, signed(next, 'd-13')))).statusCode).toBe(202);
    expect(bus.commandCalls(PutEventsCommand)).toHaveLength(2);
  });

  it("forgets a delivery it could not hand on, so the forge's retry is accepted", async () => {
    bus
      .on(PutEventsCommand)
      .rejectsOnce(
        Object.assign(new Error('not authorized to perform events:PutEvents'), {
          name: 'AccessDeniedException',
          $metadata: { httpStatusCode: 400 },
        }),
      )
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-2' }] });
    const body = pushBody();
    const failed = await handler(urlEvent(body, signed(body, 'd-14')));
    const retried = await handler(urlEvent(body, signed(body, 'd-14')));
    expect([500, 503]).toContain(failed.statusCode);
    expect(retried.statusCode).toBe(202);
  });

  it('answers 500 when the webhook secret is missing from SSM, naming no value', async () => {
    ssm.reset();
    ssm
      .on(GetParameterCommand)
      .rejects(
        Object.assign(new Error('Parameter /lambda-gitops/webhook-secret not found.'), { name: 'ParameterNotFound' }),
      );
    handler = makeWebhookHandler(containerDeps(prefix));
    const body = pushBody();
    const res = await handler(urlEvent(body, signed(body, 'd-9')));
    expect(res.statusCode).toBe(500);
    expect(bus.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('answers 503 when the bus refuses the event, so GitHub shows a failed delivery', async () => {
    bus.on(PutEventsCommand).rejects(
      Object.assign(new Error('Service unavailable'), {
        name: 'InternalException',
        $metadata: { httpStatusCode: 500 },
      }),
    );
    const body = pushBody();
    const res = await handler(urlEvent(body, signed(body, 'd-10')));
    expect([500, 503]).toContain(res.statusCode);
  });
});
