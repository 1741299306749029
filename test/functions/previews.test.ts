/**
 * Pull-request previews on AWS: the webhook function hands a verified pull request to the bus as Preview Requested
 * (only with previews on, only for a configured repository); the sync function computes the preview offline and
 * publishes it, and drops a request whose head the branch has already moved past (newest wins across the queue).
 */
import { createHmac } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { LambdaFunctionURLEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readEnvConfig } from '../../functions/lib/env-config.ts';
import { makeSyncHandler } from '../../functions/sync.ts';
import { makeWebhookHandler, webhookDepsFromEnv } from '../../functions/webhook.ts';
import { S3DeliveryLedger } from '../../shared/adapters/aws/delivery-ledger-s3.ts';
import { systemClock } from '../../shared/clock.ts';
import type { GitOpsEvent } from '../../shared/events/catalog.ts';
import { forgeFor } from '../../shared/forges/index.ts';
import { consoleLogger } from '../../shared/log.ts';
import { type S3TestServer, startS3 } from '../aws/s3-server.ts';
import { type ForgeStandin, startForgeStandin } from '../helpers/forge-standin.ts';
import { type ExampleRepo, renameExportsBucket, renameOrdersTable, syncedExample } from '../preview/example-repo.ts';
import { fixture } from '../webhook/deliveries.ts';

const SECRET = 'whsec-previews-canary-1b2c';
const ssm = mockClient(SSMClient);
const bus = mockClient(EventBridgeClient);
const repositories = JSON.stringify([
  {
    name: 'Codertocat/Hello-World',
    url: 'https://github.com/Codertocat/Hello-World.git',
    branch: 'master',
    provider: 'github',
  },
]);
const env = (previews: boolean) => ({
  AWS_REGION: 'eu-west-1',
  GITOPS_BUS_NAME: 'lambda-gitops',
  GITOPS_SECRETS_PREFIX: '/lambda-gitops',
  GITOPS_STATE_BUCKET: 'gitops-state',
  GITOPS_REPOSITORIES: repositories,
  ...(previews ? { GITOPS_PREVIEWS: 'true' } : {}),
});

function urlEvent(body: string, event: string, delivery: string): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    rawPath: '/',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': delivery,
      'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
    },
    body,
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST', path: '/' } },
  } as unknown as LambdaFunctionURLEvent;
}

let s3: S3TestServer;
let installation = 0;

/**
 * The webhook function's ports from its environment, its delivery ledger (pull-request deliveries are deduplicated
 * like pushes) in the S3-protocol test server; each call is its own installation, with its own ledger.
 */
function containerDeps(previews: boolean) {
  const prefix = `p${++installation}/`;
  return () => ({
    ...webhookDepsFromEnv(env(previews)),
    dedupe: new S3DeliveryLedger({ bucket: s3.bucket, prefix, client: s3.client(), clock: systemClock }),
  });
}

describe('webhook function: pull requests', () => {
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(async () => {
    await s3?.close();
  });
  beforeEach(() => {
    ssm.reset();
    bus.reset();
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: SECRET } });
    bus.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  });

  it('puts Preview Requested on the bus for a configured repository, with the pull request', async () => {
    const handler = makeWebhookHandler(containerDeps(true));
    const body = fixture('github-pull-request-synchronize').toString('utf8');
    const res = await handler(urlEvent(body, 'pull_request', 'pr-1'));
    expect(res.statusCode).toBe(202);
    const entries = bus.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []);
    expect(entries.map((e) => e.DetailType)).toEqual(['Preview Requested']);
    const detail = JSON.parse(entries[0]?.Detail ?? '{}');
    expect(detail).toMatchObject({
      repo: 'https://github.com/Codertocat/Hello-World.git',
      branch: 'master',
      revision: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821',
      data: { pullRequest: { number: 2, headBranch: 'changes', fromFork: false } },
    });
  });

  it('answers a pull-request delivery replayed on another container as a duplicate: one Preview Requested', async () => {
    const deps = containerDeps(true);
    const body = fixture('github-pull-request-synchronize').toString('utf8');
    const first = await makeWebhookHandler(deps)(urlEvent(body, 'pull_request', 'pr-10'));
    // Another container of the same installation: nothing in memory, the ledger in the bucket decides.
    const replay = await makeWebhookHandler(deps)(urlEvent(body, 'pull_request', 'pr-10-replayed'));
    expect(first.statusCode).toBe(202);
    expect([replay.statusCode, JSON.parse(replay.body)]).toEqual([200, { duplicate: 'pr-10-replayed' }]);
    expect(bus.commandCalls(PutEventsCommand)).toHaveLength(1);
  });

  it('ignores pull requests when previews are off, and those of other repositories', async () => {
    const off = makeWebhookHandler(containerDeps(false));
    const body = fixture('github-pull-request-opened').toString('utf8');
    const res = await off(urlEvent(body, 'pull_request', 'pr-2'));
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body).ignored).toContain('unsupported event pull_request');

    const on = makeWebhookHandler(containerDeps(true));
    const other = JSON.parse(body);
    other.repository.full_name = 'someone/else';
    other.repository.clone_url = 'https://github.com/someone/else.git';
    const text = JSON.stringify(other);
    const res2 = await on(urlEvent(text, 'pull_request', 'pr-3'));
    expect(res2.statusCode).toBe(200);
    expect(JSON.parse(res2.body).ignored).toBe('repository someone/else is not configured');
    expect(bus.commandCalls(PutEventsCommand)).toHaveLength(0);
  });
});

