/**
 * A local stand-in of the GitHub, GitLab and Bitbucket Cloud REST APIs a preview calls, on 127.0.0.1:0: it keeps the
 * comments per pull request, answers like the forges do (status codes, ids, pagination fields) and records every call
 * with its method, path, auth header and JSON body.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  readonly method: string;
  readonly path: string;
  readonly auth: string | undefined;
  readonly body: unknown;
}

export interface ForgeStandin {
  readonly url: string;
  readonly calls: RecordedCall[];
  /** The comments of each pull request, keyed by the API path of its comment list. */
  readonly comments: Map<string, { id: number; body: string }[]>;
  close(): Promise<void>;
}

export async function startForgeStandin(): Promise<ForgeStandin> {
  const calls: RecordedCall[] = [];
  const comments = new Map<string, { id: number; body: string }[]>();
  let nextId = 1000;

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = raw ? JSON.parse(raw) : undefined;
    const auth = (req.headers['authorization'] ?? req.headers['private-token']) as string | undefined;
    calls.push({ method: req.method ?? '', path: url.pathname, auth, body });
    const send = (status: number, json: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(json));
    };
    const path = url.pathname;
    let m: RegExpExecArray | null;
    // GitHub
    m = /^\/github\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(path);
    if (m) {
      const list = comments.get(path) ?? [];
      comments.set(path, list);
      if (req.method === 'GET')
        return send(
          200,
          list.map((c) => ({ id: c.id, body: c.body })),
        );
      const c = { id: nextId++, body: (body as { body: string }).body };
      list.push(c);
      return send(201, c);
    }
    m = /^\/github\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(path);
    if (m && req.method === 'PATCH') {
      const c = [...comments.values()].flat().find((x) => x.id === Number(m?.[3]));
      if (!c) return send(404, { message: 'Not Found' });
      c.body = (body as { body: string }).body;
      return send(200, c);
    }
    if (/^\/github\/repos\/[^/]+\/[^/]+\/(statuses\/[0-9a-f]{40}|check-runs)$/.test(path))
      return send(201, { id: nextId++ });
    // GitLab
    m = /^\/gitlab\/projects\/([^/]+)\/merge_requests\/(\d+)\/notes$/.exec(path);
    if (m) {
      const list = comments.get(path) ?? [];
      comments.set(path, list);
      if (req.method === 'GET')
        return send(
          200,
          list.map((c) => ({ id: c.id, body: c.body, system: false })),
        );
      const c = { id: nextId++, body: (body as { body: string }).body };
      list.push(c);
      return send(201, c);
    }
    m = /^(\/gitlab\/projects\/[^/]+\/merge_requests\/\d+\/notes)\/(\d+)$/.exec(path);
    if (m && req.method === 'PUT') {
      const c = (comments.get(m[1] ?? '') ?? []).find((x) => x.id === Number(m?.[2]));
      if (!c) return send(404, { message: '404 Not found' });
      c.body = (body as { body: string }).body;
      return send(200, c);
    }
    if (/^\/gitlab\/projects\/[^/]+\/statuses\/[0-9a-f]{40}$/.test(path)) return send(201, { id: nextId++ });
    // Bitbucket Cloud
    m = /^\/bitbucket\/repositories\/([^/]+)\/([^/]+)\/pullrequests\/(\d+)\/comments$/.exec(path);
    if (m) {
      const list = comments.get(path) ?? [];
      comments.set(path, list);
      if (req.method === 'GET') {
        return send(200, { pagelen: 100, page: 1, values: list.map((c) => ({ id: c.id, content: { raw: c.body } })) });
      }
      const c = { id: nextId++, body: (body as { content: { raw: string } }).content.raw };
      list.push(c);
      return send(201, { id: c.id, content: { raw: c.body } });
    }
    m = /^(\/bitbucket\/repositories\/[^/]+\/[^/]+\/pullrequests\/\d+\/comments)\/(\d+)$/.exec(path);
    if (m && req.method === 'PUT') {
      const c = (comments.get(m[1] ?? '') ?? []).find((x) => x.id === Number(m?.[2]));
      if (!c) return send(404, { type: 'error' });
      c.body = (body as { content: { raw: string } }).content.raw;
      return send(200, { id: c.id, content: { raw: c.body } });
    }
    if (/^\/bitbucket\/repositories\/[^/]+\/[^/]+\/commit\/[0-9a-f]{40}\/statuses\/build$/.test(path)) {
      return send(201, { key: (body as { key: string }).key });
    }
    return send(404, { message: 'Not Found' });
  };

  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (raw += d));
    req.on('end', () => handle(req, res, raw));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    comments,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
