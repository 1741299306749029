import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GitOpsError, Reason } from '../errors.ts';

/**
 * Listens on 127.0.0.1 only (the local runtime and the status page are never exposed) and gives the URL and a promise
 * that resolves when the server closes. A taken port is a clear error naming `--port`.
 */
export async function listenOnLoopback(server: Server, port: number): Promise<{ url: string; closed: Promise<void> }> {
  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        err.code === 'EADDRINUSE'
          ? new GitOpsError(Reason.InvalidConfig, `port ${port} is in use: pass --port`, { field: '--port' })
          : err,
      ),
    );
    server.listen(port, '127.0.0.1', () => ok());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    closed: new Promise<void>((ok) => server.once('close', () => ok())),
  };
}
