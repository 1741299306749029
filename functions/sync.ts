/**
 * The sync function, on the sync FIFO queue (one message group per repository and branch): fetch the branch (the
 * object cache in /tmp survives between invocations of a warm container, so a push transfers only new objects),
 * render what changed, store each rendered stack, emit `Apply Requested`, and hand each stack to the apply queue with
 * the stack key as its FIFO group so one stack's applies never overlap while different stacks go in parallel.
 */
import { createHash } from 'node:crypto';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { SsmSecrets } from '../shared/adapters/aws/secrets-ssm.ts';
import type { EngineDeps } from '../shared/engine/deps.ts';
import { requestApplies } from '../shared/engine/sync.ts';
import { toGitOpsError } from '../shared/errors.ts';
import { DetailType, EVENT_SOURCE } from '../shared/events/catalog.ts';
import type { Forge } from '../shared/forges/types.ts';
import { type ApplyQueueMessage, Metrics as MetricNames } from '../shared/function-env.ts';
import type { Logger } from '../shared/ports.ts';
import type { Provider } from '../shared/webhook/types.ts';
import { engineCache } from './lib/engines.ts';
import { type FunctionConfig, loadConfig } from './lib/env-config.ts';
import { processFifoBatch } from './lib/fifo-batch.ts';
import { deadlineSignal, functionLogger } from './lib/powertools.ts';
import { previewRequestFrom } from './lib/preview-request.ts';
import { syncRequestsFrom } from './lib/sync-request.ts';

export interface SyncHandlerDeps {
  readonly config: FunctionConfig;
  readonly logger: Logger;
  /** Engine ports for a repository URL (cached per URL for the container's life). */
  engine(repoUrl: string): EngineDeps;
  /** Sends one message to the apply FIFO queue. */
  sendApply(message: ApplyQueueMessage, groupId: string, dedupeId: string): Promise<void>;
  readonly metrics?: Metrics;
  /** Pull-request previews: the forge client for a provider (tokens from SSM). */
  readonly previews?: {
    readonly forge: (provider: Provider) => Promise<Forge | undefined>;
  };
}

export async function syncDepsFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<SyncHandlerDeps> {
  const config = await loadConfig(env, ['busName', 'stateBucket', 'applyQueueUrl']);
  const { logger } = functionLogger('sync');
  const sqs = new SQSClient({ region: config.region });
  return {
    config,
    logger,
    metrics: new Metrics({ namespace: MetricNames.namespace, serviceName: 'sync' }),
    engine: engineCache(config, logger),
    ...(config.previews ? { previews: previewDeps(config) } : {}),
    sendApply: async (message, groupId, dedupeId) => {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: config.applyQueueUrl,
          MessageBody: JSON.stringify(message),
          MessageGroupId: groupId,
          MessageDeduplicationId: dedupeId,
        }),
      );
    },
  };
}

export function makeSyncHandler(deps: () => SyncHandlerDeps | Promise<SyncHandlerDeps>) {
  let ready: SyncHandlerDeps | undefined;
  return async (event: SQSEvent, context?: Context) => {
    ready ??= await deps();
    const d = ready;
    return processFifoBatch(event, (record) => syncRecord(d, record, context), d.metrics);
  };
}

