export {
  bodyDigest,
  type Claim,
  DeliveryDedupe,
  type DeliveryDedupeOptions,
  type DeliveryKeys,
  type DeliveryLedger,
} from './dedupe.ts';
export { DEFAULT_MAX_BYTES, handleWebhook, type WebhookDeps, type WebhookResponse } from './handle.ts';
export { deliveryIdOf, parsePush } from './parse.ts';
export { isPullRequestEvent, type PullRequest, type PullRequestDelivery, parsePullRequest } from './pull-request.ts';
export type { Provider, Push, PushDelivery, WebhookRequest } from './types.ts';
export { detectProvider, verifyDelivery } from './verify.ts';
