/**
 * The drift worker: one queued item of a drift run (one account-region's stacks, shared/engine/drift-fanout.ts) per
 * invocation, from the drift FIFO queue (batch size 1). It starts stacks for {@link DRIFT_WORKER_BUDGET_SECONDS},
 * lets the ones in flight finish, and queues the rest; a failure fails the message, which SQS hands out again and,
 * after the queue's maxReceiveCount, parks in the drift dead-letter queue.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { SqsDriftWorkQueue } from '../shared/adapters/aws/drift-queue-sqs.ts';
import { S3DriftRunStore } from '../shared/adapters/aws/drift-run-s3.ts';
import type { EngineDeps } from '../shared/engine/deps.ts';
import type { DriftRunStore, DriftWorkItem, DriftWorkQueue } from '../shared/engine/drift-items.ts';
import { runDriftWorkItem } from '../shared/engine/drift-worker.ts';
import { ConfigError, Reason, toGitOpsError } from '../shared/errors.ts';
import { FunctionEnv, Metrics as MetricNames, type RepositoryEnv } from '../shared/function-env.ts';
import type { Logger, Source } from '../shared/ports.ts';
import { awsPorts } from '../shared/runtime/aws-ports.ts';
import { awsSettings } from './lib/aws-settings.ts';
import { DRIFT_CONCURRENCY } from './lib/drift-settings.ts';
import { type FunctionConfig, loadConfig } from './lib/env-config.ts';
import { deadlineSignal, functionLogger } from './lib/powertools.ts';

/**
 * Seconds a worker starts new stacks for. With the detector's own 5-minute bound on a stack in flight, an invocation
 * ends within about 10 minutes of its 15: under 80 % of the timeout, however slow the account-region's rate.
 */
export const DRIFT_WORKER_BUDGET_SECONDS = 5 * 60;

export interface DriftWorkerDeps {
  readonly config: FunctionConfig;
  readonly logger: Logger;
  engine(repo: RepositoryEnv): EngineDeps;
  readonly runs: DriftRunStore;
  readonly queue: DriftWorkQueue;
  readonly metrics?: Metrics;
  /** @default DRIFT_CONCURRENCY */
  readonly concurrency?: number;
  /** @default DRIFT_WORKER_BUDGET_SECONDS × 1000 */
  readonly budgetMs?: number;
}

export async function driftWorkerDepsFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<DriftWorkerDeps> {
  const config = await loadConfig(env, ['busName', 'stateBucket', 'driftQueueUrl']);
  const { logger } = functionLogger('drift-worker');
  const cacheDir = '/tmp/gitops-cache/drift-worker';
  const ports = awsPorts(awsSettings(config, logger, cacheDir));
  const engines = new Map<string, EngineDeps>();
  return {
    config,
    logger,
    metrics: new Metrics({ namespace: MetricNames.namespace, serviceName: 'drift-worker' }),
    engine: (repo) => {
      let deps = engines.get(repo.url);
      if (deps === undefined) {
        // The worker checks what its item names and reads no repository; only a self-healing re-apply may ask the
        // source (to order commits), so Git is loaded then, not at every cold start.
        deps = {
          ...ports,
          source: lazySource(async () =>
            (await import('../shared/source/index.ts')).openSource(repo.url, {
              cacheDir,
              token: () => ports.secrets.get('git-token'),
            }),
          ),
        };
        engines.set(repo.url, deps);
      }
      return deps;
    },
    runs: new S3DriftRunStore({
      bucket: config.bucket,
      prefix: config.statePrefix,
      client: new S3Client({ region: config.region }),
    }),
    queue: new SqsDriftWorkQueue({
      queueUrl: env[FunctionEnv.driftQueueUrl] ?? '',
      client: new SQSClient({ region: config.region }),
    }),
    budgetMs: (Number(env[FunctionEnv.driftWorkerBudgetSeconds]) || DRIFT_WORKER_BUDGET_SECONDS) * 1000,
  };
}

/** A Source made on first use. */
function lazySource(load: () => Promise<Source>): Source {
  let source: Promise<Source> | undefined;
  const get = () => {
    source ??= load();
    return source;
  };
  return {
    fetch: async (options) => (await get()).fetch(options),
    isAncestor: async (ancestor, descendant, signal) => (await get()).isAncestor?.(ancestor, descendant, signal),
    readSignature: async (sha) => {
      const s = await get();
      if (!s.readSignature) throw new ConfigError(Reason.Internal, 'this source cannot read commit signatures');
      return s.readSignature(sha);
    },
  };
}

/** A queued body, checked: it comes from this installation's own queue, but a bad one must fail by name. */
export function parseWorkItem(body: string): DriftWorkItem {
  let item: DriftWorkItem;
  try {
    item = JSON.parse(body) as DriftWorkItem;
  } catch (err) {
    throw new ConfigError(Reason.InvalidConfig, 'drift work item is not JSON', { cause: err });
  }
  if (
    typeof item?.runId !== 'string' ||
    typeof item.repo !== 'string' ||
    typeof item.group !== 'string' ||
    typeof item.item !== 'string' ||
    typeof item.offset !== 'number' ||
    !Array.isArray(item.targets)
  ) {
    throw new ConfigError(Reason.InvalidConfig, 'drift work item lacks runId, repo, group, item, offset or targets');
  }
  return item;
}

export function makeDriftWorkerHandler(deps: () => DriftWorkerDeps | Promise<DriftWorkerDeps>) {
  let ready: DriftWorkerDeps | undefined;
  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    ready ??= await deps();
    const d = ready;
    const failures: { itemIdentifier: string }[] = [];
    for (const record of event.Records) {
      try {
        const item = parseWorkItem(record.body);
        const repo = d.config.repositories.find((r) => r.name === item.repo);
        if (!repo) {
          // The repository left the installation since the run was planned: nothing of it is checked any more.
          d.logger.warn(`drift item ${item.item}: repository ${item.repo} is no longer configured`);
          continue;
        }
        const result = await runDriftWorkItem(d.engine(repo), item, {
          runs: d.runs,
          queue: d.queue,
          concurrency: d.concurrency ?? DRIFT_CONCURRENCY,
          budgetMs: d.budgetMs ?? DRIFT_WORKER_BUDGET_SECONDS * 1000,
          signal: deadlineSignal(context, 30_000),
        });
        d.logger.info(
          `drift item ${item.item} of run ${item.runId}: ${result.status}, ${result.checked} checked, ${result.drifted} drifted, ${result.requeued} queued again`,
          { transitions: result.transitions, notChecked: result.notChecked, errors: result.errors.length },
        );
        for (const e of result.errors) d.logger.warn(`drift of ${e.key}: ${e.message}`);
        d.metrics?.addMetric(MetricNames.driftBacklog, MetricUnit.Count, result.backlog);
      } catch (err) {
        d.logger.error(`drift item failed: ${toGitOpsError(err).describe()}`);
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    d.metrics?.publishStoredMetrics();
    return { batchItemFailures: failures };
  };
}

export const handler = makeDriftWorkerHandler(() => driftWorkerDepsFromEnv());
