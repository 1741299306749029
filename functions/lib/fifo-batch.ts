import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * One FIFO batch, the way both queue consumers want it: messages in order, and after a failure the rest of that
 * message group is handed back too, so a stack's (or a branch's) order is kept; only failed messages are retried.
 * Metrics are flushed whatever happened.
 */
export async function processFifoBatch(
  event: SQSEvent,
  record: (record: SQSRecord) => Promise<void>,
  metrics?: Metrics,
): Promise<SQSBatchResponse> {
  try {
    return await processPartialResponse(event, record, new SqsFifoPartialProcessorAsync(), {
      // A batch whose every message failed is reported like any other, not thrown: the same redelivery either way.
      throwOnFullBatchFailure: false,
    });
  } finally {
    metrics?.publishStoredMetrics();
  }
}
