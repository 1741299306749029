/**
 * The status page's HTTP routes, mounted by `gitops dev` (next to its webhook) and by `gitops status --web`:
 *
 *   GET  /                      overview (filters in the query: ?env=…&status=…)
 *   GET  /stacks/<env>/<stack>  one stack: plan, drift, outputs, history, events
 *   GET  /graph                 the dependsOn graph (?env=…)
 *   GET  /events                live updates (server-sent events), only with a live event sink
 *   POST /sync                  starts a sync, only where one can be started; loopback, same origin and token only
 *   GET  /assets/status.{css,js}
 *
 * `handle` answers the paths above and returns false for any other, so the host server keeps its own routes.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { EventListener, MemoryEventSink } from '../../adapters/local/index.ts';
import type { Plan } from '../../engine/plan.ts';
import { toGitOpsError } from '../../errors.ts';
import type { GitOpsEvent } from '../../events/catalog.ts';
import type { StackKey } from '../../model.ts';
import type { Logger, StateStore } from '../../ports.ts';
import { renderGraph } from './graph-view.ts';
import type { Html } from './html.ts';
import { feedItem, type PageContext } from './layout.ts';
import { graphLayout, overview, type PlanView, parseStackPath, planView } from './model.ts';
import { countsHtml, renderOverview, rowHtml, shownText } from './overview-view.ts';
import {
  allowedHost,
  isCrossSite,
  isLoopbackPeer,
  isSameOrigin,
  newToken,
  SECURITY_HEADERS,
  tokenMatches,
} from './security.ts';
import { renderNotFound, renderStackPage } from './stack-view.ts';

export interface StatusPageOptions {
  /** `dev`: inside `gitops dev`; `web`: `gitops status --web`, reading the state store only. */
  readonly mode: 'dev' | 'web';
  readonly state: StateStore;
  readonly logger: Logger;
  /** The runtime's live events: the feeds show them and GET /events streams them. */
  readonly live?: MemoryEventSink;
  /** Recent events when there is no live sink (the state folder's `events.jsonl`), oldest first. */
  readonly recentEvents?: () => Promise<readonly GitOpsEvent[]>;
  /** The plan of one stack against the branch head; without it the stack page says why there is none. */
  readonly plan?: (selection: { environment: string; stack: string; signal: AbortSignal }) => Promise<Plan>;
  /** Why there is no plan, when `plan` is not given. */
  readonly noPlanReason?: string;
  /** Starts a sync (POST /sync); without it there is no "Sync now". */
  readonly syncNow?: (reason: string) => void;
  /** The server the page is mounted on: live streams end once it stops listening, so its `close()` can finish. */
  readonly server?: Server;
  /** @default 15 s */
  readonly planTimeoutMs?: number;
  /** How long row updates of the live stream are gathered before one state read. @default 150 ms */
  readonly liveBatchMs?: number;
}

const ASSETS: Readonly<Record<string, { type: string; body: Buffer }>> = {
  '/assets/status.css': {
    type: 'text/css; charset=utf-8',
    body: readFileSync(new URL('./assets/status.css', import.meta.url)),
  },
  '/assets/status.js': {
    type: 'text/javascript; charset=utf-8',
    body: readFileSync(new URL('./assets/status.js', import.meta.url)),
  },
};

const RECENT = 20;
const MAX_STREAMS = 32;

interface Stream {
  readonly res: ServerResponse;
  readonly params: URLSearchParams;
}

export class StatusPage {
  /** The session token POST /sync requires; undefined when this page cannot start a sync. */
  readonly token: string | undefined;
  private readonly options: StatusPageOptions;
  private readonly ctx: PageContext;
  private readonly streams = new Set<Stream>();
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pending = new Set<StackKey>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(options: StatusPageOptions) {
    this.options = options;
    this.token = options.syncNow ? newToken() : undefined;
    this.ctx = { mode: options.mode, ...(this.token ? { token: this.token } : {}) };
  }

