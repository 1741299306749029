/**
 * The apply function, on the apply FIFO queue (message group = stack key, so one stack's applies run one at a time
 * and different stacks in parallel): newest-wins check, the change-set lifecycle, state and history, result events.
 * Retryable failures (a busy stack, throttling, a dependency not applied yet) fail only their own message, which SQS
 * redelivers; on the last receive they are recorded as final failures, so nothing waits silently in a DLQ.
 */

import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { type ApplyStackRequest, applyStack } from '../shared/engine/apply-stack.ts';
import type { EngineDeps } from '../shared/engine/deps.ts';
import { ConfigError, Reason } from '../shared/errors.ts';
import { DetailType } from '../shared/events/catalog.ts';
import { Metrics as MetricNames } from '../shared/function-env.ts';
import type { Logger } from '../shared/ports.ts';
import { awsPorts } from '../shared/runtime/aws-deps.ts';
import { awsSettings } from './lib/engines.ts';
import { loadConfig } from './lib/env-config.ts';
import { processFifoBatch } from './lib/fifo-batch.ts';
import { deadlineSignal, functionLogger } from './lib/powertools.ts';

export interface ApplyHandlerDeps {
  readonly ports: Omit<EngineDeps, 'source'>;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Receives of one message before a retryable failure counts as final: the queue's maxReceiveCount. */
  readonly maxReceives: number;
}

export async function applyDepsFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<ApplyHandlerDeps> {
  const config = await loadConfig(env, ['busName', 'stateBucket']);
  const { logger } = functionLogger('apply');
  return {
    logger,
    maxReceives: config.applyMaxReceives,
    metrics: new Metrics({ namespace: MetricNames.namespace, serviceName: 'apply' }),
    ports: awsPorts(awsSettings(config, logger)),
  };
}

/** Reads an Apply Requested message (the body the sync function sends). */
export function applyRequestFrom(body: string): ApplyStackRequest {
  let message: { 'detail-type'?: string; detail?: Record<string, unknown> };
  try {
    message = JSON.parse(body);
  } catch (err) {
    throw new ConfigError(Reason.PayloadInvalid, 'apply message body is not JSON', { cause: err, notify: false });
  }
  const d = message.detail ?? {};
  if (
    message['detail-type'] !== DetailType.ApplyRequested ||
    typeof d.key !== 'string' ||
    typeof d.renderedHash !== 'string'
  ) {
    throw new ConfigError(
      Reason.PayloadInvalid,
      'apply message is not an Apply Requested with detail.key and detail.renderedHash',
      {
        field: 'detail',
        notify: false,
      },
    );
  }
  return {
    key: d.key,
    renderedHash: d.renderedHash,
    ...(typeof d.revision === 'string' && d.revision ? { revision: d.revision } : {}),
    ...(typeof d.received === 'number' && Number.isSafeInteger(d.received) ? { received: d.received } : {}),
    ...(d.dependencies && typeof d.dependencies === 'object'
      ? { dependencies: d.dependencies as Record<string, string> }
      : {}),
    ...(d.approve === true ? { approve: true } : {}),
  };
}

export function makeApplyHandler(deps: () => ApplyHandlerDeps | Promise<ApplyHandlerDeps>) {
  let ready: ApplyHandlerDeps | undefined;
  return async (event: SQSEvent, context?: Context) => {
    ready ??= await deps();
    const d = ready;
    return processFifoBatch(event, (record) => applyRecord(d, record, context), d.metrics);
  };
}

async function applyRecord(d: ApplyHandlerDeps, record: SQSRecord, context?: Context): Promise<void> {
  const request = applyRequestFrom(record.body);
  const receives = Number(record.attributes?.ApproximateReceiveCount ?? '1');
  const result = await applyStack(d.ports, {
    ...request,
    finalAttempt: receives >= d.maxReceives,
    signal: deadlineSignal(context, 30_000),
  });
  d.logger.info(`apply ${request.key}: ${result.outcome}`, {
    key: request.key,
    outcome: result.outcome,
    ...(result.error ? { reason: result.error.reason } : {}),
  });
  if (result.outcome === 'Failed') d.metrics?.addMetric(MetricNames.syncFailed, MetricUnit.Count, 1);
}

export const handler = makeApplyHandler(() => applyDepsFromEnv());