describe('sync function: Preview Requested', () => {
  let example: ExampleRepo;
  let forge: ForgeStandin;
  let first: string;
  let second: string;
  const events: GitOpsEvent[] = [];

  beforeAll(async () => {
    example = await syncedExample();
    forge = await startForgeStandin();
    first = example.branch('rename-orders', { 'templates/data.yaml': renameOrdersTable });
    second = example.branch('rename-orders', { 'templates/data.yaml': renameExportsBucket }, 'two', 'rename-orders');
  }, 120_000);
  afterAll(async () => {
    await forge?.close();
  });

  const handler = () =>
    makeSyncHandler(() => ({
      config: readEnvConfig(
        {
          AWS_REGION: 'eu-west-1',
          GITOPS_BUS_NAME: 'b',
          GITOPS_STATE_BUCKET: 's',
          GITOPS_APPLY_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/apply.fifo',
          GITOPS_REPOSITORIES: JSON.stringify([
            { name: 'acme/infra', url: 'https://github.com/acme/infra.git', branch: 'main', provider: 'github' },
          ]),
          GITOPS_PREVIEWS: 'true',
        },
        ['busName'],
      ),
      logger: consoleLogger({ level: 'error' }),
      engine: () => ({ ...example.deps(), events: { publish: async (e) => void events.push(...e) } }),
      sendApply: async () => {
        throw new Error('a preview never requests an apply');
      },
      previews: {
        forge: (provider) =>
          forgeFor(provider, {
            secrets: { get: async (n) => (n === 'github-token' ? 'ghp_syncFnToken000000000000000000000' : undefined) },
            apiBaseUrls: { github: `${forge.url}/github` },
          }),
      },
    }));

  const record = (headSha: string, id: string): SQSRecord =>
    ({
      messageId: id,
      body: JSON.stringify({
        source: 'lambda-gitops',
        'detail-type': 'Preview Requested',
        detail: {
          repo: 'https://github.com/acme/infra.git',
          branch: 'main',
          reason: 'PullRequest',
          severity: 'info',
          message: 'pr',
          data: {
            pullRequest: {
              kind: 'pull-request',
              action: 'update',
              provider: 'github',
              deliveryId: id,
              repoUrl: 'https://github.com/acme/infra.git',
              repoName: 'acme/infra',
              number: 5,
              baseBranch: 'main',
              headBranch: 'rename-orders',
              headSha,
              fromFork: false,
              draft: false,
            },
          },
        },
      }),
      attributes: { MessageGroupId: 'acme/infra/main/previews' },
    }) as unknown as SQSRecord;

  it('publishes the preview of the head, and skips a stale request whose head the branch has moved past', async () => {
    const res = await handler()({ Records: [record(first, 'm-1'), record(second, 'm-2')] });
    expect(res).toEqual({ batchItemFailures: [] });
    const comments = forge.comments.get('/github/repos/acme/infra/issues/5/comments') ?? [];
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toContain(`Commit \`${second.slice(0, 7)}\``);
    expect(forge.calls.filter((c) => c.path.includes('/statuses/')).map((c) => c.path.split('/').at(-1))).toEqual([
      second,
    ]);
    expect(events.filter((e) => e.detailType === 'Preview Ready').map((e) => e.detail.revision)).toEqual([second]);
  });
});
