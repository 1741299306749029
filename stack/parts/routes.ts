/**
 * Bus rules and triggers: what sends work into the pipeline and results to the notify function.
 *
 * EventBridge SQS targets take one static MessageGroupId each, so each configured repository+branch gets its own
 * rule whose group is `name/branch`: pushes of one branch are serialized, branches run in parallel. Apply Requested
 * is NOT routed from the bus: stacks are only known after rendering, so the sync function sends it straight to the
 * apply queue with MessageGroupId = `environment/stack` (see ApplyQueueMessage in shared/function-env.ts).
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DetailType, EVENT_SOURCE } from '../../shared/events/catalog.ts';
import { NOTIFY_DETAIL_TYPES } from '../../shared/function-env.ts';
import { codeCommitArn, constructIdOf, messageGroupOf, type ValidatedConfig } from './config.ts';

/** One role for every schedule, owned by the construct, instead of the targets library's stack-level singletons. */
export function createSchedulerRole(scope: Construct): iam.Role {
  return new iam.Role(scope, 'SchedulerRole', {
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
    }),
    description: 'EventBridge Scheduler: drift runs and safety-net polls of lambda-gitops',
  });
}

export interface RepositoryRouteTargets {
  readonly bus: events.IEventBus;
  readonly syncQueue: sqs.IQueue;
  readonly deliveryDlq: sqs.IQueue;
  readonly schedulerRole: iam.IRole;
}

/**
 * Per repository+branch: its Push Received and Sync Requested from the bus to the sync queue, a safety-net poll
 * schedule, and for CodeCommit (which has no webhook) its push event from the default bus.
 */
export function routeRepositories(scope: Construct, config: ValidatedConfig, t: RepositoryRouteTargets): void {
  const stack = Stack.of(scope);
  const previewed = new Set<string>();
  for (const repo of config.repositories) {
    const routeId = constructIdOf(repo);
    // Pull-request previews of the repository (whatever their base branch: the preview finds the bound environments)
    // to the sync queue, in a message group of their own so they never wait behind, nor delay, a sync. One rule per
    // repository, however many of its branches are configured.
    if (config.previews && !previewed.has(repo.url)) {
      previewed.add(repo.url);
      new events.Rule(scope, `PreviewRoute${routeId}`, {
        eventBus: t.bus,
        description: `Preview Requested of ${repo.name} to the sync queue`,
        eventPattern: {
          source: [EVENT_SOURCE],
          detailType: [DetailType.PreviewRequested],
          detail: { repo: [...new Set([repo.name, repo.url])] },
        },
        targets: [
          new targets.SqsQueue(t.syncQueue, {
            messageGroupId: `${repo.name}/previews`,
            deadLetterQueue: t.deliveryDlq,
          }),
        ],
      });
    }
    new events.Rule(scope, `SyncRoute${routeId}`, {
      eventBus: t.bus,
      description: `Push Received and Sync Requested of ${repo.name}@${repo.branch} to the sync queue`,
      eventPattern: {
        source: [EVENT_SOURCE],
        detailType: [DetailType.PushReceived, DetailType.SyncRequested],
        detail: { repo: [...new Set([repo.name, repo.url])], branch: [repo.branch] },
      },
      targets: [
        new targets.SqsQueue(t.syncQueue, {
          messageGroupId: messageGroupOf(repo),
          deadLetterQueue: t.deliveryDlq,
        }),
      ],
    });
    new scheduler.Schedule(scope, `PollSchedule${routeId}`, {
      description: `Safety-net Sync Requested for ${repo.name}@${repo.branch}`,
      schedule: scheduler.ScheduleExpression.rate(config.pollInterval),
      target: new schedulerTargets.EventBridgePutEvents(
        {
          eventBus: t.bus,
          source: EVENT_SOURCE,
          detailType: DetailType.SyncRequested,
          detail: scheduler.ScheduleTargetInput.fromObject({
            repo: repo.name,
            branch: repo.branch,
            reason: 'ScheduledPoll',
            severity: 'info',
            message: `Scheduled poll of ${repo.name}@${repo.branch}`,
          }),
        },
        { deadLetterQueue: t.deliveryDlq, retryAttempts: 2, role: t.schedulerRole },
      ),
    });
    if (repo.provider === 'codecommit') {
      // CodeCommit has no webhook: its own event on the default bus, shaped like Push Received, goes to the queue.
      new events.Rule(scope, `CodeCommitRoute${routeId}`, {
        description: `CodeCommit pushes to ${repo.name}@${repo.branch} to the sync queue`,
        eventPattern: {
          source: ['aws.codecommit'],
          detailType: ['CodeCommit Repository State Change'],
          resources: [codeCommitArn(stack, repo.url)],
          detail: {
            event: ['referenceCreated', 'referenceUpdated'],
            referenceType: ['branch'],
            referenceName: [repo.branch],
          },
        },
        targets: [
          new targets.SqsQueue(t.syncQueue, {
            messageGroupId: messageGroupOf(repo),
            deadLetterQueue: t.deliveryDlq,
            message: events.RuleTargetInput.fromObject({
              source: EVENT_SOURCE,
              'detail-type': DetailType.PushReceived,
              time: events.EventField.time,
              detail: {
                repo: repo.name,
                branch: repo.branch,
                revision: events.EventField.fromPath('$.detail.commitId'),
                previousRevision: events.EventField.fromPath('$.detail.oldCommitId'),
                provider: 'codecommit',
                deliveryId: events.EventField.eventId,
                reason: 'PushReceived',
                severity: 'info',
                message: `Push to ${repo.name}@${repo.branch}`,
              },
            }),
          }),
        ],
      });
    }
  }
}

/**
 * Results, drift and health events to the notify function. It is the alerts topic's only publisher: it deduplicates
 * repeated alerts, always sends recoveries, and publishes one message per protocol (plain text for e-mail, the Amazon
 * Q Developer custom notification JSON for chat). A second rule straight to the topic would send every failure
 * twice, undeduped.
 */
export function routeNotifications(
  scope: Construct,
  t: { readonly bus: events.IEventBus; readonly notify: lambda.IFunction; readonly deliveryDlq: sqs.IQueue },
): void {
  new events.Rule(scope, 'NotifyRoute', {
    eventBus: t.bus,
    description: 'Results, drift and health events to the notify function (alerts topic, Slack, commit statuses)',
    eventPattern: { source: [EVENT_SOURCE], detailType: [...NOTIFY_DETAIL_TYPES] },
    targets: [
      new targets.LambdaFunction(t.notify, {
        deadLetterQueue: t.deliveryDlq,
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
      }),
    ],
  });
}
