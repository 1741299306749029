/**
 * The one catalog of events lambda-gitops emits, with source `lambda-gitops`. EventBridge rules, the notify function,
 * the console sink and the status page all read these shapes; `publish.ts` is the only place that builds them.
 */
import type { ChangeSummary, CommitInfo, DriftedResource } from '../model.ts';

export const EVENT_SOURCE = 'lambda-gitops';

export const DetailType = {
  PushReceived: 'Push Received',
  SyncRequested: 'Sync Requested',
  ApplyRequested: 'Apply Requested',
  PlanReady: 'Plan Ready',
  SyncSucceeded: 'Sync Succeeded',
  SyncFailed: 'Sync Failed',
  SyncSkipped: 'Sync Skipped',
  StackPruned: 'Stack Pruned',
  OutOfSync: 'Out Of Sync',
  DriftDetected: 'Drift Detected',
  DriftResolved: 'Drift Resolved',
  HealthDegraded: 'Health Degraded',
  HealthRestored: 'Health Restored',
  /** A pull request's preview was computed (and published on its forge when a token is configured). */
  PreviewReady: 'Preview Ready',
  /** The webhook function's hand-off of a pull-request delivery to the sync function (AWS only). */
  PreviewRequested: 'Preview Requested',
  DriftRunSkipped: 'Drift Run Skipped',
} as const;
export type DetailType = (typeof DetailType)[keyof typeof DetailType];

export type Severity = 'info' | 'warning' | 'error';

/** Fields every detail carries where known (Flux's revision metadata on every event). */
export interface EventDetail {
  readonly repo?: string;
  readonly branch?: string;
  /** The stack's name in the repository; absent for repository-wide events (Push Received). */
  readonly stack?: string;
  readonly environment?: string;
  readonly stackName?: string;
  readonly region?: string;
  readonly revision?: string;
  readonly commit?: CommitInfo;
  readonly reason: string;
  readonly severity: Severity;
  /** One line a person reads: what happened to which stack, and what to do. */
  readonly message: string;
  readonly changes?: ChangeSummary;
  readonly resources?: readonly DriftedResource[];
  /** Apply Requested: the rendered artifact's hash in the state store. */
  readonly renderedHash?: string;
  /** Push Received: the delivery id and the provider. */
  readonly deliveryId?: string;
  readonly provider?: string;
  /** Sync Requested: apply even though the policy is manual. */
  readonly approve?: boolean;
  readonly previousRevision?: string;
  /** False when the repository's `notifications` routes leave this event out of alerts (see events/routing.ts). */
  readonly notify?: boolean;
  /** Alarm names, dependency keys and other specifics of the reason. */
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface GitOpsEvent {
  readonly source: typeof EVENT_SOURCE;
  readonly detailType: DetailType;
  readonly time: string;
  readonly detail: EventDetail;
}

/** The severity each detail-type has unless a caller says otherwise. */
export const defaultSeverity: Readonly<Record<DetailType, Severity>> = {
  'Push Received': 'info',
  'Sync Requested': 'info',
  'Apply Requested': 'info',
  'Plan Ready': 'info',
  'Sync Succeeded': 'info',
  'Sync Failed': 'error',
  // A commit that was not applied (a late older one, or a push nobody expected to be skipped) alerts like a failure.
  'Sync Skipped': 'error',
  'Stack Pruned': 'warning',
  'Out Of Sync': 'warning',
  'Drift Detected': 'warning',
  'Drift Resolved': 'info',
  'Health Degraded': 'error',
  'Health Restored': 'info',
  'Preview Ready': 'info',
  'Preview Requested': 'info',
  'Drift Run Skipped': 'warning',
};
