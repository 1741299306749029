/**
 * `gitops status --web [--target aws]`: the status page served from a laptop, reading the state store it is given
 * (the local folder, or the S3 bucket with the user's own credentials). Read-only — there is no repository here, so
 * no plan and no "Sync now" — and bound to 127.0.0.1 only.
 */
import { createServer } from 'node:http';
import { join } from 'node:path';
import { FolderStateStore } from '../adapters/local/index.ts';
import { toGitOpsError } from '../errors.ts';
import type { Logger, StateStore } from '../ports.ts';
import { listenOnLoopback } from './listen.ts';
import { readEventsTail } from './status-page/events-file.ts';
import { StatusPage } from './status-page/handler.ts';
import { refusal, SECURITY_HEADERS } from './status-page/security.ts';

export interface StatusServerOptions {
  readonly state: StateStore;
  /** 0 picks a free port. */
  readonly port: number;
  readonly logger: Logger;
  readonly out: (text: string) => void;
  /** Stops the server when aborted, as Ctrl-C does. */
  readonly signal?: AbortSignal;
}

export interface StatusServer {
  readonly url: string;
  close(): Promise<void>;
  readonly closed: Promise<void>;
}

/** Starts the server and returns once it listens. */
export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const { state } = options;
  // Recent events exist where the console sink wrote them: `<state>/events.jsonl` of a state folder. The S3 store
  // keeps none (they went to EventBridge), so the page shows none rather than guessing.
  const eventsFile = state instanceof FolderStateStore ? join(state.dir, 'events.jsonl') : undefined;
  const page = new StatusPage({
    mode: 'web',
    state,
    logger: options.logger,
    ...(eventsFile ? { recentEvents: () => readEventsTail(eventsFile) } : {}),
    noPlanReason:
      'gitops status --web reads only the state store and has no repository, so it cannot compute the plan. ' +
      'Run gitops plan <repo> for this stack, or open this page from gitops dev.',
  });
  const server = createServer((req, res) => {
    const refused = refusal(req);
    if (refused) {
      req.resume();
      res.writeHead(refused.status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${refused.message}\n`);
      return;
    }
    page
      .handle(req, res)
      .then((handled) => {
        if (handled) return;
        res.writeHead(404, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
        res.end('not found\n');
      })
      .catch((err) => {
        options.logger.error(`status page request failed: ${toGitOpsError(err).describe()}`);
        if (!res.headersSent) {
          res.writeHead(500, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
          res.end('The state store could not be read: see the terminal running gitops status --web.\n');
        } else res.end();
      });
  });
  const { url, closed } = await listenOnLoopback(server, options.port);
  return {
    url,
    closed,
    close: async () => {
      page.close();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

/** What the CLI calls: serves until Ctrl-C (or SIGTERM), then returns. */
export async function serveStatusPage(options: StatusServerOptions): Promise<void> {
  const server = await startStatusServer(options);
  options.out(`status page: ${server.url}/  (127.0.0.1 only; Ctrl-C to stop)\n`);
  const stop = () => void server.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  options.signal?.addEventListener('abort', stop, { once: true });
  if (options.signal?.aborted) stop();
  try {
    await server.closed;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    options.signal?.removeEventListener('abort', stop);
  }
}
