/**
 * Authenticates a delivery before a single byte of it is parsed (design §6). The provider is told by its event header;
 * each has its own scheme:
 *
 * - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` (checked with @octokit/webhooks-methods).
 *   The legacy `X-Hub-Signature: sha1=…` alone is refused: SHA-1 is not accepted.
 * - GitLab: `X-Gitlab-Token` carries the secret itself; compared in constant time on sha256 digests, so neither the
 *   length nor a prefix of the secret leaks through timing.
 * - Bitbucket Cloud: `X-Hub-Signature: sha256=<hex>` over the raw body, the same scheme as GitHub's.
 *
 * Messages name the header at fault and never echo the body, a signature or the secret.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { verify as verifyHmac } from '@octokit/webhooks-methods';
import { Reason, WebhookError } from '../errors.ts';
import type { Provider, WebhookRequest } from './types.ts';

/** The provider whose headers the request carries, or undefined when it looks like none of them. */
export function detectProvider(headers: WebhookRequest['headers']): Provider | undefined {
  if (headers['x-github-event'] !== undefined) return 'github';
  if (headers['x-gitlab-event'] !== undefined || headers['x-gitlab-token'] !== undefined) return 'gitlab';
  if (headers['x-event-key'] !== undefined) return 'bitbucket';
  // Signed but without an event header: still classify it, so the answer is "signature/event", not "unsigned".
  if (headers['x-hub-signature-256'] !== undefined) return 'github';
  if (headers['x-hub-signature'] !== undefined) return 'bitbucket';
  return undefined;
}

/**
 * The half of verification that needs no secret: the provider's signature header is there and well-formed. The
 * endpoint calls it before reading the secret, so a request that cannot be a signed delivery costs no SSM call.
 */
export function requireSignatureHeader(headers: WebhookRequest['headers']): Provider {
  const provider = detectProvider(headers);
  if (provider === undefined) {
    throw new WebhookError(
      Reason.SignatureMissing,
      401,
      'no signature header (x-hub-signature-256, x-gitlab-token or x-hub-signature)',
      { field: 'headers' },
    );
  }
  switch (provider) {
    case 'github':
      if (headers['x-hub-signature-256'] === undefined && headers['x-hub-signature'] !== undefined) {
        throw new WebhookError(
          Reason.SignatureInvalid,
          401,
          'x-hub-signature (SHA-1) is not accepted; GitHub sends x-hub-signature-256 when the webhook has a secret',
          { field: 'x-hub-signature' },
        );
      }
      requireHubSignature(headers, 'x-hub-signature-256');
      break;
    case 'gitlab':
      if (headers['x-gitlab-token'] === undefined || headers['x-gitlab-token'] === '') {
        throw new WebhookError(Reason.SignatureMissing, 401, 'x-gitlab-token header is missing', {
          field: 'x-gitlab-token',
        });
      }
      break;
    case 'bitbucket':
      requireHubSignature(headers, 'x-hub-signature');
      break;
  }
  return provider;
}

export async function verifyDelivery(req: WebhookRequest, secret: string): Promise<Provider> {
  const provider = requireSignatureHeader(req.headers);
  requireSecret(secret);
  switch (provider) {
    case 'github':
      await verifyHubSignature(req, secret, 'x-hub-signature-256');
      break;
    case 'gitlab':
      verifyGitLab(req, secret);
      break;
    case 'bitbucket':
      await verifyHubSignature(req, secret, 'x-hub-signature');
      break;
  }
  return provider;
}

/** `sha256=<64 hex>` in `header`, or the 401 that names the header. */
function requireHubSignature(headers: WebhookRequest['headers'], header: string): string {
  const signature = headers[header];
  if (signature === undefined || signature === '') {
    throw new WebhookError(Reason.SignatureMissing, 401, `${header} header is missing`, { field: header });
  }
  if (!/^sha256=[0-9a-f]{64}$/i.test(signature)) {
    const algorithm = /^([a-z0-9]+)=/i.exec(signature)?.[1];
    const why =
      algorithm && algorithm.toLowerCase() !== 'sha256' ? `uses ${algorithm}, only sha256 is accepted` : 'is malformed';
    throw new WebhookError(Reason.SignatureInvalid, 401, `${header} ${why}`, { field: header });
  }
  return signature;
}

async function verifyHubSignature(req: WebhookRequest, secret: string, header: string): Promise<void> {
  const signature = requireHubSignature(req.headers, header);
  if (req.body.length === 0) {
    throw new WebhookError(Reason.PayloadInvalid, 400, 'the request body is empty', { field: 'body' });
  }
  // The forges sign UTF-8 JSON (or form) text; octokit's verify takes a string. A body that is not valid UTF-8 would
  // decode lossily and fail the check, which is the right answer for bytes no forge sends.
  const valid = await verifyHmac(secret, req.body.toString('utf8'), signature.toLowerCase());
  if (!valid) {
    throw new WebhookError(Reason.SignatureInvalid, 401, `${header} does not match the payload`, { field: header });
  }
}

function verifyGitLab(req: WebhookRequest, secret: string): void {
  const token = req.headers['x-gitlab-token'] ?? '';
  // Equal-length digests make timingSafeEqual applicable and hide the secret's length.
  const given = createHash('sha256').update(token).digest();
  const expected = createHash('sha256').update(secret).digest();
  if (!timingSafeEqual(given, expected)) {
    throw new WebhookError(Reason.SignatureInvalid, 401, 'x-gitlab-token does not match the configured secret', {
      field: 'x-gitlab-token',
    });
  }
}

function requireSecret(secret: string): void {
  if (!secret) {
    throw new WebhookError(
      Reason.SecretMissing,
      500,
      'the webhook secret is not configured (webhook-secret / GITOPS_WEBHOOK_SECRET); deliveries cannot be verified',
      { notify: true },
    );
  }
}
