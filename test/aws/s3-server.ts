/**
 * A real S3-protocol server for the state store tests: s3rver on loopback, behind a thin proxy.
 *
 * s3rver 3.7 ignores `If-Match` / `If-None-Match` on PutObject (it honours them only on GetObject), while S3 has
 * enforced conditional writes since 2024. The proxy adds exactly those documented semantics and nothing else:
 * `If-None-Match: *` on an existing key → 412 PreconditionFailed; `If-Match: <etag>` on another ETag → 412
 * PreconditionFailed; `If-Match` on a missing key → 404 NoSuchKey. Conditional writes to one key are serialised, as
 * S3 does. Every other request is piped to s3rver untouched (headers included, so SigV4 signatures still verify).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

export interface S3TestServer {
  readonly endpoint: string;
  readonly bucket: string;
  client(): S3Client;
  /** Requests the proxy saw, `METHOD path`. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startS3(bucket = 'gitops-state'): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const upstream = await s3rver.run();
  const locks = new Map<string, Promise<void>>();
  const requests: string[] = [];

  const proxy = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const ifMatch = req.headers['if-match'];
    const ifNoneMatch = req.headers['if-none-match'];
    const conditionalPut = req.method === 'PUT' && (ifMatch !== undefined || ifNoneMatch !== undefined);
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (!conditionalPut) {
      // S3 replaces an object atomically; s3rver rewrites its file in place, and a GET streamed while a conditional
      // PUT of the same key writes could be cut short. A GET waits for the conditional writes queued on its key.
      const pending = req.method === 'GET' ? locks.get(path) : undefined;
      if (pending) void pending.then(() => forward(req, res, upstream));
      else forward(req, res, upstream);
      return;
    }
    const previous = locks.get(path) ?? Promise.resolve();
    const done = previous.then(async () => {
      const current = await headEtag(upstream, path);
      if (ifNoneMatch === '*' && current !== undefined) {
        req.resume();
        sendError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
        return;
      }
      if (ifMatch !== undefined && current === undefined) {
        req.resume();
        sendError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
        return;
      }
      if (ifMatch !== undefined && unquote(ifMatch) !== unquote(current ?? '')) {
        req.resume();
        sendError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
        return;
      }
      await new Promise<void>((resolve) => {
        res.on('finish', resolve);
        res.on('close', resolve);
        forward(req, res, upstream);
      });
    });
    locks.set(
      path,
      done.catch(() => undefined),
    );
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

  return {
    endpoint,
    bucket,
    requests,
    client: () =>
      new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        maxAttempts: 1,
      }),
    close: async () => {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await s3rver.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function forward(req: http.IncomingMessage, res: http.ServerResponse, upstream: AddressInfo): void {
  const out = http.request(
    { host: '127.0.0.1', port: upstream.port, method: req.method, path: req.url, headers: req.headers },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  out.on('error', () => {
    res.destroy();
  });
  req.pipe(out);
}

function headEtag(upstream: AddressInfo, path: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const head = http.request({ host: '127.0.0.1', port: upstream.port, method: 'HEAD', path }, (res) => {
      res.resume();
      const etag = res.headers.etag;
      resolve(res.statusCode === 200 && typeof etag === 'string' ? etag : undefined);
    });
    head.on('error', reject);
    head.end();
  });
}

function sendError(res: http.ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>proxy</RequestId></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const unquote = (etag: string) => etag.replace(/^W\//, '').replace(/"/g, '');
