/**
 * A real smart-HTTP Git server for tests and benchmarks: a Node `http` server on 127.0.0.1 that runs
 * `git http-backend` as a CGI program for every request, with optional Basic auth, a request log (so a test can
 * assert how many bytes a fetch transferred) and fault injection (an error status, a stalled or truncated response).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RequestRecord {
  readonly method: string;
  /** Path and query, e.g. `/repo.git/info/refs?service=git-upload-pack`. */
  readonly path: string;
  readonly status: number;
  /** Body bytes sent back to the client. */
  readonly bytesSent: number;
  /** Request body bytes received (as sent on the wire, compressed or not). */
  readonly bytesReceived: number;
  /** Whether the request carried an Authorization header (whatever its value). */
  readonly authorization: boolean;
}

/** A fault applied to the next matching requests. */
export type Fault =
  | { readonly kind: 'status'; readonly status: number }
  /** Never answers (until the client gives up or the server closes). */
  | { readonly kind: 'stall' }
  /** Sends the backend's headers and only the first `afterBytes` bytes of its body, then ends the response. */
  | { readonly kind: 'truncate'; readonly afterBytes: number }
  /** Answers 302 with this Location (before any authentication), as a forge does for a moved repository; never to
   * a request for the Location itself. */
  | { readonly kind: 'redirect'; readonly location: string };

export interface FaultRule {
  readonly fault: Fault;
  /** Which requests: ref discovery (`info-refs`), the pack request (`upload-pack`), or any. @default 'any' */
  readonly on?: 'info-refs' | 'upload-pack' | 'any';
  /** How many matching requests it applies to. @default 1 */
  readonly times?: number;
}

export interface GitServerOptions {
  /** Folder holding the bare repositories (`GIT_PROJECT_ROOT`). */
  readonly root: string;
  /** When set, every request must carry these Basic credentials, else 401 with WWW-Authenticate. */
  readonly auth?: { readonly username: string; readonly password: string };
  /** Environment for git (a private HOME, no system config). */
  readonly env?: NodeJS.ProcessEnv;
}

export interface GitServer {
  /** The clone URL of `<root>/<name>.git`. */
  url(name: string): string;
  readonly requests: RequestRecord[];
  /** Bytes sent for the requests logged from index `from` on. */
  bytesSentSince(from: number): number;
  injectFault(rule: FaultRule): void;
  clearFaults(): void;
  close(): Promise<void>;
}

const backendPath = `${spawnSync('git', ['--exec-path']).stdout.toString().trim()}/git-http-backend`;

export async function startGitServer(options: GitServerOptions): Promise<GitServer> {
  const requests: RequestRecord[] = [];
  const faults: { rule: FaultRule; left: number }[] = [];
  const open = new Set<ServerResponse>();

  /** The next fault for `path`: a redirect (checked before authentication) or any other kind (after it). */
  const takeFault = (path: string, redirect: boolean): Fault | undefined => {
    const kind = path.includes('/info/refs')
      ? 'info-refs'
      : path.endsWith('/git-upload-pack')
        ? 'upload-pack'
        : 'other';
    const entry = faults.find(
      (f) =>
        (f.rule.fault.kind === 'redirect') === redirect &&
        ((f.rule.on ?? 'any') === 'any' || f.rule.on === kind) &&
        // A redirect never applies to the request it points to.
        !(f.rule.fault.kind === 'redirect' && new URL(f.rule.fault.location).pathname === path),
    );
    if (!entry) return undefined;
    entry.left -= 1;
    if (entry.left <= 0) faults.splice(faults.indexOf(entry), 1);
    return entry.rule.fault;
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    open.add(res);
    res.on('close', () => open.delete(res));
    const url = new URL(req.url ?? '/', 'http://localhost');
    let bytesSent = 0;
    let bytesReceived = 0;
    const log = (status: number) =>
      requests.push({
        method: req.method ?? 'GET',
        path: url.pathname + url.search,
        status,
        bytesSent,
        bytesReceived,
        authorization: req.headers.authorization !== undefined,
      });

    const redirect = takeFault(url.pathname, true);
    if (redirect?.kind === 'redirect') {
      req.resume();
      res.writeHead(302, { Location: redirect.location, 'Content-Type': 'text/plain' });
      res.end('moved\n');
      log(302);
      return;
    }
    if (options.auth && !authorized(req, options.auth)) {
      req.resume();
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' });
      res.end('authentication required\n');
      log(401);
      return;
    }
    const fault = takeFault(url.pathname, false);
    if (fault?.kind === 'status') {
      req.resume();
      res.writeHead(fault.status, { 'Content-Type': 'text/plain' });
      res.end(`injected status ${fault.status}\n`);
      log(fault.status);
      return;
    }
    if (fault?.kind === 'stall') {
      req.resume();
      log(0);
      return;
    }

    const child = spawn(backendPath, [], {
      env: {
        ...(options.env ?? process.env),
        GIT_PROJECT_ROOT: options.root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        GIT_PROTOCOL: req.headers['git-protocol']?.toString() ?? '',
        REMOTE_USER: options.auth?.username ?? '',
        REMOTE_ADDR: '127.0.0.1',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    req.on('data', (chunk: Buffer) => {
      bytesReceived += chunk.length;
    });
    req.pipe(child.stdin);
    child.stdin.on('error', () => undefined);
    child.stderr.resume();

    let head = Buffer.alloc(0);
    let headersDone = false;
    let status = 200;
    let limit = fault?.kind === 'truncate' ? fault.afterBytes : Number.POSITIVE_INFINITY;
    const send = (chunk: Buffer): void => {
      if (limit <= 0) return;
      const part = chunk.length > limit ? chunk.subarray(0, limit) : chunk;
      limit -= part.length;
      bytesSent += part.length;
      res.write(part);
      if (limit <= 0) {
        child.kill();
        res.end();
      }
    };
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) return send(chunk);
      head = Buffer.concat([head, chunk]);
      const sep = findHeaderEnd(head);
      if (!sep) return;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, sep.at).toString('latin1').split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      headersDone = true;
      res.writeHead(status, headers);
      const rest = head.subarray(sep.at + sep.length);
      if (rest.length > 0) send(rest);
    });
    child.on('close', () => {
      if (!headersDone) res.writeHead(502).end();
      else if (!res.writableEnded) res.end();
      log(status);
    });
    res.on('close', () => {
      if (child.exitCode === null) child.kill();
    });
  };

  const server = createServer(handle);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: (name) => `http://127.0.0.1:${port}/${name}.git`,
    requests,
    bytesSentSince: (from) => requests.slice(from).reduce((sum, r) => sum + r.bytesSent, 0),
    injectFault: (rule) => {
      faults.push({ rule, left: rule.times ?? 1 });
    },
    clearFaults: () => {
      faults.length = 0;
    },
    close: async () => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function authorized(req: IncomingMessage, auth: { username: string; password: string }): boolean {
  const header = req.headers.authorization ?? '';
  if (!header.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  return decoded === `${auth.username}:${auth.password}`;
}

function findHeaderEnd(buf: Buffer): { at: number; length: number } | undefined {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, length: 4 };
  if (lf >= 0) return { at: lf, length: 2 };
  return undefined;
}
