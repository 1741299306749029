/**
 * Hostile repositories and payloads (issue 12): whatever a pusher commits, or whoever reaches the local server sends,
 * the work stays bounded and nothing sensitive reaches an alert. Each case goes through the real path a user meets:
 * the `gitops` CLI as a process, the `gitops dev` HTTP server, the webhook and notify handlers, the engine's drift
 * check. Time bounds are generous kill timeouts on child processes, never wall-clock assertions.
 */
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  CloudFormationClient,
  DescribeStackDriftDetectionStatusCommand,
  DescribeStackResourceDriftsCommand,
  DetectStackDriftCommand,
} from '@aws-sdk/client-cloudformation';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { EventBridgeEvent, LambdaFunctionURLEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeNotifyHandler } from '../../functions/notify.ts';
import { makeWebhookHandler, webhookDepsFromEnv } from '../../functions/webhook.ts';
import { AwsClientFactory } from '../../shared/adapters/aws/clients.ts';
import { S3DeliveryLedger } from '../../shared/adapters/aws/delivery-ledger-s3.ts';
import { CloudFormationDriftDetector } from '../../shared/adapters/aws/drift-cfn.ts';
import { SnsNotifier } from '../../shared/adapters/aws/notifier-sns.ts';
import { SsmSecrets } from '../../shared/adapters/aws/secrets-ssm.ts';
import { systemClock } from '../../shared/clock.ts';
import { checkDrift } from '../../shared/engine/drift.ts';
import { sync } from '../../shared/engine/sync.ts';
import type { EventDetail } from '../../shared/events/catalog.ts';
import { MemoryDedupeStore, NotificationDeduper } from '../../shared/notify/dedupe.ts';
import { SlackNotifier } from '../../shared/notify/slack-notifier.ts';
import { type DevRuntime, startDevRuntime } from '../../shared/runtime/dev.ts';
import { FakeClock } from '../aws/fixtures.ts';
import { startS3 } from '../aws/s3-server.ts';
import { commitFiles, createWorkRepo, type FileSpec, makeGitEnv } from '../helpers/git-repo.ts';
import { BASE_FILES, readTree, silent, smallRepo } from './fixture.ts';

const BIN = resolve('bin/gitops.js');
/** A kill timeout far above any healthy run: a backtracking regex would run for minutes and be killed here. */
const KILL_AFTER_MS = 90_000;

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

const cache = mkdtempSync(join(tmpdir(), 'gitops-hostile-cache-'));

function gitops(args: readonly string[]): Promise<Run> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, XDG_CACHE_HOME: cache },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: KILL_AFTER_MS,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code, signal) => ok({ code, signal, stdout, stderr }));
  });
}

function repoWith(files: Readonly<Record<string, FileSpec>>, message = 'Desired state'): string {
  const genv = makeGitEnv();
  const dir = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-hostile-repo-')));
  commitFiles(genv, dir, files, message);
  return dir;
}

const TEMPLATE = `Parameters:
  Code: { Type: String, AllowedPattern: '(a+)+b' }
Resources:
  Queue: { Type: AWS::SQS::Queue }
`;

