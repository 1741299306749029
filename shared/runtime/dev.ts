import { createHmac, randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { join, relative, resolve } from 'node:path';
import { MemoryEventSink } from '../adapters/local/index.ts';
import { checkDrift } from '../engine/drift.ts';
import { computePlan, type Plan } from '../engine/plan.ts';
import { statusRows } from '../engine/status.ts';
import { type SyncReport, sync } from '../engine/sync.ts';
import { GitOpsError, Reason, toGitOpsError } from '../errors.ts';
import { forgeFor } from '../forges/index.ts';
import { stackKey } from '../model.ts';
import type { InstallationPolicy } from '../policy/schema.ts';
import type { Logger, Source } from '../ports.ts';
import { OpenPreviews } from '../preview/open-previews.ts';
import { formatPreview } from '../preview/text.ts';
import { DeliveryDedupe } from '../webhook/dedupe.ts';
import { handleWebhook } from '../webhook/handle.ts';
import type { PushDelivery } from '../webhook/parse.ts';
import { demoSecret, git, prepareDemoRepo } from './demo-repo.ts';
import { CoalescingQueue } from './keyed-queue.ts';
import { listenOnLoopback } from './listen.ts';
import { localDeps } from './local-deps.ts';
import { statusPageFor } from './status-page/handler.ts';
import { renderPreviews } from './status-page/previews-view.ts';
import { allowedHost, refusal, SECURITY_HEADERS } from './status-page/security.ts';
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
  /** The installation policy (`--policy`, `GITOPS_POLICY`): what the watched repository may deploy. */
  readonly policy?: InstallationPolicy;
  /** Largest webhook body accepted. @default 1 MiB */
  readonly maxBodyBytes?: number;
}

export interface DevRuntime {
  readonly url: string;
  readonly repo: string;
  readonly events: MemoryEventSink;
  /** The open pull requests and their newest preview. */
  readonly previews: OpenPreviews;
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
  const baseDeps = localDeps({
    repo,
    stateDir,
    logger: options.logger,
    sinks: [live],
    ...(options.env.GITOPS_TRUSTED_KEYS_FILE ? { trustedKeysFile: options.env.GITOPS_TRUSTED_KEYS_FILE } : {}),
    color: options.color ?? false,
    ...(options.defaultRegion ? { defaultRegion: options.defaultRegion } : {}),
    ...(options.policy ? { policy: options.policy } : {}),
  });
  // The branch head as of the last fetch (every sync, check and plan fetches): stack pages' plans are cached per head.
  let head: string | undefined;
  const deps = { ...baseDeps, source: headTracking(baseDeps.source, (sha) => (head = sha)) };
  const plans = new Map<string, { head: string; version: string; plan: Promise<Plan> }>();
  /**
   * A stack page's plan, computed once per branch head and applied state: reloading the page (or a page polling it)
   * does not render and plan again. A push or the interval check fetches a new head; a sync changes the state.
   */
  const planFor = async (environment: string, stack: string, signal: AbortSignal): Promise<Plan> => {
    const key = stackKey(environment, stack);
    const version = (await deps.state.getStack(key))?.version ?? '';
    const cached = plans.get(key);
    if (cached && cached.head === head && cached.version === version) return cached.plan;
    const plan = computePlan(deps, { environments: [environment], stacks: [stack], signal });
    plans.set(key, { head: head ?? '', version, plan });
    try {
      const done = await plan;
      // Keyed on the head this plan was computed at (its fetch may have moved `head`).
      if (plans.get(key)?.plan === plan) plans.set(key, { head: done.snapshot.commit.sha, version, plan });
      return done;
    } catch (err) {
      if (plans.get(key)?.plan === plan) plans.delete(key);
      throw err;
    }
  };
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