  /** Answers the status page's paths; false for any other path. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    const known =
      path === '/' ||
      path === '/graph' ||
      path === '/events' ||
      path === '/sync' ||
      path.startsWith('/stacks/') ||
      path in ASSETS;
    if (!known) return false;

    const host = allowedHost(req);
    if (!host) {
      this.text(res, 403, 'The status page answers only requests to 127.0.0.1 or localhost.');
      return true;
    }
    if (path === '/sync') {
      await this.sync(req, res, host);
      return true;
    }
    // Every page reads the state, and a stack page computes a plan: another site's page may not make us do either.
    if (isCrossSite(req) && !(path in ASSETS)) {
      this.text(res, 403, 'The status page refuses cross-site requests: open it from its own address.');
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...SECURITY_HEADERS, allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return true;
    }
    const asset = ASSETS[path];
    if (asset) {
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': asset.type, 'content-length': asset.body.length });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
      return true;
    }
    if (path === '/events') {
      this.stream(req, res, url.searchParams);
      return true;
    }
    let page: { status: number; html: Html };
    if (path === '/') page = { status: 200, html: await this.overviewPage(url.searchParams) };
    else if (path === '/graph') page = { status: 200, html: await this.graphPage(url.searchParams) };
    else page = await this.stackPage(path);
    const body = Buffer.from(page.html.value);
    res.writeHead(page.status, {
      ...SECURITY_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'content-length': body.length,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }

  /** Ends the live streams (the host server is closing). */
  close(): void {
    for (const s of this.streams) s.res.end();
    this.streams.clear();
    this.stopLive();
  }

  // ------------------------------------------------------------ pages

  private async overviewPage(params: URLSearchParams): Promise<Html> {
    const view = overview(await this.options.state.listStacks(), params);
    const notice = params.get('sync') === 'started' ? 'Sync started: the table updates as stacks sync.' : undefined;
    return renderOverview(this.ctx, view, (await this.events()).slice(-RECENT), notice);
  }

  private async graphPage(params: URLSearchParams): Promise<Html> {
    const graphs = graphLayout(await this.options.state.listStacks());
    const env = params.get('env') ?? '';
    return renderGraph(this.ctx, graphs, graphs.some((g) => g.environment === env) ? env : undefined);
  }

  private async stackPage(path: string): Promise<{ status: number; html: Html }> {
    const target = parseStackPath(path);
    const stored = target ? await this.options.state.getStack(target.key) : undefined;
    if (!target || !stored) {
      return {
        status: 404,
        html: renderNotFound(this.ctx, target ? `No stack ${target.key} in the state store.` : 'No such page.'),
      };
    }
    const [history, plan, events] = await Promise.all([
      this.options.state.listHistory(target.key, RECENT),
      this.planFor(target.environment, target.stack, target.key),
      this.events(),
    ]);
    const mine = events.filter((e) => e.detail.environment === target.environment && e.detail.stack === target.stack);
    return {
      status: 200,
      html: renderStackPage(this.ctx, { state: stored.state, history, plan, events: mine.slice(-RECENT) }),
    };
  }

  private async planFor(environment: string, stack: string, key: StackKey): Promise<PlanView> {
    if (!this.options.plan) {
      return {
        kind: 'unavailable',
        message:
          this.options.noPlanReason ??
          `No repository is open here, so there is no plan. Run: gitops plan <repo> --env ${environment} --stack ${stack}`,
      };
    }
    try {
      const signal = AbortSignal.timeout(this.options.planTimeoutMs ?? 15_000);
      return planView(await this.options.plan({ environment, stack, signal }), key);
    } catch (err) {
      return { kind: 'error', message: toGitOpsError(err).describe() };
    }
  }

  private async events(): Promise<readonly GitOpsEvent[]> {
    if (this.options.live) return this.options.live.events;
    if (!this.options.recentEvents) return [];
    try {
      return await this.options.recentEvents();
    } catch (err) {
      this.options.logger.warn(`status page: cannot read recent events: ${toGitOpsError(err).describe()}`);
      return [];
    }
  }

  // ------------------------------------------------------------ Sync now

