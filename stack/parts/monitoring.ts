/**
 * Alarms and the dashboard: every function's errors, every dead-letter queue, sync failures and drifted stacks
 * (EMF metrics the functions publish, see Metrics in shared/function-env.ts), each alarm notifying the alerts topic when it
 * fires and when it recovers.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { MetricPublishers, Metrics } from '../../shared/function-env.ts';
import { pascal } from './config.ts';
import type { GitOpsFunctions } from './functions.ts';
import type { WorkQueues } from './pipeline.ts';

export function createMonitoring(
  scope: Construct,
  t: {
    readonly functions: GitOpsFunctions;
    readonly queues: WorkQueues;
    readonly alertsTopic: sns.ITopic;
    /** The drift fan-out's own alarms and widgets (stack/drift-fanout.ts). */
    readonly driftFanOut: {
      readonly alarms: readonly cloudwatch.Alarm[];
      readonly widgets: readonly cloudwatch.IWidget[];
    };
  },
): cloudwatch.Dashboard {
  const alarmAction = new cwActions.SnsAction(t.alertsTopic);
  const alarms: cloudwatch.Alarm[] = [];
  const alarm = (id: string, metric: cloudwatch.IMetric, description: string) => {
    const a = new cloudwatch.Alarm(scope, id, {
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    a.addAlarmAction(alarmAction);
    // Recovery is news too: an alert that never says "resolved" keeps people guessing.
    a.addOkAction(alarmAction);
    alarms.push(a);
  };

  const { functions, queues } = t;
  for (const [name, f] of Object.entries(functions)) {
    alarm(
      `${pascal(name)}ErrorsAlarm`,
      f.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      `The ${name} function failed`,
    );
  }
  for (const [name, q] of Object.entries(queues.deadLetterQueues)) {
    alarm(
      `${pascal(name)}DeadLetterAlarm`,
      q.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      `Messages in the ${name} dead-letter queue: inspect them, then redrive`,
    );
  }
  const syncFailed = emfMetric(Metrics.syncFailed, 'Sum');
  const driftedStacks = emfMetric(Metrics.driftedStacks, 'Maximum');
  alarm('SyncFailedAlarm', syncFailed, 'A sync or apply failed (see the Sync Failed event)');
  alarm('DriftedStacksAlarm', driftedStacks, 'Managed stacks have drifted from Git');
  for (const a of t.driftFanOut.alarms) {
    a.addAlarmAction(alarmAction);
    a.addOkAction(alarmAction);
    alarms.push(a);
  }

  const workQueues = [queues.syncQueue, queues.applyQueue];
  return new cloudwatch.Dashboard(scope, 'Dashboard', {
    defaultInterval: Duration.hours(6),
    widgets: [
      [
        new cloudwatch.GraphWidget({
          title: 'Invocations',
          left: Object.values(functions).map((f) => f.metricInvocations({ period: Duration.minutes(5) })),
          width: 8,
        }),
        new cloudwatch.GraphWidget({
          title: 'Errors',
          left: Object.values(functions).map((f) => f.metricErrors({ period: Duration.minutes(5) })),
          width: 8,
        }),
        new cloudwatch.GraphWidget({
          title: 'Duration (p90)',
          left: Object.values(functions).map((f) => f.metricDuration({ statistic: 'p90' })),
          width: 8,
        }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: 'Queue depth',
          left: workQueues.map((q) => q.metricApproximateNumberOfMessagesVisible()),
          right: workQueues.map((q) => q.metricApproximateAgeOfOldestMessage()),
          width: 8,
        }),
        new cloudwatch.GraphWidget({
          title: 'Dead-letter queues',
          left: Object.values(queues.deadLetterQueues).map((q) => q.metricApproximateNumberOfMessagesVisible()),
          width: 8,
        }),
        new cloudwatch.GraphWidget({
          title: 'Sync failures and drifted stacks',
          left: [syncFailed],
          right: [driftedStacks],
          width: 8,
        }),
      ],
      [...t.driftFanOut.widgets],
      [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24 })],
    ],
  });
}

/**
 * An EMF metric added up over the functions that publish it (each publishes with its own `service` dimension);
 * FILL keeps a quiet publisher from blanking the sum.
 */
function emfMetric(metricName: keyof typeof MetricPublishers, statistic: string): cloudwatch.IMetric {
  const services = MetricPublishers[metricName];
  const metrics = Object.fromEntries(
    services.map((service, i) => [
      `m${i}`,
      new cloudwatch.Metric({
        namespace: Metrics.namespace,
        metricName,
        dimensionsMap: { [Metrics.serviceDimension]: service },
        statistic,
        period: Duration.minutes(5),
      }),
    ]),
  );
  if (services.length === 1) return metrics['m0']!;
  return new cloudwatch.MathExpression({
    expression: Object.keys(metrics)
      .map((id) => `FILL(${id}, 0)`)
      .join(' + '),
    usingMetrics: metrics,
    label: metricName,
    period: Duration.minutes(5),
  });
}