  // Pull-request previews: computed against the state folder, printed, shown on /previews, and published on the
  // forge when its token is set (GITOPS_GITHUB_TOKEN, GITOPS_SECRET_GITLAB_TOKEN, GITOPS_SECRET_BITBUCKET_TOKEN).
  const apiBaseUrls = {
    ...(options.env.GITOPS_GITHUB_API_URL ? { github: options.env.GITOPS_GITHUB_API_URL } : {}),
    ...(options.env.GITOPS_GITLAB_API_URL ? { gitlab: options.env.GITOPS_GITLAB_API_URL } : {}),
    ...(options.env.GITOPS_BITBUCKET_API_URL ? { bitbucket: options.env.GITOPS_BITBUCKET_API_URL } : {}),
  };
  const previews = new OpenPreviews({
    deps: {
      ...deps,
      forge: (pr) => forgeFor(pr.provider, { secrets: deps.secrets, apiBaseUrls }),
      changeSets: options.env.GITOPS_PREVIEW_CHANGE_SETS === 'true',
    },
    followedBranch: () => branch,
    onRun: (pr, run) => {
      if (run.kind === 'published') say(`preview of #${pr.number} (${pr.provider}):\n${formatPreview(run.preview)}`);
      else if (run.kind === 'superseded')
        say(`preview of #${pr.number} at ${run.sha.slice(0, 7)}: superseded by a newer push`);
      else say(`preview of #${pr.number}: ${run.reason}`);
    },
    onError: (pr, err) => say(`preview of #${pr.number} failed: ${toGitOpsError(err).describe()}`),
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
          onPullRequest: async (pr) => {
            void previews.schedule(pr);
          },
          logger: options.logger,
        },
      );
      send(res, answer.status, 'application/json', answer.body);
      return;
    }
    // Every other route: a loopback Host on our port (DNS rebinding) and no cross-site request, with the page's headers.
    const refused = refusal(req);
    if (refused) {
      req.resume();
      send(res, refused.status, 'text/plain; charset=utf-8', `${refused.message}\n`, SECURITY_HEADERS);
      return;
    }
    if (url.pathname === '/healthz') {
      send(res, 200, 'application/json', '{"ok":true}', SECURITY_HEADERS);
      return;
    }
    if (url.pathname === '/api/status' && req.method === 'GET') {
      send(res, 200, 'application/json', JSON.stringify(statusRows(await deps.state.listStacks())), SECURITY_HEADERS);
      return;
    }
    if ((url.pathname === '/previews' || url.pathname === '/api/previews') && req.method === 'GET') {
      if (!allowedHost(req)) {
        send(
          res,
          403,
          'text/plain; charset=utf-8',
          'The status page answers only requests to 127.0.0.1 or localhost.\n',
        );
        return;
      }
      if (url.pathname === '/api/previews') {
        send(res, 200, 'application/json', JSON.stringify(previews.list()));
        return;
      }
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
      });
      res.end(renderPreviews({ mode: 'dev' }, previews.list()).value);
      return;
    }
    if (url.pathname === '/api/events' && req.method === 'GET') {
      send(res, 200, 'application/json', JSON.stringify(live.events.slice(-200)), SECURITY_HEADERS);
      return;
    }
    // The status page (/, /stacks/…, /graph, /events, POST /sync): one per runtime, keyed on its live event sink.
    const statusPage = statusPageFor(live, () => ({
      mode: 'dev',
      state: deps.state,
      logger: options.logger,
      live,
      plan: ({ environment, stack, signal }) => planFor(environment, stack, signal),
      syncNow: (why) => void runSync(why),
      server,
    }));
    if (await statusPage.handle(req, res)) return;
    send(res, 404, 'application/json', '{"error":"not found"}', SECURITY_HEADERS);
  }

  const { url, closed } = await listenOnLoopback(server, options.port);

  say(`lambda-gitops dev: watching ${repo}`);
  say(`  webhook   POST ${url}/webhook  (GitHub, GitLab, Bitbucket; signed with GITOPS_WEBHOOK_SECRET)`);
  say(`  status    ${url}/  ·  ${url}/api/status  ·  pull-request previews ${url}/previews`);
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
    await previews.idle();
    await new Promise<void>((ok) => server.close(() => ok()));
  };
  process.once('SIGINT', () => void close());
  process.once('SIGTERM', () => void close());

  return {
    url,
    repo,
    events: live,
    previews,
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

function send(res: ServerResponse, status: number, type: string, body: string, headers: OutgoingHttpHeaders = {}) {
  res.writeHead(status, {
    ...headers,
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}

/** The source, telling `seen` the commit of every fetch (the branch head the runtime last saw). */
function headTracking(source: Source, seen: (sha: string) => void): Source {
  return {
    fetch: async (options) => {
      const snapshot = await source.fetch(options);
      if (!options?.ref) seen(snapshot.commit.sha);
      return snapshot;
    },
    ...(source.isAncestor ? { isAncestor: source.isAncestor.bind(source) } : {}),
    ...(source.readSignature ? { readSignature: source.readSignature.bind(source) } : {}),
  };
}