describe('time: patterns and files from the repository are handled in linear time', () => {
  it('refuses a 40-character adversarial value for AllowedPattern (a+)+b instead of backtracking for minutes', async () => {
    // Prepare: JavaScript's RegExp took 15.5 s at 28 characters and over 120 s at 32.
    const repo = repoWith({
      'deploy/app.yaml': `template-file-path: templates/app.yaml\nparameters:\n  Code: "${'a'.repeat(40)}!"\n`,
      'templates/app.yaml': TEMPLATE,
    });
    // Act
    const run = await gitops(['render', repo]);
    // Assess: it ended by itself (no kill), with the render error naming the file and the field.
    expect(run.signal).toBeNull();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('deploy/app.yaml:3: parameters.Code: value does not match AllowedPattern (a+)+b');
  });

  it('discovers the stacks of a zero-config repository beside a blank 1 MB .yaml', async () => {
    // Prepare: the discovery hint was quadratic on blank lines (100 KB: 20 s; 1 MB: past 300 s).
    const repo = repoWith({
      'deploy/app.yaml': 'template-file-path: templates/app.yaml\nparameters:\n  Code: aaab\n',
      'templates/app.yaml': TEMPLATE,
      'docs/blank.yaml': '\n'.repeat(1_000_000),
      'docs/spaces.yaml': `${' \n'.repeat(300_000)}template-file-path\n`,
    });
    // Act
    const run = await gitops(['render', repo, '--output', 'json']);
    // Assess
    expect(run.signal).toBeNull();
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { key: string }[]).map((s) => s.key)).toEqual(['default/app']);
  });

  it('matches an adversarial deploymentFiles glob in linear time', async () => {
    // Prepare: with picomatch, this glob took 49 s against one 36-character path.
    const glob = `${'*a'.repeat(14)}*b`;
    const repo = repoWith({
      'gitops.yaml': `environments: [{ name: dev, region: eu-west-1 }]\nstacks:\n  - deploymentFiles: "${glob}"\n`,
      [`${'a'.repeat(60)}c.yaml`]: 'template-file-path: templates/app.yaml\n',
      'templates/app.yaml': TEMPLATE,
    });
    // Act
    const run = await gitops(['render', repo]);
    // Assess
    expect(run.signal).toBeNull();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('matches no file');
  });
});

describe('text from the repository never reaches a terminal with its escapes', () => {
  it('prints no control character of a file name or a commit message (OSC 52, cursor moves, CR)', async () => {
    // Prepare: an OSC 52 clipboard write, a screen erase and a cursor move, in a path and in the commit message.
    const evil = '\u001b]52;c;ZWNobyBwd25lZA==\u0007\u001b[2J\u001b[1;1H\r';
    // The same sequences in YAML's double-quoted escapes, for the path in gitops.yaml.
    const evilYaml = '\\e]52;c;ZWNobyBwd25lZA==\\a\\e[2J\\e[1;1H\\r';
    const repo = repoWith(
      {
        'gitops.yaml': `environments: [{ name: dev, region: eu-west-1 }]\nstacks:\n  - name: app\n    template: "templates/${evilYaml}x.yaml"\n`,
      },
      `Update${evil}\n\nbody${evil}`,
    );
    const state = mkdtempSync(join(tmpdir(), 'gitops-hostile-state-'));
    // Act
    const run = await gitops(['sync', repo, '--state', state]);
    // Assess: the error names the file, with its escapes removed.
    expect(run.code).toBe(2);
    const printed = run.stdout + run.stderr;
    expect(printed).toContain('templates/');
    expect(printed).toContain(']52;c;ZWNobyBwd25lZA==');
    const controls = [...printed].filter((c) => {
      const code = c.charCodeAt(0);
      return (code < 32 && c !== '\n' && c !== '\t') || (code >= 127 && code < 160);
    });
    expect(controls).toEqual([]);
  });
});

