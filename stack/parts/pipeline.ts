/**
 * The sync and apply pipeline: the webhook's Function URL, the FIFO sync and apply queues with their dead-letter
 * queues, and the queue consumers. Pushes of one branch are serialized in the sync queue (one message group per
 * repository+branch, routes.ts); changes of one stack in the apply queue (one group per stack, sent by the sync
 * function itself, see ApplyQueueMessage in shared/function-env.ts).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { FUNCTION_SPECS, type GitOpsFunctions } from './functions.ts';

/** SQS wants a visibility timeout of at least 6x the consumer's timeout so a retried batch is not seen twice. */
const VISIBILITY_FACTOR = 6;

export interface WorkQueues {
  readonly syncQueue: sqs.Queue;
  readonly applyQueue: sqs.Queue;
  /** Dead-letter queues, by the queue (or delivery path) they serve. */
  readonly deadLetterQueues: Readonly<Record<'sync' | 'apply' | 'delivery', sqs.Queue>>;
}

export function createWorkQueues(scope: Construct, maxReceiveCount: number): WorkQueues {
  const syncDlq = createQueue(scope, 'SyncDeadLetterQueue', { fifo: true });
  const syncQueue = createQueue(scope, 'SyncQueue', {
    fifo: true,
    contentBasedDeduplication: true,
    visibilityTimeout: Duration.seconds(FUNCTION_SPECS.sync.timeout.toSeconds() * VISIBILITY_FACTOR),
    deadLetterQueue: { queue: syncDlq, maxReceiveCount },
  });
  const applyDlq = createQueue(scope, 'ApplyDeadLetterQueue', { fifo: true });
  const applyQueue = createQueue(scope, 'ApplyQueue', {
    fifo: true,
    contentBasedDeduplication: true,
    visibilityTimeout: Duration.seconds(FUNCTION_SPECS.apply.timeout.toSeconds() * VISIBILITY_FACTOR),
    deadLetterQueue: { queue: applyDlq, maxReceiveCount },
  });
  // Events EventBridge rules or Scheduler could not deliver after their retries.
  const deliveryDlq = createQueue(scope, 'DeliveryDeadLetterQueue', {});
  Validations.of(deliveryDlq).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: 'This queue is itself a dead-letter queue: that of the EventBridge rule and Scheduler targets.',
  });
  return { syncQueue, applyQueue, deadLetterQueues: { sync: syncDlq, apply: applyDlq, delivery: deliveryDlq } };
}

/** Opens the webhook's Function URL and connects the sync and apply functions to their queues. */
export function connectPipeline(
  functions: GitOpsFunctions,
  queues: WorkQueues,
  applyConcurrency: number | false,
): lambda.FunctionUrl {
  const webhookUrl = functions.webhook.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
  functions.sync.addEventSource(new SqsEventSource(queues.syncQueue, { batchSize: 1, reportBatchItemFailures: true }));
  functions.apply.addEventSource(
    new SqsEventSource(queues.applyQueue, {
      batchSize: 1,
      reportBatchItemFailures: true,
      // Never poll faster than the reserved concurrency allows, or throttled messages burn their receive count.
      ...(applyConcurrency === false ? {} : { maxConcurrency: applyConcurrency }),
    }),
  );
  return webhookUrl;
}

function createQueue(scope: Construct, id: string, props: sqs.QueueProps): sqs.Queue {
  return new sqs.Queue(scope, id, {
    ...props,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
}
