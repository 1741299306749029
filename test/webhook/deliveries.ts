/** Builds signed deliveries the way each forge sends them, from the fixtures beside this file. */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Provider, WebhookRequest } from '../../shared/webhook/types.ts';

export const SECRET = 'webhook-test-secret-9f8e7d';

export function fixture(name: string): Buffer {
  // Re-serialised compactly, as the forges send it (and so the fixture files can stay readable).
  const text = readFileSync(join(import.meta.dirname, 'fixtures', `${name}.json`), 'utf8');
  return Buffer.from(JSON.stringify(JSON.parse(text)));
}

export function hmac(body: Buffer | string, secret = SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

const eventHeader: Readonly<Record<Provider, string>> = {
  github: 'x-github-event',
  gitlab: 'x-gitlab-event',
  bitbucket: 'x-event-key',
};

/** A correctly signed delivery of `event` with `body`; `headers` override or (with undefined) remove headers. */
export function delivery(
  provider: Provider,
  event: string,
  body: Buffer,
  headers: Record<string, string | undefined> = {},
  id = `${provider}-delivery-1`,
): WebhookRequest & { method: string } {
  const base: Record<string, string | undefined> = {
    'content-type': 'application/json',
    'content-length': String(body.length),
    [eventHeader[provider]]: event,
  };
  if (provider === 'github') {
    base['x-github-delivery'] = id;
    base['x-hub-signature-256'] = hmac(body);
  } else if (provider === 'gitlab') {
    base['x-gitlab-event-uuid'] = id;
    base['x-gitlab-token'] = SECRET;
  } else {
    base['x-request-uuid'] = id;
    base['x-hook-uuid'] = '{7c2b0e63-9a4f-4f1b-8d2a-5e9c1b3a7f40}';
    base['x-hub-signature'] = hmac(body);
  }
  return { method: 'POST', headers: { ...base, ...headers }, body };
}
