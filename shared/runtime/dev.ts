import { createHmac, randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join, relative, resolve } from 'node:path';
import { MemoryEventSink } from '../adapters/local/index.ts';
import { checkDrift } from '../engine/drift.ts';
import { computePlan } from '../engine/plan.ts';
import { statusRows } from '../engine/status.ts';
import { type SyncReport, sync } from '../engine/sync.ts';
import { GitOpsError, Reason, toGitOpsError } from '../errors.ts';
import type { Logger } from '../ports.ts';
import { DeliveryDedupe } from '../webhook/dedupe.ts';
import { handleWebhook } from '../webhook/handle.ts';
import type { PushDelivery } from '../webhook/parse.ts';
import { demoSecret, git, prepareDemoRepo } from './demo-repo.ts';
import { CoalescingQueue } from './keyed-queue.ts';
import { listenOnLoopback } from './listen.ts';
import { localDeps } from './local-deps.ts';
import { statusPageFor } from './status-page/handler.ts';
import { formatSyncSummary } from './summary.ts';

export interface DevOptions {
  /** The repository to watch: a local path (default `.`) or an http(s) Git URL. */
  readonly repo: string;
  readonly stateDir: string;
  /** @default 8787; 0 picks a free port (tests). */
  readonly port: number;
  /** How often the out-of-sync and drift check runs. */
  readonly intervalMs: number;
  /** `npm start`: copy `repo` into a demo Git repository, and show one change going through the loop. */
  readonly demo?: boolean;
  readonly logger: Logger;
  readonly color?: boolean;
  readonly out: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly defaultRegion?: string;
  /** Largest webhook body accepted. @default 1 MiB */
  readonly maxBodyBytes?: number;
}

export interface DevRuntime {
  readonly url: string;
  readonly repo: string;
  readonly events: MemoryEventSink;
  /** Runs a sync now (as a push would) and resolves when it and anything queued behind it finished. */
  syncNow(reason: string): Promise<void>;
  /** Runs the out-of-sync and drift check now. */
  checkNow(): Promise<void>;
  /** Resolves when no sync or check runs or waits. */
  idle(): Promise<void>;
  close(): Promise<void>;
  readonly closed: Promise<void>;
}

/**
 * The local runtime: the same webhook verification the Lambda uses, a queue that serializes syncs of the watched
 * repository (newest wins), a scheduled out-of-sync and drift check that reports transitions only, and the status
 * endpoints — on 127.0.0.1 only.
 */
