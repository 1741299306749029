/**
 * The whole HTTP behaviour of the webhook endpoint, shared by the Lambda (Function URL) and `gitops dev`. Answers fast
 * (verify, hand off, 202) and never throws: every outcome is a small JSON answer, and nothing of the request body, the
 * signature or the secret is ever echoed (oversized and malformed payloads crashed ArgoCD's endpoint, CVE-2024-40634).
 *
 *   405  not a POST
 *   413  body over `maxBytes` (declared Content-Length or actual length)
 *   401  signature missing or wrong          500  no secret configured on our side
 *   400  valid signature, unusable payload
 *   200  {"ignored": reason}  ping, tag push, branch deletion, other event types
 *   200  {"duplicate": id}    a delivery id, or the very same signed body (a replay under a new id), already handled
 *   202  {"accepted": id}     after `onPush` resolved
 *   500  {"error": "Internal"} anything unexpected (logged, sanitized)
 */
import { GitOpsError, Reason, WebhookError } from '../errors.ts';
import type { Logger } from '../ports.ts';
import { registerSecret } from '../sanitize.ts';
import { bodyDigest, type DeliveryLedger } from './dedupe.ts';
import { parsePush } from './parse.ts';
import { isPullRequestEvent, type PullRequest, parsePullRequest } from './pull-request.ts';
import type { Push, WebhookRequest } from './types.ts';
import { requireSignatureHeader, verifyDelivery } from './verify.ts';

export const DEFAULT_MAX_BYTES = 1024 * 1024;

export interface WebhookDeps {
  /** The shared secret; read per delivery so a rotated secret applies without a restart. */
  readonly secret: () => Promise<string | undefined>;
  /** Deliveries seen, by delivery id and by the digest of the signed body. */
  readonly dedupe: DeliveryLedger;
  /** @default 1 MiB */
  readonly maxBytes?: number;
  /**
   * Hands the push on (enqueue, start a sync). A rejection answers 500 and the delivery id is forgotten; a push this
   * installation does not follow (another repository or branch) resolves with `{ ignored: reason }` and gets 200.
   */
  readonly onPush: (push: Push) => Promise<unknown>;
  readonly logger: Logger;
  /**
   * Hands a pull-request delivery on (a preview to compute, or one to end). Without it pull-request events are
   * ignored like any other unsupported event. Same answers as `onPush`: `{ ignored }` for a pull request this
   * installation does not preview (another repository, a base branch bound to no environment).
   */
  readonly onPullRequest?: (pr: PullRequest) => Promise<unknown>;
}

export interface WebhookResponse {
  readonly status: number;
  readonly body: string;
}

export async function handleWebhook(
  req: WebhookRequest & { readonly method?: string },
  deps: WebhookDeps,
): Promise<WebhookResponse> {
  try {
    return await handle(req, deps);
  } catch (err) {
    if (err instanceof WebhookError) {
      const fields = { status: err.status, reason: err.reason };
      if (err.status >= 500) deps.logger.error(`webhook refused: ${err.message}`, fields);
      else deps.logger.warn(`webhook refused: ${err.message}`, fields);
      return answer(err.status, { error: err.reason, message: err.message });
    }
    deps.logger.error('webhook failed', { error: err });
    return answer(500, { error: Reason.Internal, message: 'internal error' });
  }
}

