import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { EngineDeps } from '../shared/engine/deps.ts';
import { checkDrift, type DriftReport } from '../shared/engine/drift.ts';
import { toGitOpsError } from '../shared/errors.ts';
import { Metrics as MetricNames, type RepositoryEnv } from '../shared/function-env.ts';
import type { Logger } from '../shared/ports.ts';
import { type FunctionConfig, readConfig } from './lib/config.ts';
import { engineCache } from './lib/engines.ts';
import { deadlineSignal, functionLogger } from './lib/powertools.ts';

/**
 * Stacks checked at once by the scheduled run. Detection takes seconds per stack while the calls are few (about two
 * per stack), so the run is bounded by CloudFormation's request rate, not by this: twenty at a time keeps the rate
 * busy without waiting, and the throttling that follows is absorbed with backoff (bench/drift.ts measures both).
 * Fewer seconds per run is also what the drift function is billed for.
 */
export const DRIFT_CONCURRENCY = 20;

export interface DriftHandlerDeps {
  readonly config: FunctionConfig;
  readonly logger: Logger;
  engine(repo: RepositoryEnv): EngineDeps;
  readonly metrics?: Metrics;
  /** Stacks checked at once: DetectStackDrift is throttled per account. @default DRIFT_CONCURRENCY */
  readonly concurrency?: number;
}

export function driftDepsFromEnv(env: NodeJS.ProcessEnv = process.env): DriftHandlerDeps {
  const config = readConfig(env, ['busName', 'stateBucket']);
  const { logger } = functionLogger('drift');
  const engines = engineCache(config, logger);
  return {
    config,
    logger,
    metrics: new Metrics({ namespace: MetricNames.namespace, serviceName: 'drift' }),
    engine: (repo) => engines(repo.url),
  };
}

export function makeDriftHandler(deps: () => DriftHandlerDeps) {
  let ready: DriftHandlerDeps | undefined;
  return async (
    _event: unknown,
    context?: Context,
  ): Promise<{ reports: Record<string, Omit<DriftReport, 'drifted'> & { drifted: string[] }> }> => {
    ready ??= deps();
    const d = ready;
    const signal = deadlineSignal(context, 30_000);
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
