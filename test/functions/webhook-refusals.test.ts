/**
 * The webhook function's public Function URL refuses what cannot be a delivery before it costs anything: no SSM read
 * of the secret, no EventBridge call (those SDK clients are mocked and their calls counted), no request to the delivery
 * ledger in S3 (a real S3-protocol server), for every provider.
 */
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

const SECRET = 'whsec-refusals-canary-51c2';
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

const BODY = JSON.stringify({
  ref: 'refs/heads/main',
  before: '1'.repeat(40),
  after: 'a'.repeat(40),
  repository: { full_name: 'acme/platform', clone_url: 'https://github.com/acme/platform.git' },
  head_commit: {
    id: 'a'.repeat(40),
    message: 'Bump the queue timeout',
    timestamp: '2026-11-26T08:00:00Z',
    author: { name: 'Ada', email: 'ada@example.com' },
  },
});
const hmac = (body: string) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
const github = (body: string) => ({
  'x-github-event': 'push',
  'x-github-delivery': `d-${Math.random()}`,
  'x-hub-signature-256': hmac(body),
});

interface Request {
  readonly method?: string;
  readonly path?: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}
const urlEvent = ({ method = 'POST', path = '/', headers, body = BODY }: Request): LambdaFunctionURLEvent =>
  ({
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    isBase64Encoded: false,
    requestContext: { http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'curl' } },
  }) as unknown as LambdaFunctionURLEvent;

// The delivery ledger is S3 (a real S3-protocol server): a refusal must not reach it either.
let s3: S3TestServer;
let installation = 0;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3?.close();
});

describe('webhook function: cheap refusals', () => {
  let handler: ReturnType<typeof makeWebhookHandler>;
  beforeEach(() => {
    ssm.reset();
    bus.reset();
    s3.requests.length = 0;
    const prefix = `r${++installation}/`;
    ssm.on(GetParameterCommand).resolves({
      Parameter: { Name: '/lambda-gitops/webhook-secret', Type: 'SecureString', Value: SECRET },
    });
    bus.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    handler = makeWebhookHandler(() => ({
      ...webhookDepsFromEnv(env),
      dedupe: new S3DeliveryLedger({ bucket: s3.bucket, prefix, client: s3.client(), clock: systemClock }),
    }));
  });
  const awsCalls = () => ({ ssm: ssm.calls().length, eventBridge: bus.calls().length, s3: s3.requests.length > 0 });

  it('reads the secret and puts the event for a real delivery (the counters see the calls)', async () => {
    const res = await handler(urlEvent({ headers: github(BODY) }));
    expect(res.statusCode).toBe(202);
    expect(awsCalls()).toEqual({ ssm: 1, eventBridge: 1, s3: true });
  });

  const big = `{"pad":"${'x'.repeat(1024 * 1024)}"}`;
  it.each<[string, Request, number, string]>([
    ['a GET', { method: 'GET', headers: github(BODY) }, 405, 'MethodNotAllowed'],
    ['a PUT', { method: 'PUT', headers: github(BODY) }, 405, 'MethodNotAllowed'],
    ['another path', { path: '/admin', headers: github(BODY) }, 404, 'NotFound'],
    ['a path below the root', { path: '/webhook/x', headers: github(BODY) }, 404, 'NotFound'],
    ['a body over 1 MiB', { headers: github(big), body: big }, 413, 'PayloadTooLarge'],
    [
      'a declared Content-Length over 1 MiB',
      { headers: { ...github(BODY), 'content-length': String(2 * 1024 * 1024) } },
      413,
      'PayloadTooLarge',
    ],
    ['no provider header at all', { headers: {} }, 401, 'SignatureMissing'],
    ['GitHub without x-hub-signature-256', { headers: { 'x-github-event': 'push' } }, 401, 'SignatureMissing'],
    [
      'GitHub with only the SHA-1 x-hub-signature',
      { headers: { 'x-github-event': 'push', 'x-hub-signature': `sha1=${'0'.repeat(40)}` } },
      401,
      'SignatureInvalid',
    ],
    [
      'GitHub with a malformed signature',
      { headers: { 'x-github-event': 'push', 'x-hub-signature-256': 'sha256=zz' } },
      401,
      'SignatureInvalid',
    ],
    ['GitLab without x-gitlab-token', { headers: { 'x-gitlab-event': 'Push Hook' } }, 401, 'SignatureMissing'],
    [
      'GitLab with an empty x-gitlab-token',
      { headers: { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': '' } },
      401,
      'SignatureMissing',
    ],
    ['Bitbucket without x-hub-signature', { headers: { 'x-event-key': 'repo:push' } }, 401, 'SignatureMissing'],
  ])('refuses %s before any SSM, S3 or EventBridge call', async (_name, request, status, error) => {
    const res = await handler(urlEvent(request));
    expect(res.statusCode).toBe(status);
    expect(JSON.parse(res.body)).toMatchObject({ error });
    expect(res.body).not.toContain('Bump the queue timeout');
    expect(awsCalls()).toEqual({ ssm: 0, eventBridge: 0, s3: false });
  });

  it('accepts deliveries posted to /webhook too, as `gitops dev` takes them', async () => {
    const res = await handler(urlEvent({ path: '/webhook', headers: github(BODY) }));
    expect(res.statusCode).toBe(202);
  });

  it('still reads the secret for a well-formed signature, and refuses a wrong one without a bus call', async () => {
    const res = await handler(urlEvent({ headers: { ...github(BODY), 'x-hub-signature-256': hmac(`${BODY} `) } }));
    expect(res.statusCode).toBe(401);
    expect(awsCalls()).toEqual({ ssm: 1, eventBridge: 0, s3: false });
  });
});