async function syncRecord(d: SyncHandlerDeps, record: SQSRecord, context?: Context): Promise<void> {
  if (isPreviewRequest(record.body)) return previewRecord(d, record, context);
  const requests = syncRequestsFrom(record.body, d.config.repositories);
  if (requests.length === 0) {
    d.logger.info('sync message ignored: no configured repository and branch matches', { messageId: record.messageId });
    return;
  }
  for (const request of requests) {
    const engine = d.engine(request.repository.url);
    d.logger.info(
      `sync ${request.repository.name} ${request.ref}${request.revision ? ` at ${request.revision}` : ''}: ${request.why}`,
    );
    let result: Awaited<ReturnType<typeof requestApplies>>;
    try {
      result = await requestApplies(engine, {
        ref: request.revision ?? request.ref,
        ...(request.revision ? { requestedRevision: { branch: request.ref } } : {}),
        environments: request.environments,
        stacks: request.stacks,
        ...(request.approve ? { approve: true } : {}),
        preview: false,
        signal: deadlineSignal(context),
      });
    } catch (err) {
      const error = toGitOpsError(err);
      d.metrics?.addMetric(MetricNames.syncFailed, MetricUnit.Count, 1);
      // Already reported with a Sync Failed event. Only a fault that may pass (network, throttling) is retried;
      // a broken repository stays broken until the next push.
      if (error.retryable) throw error;
      d.logger.warn(`sync of ${request.repository.name} failed: ${error.describe()}`, { reason: error.reason });
      continue;
    }
    if (result.failed.length) d.metrics?.addMetric(MetricNames.syncFailed, MetricUnit.Count, result.failed.length);
    for (const apply of result.requests) {
      const message: ApplyQueueMessage = {
        source: EVENT_SOURCE,
        'detail-type': DetailType.ApplyRequested,
        detail: { ...apply, repo: request.repository.url, branch: request.ref },
      };
      // Same stack, same rendered hash at the same commit, same approval: one apply, however often the push is
      // redelivered. The commit is part of it: a revert renders an earlier hash again and must not be taken for a
      // duplicate of that earlier apply inside SQS's five-minute deduplication window.
      const dedupeId = createHash('sha256')
        .update(`${apply.key}\n${apply.renderedHash}\n${apply.revision ?? ''}\n${apply.approve ? 'approve' : ''}`)
        .digest('hex');
      await d.sendApply(message, apply.key, dedupeId);
    }
  }
}

function isPreviewRequest(body: string): boolean {
  try {
    return (JSON.parse(body) as { 'detail-type'?: string })['detail-type'] === DetailType.PreviewRequested;
  } catch {
    return false;
  }
}

/**
 * A pull-request preview (shared/preview/run.ts), always offline: this function has no CloudFormation rights, so no
 * change set can run, and it never assumes a role. Newest wins: the queue delivers a repository's requests in order;
 * one whose head is no longer the head ref it fetched is stale (a newer request is behind it) and publishes nothing.
 */
async function previewRecord(d: SyncHandlerDeps, record: SQSRecord, context?: Context): Promise<void> {
  if (!d.previews) {
    d.logger.info('preview request ignored: pull-request previews are off', { messageId: record.messageId });
    return;
  }
  const detail = ((JSON.parse(record.body) as { detail?: Record<string, unknown> }).detail ?? {}) as Record<
    string,
    unknown
  >;
  const request = previewRequestFrom(detail, d.config.repositories);
  if (!request) {
    d.logger.info('preview request ignored: the repository is not configured', { messageId: record.messageId });
    return;
  }
  const engine = d.engine(request.repository.url);
  const previews = d.previews;
  let run: Awaited<ReturnType<typeof import('../shared/preview/run.ts').runPreview>>;
  try {
    // Loaded here, not at the top: previews are the rare record, and the preview code (plan, markdown, template diff)
    // would otherwise be module init on every cold start of the function that syncs pushes.
    const { runPreview } = await import('../shared/preview/run.ts');
    run = await runPreview(
      {
        ...engine,
        forge: (pr) => previews.forge(pr.provider),
        followedBranch: request.repository.branch,
        changeSets: false,
        isCurrent: (_key, requested, rendered) => rendered.startsWith(requested),
      },
      request.pr,
      deadlineSignal(context),
    );
  } catch (err) {
    const error = toGitOpsError(err);
    // A fault that may pass (network, throttling, the forge's 5xx) is retried; a refusal (a wrong token, a deleted
    // pull request) is not going to change on retry.
    if (error.retryable) throw error;
    d.logger.warn(`preview of #${request.pr.number} failed: ${error.describe()}`, { reason: error.reason });
    return;
  }
  d.logger.info(`preview of #${request.pr.number} in ${request.repository.name}: ${run.kind}`);
}

function previewDeps(config: FunctionConfig): NonNullable<SyncHandlerDeps['previews']> {
  const secrets = new SsmSecrets({ prefix: config.secretsPrefix, client: new SSMClient({ region: config.region }) });
  return {
    // The forge clients load with the first preview, like the preview code (previewRecord).
    forge: async (provider) => {
      const { forgeFor } = await import('../shared/forges/index.ts');
      return forgeFor(provider, { secrets, apiBaseUrls: { github: config.githubApiUrl } });
    },
  };
}

export const handler = makeSyncHandler(() => syncDepsFromEnv());
