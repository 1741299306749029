/**
 * The drift fan-out's own infrastructure (shared/engine/drift-fanout.ts): the FIFO work queue the scheduled drift
 * function fills with one item per account-region, its dead-letter queue, the drift worker's event source, the
 * alarms and the dashboard widgets. The functions themselves are made by the GitOps construct (same bundling, roles
 * and log groups as the others); this wires them to the queue.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FunctionEnv, Metrics } from '../shared/function-env.ts';

export interface DriftFanOutProps {
  /** The scheduled drift function: it plans each run and queues its items. */
  readonly planner: lambda.Function;
  /** The drift worker: one item per invocation. */
  readonly worker: lambda.Function;
  /** The worker's timeout: the queue's visibility timeout is six times it, as SQS advises. */
  readonly workerTimeout: Duration;
  /** Seconds the worker starts stacks for before it queues the rest. */
  readonly workerBudget: Duration;
  /** Receives of an item before it is parked in the dead-letter queue. @default 3 */
  readonly maxReceiveCount?: number;
  /**
   * Workers at once, over all account-regions (each account-region has one at a time, through its FIFO group).
   * @default 10
   */
  readonly maxConcurrency?: number;
  /** An item older than this in the queue raises the backlog alarm. @default 1 hour */
  readonly backlogAgeAlarm?: Duration;
}

export class DriftFanOut extends Construct {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  /** The fan-out's alarms; the GitOps construct adds its alarm actions and lists them on the dashboard. */
  public readonly alarms: readonly cloudwatch.Alarm[];
  /** One dashboard row: queue depth and age, dead letters, the run's backlog. */
  public readonly widgets: readonly cloudwatch.IWidget[];

  constructor(scope: Construct, id: string, props: DriftFanOutProps) {
    super(scope, id);
    const common = { fifo: true, encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true };
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', { ...common, retentionPeriod: Duration.days(14) });
    this.queue = new sqs.Queue(this, 'Queue', {
      ...common,
      // Items carry their own deduplication id (run, item, offset); content-based would merge distinct items.
      contentBasedDeduplication: false,
      retentionPeriod: Duration.days(1),
      visibilityTimeout: Duration.seconds(props.workerTimeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 3 },
    });
    for (const f of [props.planner, props.worker]) {
      f.addEnvironment(FunctionEnv.driftQueueUrl, this.queue.queueUrl);
      this.queue.grantSendMessages(f);
    }
    props.worker.addEnvironment(FunctionEnv.driftWorkerBudgetSeconds, String(props.workerBudget.toSeconds()));
    props.worker.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 1,
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency ?? 10,
      }),
    );

    const period = Duration.minutes(5);
    const deadLetters = this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' });
    const oldest = this.queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' });
    const backlog = new cloudwatch.Metric({
      namespace: Metrics.namespace,
      metricName: Metrics.driftBacklog,
      dimensionsMap: { [Metrics.serviceDimension]: 'drift-worker' },
      statistic: 'Minimum',
      period,
    });
    const ageLimit = props.backlogAgeAlarm ?? Duration.hours(1);
    this.alarms = [
      new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
        metric: deadLetters,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription:
          'Drift work items in the dead-letter queue: a worker failed on them 3 times; inspect, then redrive',
      }),
      new cloudwatch.Alarm(this, 'BacklogAgeAlarm', {
        metric: oldest,
        threshold: ageLimit.toSeconds(),
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `A drift work item has waited ${ageLimit.toHumanString()}: runs are skipped until the backlog clears`,
      }),
    ];
    this.widgets = [
      new cloudwatch.GraphWidget({
        title: 'Drift fan-out queue',
        left: [
          this.queue.metricApproximateNumberOfMessagesVisible(),
          this.queue.metricApproximateNumberOfMessagesNotVisible(),
        ],
        right: [this.queue.metricApproximateAgeOfOldestMessage()],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Drift run backlog (stacks left)',
        left: [backlog],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Drift dead letters and worker duration (max)',
        left: [this.deadLetterQueue.metricApproximateNumberOfMessagesVisible()],
        right: [props.worker.metricDuration({ statistic: 'Maximum' })],
        width: 8,
      }),
    ];
  }
}
