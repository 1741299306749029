/**
 * The webhook function (Lambda Function URL, auth NONE): verify the delivery with the same code `gitops dev` uses,
 * put one `Push Received` event on the bus, answer 202 — or 404 / 405 / 413 / 401 / 400 without echoing anything of
 * the body. What cannot be a delivery (path, method, size, no signature header) is refused before any SSM or
 * EventBridge call, and the function's reserved concurrency (the construct's `webhookConcurrency`) caps a flood.
 * Kept small on purpose (no engine, no CloudFormation client): it must answer GitHub within 10 s from a cold start.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { S3DeliveryLedger } from '../shared/adapters/aws/delivery-ledger-s3.ts';
import { EventBridgeSink } from '../shared/adapters/aws/events-eventbridge.ts';
import { SsmSecrets } from '../shared/adapters/aws/secrets-ssm.ts';
import { systemClock } from '../shared/clock.ts';
import { DetailType } from '../shared/events/catalog.ts';
import { emit } from '../shared/events/publish.ts';
import type { EventSink, Logger, Secrets } from '../shared/ports.ts';
import type { DeliveryLedger } from '../shared/webhook/dedupe.ts';
import { handleWebhook } from '../shared/webhook/handle.ts';
import type { PullRequest } from '../shared/webhook/pull-request.ts';
import type { Push } from '../shared/webhook/types.ts';
import { type FunctionConfig, findRepository, readEnvConfig } from './lib/env-config.ts';
import { functionLogger } from './lib/powertools.ts';

export interface WebhookHandlerDeps {
  readonly config: FunctionConfig;
  readonly secrets: Secrets;
  readonly events: EventSink;
  readonly logger: Logger;
  /**
   * Deliveries seen, by delivery id and by the digest of the signed body, in the state bucket: a replay of a captured
   * body under a new id is caught whichever container it reaches.
   */
  readonly dedupe: DeliveryLedger;
}

/** The Function URL answer: always a small JSON body, never anything of the request. */
export interface WebhookResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export function webhookDepsFromEnv(env: NodeJS.ProcessEnv = process.env): WebhookHandlerDeps {
  const config = readEnvConfig(env, ['busName', 'secretsPrefix', 'stateBucket']);
  return {
    config,
    secrets: new SsmSecrets({ prefix: config.secretsPrefix, client: new SSMClient({ region: config.region }) }),
    events: new EventBridgeSink({
      eventBusName: config.busName,
      client: new EventBridgeClient({ region: config.region }),
    }),
    logger: functionLogger('webhook').logger,
    dedupe: new S3DeliveryLedger({
      bucket: config.bucket,
      prefix: config.statePrefix,
      client: new S3Client({ region: config.region }),
      clock: systemClock,
    }),
  };
}

/** Builds the handler around its ports; tests pass scripted ones, the Lambda the ones from its environment. */
export function makeWebhookHandler(deps: () => WebhookHandlerDeps) {
  let ready: WebhookHandlerDeps | undefined;
  return async (event: LambdaFunctionURLEvent): Promise<WebhookResult> => {
    // The Function URL answers every path; deliveries go to its root (or /webhook, as with `gitops dev`). Anything
    // else is refused here, like a wrong method, size or a missing signature header in handleWebhook: before any SSM
    // or EventBridge call.
    const path = event.rawPath ?? event.requestContext?.http?.path ?? '/';
    if (!WEBHOOK_PATHS.includes(path)) {
      return json(404, { error: 'NotFound', message: `POST deliveries to ${WEBHOOK_PATHS.join(' or ')}` });
    }
    ready ??= deps();
    const { config, secrets, events, logger, dedupe } = ready;
    const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
    const answer = await handleWebhook(
      { method: event.requestContext?.http?.method ?? 'POST', headers: lower(event.headers ?? {}), body },
      {
        secret: () => secrets.get('webhook-secret'),
        dedupe,
        logger,
        onPush: async (push: Push) => {
          const repo = findRepository(config.repositories, { url: push.repoUrl, name: push.repoName });
          if (config.repositories.length > 0 && !repo)
            return { ignored: `repository ${push.repoName} is not configured` };
          if (repo && repo.branch !== push.branch)
            return { ignored: `push to ${push.branch}; following ${repo.branch}` };
          await emit(events, systemClock, DetailType.PushReceived, {
            repo: repo?.url ?? push.repoUrl,
            branch: push.branch,
            revision: push.after,
            commit: push.commit,
            provider: push.provider,
            deliveryId: push.deliveryId,
            previousRevision: push.before,
            reason: 'Push',
            message: `push to ${push.repoName} ${push.branch} at ${push.after.slice(0, 7)}`,
          });
        },
        // Pull requests only with `pullRequestPreviews` on: handed to the sync function, which computes the preview
        // (this function stays small: no Git, no state, no forge API).
        ...(config.previews
          ? {
              onPullRequest: async (pr: PullRequest) => {
                const repo = findRepository(config.repositories, { url: pr.repoUrl, name: pr.repoName });
                if (!repo) return { ignored: `repository ${pr.repoName} is not configured` };
                // A closed pull request needs nothing on AWS: there is no preview kept between runs.
                if (pr.action === 'close') return { ignored: `pull request #${pr.number} closed` };
                await emit(events, systemClock, DetailType.PreviewRequested, {
                  repo: repo.url,
                  branch: pr.baseBranch,
                  revision: pr.headSha,
                  provider: pr.provider,
                  deliveryId: pr.deliveryId,
                  reason: 'PullRequest',
                  message: `pull request #${pr.number} ${pr.headBranch} into ${pr.baseBranch} at ${pr.headSha.slice(0, 7)}`,
                  data: { pullRequest: pr },
                });
              },
            }
          : {}),
      },
    );
    return { statusCode: answer.status, headers: { 'content-type': 'application/json' }, body: answer.body };
  };
}

/** The paths a delivery may be posted to. */
export const WEBHOOK_PATHS: readonly string[] = ['/', '/webhook'];

function json(statusCode: number, body: Record<string, string>): WebhookResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function lower(headers: Record<string, string | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}

export const handler = makeWebhookHandler(() => webhookDepsFromEnv());
