/**
 * A small HTTP client over node:http/https with keep-alive (ref discovery and the pack request share one connection),
 * an AbortSignal on every request, and the whole body collected in memory (packs are parsed in memory anyway), up to
 * `maxBytes`: a larger declared length is refused before the body is read, and a body that grows past it is cut.
 * It also serves as isomorphic-git's one-method `http` plugin, so isomorphic-git's ref discovery uses the same
 * connection and deadline.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';

export interface HttpResponse {
  readonly statusCode: number;
  readonly statusMessage: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface HttpRequest {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
  readonly signal?: AbortSignal;
  /** The largest response body accepted. @default no limit */
  readonly maxBytes?: number;
}

/** A response body over the request's `maxBytes`. */
export class ResponseTooLarge extends Error {
  override readonly name = 'ResponseTooLarge';
  constructor(
    readonly url: string,
    readonly limit: number,
  ) {
    super(`the response from ${url} is over the limit of ${limit} bytes`);
  }
}

/** A network failure (connection refused or reset, response cut off) or an abort: both worth retrying. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    message: string,
    readonly aborted: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 8 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 8 });

export function send(req: HttpRequest): Promise<HttpResponse> {
  const url = new URL(req.url);
  const secure = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    if (req.signal?.aborted) {
      reject(new TransportError(`request to ${url.origin}${url.pathname} aborted`, true, { cause: req.signal.reason }));
      return;
    }
    const headers: Record<string, string> = { ...req.headers };
    if (req.body) headers['content-length'] = String(req.body.length);
    const outgoing = (secure ? httpsRequest : httpRequest)(
      url,
      { method: req.method, headers, agent: secure ? httpsAgent : httpAgent },
      (res) => {
        const chunks: Buffer[] = [];
        const limit = req.maxBytes ?? Number.POSITIVE_INFINITY;
        let received = 0;
        const tooLarge = () => {
          outgoing.destroy();
          cleanup();
          reject(new ResponseTooLarge(`${url.origin}${url.pathname}`, limit));
        };
        if (Number(res.headers['content-length'] ?? 0) > limit) {
          tooLarge();
          return;
        }
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > limit) tooLarge();
          else chunks.push(chunk);
        });
        res.on('end', () => {
          cleanup();
          if (!res.complete) {
            reject(new TransportError(`response from ${url.origin}${url.pathname} was cut off`, false));
            return;
          }
          resolve({
            statusCode: res.statusCode ?? 0,
            statusMessage: res.statusMessage ?? '',
            headers: res.headers,
            body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
          });
        });
        res.on('error', (err) => fail(err));
        res.on('aborted', () => fail(new Error('response aborted')));
      },
    );
    const onAbort = () => {
      outgoing.destroy();
      cleanup();
      reject(
        new TransportError(`request to ${url.origin}${url.pathname} aborted`, true, { cause: req.signal?.reason }),
      );
    };
    const fail = (err: Error) => {
      cleanup();
      reject(
        new TransportError(`request to ${url.origin}${url.pathname} failed: ${err.message}`, false, { cause: err }),
      );
    };
    const cleanup = () => req.signal?.removeEventListener('abort', onAbort);
    req.signal?.addEventListener('abort', onAbort, { once: true });
    outgoing.on('error', fail);
    outgoing.end(req.body);
  });
}

async function collect(body: GitHttpRequest['body']): Promise<Buffer | undefined> {
  if (!body) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** isomorphic-git's `http` plugin, bound to a deadline signal and a response size limit. */
export function isoGitHttp(signal?: AbortSignal, maxBytes?: number): HttpClient {
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const body = await collect(req.body);
      const res = await send({
        url: req.url,
        method: (req.method ?? 'GET') as 'GET' | 'POST',
        headers: req.headers ?? {},
        ...(body ? { body } : {}),
        ...(signal ? { signal } : {}),
        ...(maxBytes !== undefined ? { maxBytes } : {}),
      });
      const flat: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers))
        if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
      return {
        url: req.url,
        method: req.method ?? 'GET',
        statusCode: res.statusCode,
        statusMessage: res.statusMessage,
        headers: flat,
        body: (async function* () {
          yield new Uint8Array(res.body.buffer, res.body.byteOffset, res.body.length);
        })(),
      };
    },
  };
}