  private async sync(req: IncomingMessage, res: ServerResponse, host: string): Promise<void> {
    if (!this.options.syncNow || !this.token) {
      this.text(res, 404, 'Sync now is only available while gitops dev runs.');
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { ...SECURITY_HEADERS, allow: 'POST', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return;
    }
    if (!isLoopbackPeer(req) || !isSameOrigin(req, host)) {
      req.resume();
      this.text(res, 403, 'Sync now accepts only same-origin requests from this machine.');
      return;
    }
    const header = req.headers['x-gitops-token'];
    const body = await readSmallBody(req, 4096);
    const token = typeof header === 'string' ? header : new URLSearchParams(body ?? '').get('token');
    if (!tokenMatches(token ?? undefined, this.token)) {
      this.text(res, 403, 'Sync now needs the token of this page: reload the page and try again.');
      return;
    }
    this.options.syncNow('Sync now from the status page');
    if ((req.headers.accept ?? '').includes('application/json')) {
      res.writeHead(202, { ...SECURITY_HEADERS, 'content-type': 'application/json' });
      res.end('{"status":"started"}');
    } else {
      res.writeHead(303, { ...SECURITY_HEADERS, location: '/?sync=started' });
      res.end();
    }
  }

  // ------------------------------------------------------------ live stream

  private stream(req: IncomingMessage, res: ServerResponse, params: URLSearchParams): void {
    const live = this.options.live;
    if (!live) {
      this.text(res, 404, 'Live updates are only available while gitops dev runs.');
      return;
    }
    if (this.streams.size >= MAX_STREAMS) {
      this.text(res, 503, 'Too many open status pages.');
      return;
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      // A stream's connection is never reused: closing it with the stream lets the host server's close() finish.
      connection: 'close',
    });
    res.write('retry: 2000\n: connected\n\n');
    const stream: Stream = { res, params };
    this.streams.add(stream);
    req.socket.setTimeout(0);
    const end = () => {
      this.streams.delete(stream);
      if (this.streams.size === 0) this.stopLive();
    };
    res.once('close', end);
    this.startLive(live);
  }

  private startLive(live: MemoryEventSink): void {
    if (this.unsubscribe) return;
    const listener: EventListener = (event) => this.onEvent(event);
    this.unsubscribe = live.subscribe(listener);
    let ticks = 0;
    this.timer = setInterval(() => {
      // The host server's close() waits for open connections: end the streams as soon as it stops listening.
      if (this.options.server && !this.options.server.listening) {
        this.close();
        return;
      }
      if (++ticks % 15 === 0) for (const s of this.streams) s.res.write(': keep-alive\n\n');
    }, 1000);
    this.timer.unref();
  }

  private stopLive(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.pending.clear();
  }

  private onEvent(event: GitOpsEvent): void {
    const d = event.detail;
    const key = d.environment && d.stack ? `${d.environment}/${d.stack}` : undefined;
    send(this.streams, 'feed', { key: key ?? null, html: feedItem(event).value });
    if (!key) return;
    this.pending.add(key);
    // Many events arrive together during a sync: gather them and read the state once per batch.
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush().catch((err) =>
        this.options.logger.warn(`status page: live update failed: ${toGitOpsError(err).describe()}`),
      );
    }, this.options.liveBatchMs ?? 150);
  }

  private async flush(): Promise<void> {
    const keys = [...this.pending];
    this.pending.clear();
    if (!keys.length || !this.streams.size) return;
    const states = await this.options.state.listStacks();
    for (const s of this.streams) {
      // The rows the stream's filter keeps; a row that no longer matches (or is gone) is removed with `null`.
      const view = overview(states, s.params);
      const byKey = new Map(view.rows.map((r) => [r.key, r]));
      const rows = keys.map((key) => {
        const row = byKey.get(key);
        return { key, html: row ? rowHtml(row).value : null };
      });
      s.res.write(frame('rows', { rows, counts: countsHtml(view).value, shown: shownText(view) }));
    }
  }

  private text(res: ServerResponse, status: number, message: string): void {
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
    res.end(`${message}\n`);
  }
}

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

function send(streams: Iterable<Stream>, event: string, data: unknown): void {
  const text = frame(event, data);
  for (const s of streams) s.res.write(text);
}

/** A form body of at most `limit` bytes; undefined when larger (the token never needs more). */
async function readSmallBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const pages = new WeakMap<object, StatusPage>();

/**
 * The one status page of a runtime, made on first use: its session token and live streams live as long as `owner`
 * (the runtime's event sink), however many requests are routed to it.
 */
export function statusPageFor(owner: object, make: () => StatusPageOptions): StatusPage {
  let page = pages.get(owner);
  if (!page) {
    page = new StatusPage(make());
    pages.set(owner, page);
  }
  return page;
}