describe('events fit EventBridge whatever the commit message', () => {
  const SECRET = 'whsec-hostile-canary';
  const ssm = mockClient(SSMClient);
  const bus = mockClient(EventBridgeClient);
  beforeEach(() => {
    ssm.reset();
    bus.reset();
    ssm
      .on(GetParameterCommand, { Name: '/lambda-gitops/webhook-secret' })
      .resolves({ Parameter: { Name: '/lambda-gitops/webhook-secret', Type: 'SecureString', Value: SECRET } });
    // EventBridge refuses a request whose entries are over 256 KB, as the service does.
    bus
      .on(PutEventsCommand)
      .callsFake((input: { Entries: { Detail?: string; DetailType?: string; Source?: string }[] }) => {
        const size = input.Entries.reduce(
          (n, e) =>
            n + Buffer.byteLength(e.Detail ?? '') + Buffer.byteLength(e.DetailType ?? '') + (e.Source ?? '').length,
          0,
        );
        if (size > 256 * 1024) {
          throw Object.assign(new Error('Total size of the entries in the request is over the limit.'), {
            name: 'ValidationException',
            $metadata: { httpStatusCode: 400 },
          });
        }
        return { FailedEntryCount: 0, Entries: input.Entries.map((_, i) => ({ EventId: `e-${i}` })) };
      });
  });

  it('hands a push with a 300 KB commit message on: its first line, at most 1 KB, in a Push Received that fits', async () => {
    // Prepare
    const first = `Subject ${'x'.repeat(3_000)}`;
    const body = JSON.stringify({
      ref: 'refs/heads/main',
      before: '1'.repeat(40),
      after: 'a'.repeat(40),
      repository: { full_name: 'acme/platform', clone_url: 'https://github.com/acme/platform.git' },
      head_commit: {
        id: 'a'.repeat(40),
        message: `${first}\n\n${'y'.repeat(300 * 1024)}`,
        timestamp: '2026-11-26T08:00:00Z',
        author: { name: 'Ada', email: 'ada@example.com' },
      },
    });
    // The function's ports from its environment; its delivery ledger in the S3-protocol test server.
    const s3 = await startS3();
    const handler = makeWebhookHandler(() => ({
      ...webhookDepsFromEnv({
        AWS_REGION: 'eu-west-1',
        GITOPS_BUS_NAME: 'lambda-gitops',
        GITOPS_SECRETS_PREFIX: '/lambda-gitops',
        GITOPS_STATE_BUCKET: 'gitops-state',
      }),
      dedupe: new S3DeliveryLedger({ bucket: s3.bucket, prefix: 'hostile/', client: s3.client(), clock: systemClock }),
    }));
    const event = {
      body,
      isBase64Encoded: false,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': 'd-hostile-1',
        'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
      },
      requestContext: { http: { method: 'POST' } },
    } as unknown as LambdaFunctionURLEvent;
    // Act
    const res = await handler(event).finally(() => s3.close());
    // Assess
    expect(res.statusCode).toBe(202);
    const entry = bus.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!;
    const detail = JSON.parse(entry.Detail!) as EventDetail;
    expect(Buffer.byteLength(entry.Detail!)).toBeLessThan(256 * 1024);
    expect(Buffer.byteLength(detail.commit!.message!)).toBeLessThanOrEqual(1024);
    expect(detail.commit!.message!.startsWith('Subject xxx')).toBe(true);
    expect(detail.commit!.message).not.toContain('y');
  });
});