export async function startDevRuntime(options: DevOptions): Promise<DevRuntime> {
  const stateDir = resolve(options.stateDir);
  let repo = options.repo;
  let demoCreated = false;
  let secret: string;
  let secretFile: string | undefined;
  if (options.demo) {
    const demo = await prepareDemoRepo(options.repo, stateDir);
    repo = demo.path;
    demoCreated = demo.created;
    ({ secret, file: secretFile } = await demoSecret(stateDir, options.env));
  } else {
    const fromEnv = options.env.GITOPS_WEBHOOK_SECRET;
    if (!fromEnv) {
      throw new GitOpsError(
        Reason.SecretMissing,
        'GITOPS_WEBHOOK_SECRET is not set: the webhook server verifies every delivery and will not start without a secret',
        { field: 'GITOPS_WEBHOOK_SECRET' },
      );
    }
    secret = fromEnv;
  }

  const live = new MemoryEventSink();
  const deps = localDeps({
    repo,
    stateDir,
    logger: options.logger,
    sinks: [live],
    ...(options.env.GITOPS_TRUSTED_KEYS_FILE ? { trustedKeysFile: options.env.GITOPS_TRUSTED_KEYS_FILE } : {}),
    color: options.color ?? false,
    ...(options.defaultRegion ? { defaultRegion: options.defaultRegion } : {}),
  });
  // Syncs and checks each coalesce, and never run at once: both write the stacks' state.
  const queue = new CoalescingQueue({ exclusive: true });
  const say = (text: string) => options.out(text.endsWith('\n') ? text : `${text}\n`);
  let branch: string | undefined;

  const runSync = (why: string) =>
    queue.run('sync', async () => {
      say(`sync: ${why}`);
      try {
        const report: SyncReport = await sync(deps, {});
        branch = report.plan.snapshot.branch;
        say(
          formatSyncSummary(report, {
            color: options.color ?? false,
            approveCommand: `gitops sync ${relativeOrAbsolute(repo)} --state ${relativeOrAbsolute(stateDir)} --approve`,
          }),
        );
      } catch (err) {
        say(`sync failed: ${toGitOpsError(err).describe()}`);
      }
    });

  const runCheck = () =>
    queue.run('check', async () => {
      try {
        const report = await checkDrift(deps, {});
        options.logger.debug('drift check', {
          outOfSync: report.outOfSync.length,
          drifted: report.drifted.length,
          errors: report.errors.length,
        });
      } catch (err) {
        options.logger.warn(`drift check failed: ${toGitOpsError(err).describe()}`);
      }
    });

  const dedupe = new DeliveryDedupe({ max: 10_000, ttlMs: 24 * 3_600_000, clock: deps.clock });
  const onPush = async (push: PushDelivery & { kind: 'push' }) => {
    if (branch && push.branch !== branch) return { ignored: `push to ${push.branch}; watching ${branch}` };
    void runSync(`push ${push.after.slice(0, 7)} to ${push.branch} (${push.provider} delivery ${push.deliveryId})`);
  };

  const server = createServer((req, res) => {
    route(req, res).catch((err) => {
      options.logger.error(`request failed: ${toGitOpsError(err).describe()}`);
      if (!res.headersSent) send(res, 500, 'application/json', '{"error":"internal error"}');
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/webhook') {
      const body = await readBody(req, (options.maxBodyBytes ?? 1024 * 1024) + 1);
      const answer = await handleWebhook(
        { method: req.method ?? 'GET', headers: lowerHeaders(req), body },
        {
          secret: async () => secret,
          dedupe,
          ...(options.maxBodyBytes ? { maxBytes: options.maxBodyBytes } : {}),
          onPush: (push) => onPush(push as PushDelivery & { kind: 'push' }),
          logger: options.logger,
        },
      );
      send(res, answer.status, 'application/json', answer.body);
      return;
    }
    if (url.pathname === '/healthz') {
      send(res, 200, 'application/json', '{"ok":true}');
      return;
    }
    if (url.pathname === '/api/status' && req.method === 'GET') {
      send(res, 200, 'application/json', JSON.stringify(statusRows(await deps.state.listStacks())));
      return;
    }
    if (url.pathname === '/api/events' && req.method === 'GET') {
      send(res, 200, 'application/json', JSON.stringify(live.events.slice(-200)));
      return;
    }
    // The status page (/, /stacks/…, /graph, /events, POST /sync): one per runtime, keyed on its live event sink.
    const statusPage = statusPageFor(live, () => ({
      mode: 'dev',
      state: deps.state,
      logger: options.logger,
      live,
      plan: ({ environment, stack, signal }) =>
        computePlan(deps, { environments: [environment], stacks: [stack], signal }),
      syncNow: (why) => void runSync(why),
      server,
    }));
    if (await statusPage.handle(req, res)) return;
    send(res, 404, 'application/json', '{"error":"not found"}');
  }

  const { url, closed } = await listenOnLoopback(server, options.port);

  say(`lambda-gitops dev: watching ${repo}`);
  say(`  webhook   POST ${url}/webhook  (GitHub, GitLab, Bitbucket; signed with GITOPS_WEBHOOK_SECRET)`);
  say(`  status    ${url}/  ·  ${url}/api/status`);
  say(
    `  state     ${relativeOrAbsolute(stateDir)}  ·  events in ${relativeOrAbsolute(join(stateDir, 'events.jsonl'))}`,
  );
  say(`  checks    out-of-sync and drift every ${Math.round(options.intervalMs / 1000)}s`);

  await runSync('first sync');
  const timer = setInterval(() => void runCheck(), options.intervalMs);
  timer.unref();

  if (options.demo) {
    say(demoInstructions(url, repo, secretFile, stateDir));
    if (demoCreated) await demoPush(repo, url, secret, say);
  }

  const close = async () => {
    clearInterval(timer);
    await queue.idle();
    await new Promise<void>((ok) => server.close(() => ok()));
  };
  process.once('SIGINT', () => void close());
  process.once('SIGTERM', () => void close());

  return {
    url,
    repo,
    events: live,
    syncNow: (why) => runSync(why),
    checkNow: () => runCheck(),
    idle: () => queue.idle(),
    close,
    closed,
  };
}

/** The demo's second act: a commit in the demo repository and a signed GitHub delivery, as a forge would send. */
async function demoPush(repo: string, url: string, secret: string, say: (t: string) => void): Promise<void> {
  const file = join(repo, 'templates', 'queue.yaml');
  const text = await readFile(file, 'utf8').catch(() => '');
  if (!text.includes('VisibilityTimeout: 30')) return;
  await writeFile(file, text.replace('VisibilityTimeout: 30', 'VisibilityTimeout: 60'));
  await git(repo, 'commit', '-q', '-am', 'Raise the work queue visibility timeout to 60 s');
  const sha = await git(repo, 'rev-parse', 'HEAD');
  say(`demo: committed ${sha.slice(0, 7)} "Raise the work queue visibility timeout to 60 s" and sent a signed webhook`);
  const body = JSON.stringify({
    ref: 'refs/heads/main',
    before: '0'.repeat(40),
    after: sha,
    repository: { full_name: 'example/lambda-gitops-demo', clone_url: 'https://example.com/lambda-gitops-demo.git' },
    head_commit: {
      id: sha,
      message: 'Raise the work queue visibility timeout to 60 s',
      timestamp: new Date().toISOString(),
      author: { name: 'lambda-gitops demo', email: 'demo@example.com' },
    },
    pusher: { name: 'demo' },
  });
  const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  const res = await fetch(`${url}/webhook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': signature,
    },
    body,
  });
  say(`demo: webhook answered ${res.status} ${await res.text()}`);
}

/**
 * How to send your own change through the running demo: the very commands of the README's "Send your own change"
 * (test/cli/readme.test.ts holds them equal and runs them twice). Each run commits a new value, so it never fails on
 * "nothing to commit", and no command changes the folder it runs in.
 */
export function demoInstructions(url: string, repo: string, secretFile: string | undefined, stateDir: string): string {
  const secretExpr = secretFile ? `$(cat ${relativeOrAbsolute(secretFile)})` : '$GITOPS_WEBHOOK_SECRET';
  const state = relativeOrAbsolute(stateDir);
  return [
    '',
    'Send your own change through the loop (another terminal, this folder):',
    `  repo=${relativeOrAbsolute(repo)}`,
    '  days=$((30 + $(git -C $repo rev-list --count HEAD)))',
    '  sed -i "s/ExpirationInDays: .*/ExpirationInDays: $days/" $repo/templates/data.yaml',
    '  git -C $repo commit -qam "Keep exports $days days"',
    `  body='{"ref":"refs/heads/main","after":"'$(git -C $repo rev-parse HEAD)'","repository":{"full_name":"example/demo"}}'`,
    `  sig=$(printf %s "$body" | openssl dgst -sha256 -hmac "${secretExpr}" | sed 's/.* //')`,
    `  curl -s -H "X-GitHub-Event: push" -H "X-GitHub-Delivery: $RANDOM$RANDOM" -H "X-Hub-Signature-256: sha256=$sig" \\`,
    `       -H "Content-Type: application/json" -d "$body" ${url}/webhook`,
    `  npx gitops status${state === '.gitops' ? '' : ` --state ${state}`}`,
    '',
  ].join('\n');
}

function relativeOrAbsolute(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

function lowerHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** Reads at most `limit` bytes: an oversized body is cut off, not buffered whole (the handler answers 413). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    if (size + buf.length > limit) {
      chunks.push(buf.subarray(0, limit - size));
      size = limit;
      req.resume();
      break;
    }
    chunks.push(buf);
    size += buf.length;
  }
  return Buffer.concat(chunks, size);
}

function send(res: ServerResponse, status: number, type: string, body: string) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(body);
}
