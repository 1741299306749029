/**
 * The contract between the CDK stack and the Lambda functions: the environment variables the stack sets, the SSM
 * parameter names it grants, and the metric names its alarms watch. Both sides import it from here (stack/ imports
 * shared/, functions/ never import stack/: test/stack/layering.test.ts), and it is bundled into every function, so
 * it must stay free of aws-cdk-lib imports.
 */

import { DetailType } from './events/catalog.ts';

/** Environment variables the stack sets on the functions. Each function gets only the ones it needs. */
export const FunctionEnv = {
  /** Name of the custom EventBridge bus every lambda-gitops event goes to. */
  busName: 'GITOPS_BUS_NAME',
  /** Name of the S3 bucket holding `state/`, `history/` and `rendered/`. */
  stateBucket: 'GITOPS_STATE_BUCKET',
  /** Key prefix inside the state bucket ('' for the bucket root, otherwise ends with `/`). */
  statePrefix: 'GITOPS_STATE_PREFIX',
  /** SSM Parameter Store prefix (starts with `/`, no trailing `/`); the names below are appended after a `/`. */
  secretsPrefix: 'GITOPS_SECRETS_PREFIX',
  /** JSON array of {@link RepositoryEnv}: the repositories and branches this installation syncs. */
  repositories: 'GITOPS_REPOSITORIES',
  /** ARN of the role CloudFormation assumes for managed stacks in the installation's own account. */
  cfnServiceRoleArn: 'GITOPS_CFN_SERVICE_ROLE_ARN',
  /** Every managed stack's name starts with this; the functions' CloudFormation rights are scoped to it. */
  stackNamePrefix: 'GITOPS_STACK_NAME_PREFIX',
  /** ARN of the SNS alerts topic (KMS encrypted). */
  alertsTopicArn: 'GITOPS_ALERTS_TOPIC_ARN',
  /** GitHub REST API base URL for commit statuses (GitHub Enterprise Server differs). */
  githubApiUrl: 'GITOPS_GITHUB_API_URL',
  /** `true` when a Slack incoming-webhook URL is stored under {@link SecretName.slackWebhookUrl}. */
  slack: 'GITOPS_SLACK',
  /** `true` when commit statuses are posted to GitHub with the token under {@link SecretName.githubToken}. */
  githubStatus: 'GITOPS_GITHUB_STATUS',
  /** URL of the apply FIFO queue: the sync function sends Apply Requested here itself, see {@link ApplyQueueMessage}. */
  applyQueueUrl: 'GITOPS_APPLY_QUEUE_URL',
  /** Seconds one apply may take before it must give up (below the apply function's timeout). */
  applyTimeoutSeconds: 'GITOPS_APPLY_TIMEOUT_SECONDS',
  /**
   * The apply queue's maxReceiveCount: on that receive a retryable failure (busy stack, throttling) is recorded as a
   * final Sync Failed instead of being retried into the dead-letter queue without a word.
   */
  applyMaxReceives: 'GITOPS_APPLY_MAX_RECEIVES',
  /**
   * Comma-separated SSM parameter names of the OpenPGP public keys the installation trusts: when set, the sync and
   * drift functions act only on commits signed by one of them, whatever the repository says.
   */
  trustedKeyParameters: 'GITOPS_TRUSTED_KEY_PARAMETERS',
  /**
   * The installation policy as JSON (shared/policy/schema.ts): what each repository may deploy, from which branch,
   * where and with which role. The sync, apply and drift functions enforce it; unset, the commit decides.
   */
  policy: 'GITOPS_POLICY',
  /**
   * The installation's account id: the policy's `accounts` for stacks without an environment role, and the account of
   * the artifact buckets (packaged code and nested templates) in other regions.
   */
  accountId: 'GITOPS_ACCOUNT_ID',
  /**
   * The bucket per account and region packaged artifacts and large templates go to, `{account}` and `{region}`
   * replaced (the construct's `artifactBucket`). Unset: the installation bucket in its own account and region, the CDK
   * bootstrap assets bucket `cdk-hnb659fds-assets-{account}-{region}` elsewhere.
   */
  artifactBucket: 'GITOPS_ARTIFACT_BUCKET',
  powertoolsServiceName: 'POWERTOOLS_SERVICE_NAME',
  powertoolsMetricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  /**
   * `redacted`: the drift function keeps the expected and actual values of drifted properties, with anything
   * secret-like redacted. Unset (the default): property paths and difference kinds only.
   */
  driftValues: 'GITOPS_DRIFT_VALUES',
  /**
   * `true` when pull-request previews are on (the construct's `pullRequestPreviews`): the webhook function puts
   * `Preview Requested` on the bus and the sync function computes and publishes the preview.
   */
  previews: 'GITOPS_PREVIEWS',
  /**
   * URL of the drift work FIFO queue: when set, the scheduled drift function plans the run and queues the resource
   * pass per account-region for the drift worker (shared/engine/drift-fanout.ts) instead of checking every stack.
   */
  driftQueueUrl: 'GITOPS_DRIFT_QUEUE_URL',
  /** Seconds a drift worker starts new stacks for before it queues the rest (below its timeout, see drift-fanout). */
  driftWorkerBudgetSeconds: 'GITOPS_DRIFT_WORKER_BUDGET_SECONDS',
  /** Seconds after which an unfinished drift run is taken to have died, and the next scheduled run starts anew. */
  driftRunStaleSeconds: 'GITOPS_DRIFT_RUN_STALE_SECONDS',
} as const;
export type FunctionEnvName = (typeof FunctionEnv)[keyof typeof FunctionEnv];