describe('alerts: escaped for Slack and chat, and never a drift value', () => {
  const ssm = mockClient(SSMClient);
  const sns = mockClient(SNSClient);
  let receiver: http.Server;
  const slackBodies: string[] = [];

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        slackBodies.push(body);
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise<void>((r) => receiver.close(() => r())));

  it('sends a Drift Detected with <!channel>, a phishing link and live values as inert text without the values', async () => {
    // Prepare
    ssm.reset();
    sns.reset();
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/services/T0/B0/hostile`;
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: url } });
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const secrets = new SsmSecrets({ client: new SSMClient({ region: 'eu-west-1' }) });
    const handler = makeNotifyHandler(() => ({
      alerts: [
        new SnsNotifier({ topicArn: 'arn:aws:sns:eu-west-1:123456789012:alerts', client: new SNSClient({}) }),
        new SlackNotifier({ secrets }),
      ],
      deduper: new NotificationDeduper({ store: new MemoryDedupeStore(), clock: new FakeClock() }),
      logger: silent,
    }));
    const live = 'canary-live-value-93f1';
    const detail: EventDetail = {
      repo: 'https://github.com/acme/platform.git',
      branch: 'main',
      stack: 'app',
      environment: 'prod',
      stackName: 'app-prod',
      region: 'eu-west-1',
      revision: 'b'.repeat(40),
      commit: {
        sha: 'b'.repeat(40),
        author: '<!channel> Mallory',
        message: 'Fix <!channel> see [the runbook](https://evil.example/login) <https://evil.example|docs>',
        url: 'https://github.com/acme/platform/commit/bbbb',
      },
      reason: 'ResourceDrift',
      severity: 'warning',
      message: 'app (prod): 1 resource(s) drifted: <!here> Queue (AWS::SQS::Queue) MODIFIED',
      resources: [
        {
          logicalId: 'Queue',
          type: 'AWS::SQS::Queue',
          status: 'MODIFIED',
          differences: [{ path: '/VisibilityTimeout', expected: '30', actual: live, kind: 'NOT_EQUAL' }],
        },
      ],
    };
    const event = {
      source: 'lambda-gitops',
      'detail-type': 'Drift Detected',
      time: '2026-11-29T10:00:00Z',
      detail,
    } as unknown as EventBridgeEvent<string, EventDetail>;
    // Act
    const result = await handler(event);
    // Assess: both channels were told …
    expect(result.sent).toBe(2);
    const slack = JSON.parse(slackBodies.at(-1)!) as { text: string; blocks: unknown[] };
    const published = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    const { email, https: chat } = JSON.parse(published.Message!) as { email: string; https: string };
    const chatContent = JSON.parse(chat) as { content: { description: string } };
    // … the path and kind of the drift, never its values …
    for (const text of [slackBodies.at(-1)!, email, chat]) {
      expect(text).toContain('/VisibilityTimeout NOT_EQUAL');
      expect(text).not.toContain(live);
    }
    // … Slack: nothing it would parse as a mention or a link, in the blocks or the fallback text …
    expect(slack.text).toContain('&lt;!here&gt;');
    expect(JSON.stringify(slack)).not.toMatch(/<!(?:channel|here)>|<https:\/\/evil/);
    // … chat: no link or <…> of the repository's own.
    expect(chatContent.content.description).not.toMatch(/<!channel>|(?<!\\)\]\(https:\/\/evil|<https:\/\/evil/);
    expect(chatContent.content.description).toContain('\\[the runbook\\]');
  });
});

describe('drift values stay out of state and events unless the installation opts in, and then redacted', () => {
  const cfn = mockClient(CloudFormationClient);
  const SECRET_VALUE = 'sk-live-9c1e7f0a2b3d4e5f';

  async function driftOnce(values: boolean) {
    cfn.reset();
    cfn.on(DetectStackDriftCommand).resolves({ StackDriftDetectionId: 'det-1' });
    cfn.on(DescribeStackDriftDetectionStatusCommand).resolves({
      StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/app-dev/1',
      StackDriftDetectionId: 'det-1',
      DetectionStatus: 'DETECTION_COMPLETE',
      StackDriftStatus: 'DRIFTED',
      Timestamp: new Date(),
    });
    cfn.on(DescribeStackResourceDriftsCommand).resolves({
      StackResourceDrifts: [
        {
          StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/app-dev/1',
          LogicalResourceId: 'Queue',
          ResourceType: 'AWS::SQS::Queue',
          StackResourceDriftStatus: 'MODIFIED',
          Timestamp: new Date(),
          PropertyDifferences: [
            { PropertyPath: '/VisibilityTimeout', ExpectedValue: '30', ActualValue: '45', DifferenceType: 'NOT_EQUAL' },
            {
              PropertyPath: '/Tags/0/Value',
              ExpectedValue: '2',
              ActualValue: `token ${SECRET_VALUE}`,
              DifferenceType: 'NOT_EQUAL',
            },
            {
              PropertyPath: '/Environment/Variables/API_URL',
              ExpectedValue: 'https://a.example',
              ActualValue: SECRET_VALUE,
              DifferenceType: 'NOT_EQUAL',
            },
          ],
        },
      ],
    });
    const repo = smallRepo();
    await sync(repo.deps, { stacks: ['app'] });
    const clock = new FakeClock();
    const drift = new CloudFormationDriftDetector({ clients: new AwsClientFactory({ clock }), clock, values });
    await checkDrift({ ...repo.deps, drift }, { stacks: ['app'] });
    return repo;
  }

  it('keeps property paths and kinds only by default', async () => {
    // Act
    const repo = await driftOnce(false);
    // Assess
    const drifted = repo.events.events.find((e) => e.detailType === 'Drift Detected')!;
    expect(drifted.detail.resources![0]!.differences).toEqual([
      { path: '/VisibilityTimeout', kind: 'NOT_EQUAL' },
      { path: '/Tags/0/Value', kind: 'NOT_EQUAL' },
      { path: '/Environment/Variables/API_URL', kind: 'NOT_EQUAL' },
    ]);
    const stored = [...readTree(repo.stateDir).values()].join('\n');
    expect(stored).toContain('/Environment/Variables/API_URL');
    expect(stored).not.toMatch(/sk-live|https:\/\/a\.example|"actual"/);
  });

  it('with GITOPS_DRIFT_VALUES=redacted keeps harmless values and redacts environment variables and secrets', async () => {
    // Act
    const repo = await driftOnce(true);
    // Assess
    const drifted = repo.events.events.find((e) => e.detailType === 'Drift Detected')!;
    expect(drifted.detail.resources![0]!.differences).toEqual([
      { path: '/VisibilityTimeout', expected: '30', actual: '45', kind: 'NOT_EQUAL' },
      { path: '/Tags/0/Value', expected: '2', actual: '(redacted)', kind: 'NOT_EQUAL' },
      { path: '/Environment/Variables/API_URL', expected: '(redacted)', actual: '(redacted)', kind: 'NOT_EQUAL' },
    ]);
    const state = JSON.parse(readFileSync(join(repo.stateDir, 'state/dev/app.json'), 'utf8')) as {
      drift: { resources: unknown[] };
    };
    expect(JSON.stringify(state.drift)).toContain('"actual":"45"');
    expect([...readTree(repo.stateDir).values()].join('\n')).not.toMatch(/sk-live|https:\/\/a\.example/);
  });
});

describe('the gitops dev server: loopback Host, security headers, no cross-site work, plans cached per head', () => {
  let runtime: DevRuntime;
  let repo: ReturnType<typeof smallRepo>;
  let port: number;

  beforeAll(async () => {
    repo = smallRepo();
    runtime = await startDevRuntime({
      repo: repo.dir,
      stateDir: repo.stateDir,
      port: 0,
      intervalMs: 3_600_000,
      logger: silent,
      out: () => undefined,
      env: { GITOPS_WEBHOOK_SECRET: 'whsec-dev-hostile' },
    });
    port = Number(new URL(runtime.url).port);
  });
  afterAll(async () => {
    await runtime?.close();
  });

  /** node:http, because fetch will not send a Host header of our choosing. */
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((ok, fail) => {
      const req = http.request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', fail);
      req.end();
    });

  it.each(['/api/status', '/api/events', '/healthz', '/', '/stacks/dev/app', '/nowhere'])(
    'refuses %s to a DNS-rebinding Host, with the security headers',
    async (path) => {
      const res = await get(path, { host: `attacker.example:${port}` });
      expect(res.status).toBe(403);
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
      expect(res.body).not.toContain('templates/');
    },
  );

  it('answers /api/status to its own Host, with the security headers', async () => {
    const res = await get('/api/status', { host: `127.0.0.1:${port}` });
    expect(res.status).toBe(200);
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(JSON.parse(res.body)).toEqual(expect.arrayContaining([expect.objectContaining({ key: 'dev/app' })]));
  });

  it.each(['/stacks/dev/app', '/api/status', '/'])('refuses a cross-site GET of %s', async (path) => {
    const res = await get(path, { host: `localhost:${port}`, 'sec-fetch-site': 'cross-site' });
    expect(res.status).toBe(403);
  });

  it('still takes webhook deliveries whatever their Host (they are verified by signature)', async () => {
    const res = await get('/webhook', { host: 'hooks.example.com', 'content-type': 'application/json' }, 'POST');
    expect(res.status).toBe(401);
  });

  it("computes a stack page's plan once per branch head: a new commit shows after the next check fetched it", async () => {
    // Prepare
    await runtime.idle();
    const first = repo.head();
    const page = async () => (await get('/stacks/dev/app', { host: `127.0.0.1:${port}` })).body;
    expect(await page()).toContain(first.slice(0, 7));
    // Act: a commit the runtime has not fetched yet (no webhook, no check)
    const second = repo.commit(
      { 'templates/app.yaml': BASE_FILES['templates/app.yaml']!.replace('30', '40') },
      'Longer timeout',
    );
    const cached = await page();
    await runtime.checkNow();
    const fresh = await page();
    // Assess
    expect(cached).toContain(first.slice(0, 7));
    expect(cached).not.toContain(second.slice(0, 7));
    expect(fresh).toContain(second.slice(0, 7));
  });
});

describe('secret guard: template literals, no false positives, an explicit allow-list', () => {
  const GHP = `ghp_${'A1b2C3d4E5'.repeat(4)}`;
  const AKIA = 'AKIAIOSFODNN7EXAMPLE';
  const gitopsYaml = (extra = '') =>
    `environments: [{ name: dev, region: eu-west-1 }]\nstacks:\n  - name: app\n    template: templates/app.yaml\n${extra}`;

  it.each([
    [
      'a ghp_ token as a parameter Default',
      `Parameters:\n  Token: { Type: String, Default: ${GHP} }\nResources:\n  Q: { Type: AWS::SQS::Queue }\n`,
      'templates/app.yaml:2: Parameters.Token.Default',
      GHP,
    ],
    [
      'an AKIA key in a SecretString',
      `Resources:\n  S:\n    Type: AWS::SecretsManager::Secret\n    Properties:\n      SecretString: '{"id":"${AKIA}"}'\n`,
      'templates/app.yaml:5: Resources.S.Properties.SecretString',
      AKIA,
    ],
  ])('refuses %s, naming the path and never the value', async (_what, template, place, value) => {
    const run = await gitops(['render', repoWith({ 'gitops.yaml': gitopsYaml(), 'templates/app.yaml': template })]);
    expect(run.code).toBe(2);
    // `file:line: path:` once, then the path again only where the notSecrets allow-list is explained.
    expect(run.stderr).toContain(`${place}: this value looks like a plaintext secret`);
    const path = place.split(': ')[1] as string;
    expect(run.stderr.split(path)).toHaveLength(3);
    expect(run.stdout + run.stderr).not.toContain(value);
  });

  it('accepts subnet ids of a List<AWS::EC2::Subnet::Id> named PrivateSubnets and a URL under a token-like tag', async () => {
    const template = `Parameters:\n  PrivateSubnets: { Type: List<AWS::EC2::Subnet::Id> }\nResources:\n  Q: { Type: AWS::SQS::Queue }\n`;
    const yaml = gitopsYaml(
      '    parameters: { PrivateSubnets: "subnet-0123456789abcdef0,subnet-0fedcba9876543210" }\n    tags: { token-endpoint: "https://login.example.com/oauth2/token" }\n',
    );
    const run = await gitops([
      'render',
      repoWith({ 'gitops.yaml': yaml, 'templates/app.yaml': template }),
      '--output',
      'json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('renders a deliberate value listed under the stack’s notSecrets, and only that one', async () => {
    const template = `Parameters:\n  Token: { Type: String, Default: ${GHP} }\n  Other: { Type: String, Default: ${GHP}x }\nResources:\n  Q: { Type: AWS::SQS::Queue }\n`;
    const allowOne = gitopsYaml('    notSecrets: [Parameters.Token.Default]\n');
    const allowBoth = gitopsYaml('    notSecrets: [Parameters.Token.Default, Parameters.Other.Default]\n');
    const one = await gitops(['render', repoWith({ 'gitops.yaml': allowOne, 'templates/app.yaml': template })]);
    const both = await gitops(['render', repoWith({ 'gitops.yaml': allowBoth, 'templates/app.yaml': template })]);
    expect(one.code).toBe(2);
    expect(one.stderr).toContain('Parameters.Other.Default');
    expect(both.code).toBe(0);
  });
});
