import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { SqsDriftWorkQueue } from '../shared/adapters/aws/drift-queue-sqs.ts';
import { S3DriftRunStore } from '../shared/adapters/aws/drift-run-s3.ts';
import type { EngineDeps } from '../shared/engine/deps.ts';
import { checkDrift, type DriftReport } from '../shared/engine/drift.ts';
import {
  type DriftRunStore,
  type DriftWorkQueue,
  type PlanResult,
  planDriftRun,
} from '../shared/engine/drift-fanout.ts';
import { toGitOpsError } from '../shared/errors.ts';
import { FunctionEnv, Metrics as MetricNames, type RepositoryEnv } from '../shared/function-env.ts';
import type { Logger } from '../shared/ports.ts';
import { DRIFT_CONCURRENCY } from './lib/drift-settings.ts';
import { engineCache } from './lib/engines.ts';
import { type FunctionConfig, loadConfig } from './lib/env-config.ts';
import { deadlineSignal, functionLogger } from './lib/powertools.ts';

export { DRIFT_CONCURRENCY } from './lib/drift-settings.ts';

export interface DriftHandlerDeps {
  readonly config: FunctionConfig;
  readonly logger: Logger;
  engine(repo: RepositoryEnv): EngineDeps;
  readonly metrics?: Metrics;
  /** Stacks checked at once: DetectStackDrift is throttled per account. @default DRIFT_CONCURRENCY */
  readonly concurrency?: number;
  /**
   * With a drift work queue (GITOPS_DRIFT_QUEUE_URL), the scheduled run only plans: the revision pass here, the
   * resource pass queued per account-region for the drift worker (shared/engine/drift-fanout.ts).
   */
  readonly fanOut?: { readonly runs: DriftRunStore; readonly queue: DriftWorkQueue; readonly staleAfterMs: number };
}

/** An unfinished run older than this has died: 6 hours, far beyond any run the workers' budgets allow. */
export const DRIFT_RUN_STALE_SECONDS = 6 * 3600;

export async function driftDepsFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<DriftHandlerDeps> {
  const config = await loadConfig(env, ['busName', 'stateBucket']);
  const { logger } = functionLogger('drift');
  const engines = engineCache(config, logger);
  const queueUrl = env[FunctionEnv.driftQueueUrl];
  const fanOut = queueUrl
    ? {
        runs: new S3DriftRunStore({
          bucket: config.bucket,
          prefix: config.statePrefix,
          client: new S3Client({ region: config.region }),
        }),
        queue: new SqsDriftWorkQueue({ queueUrl, client: new SQSClient({ region: config.region }) }),
        staleAfterMs: (Number(env[FunctionEnv.driftRunStaleSeconds]) || DRIFT_RUN_STALE_SECONDS) * 1000,
      }
    : undefined;
  return {
    config,
    logger,
    metrics: new Metrics({ namespace: MetricNames.namespace, serviceName: 'drift' }),
    engine: (repo) => engines(repo.url),
    ...(fanOut ? { fanOut } : {}),
  };
}

/** The scheduled run with a work queue: plan, queue, and publish what is known drifted now. */
async function planRun(d: DriftHandlerDeps, fanOut: NonNullable<DriftHandlerDeps['fanOut']>, signal: AbortSignal) {
  const repositories = d.config.repositories.map((repo) => ({
    name: repo.name,
    branch: repo.branch,
    deps: d.engine(repo),
  }));
  const first = repositories[0]?.deps;
  if (!first)
    return { status: 'queued', runId: '', items: 0, stacks: 0, outOfSync: 0, drifted: 0, errors: [] } as PlanResult;
  const result = await planDriftRun({ ...fanOut, repositories, deps: first, signal });
  if (result.status === 'skipped') {
    d.logger.warn(`drift run skipped: run ${result.runId} still has ${result.backlog} stack(s) to check`);
  } else {
    d.logger.info(`drift run ${result.runId}: ${result.stacks} stack(s) queued in ${result.items} item(s)`, {
      outOfSync: result.outOfSync,
      errors: result.errors.length,
    });
    // The gauge of what the state says now (the workers' transitions of this run show in the next one).
    d.metrics?.addMetric(MetricNames.driftedStacks, MetricUnit.Count, result.drifted);
    d.metrics?.publishStoredMetrics();
    if (result.errors.length && result.errors.length === repositories.length) {
      throw new Error(`drift check failed for every repository (${result.errors.length})`);
    }
  }
  return result;
}

export function makeDriftHandler(deps: () => DriftHandlerDeps | Promise<DriftHandlerDeps>) {
  let ready: DriftHandlerDeps | undefined;
  return async (
    _event: unknown,
    context?: Context,
  ): Promise<{ reports: Record<string, Omit<DriftReport, 'drifted'> & { drifted: string[] }>; plan?: PlanResult }> => {
    ready ??= await deps();
    const d = ready;
    const signal = deadlineSignal(context, 30_000);
    if (d.fanOut) return { reports: {}, plan: await planRun(d, d.fanOut, signal) };
    const reports: Record<string, Omit<DriftReport, 'drifted'> & { drifted: string[] }> = {};
    let drifted = 0;
    let failures = 0;
    for (const repo of d.config.repositories) {
      try {
        const report = await checkDrift(d.engine(repo), {
          ref: repo.branch,
          concurrency: d.concurrency ?? DRIFT_CONCURRENCY,
          signal,
        });
        drifted += report.drifted.length;
        reports[repo.name] = { ...report, drifted: report.drifted.map((x) => x.key) };
        d.logger.info(`drift ${repo.name}: ${report.outOfSync.length} out of sync, ${report.drifted.length} drifted`, {
          errors: report.errors.length,
        });
      } catch (err) {
        failures++;
        d.logger.error(`drift check of ${repo.name} failed: ${toGitOpsError(err).describe()}`);
      }
    }
    // A gauge, published on every run (0 included) so the alarm sees recovery too.
    d.metrics?.addMetric(MetricNames.driftedStacks, MetricUnit.Count, drifted);
    d.metrics?.publishStoredMetrics();
    if (failures && failures === d.config.repositories.length) {
      throw new Error(`drift check failed for every repository (${failures})`);
    }
    return { reports };
  };
}

export const handler = makeDriftHandler(() => driftDepsFromEnv());
