/** The custom EventBridge bus every lambda-gitops event goes to, its archive for replay, and its resource policy. */
import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { DetailType } from '../../shared/events/catalog.ts';

export interface EventBusProps {
  readonly busName: string;
  readonly archiveRetention?: Duration;
}

export function createEventBus(scope: Construct, props: EventBusProps): events.EventBus {
  const bus = new events.EventBus(scope, 'Bus', { eventBusName: props.busName });
  bus.archive('Archive', {
    description: 'Every lambda-gitops event, for replay',
    eventPattern: { account: [Stack.of(scope).account] },
    retention: props.archiveRetention ?? Duration.days(30),
  });
  return bus;
}

export interface SyncRequestPutters {
  /** The installation's own roles: the functions that put events, and the scheduler's safety-net polls. */
  readonly installation: readonly iam.IRole[];
  /** Approver principals (IAM role or user ARNs), from the `approvers` prop. */
  readonly approvers: readonly string[];
}

/**
 * Only the installation and named approvers may put `Sync Requested` on the bus: it is how a revision gets approved
 * (shared/engine/approval.ts), so an account principal with a broad `events:PutEvents` must not be able to send it.
 * A Deny for everyone else keyed on the detail-type (the `events:detail-type` condition key of PutEvents), and an
 * Allow for the approvers so that approvers in another account can put it at all. Other detail-types are untouched:
 * the `gitops` CLI's `--target aws` puts its results with the operator's own rights.
 */
export function restrictSyncRequests(bus: events.EventBus, putters: SyncRequestPutters): void {
  bus.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'OnlySyncRequestsFromInstallationAndApprovers',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['events:PutEvents'],
      resources: [bus.eventBusArn],
      conditions: {
        StringEquals: { 'events:detail-type': DetailType.SyncRequested },
        ArnNotEquals: { 'aws:PrincipalArn': [...putters.installation.map((r) => r.roleArn), ...putters.approvers] },
      },
    }),
  );
  if (putters.approvers.length === 0) return;
  bus.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'ApproversRequestSyncs',
      principals: putters.approvers.map((arn) => new iam.ArnPrincipal(arn)),
      actions: ['events:PutEvents'],
      resources: [bus.eventBusArn],
      conditions: { StringEquals: { 'events:detail-type': DetailType.SyncRequested } },
    }),
  );
}