async function handle(req: WebhookRequest & { readonly method?: string }, deps: WebhookDeps): Promise<WebhookResponse> {
  // A caller that does not pass the method (an adapter for a POST-only route) is taken to have received a POST.
  const method = (req.method ?? 'POST').toUpperCase();
  if (method !== 'POST') {
    return answer(405, { error: 'MethodNotAllowed', message: 'use POST' });
  }
  const maxBytes = deps.maxBytes ?? DEFAULT_MAX_BYTES;
  const declared = Number(req.headers['content-length']);
  if ((Number.isFinite(declared) && declared > maxBytes) || req.body.length > maxBytes) {
    throw new WebhookError(Reason.PayloadTooLarge, 413, `the body is larger than ${maxBytes} bytes`, {
      field: 'content-length',
    });
  }
  // Cheap refusals come first (method, size, signature header): a request that cannot be a delivery costs no secret
  // read (SSM in the Lambda) and no bus call.
  requireSignatureHeader(req.headers);
  const secret = (await deps.secret()) ?? '';
  // Whatever supplied it, the secret is masked from here on (a log line quoting an error must not carry it).
  registerSecret(secret);
  const provider = await verifyDelivery(req, secret);
  if (deps.onPullRequest && isPullRequestEvent(provider, req.headers)) {
    return handOn(parsePullRequest(provider, req.headers, req.body), req.body, deps.onPullRequest, deps, (pr) => {
      const what = pr.action === 'close' ? 'closed' : `at ${pr.headSha.slice(0, 7)}`;
      return `pull request #${pr.number} ${pr.headBranch} → ${pr.baseBranch} ${what}`;
    });
  }
  const delivery = parsePush(provider, req.headers, req.body);
  if (delivery.kind === 'ignored') {
    deps.logger.info(`webhook ignored: ${delivery.reason}`, { provider, deliveryId: delivery.deliveryId });
    return answer(200, { ignored: delivery.reason });
  }
  // Only after the signature held: an unsigned body never costs a write, and the digest is of what was signed.
  const keys = { id: `${provider}:${delivery.deliveryId}`, digest: bodyDigest(req.body) };
  let claim: Awaited<ReturnType<DeliveryLedger['claim']>>;
  try {
    claim = await deps.dedupe.claim(keys);
  } catch (err) {
    // Not recorded, not handed on: the forge retries a 503, and the retry is not taken for a duplicate.
    deps.logger.error('webhook delivery could not be recorded', {
      provider,
      deliveryId: delivery.deliveryId,
      error: err,
    });
    return answer(503, { error: 'Unavailable', message: 'internal error' });
  }
  if (claim !== 'new') {
    deps.logger.info(
      claim === 'duplicate-id'
        ? 'webhook duplicate delivery'
        : 'webhook duplicate body: a delivery with this signed body was already handled (a replay under a new id)',
      { provider, deliveryId: delivery.deliveryId },
    );
    return answer(200, { duplicate: delivery.deliveryId });
  }
  try {
    const handed = await deps.onPush(delivery);
    if (isIgnored(handed)) {
      deps.logger.info(`webhook push ignored: ${handed.ignored}`, { provider, deliveryId: delivery.deliveryId });
      return answer(200, { ignored: handed.ignored });
    }
  } catch (err) {
    // Not handed on: let the forge's (or a person's) redelivery through instead of calling it a duplicate.
    await deps.dedupe.release(keys).catch((releaseError: unknown) => {
      deps.logger.warn('webhook delivery could not be forgotten; a redelivery may be answered as a duplicate', {
        deliveryId: delivery.deliveryId,
        error: releaseError,
      });
    });
    deps.logger.error('webhook push could not be handed on', {
      provider,
      deliveryId: delivery.deliveryId,
      error: err,
    });
    const retryable = err instanceof GitOpsError && err.retryable;
    return answer(retryable ? 503 : 500, {
      error: retryable ? 'Unavailable' : Reason.Internal,
      message: 'internal error',
    });
  }
  deps.logger.info(`webhook accepted: push to ${delivery.branch} at ${delivery.after.slice(0, 7)}`, {
    provider,
    deliveryId: delivery.deliveryId,
    repo: delivery.repoName,
  });
  return answer(202, { accepted: delivery.deliveryId });
}

/** The pull-request path: the same dedupe, hand-off and answers as a push. */
async function handOn<T extends { kind: string; provider: string; deliveryId: string }>(
  delivery: T | { kind: 'ignored'; provider: string; deliveryId: string; reason: string },
  body: Uint8Array,
  hand: (delivery: T) => Promise<unknown>,
  deps: WebhookDeps,
  describe: (delivery: T) => string,
): Promise<WebhookResponse> {
  const { provider, deliveryId } = delivery;
  if ('reason' in delivery && delivery.kind === 'ignored') {
    deps.logger.info(`webhook ignored: ${delivery.reason}`, { provider, deliveryId });
    return answer(200, { ignored: delivery.reason });
  }
  const item = delivery as T;
  // The same ledger as a push: by delivery id and by the digest of the signed body (a replay under a new id).
  const keys = { id: `${provider}:${deliveryId}`, digest: bodyDigest(body) };
  let claim: Awaited<ReturnType<DeliveryLedger['claim']>>;
  try {
    claim = await deps.dedupe.claim(keys);
  } catch (err) {
    deps.logger.error('webhook delivery could not be recorded', { provider, deliveryId, error: err });
    return answer(503, { error: 'Unavailable', message: 'internal error' });
  }
  if (claim !== 'new') {
    deps.logger.info('webhook duplicate delivery', { provider, deliveryId });
    return answer(200, { duplicate: deliveryId });
  }
  try {
    const handed = await hand(item);
    if (isIgnored(handed)) {
      deps.logger.info(`webhook ignored: ${handed.ignored}`, { provider, deliveryId });
      return answer(200, { ignored: handed.ignored });
    }
  } catch (err) {
    await deps.dedupe.release(keys).catch((releaseError: unknown) => {
      deps.logger.warn('webhook delivery could not be forgotten; a redelivery may be answered as a duplicate', {
        deliveryId,
        error: releaseError,
      });
    });
    deps.logger.error('webhook delivery could not be handed on', { provider, deliveryId, error: err });
    const retryable = err instanceof GitOpsError && err.retryable;
    return answer(retryable ? 503 : 500, {
      error: retryable ? 'Unavailable' : Reason.Internal,
      message: 'internal error',
    });
  }
  deps.logger.info(`webhook accepted: ${describe(item)}`, { provider, deliveryId });
  return answer(202, { accepted: deliveryId });
}

/** `onPush`'s way to say the push is not for this installation (another repository or branch). */
function isIgnored(value: unknown): value is { readonly ignored: string } {
  return typeof value === 'object' && value !== null && typeof (value as { ignored?: unknown }).ignored === 'string';
}

function answer(status: number, body: Record<string, string>): WebhookResponse {
  return { status, body: JSON.stringify(body) };
}
