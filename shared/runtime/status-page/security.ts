/**
 * What keeps the status page a local tool: every response carries a strict CSP and friends; every request must name
 * the loopback host (a DNS-rebinding page names its own host, and is refused before it can read the session token);
 * and POST /sync needs a loopback peer, a same-origin request and the session token, compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';

export const SECURITY_HEADERS: Readonly<OutgoingHttpHeaders> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** A random session token: 32 bytes, URL-safe. A new one each time a runtime or `status --web` starts. */
export const newToken = (): string => randomBytes(32).toString('base64url');

/** Compares digests, so neither the length nor the content of the token leaks through timing. */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

const LOOPBACK_PEERS = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

export const isLoopbackPeer = (req: IncomingMessage): boolean => LOOPBACK_PEERS.has(req.socket.remoteAddress ?? '');

/** The `Host` values a browser sends for this server: the loopback names with the port the request came in on. */
export function allowedHost(req: IncomingMessage): string | undefined {
  const host = (req.headers.host ?? '').toLowerCase();
  const port = req.socket.localPort;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host) ? host : undefined;
}

/**
 * Same-origin only: an `Origin` header must be this server's origin; without one (older browsers on same-origin
 * requests), `Sec-Fetch-Site` must say `same-origin`. A request with neither (curl, another program) is refused too:
 * it has no page to take the token from, and the CLI has `gitops sync` for that.
 */
export function isSameOrigin(req: IncomingMessage, host: string): boolean {
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  if (origin !== undefined) return origin === `http://${host}`;
  return site === 'same-origin';
}

/**
 * Whether a browser says the request comes from another site (`Sec-Fetch-Site: cross-site`): a page the user visits
 * elsewhere, loading or navigating to one of our routes. Such a GET is refused wherever it would read the state or
 * compute something (a stack page computes a plan), so a web page cannot make the runtime work or read it.
 */
export const isCrossSite = (req: IncomingMessage): boolean => req.headers['sec-fetch-site'] === 'cross-site';

/**
 * The checks every route of the local server except `/webhook` makes first (the webhook is called by a forge, with
 * its own Host, and is verified by its signature instead): the Host must be a loopback name on our port (DNS
 * rebinding), and no cross-site request. The refusal to send, or undefined when the request may go on.
 */
export function refusal(req: IncomingMessage): { status: number; message: string } | undefined {
  if (!allowedHost(req)) {
    return { status: 403, message: 'This server answers only requests to 127.0.0.1 or localhost on its own port.' };
  }
  if (isCrossSite(req)) return { status: 403, message: 'Cross-site requests are refused.' };
  return undefined;
}
