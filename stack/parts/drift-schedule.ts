/**
 * The drift schedule: EventBridge Scheduler invokes the drift function every `driftInterval`. A missed run is never
 * retried (the next one comes soon enough, and a retry would only overlap it).
 */
import type { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { acknowledgeResource } from '../nag.ts';

export interface DriftScheduleProps {
  readonly drift: lambda.IFunction;
  readonly driftInterval: Duration;
  readonly schedulerRole: iam.IRole;
  readonly deliveryDlq: sqs.IQueue;
}

export function scheduleDrift(scope: Construct, props: DriftScheduleProps): scheduler.Schedule {
  const { drift, schedulerRole } = props;
  const schedule = new scheduler.Schedule(scope, 'DriftSchedule', {
    description: 'Drift detection of the managed stacks',
    schedule: scheduler.ScheduleExpression.rate(props.driftInterval),
    target: new schedulerTargets.LambdaInvoke(drift, {
      input: scheduler.ScheduleTargetInput.fromObject({ reason: 'ScheduledDriftCheck' }),
      // The next run comes soon enough; retrying a missed one would only overlap it.
      retryAttempts: 0,
      deadLetterQueue: props.deliveryDlq,
      role: schedulerRole,
    }),
  });
  acknowledgeResource(
    schedulerRole,
    `${drift.functionArn}:*`,
    'The Scheduler Lambda target grants invoke on the function and its versions; it is one function.',
  );
  drift.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: props.driftInterval });
  return schedule;
}