/** One element of `GITOPS_REPOSITORIES`. */
export interface RepositoryEnv {
  readonly name: string;
  readonly url: string;
  readonly branch: string;
  readonly provider: GitProvider;
}
export type GitProvider = 'github' | 'gitlab' | 'bitbucket' | 'codecommit' | 'generic';

/**
 * Names of the SecureString parameters below `GITOPS_SECRETS_PREFIX`. The operator creates them
 * (`aws ssm put-parameter --type SecureString`); the stack only grants `ssm:GetParameter` on them.
 */
export const SecretName = {
  webhookSecret: 'webhook-secret',
  gitToken: 'git-token',
  slackWebhookUrl: 'slack-webhook-url',
  githubToken: 'github-token',
  /** Pull-request previews: a GitHub App installation token, for check runs instead of commit statuses (optional). */
  githubAppToken: 'github-app-token',
  /** Pull-request previews on GitLab: a token with the `api` scope (merge-request notes, commit statuses). */
  gitlabToken: 'gitlab-token',
  /** Pull-request previews on Bitbucket Cloud: an access token (pull-request comments, build statuses). */
  bitbucketToken: 'bitbucket-token',
} as const;
export type SecretName = (typeof SecretName)[keyof typeof SecretName];

/** The full parameter name of a secret: `/lambda-gitops` + `webhook-secret` → `/lambda-gitops/webhook-secret`. */
export const secretParameterName = (prefix: string, name: SecretName): string => `${prefix}/${name}`;

/** EMF metrics the functions publish (Powertools Metrics) and the stack alarms on. */
export const Metrics = {
  namespace: 'LambdaGitOps',
  /** Dimension Powertools adds to every metric: the publishing function's name (also its POWERTOOLS_SERVICE_NAME). */
  serviceDimension: 'service',
  /** Count, one per failed sync or apply. */
  syncFailed: 'SyncFailed',
  /** Count of stacks found drifted by one drift run (a gauge: publish it on every run, 0 included). */
  driftedStacks: 'DriftedStacks',
  /** Stacks the current drift run has left (a gauge: each drift worker publishes it after its item). */
  driftBacklog: 'DriftBacklog',
} as const;

/** Which functions publish each metric, i.e. the `service` dimension values the alarms add up. */
export const MetricPublishers = {
  [Metrics.syncFailed]: ['sync', 'apply'],
  [Metrics.driftedStacks]: ['drift'],
  [Metrics.driftBacklog]: ['drift-worker'],
} as const;

/**
 * How the sync function hands work to the apply function. EventBridge rule targets take one static
 * MessageGroupId per target, and stacks are only known after rendering, so per-stack FIFO groups cannot come
 * from a bus rule: the sync function calls `SendMessage` on `GITOPS_APPLY_QUEUE_URL` itself, with
 * `MessageGroupId` = the stack key (`environment/stack`) and the body an Apply Requested event (the same
 * JSON shape EventBridge delivers: `source`, `detail-type`, `detail`). It still publishes Apply Requested to
 * the bus for the record; no rule forwards that event to the queue, so nothing is applied twice.
 */
export interface ApplyQueueMessage {
  readonly source: string;
  readonly 'detail-type': string;
  readonly detail: Readonly<Record<string, unknown>>;
}

/**
 * Detail-types the notify function receives (the stack's rule routes exactly these to it): alerts for SNS mail and
 * chat and Slack, and commit statuses.
 */
export const NOTIFY_DETAIL_TYPES: readonly DetailType[] = [
  DetailType.PlanReady,
  DetailType.SyncSucceeded,
  DetailType.SyncFailed,
  DetailType.StackPruned,
  DetailType.OutOfSync,
  DetailType.DriftDetected,
  DetailType.DriftResolved,
  DetailType.HealthDegraded,
  DetailType.HealthRestored,
  // A push that was not applied: someone must look, as for a failure (and its commit status says so).
  DetailType.SyncSkipped,
];

/**
 * Memory of the functions in MB (the construct's sizes; plain data so bench/cost.ts and bench/drift-run.ts price and
 * check the same). Memory buys CPU where the work is CPU bound (pack parsing and rendering in sync); the drift
 * function mostly waits on CloudFormation's detection, and is billed per GB-s while it waits.
 */
export const FUNCTION_MEMORY_MB = {
  webhook: 512,
  sync: 1769,
  apply: 512,
  drift: 256,
  notify: 256,
  /** The drift worker holds one item (at most 200 stacks) and waits on CloudFormation: the drift function's size. */
  driftWorker: 256,
} as const;
