/**
 * lambda-gitops in one construct. This file holds its props and composes the parts in stack/parts/, one concern per
 * file; the constructor reads like the architecture:
 *
 *   Git host ─webhook─▶ Function URL ─▶ webhook ─▶ bus ─(route per repo+branch)─▶ sync queue ─▶ sync
 *   sync ─(group per stack)─▶ apply queue ─▶ apply ─▶ CloudFormation (service role)
 *   schedule ─▶ drift ─▶ CloudFormation drift detection;  bus ─▶ notify ─▶ alerts topic, Slack, commit statuses
 *   everything ─▶ state bucket;  alarms and dashboard watch it all
 *
 * Every resource keeps the construct id (and so the logical id) it had before the split: installed stacks update
 * in place (test/stack/logical-ids.test.ts).
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type GitProvider, type RepositoryEnv, SecretName, secretParameterName } from '../shared/function-env.ts';
import { DriftFanOut } from './drift-fanout.ts';
import { createAlertsTopic } from './parts/alerts.ts';
import { createEventBus, restrictSyncRequests } from './parts/bus.ts';
import { validate } from './parts/config.ts';
import { scheduleDrift } from './parts/drift-schedule.ts';
import { createFunctions, FUNCTION_SPECS } from './parts/functions.ts';
import { createMonitoring } from './parts/monitoring.ts';
import { grantFunctionRights } from './parts/permissions.ts';
import { connectPipeline, createWorkQueues } from './parts/pipeline.ts';
import { createSchedulerRole, routeNotifications, routeRepositories } from './parts/routes.ts';
import { createServiceRole } from './parts/service-role.ts';
import { createStateBucket } from './parts/state-store.ts';
import type { InstallationPolicyDocument } from './policy-env.ts';

export { PROJECT_ROOT } from './parts/functions.ts';

/** A repository (and one branch of it) this installation syncs. */
export interface GitOpsRepository {
  /** Short name, unique per branch; used in events (`detail.repo`), queue message groups and construct ids. */
  readonly name: string;
  /** HTTPS clone URL. For CodeCommit: `https://git-codecommit.<region>.amazonaws.com/v1/repos/<name>`. */
  readonly url: string;
  /**
   * Branch to sync.
   * @default 'main'
   */
  readonly branch?: string;
  /**
   * Git hosting provider; decides the webhook signature scheme and whether a CodeCommit EventBridge rule is made.
   * @default - inferred from the URL's host ('generic' when not recognised)
   */
  readonly provider?: GitProvider;
}

/** A deployment target in another account (or the same one) whose role the apply and drift functions assume. */
export interface GitOpsEnvironment {
  /** Environment name as in the repository's `gitops.yaml`. */
  readonly name: string;
  /** ARN of the role to assume in the target account, e.g. `arn:aws:iam::111122223333:role/gitops-deployer`. */
  readonly roleArn: string;
}

/** Amazon Q Developer in chat apps (formerly AWS Chatbot): a Slack channel that receives the alerts topic. */
export interface GitOpsSlackChannel {
  /** Slack workspace (team) id, e.g. `T0123ABCD`, after authorising the workspace in the Amazon Q console. */
  readonly workspaceId: string;
  /** Slack channel id, e.g. `C0123ABCD`. */
  readonly channelId: string;
  /**
   * Name of the channel configuration.
   * @default 'lambda-gitops-alerts'
   */
  readonly configurationName?: string;
}

export type GitOpsFunctionName = 'webhook' | 'sync' | 'apply' | 'drift' | 'notify' | 'drift-worker';

export interface GitOpsProps {
  /**
   * Repositories and branches to sync.
   * @default [] - nothing is synced until a repository is configured
   */
  readonly repositories?: readonly GitOpsRepository[];
  /**
   * Target environments whose roles the apply and drift functions may assume (`sts:AssumeRole` is granted on exactly
   * these ARNs).
   * @default [] - managed stacks are deployed in this stack's account and region only
   */
  readonly environments?: readonly GitOpsEnvironment[];
  /**
   * Name of the custom EventBridge bus.
   * @default 'lambda-gitops'
   */
  readonly busName?: string;
  /**
   * How long the bus archive keeps events for replay.
   * @default Duration.days(30)
   */
  readonly archiveRetention?: Duration;
  /**
   * Every managed stack's name starts with this; CloudFormation permissions are scoped to `stack/<prefix>*`.
   * @default 'gitops-'
   */
  readonly stackNamePrefix?: string;
  /**
   * How often drift detection runs.
   * @default Duration.minutes(15)
   */
  readonly driftInterval?: Duration;
  /**
   * How often a Sync Requested is sent for every repository, as a safety net for lost webhooks.
   * @default Duration.hours(1)
   */
  readonly pollInterval?: Duration;
  /**
   * E-mail addresses subscribed to the alerts topic.
   * @default [] - no e-mail subscription
   */
  readonly alertEmails?: readonly string[];
  /**
   * Amazon Q Developer in chat apps Slack channel subscribed to the alerts topic.
   * @default - no chat channel
   */
  readonly slackChannel?: GitOpsSlackChannel;
  /**
   * Post notifications to a Slack incoming webhook whose URL the operator stores in SSM
   * (`<secretsPrefix>/slack-webhook-url`).
   * @default false
   */
  readonly slackWebhook?: boolean;
  /**
   * Post GitHub commit statuses with a token the operator stores in SSM (`<secretsPrefix>/github-token`).
   * @default false
   */
  readonly githubCommitStatus?: boolean;
  /**
   * GitHub REST API base URL (GitHub Enterprise Server: `https://<host>/api/v3`).
   * @default 'https://api.github.com'
   */
  readonly githubApiUrl?: string;
  /**
   * SSM Parameter Store prefix of the SecureString parameters the operator creates.
   * @default '/lambda-gitops'
   */
  readonly secretsPrefix?: string;
  /**
   * Key prefix inside the state bucket.
   * @default '' - `state/`, `history/` and `rendered/` at the bucket root
   */
  readonly statePrefix?: string;
  /**
   * Days after which `history/` objects expire (their noncurrent versions expire after 30 days).
   * @default 365
   */
  readonly historyRetentionDays?: number;
  /**
   * Bucket receiving the state bucket's server access logs.
   * @default - a bucket is created for them
   */
  readonly accessLogsBucket?: s3.IBucket;
  /**
   * Policies of the role CloudFormation assumes for managed stacks. Whatever is pushed to Git runs with these rights,
   * so they are the operator's decision: the default is none at all (applies fail with AccessDenied until chosen),
   * because a broad default would hand every committer the account.
   * @default [] - the role can do nothing; a synth warning says so
   */
  readonly serviceRolePolicies?: readonly iam.IManagedPolicy[];
  /**
   * More policies of the CloudFormation service role, by ARN (what `-c serviceRolePolicies=arn:...` gives).
   * @default []
   */
  readonly serviceRolePolicyArns?: readonly string[];
  /**
   * Name of the CloudFormation service role.
   * @default - generated by CloudFormation
   */
  readonly serviceRoleName?: string;
  /**
   * Reserved concurrency of the apply function; also the SQS event source's maximum concurrency. Caps parallel
   * change sets so a burst of commits cannot throttle CloudFormation. `false` for none (accounts whose concurrency
   * quota is still the new-account 10 cannot reserve any).
   * @default 5
   */
  readonly applyConcurrency?: number | false;
  /**
   * Reserved concurrency of the drift function: one run at a time, so a slow run is never overlapped by the next.
   * @default 1
   */
  readonly driftConcurrency?: number | false;
  /**
   * How many times a queue message is received before it moves to the dead-letter queue.
   * @default 3
   */
  readonly maxReceiveCount?: number;
  /**
   * SSM parameters (names starting with `/`) holding armored OpenPGP public keys: when given, the sync and drift
   * functions act only on commits signed by one of these keys, whatever the repository's `gitops.yaml` says — a
   * commit cannot switch this off or add its own key.
   * @default - none: the repository's own `signing` setting decides
   */
  readonly trustedKeyParameters?: readonly string[];
  /**
   * The installation policy (README "Security model"): per repository, the environments it may deploy, the branch,
   * accounts, regions and role of each, its stack name prefix, capabilities and resource types. The sync, apply and
   * drift functions get it as JSON in `GITOPS_POLICY` (Lambda allows 4 KB of environment in all).
   * @default - none: each commit decides its environments, branches and roles
   */
  readonly policy?: InstallationPolicyDocument;
  /**
   * Drift values (README "Hostile input"): `redacted` keeps the expected and actual values of drifted properties in
   * state and events, with anything secret-like redacted; `off` keeps property paths and difference kinds only.
   * Alerts never carry values either way.
   * @default 'off'
   */
  readonly driftValues?: 'off' | 'redacted';
  /**
   * Where packaged code, nested templates and large templates of stacks outside the installation's account and region
   * go, `{account}` and `{region}` replaced (README "Packaging"); written with the environment's role.
   * @default - the CDK bootstrap assets bucket, `cdk-hnb659fds-assets-{account}-{region}`
   */
  readonly artifactBucket?: string;
  /**
   * Retention of the functions' log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Let Node map stack traces through the bundles' source maps (`NODE_OPTIONS=--enable-source-maps`). Off by
   * default: function names read right without it (identifiers are not minified) and each bundle's index.mjs.map
   * ships beside it, while parsing the map costs each cold start about 9 ms (bench/cold-start.ts).
   * @default false
   */
  readonly sourceMaps?: boolean;
  /**
   * Entry files of the functions, resolved from the project root when relative.
   * @default - `functions/<name>.ts` of this project
   */
  readonly functionEntries?: Partial<Readonly<Record<GitOpsFunctionName, string>>>;
  /**
   * Removal policy of the state bucket and the access-logs bucket.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * IAM role or user ARNs allowed to put `Sync Requested` on the bus (to approve a Plan Ready, or ask for a sync),
   * besides the installation's own functions and schedules. The bus policy denies it to everyone else, even principals
   * of this account with `events:PutEvents` on the bus. What such an event may apply is checked again by the sync
   * function: only the revision Plan Ready recorded, or one on the bound branch.
   * @default [] - only the installation itself requests syncs
   */
  readonly approvers?: readonly string[];
  /**
   * Reserved concurrency of the webhook function. Its Function URL is public (deliveries are authenticated in code),
   * so a flood of requests, signed or not, is throttled (HTTP 429) at this many concurrent invocations instead of
   * using up the account's Lambda concurrency. Unsigned, oversized or misrouted requests are refused before any SSM or
   * EventBridge call, in a few milliseconds each. `false` for none (accounts whose concurrency quota is still the
   * new-account 10 cannot reserve any).
   * @default 10
   */
  readonly webhookConcurrency?: number | false;
  /**
   * Pull-request previews: the webhook function accepts pull-request deliveries of the configured repositories and
   * the sync function comments the offline plan on the pull request, with the forge tokens the operator stores in SSM
   * (`<secretsPrefix>/github-token`, `github-app-token`, `gitlab-token`, `bitbucket-token`: only those of the forges
   * used). Never applies anything, never creates a change set.
   * @default false
   */
  readonly pullRequestPreviews?: boolean;
}

/**
 * lambda-gitops in one construct: the webhook, sync, apply, drift and notify functions, the event bus with its
 * routes and archive, the FIFO work queues, the state bucket, the alerts topic, schedules, alarms and a dashboard.
 */
export class GitOps extends Construct {
  public readonly bus: events.EventBus;
  public readonly stateBucket: s3.Bucket;
  public readonly alertsTopic: sns.Topic;
  public readonly syncQueue: sqs.Queue;
  public readonly applyQueue: sqs.Queue;
  public readonly functions: Readonly<Record<GitOpsFunctionName, nodejs.NodejsFunction>>;
  public readonly webhookUrl: lambda.FunctionUrl;
  public readonly serviceRole: iam.Role;
  public readonly dashboard: cloudwatch.Dashboard;
  /** The drift run's work queue, dead-letter queue, alarms and widgets. */
  public readonly driftFanOut: DriftFanOut;
  /** Dead-letter queues, by the queue (or delivery path) they serve. */
  public readonly deadLetterQueues: Readonly<Record<'sync' | 'apply' | 'delivery', sqs.Queue>>;
  /** Names of the SSM SecureString parameters the operator must create; optional ones only when enabled. */
  public readonly secretParameterNames: Readonly<Partial<Record<keyof typeof SecretName, string>>>;
  public readonly busName: string;
  public readonly stackNamePrefix: string;
  public readonly repositories: readonly RepositoryEnv[];

  constructor(scope: Construct, id: string, props: GitOpsProps = {}) {
    super(scope, id);
    // Access logs are delivered through a bucket policy, not the deprecated LogDeliveryWrite ACL, whatever the
    // app's feature flags say: context set here is seen by every child, and must be set before any child exists.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const config = validate(props, Stack.of(this));
    this.busName = config.busName;
    this.stackNamePrefix = config.stackNamePrefix;
    this.repositories = config.repositories;
    this.secretParameterNames = {
      webhookSecret: secretParameterName(config.secretsPrefix, SecretName.webhookSecret),
      gitToken: secretParameterName(config.secretsPrefix, SecretName.gitToken),
      ...(props.slackWebhook
        ? { slackWebhookUrl: secretParameterName(config.secretsPrefix, SecretName.slackWebhookUrl) }
        : {}),
      ...(props.githubCommitStatus || config.previews
        ? { githubToken: secretParameterName(config.secretsPrefix, SecretName.githubToken) }
        : {}),
      ...(config.previews
        ? {
            githubAppToken: secretParameterName(config.secretsPrefix, SecretName.githubAppToken),
            gitlabToken: secretParameterName(config.secretsPrefix, SecretName.gitlabToken),
            bitbucketToken: secretParameterName(config.secretsPrefix, SecretName.bitbucketToken),
          }
        : {}),
    };

    // Every part is created in this construct's scope, in the order the unsplit construct created them: construct
    // ids (so logical ids) and the order of each role's policy statements are unchanged.
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.stateBucket = createStateBucket(this, {
      statePrefix: config.statePrefix,
      removalPolicy,
      historyRetentionDays: props.historyRetentionDays,
      accessLogsBucket: props.accessLogsBucket,
    });
    this.alertsTopic = createAlertsTopic(this, props);
    this.bus = createEventBus(this, { busName: config.busName, archiveRetention: props.archiveRetention });
    const queues = createWorkQueues(this, config.maxReceiveCount);
    this.syncQueue = queues.syncQueue;
    this.applyQueue = queues.applyQueue;
    this.deadLetterQueues = queues.deadLetterQueues;
    this.serviceRole = createServiceRole(this, props, config.stackNamePrefix);

    const resources = {
      bus: this.bus,
      stateBucket: this.stateBucket,
      applyQueue: this.applyQueue,
      serviceRole: this.serviceRole,
      alertsTopic: this.alertsTopic,
    };
    this.functions = createFunctions(this, config, props, removalPolicy, resources);
    // The resource pass of each drift run, fanned out per account-region (stack/drift-fanout.ts).
    this.driftFanOut = new DriftFanOut(this, 'DriftFanOut', {
      planner: this.functions.drift,
      worker: this.functions['drift-worker'],
      workerTimeout: FUNCTION_SPECS['drift-worker'].timeout,
      workerBudget: Duration.minutes(5),
    });
    grantFunctionRights(this.functions, config, { ...resources, secretParameterNames: this.secretParameterNames });

    const schedulerRole = createSchedulerRole(this);
    this.webhookUrl = connectPipeline(this.functions, queues, config.applyConcurrency);
    const deliveryDlq = queues.deadLetterQueues.delivery;
    routeRepositories(this, config, { bus: this.bus, syncQueue: this.syncQueue, deliveryDlq, schedulerRole });
    routeNotifications(this, { bus: this.bus, notify: this.functions.notify, deliveryDlq });
    scheduleDrift(this, {
      drift: this.functions.drift,
      driftInterval: config.driftInterval,
      schedulerRole,
      deliveryDlq,
    });

    this.dashboard = createMonitoring(this, {
      functions: this.functions,
      queues,
      alertsTopic: this.alertsTopic,
      driftFanOut: this.driftFanOut,
    });
    const { webhook, sync, apply, drift, notify } = this.functions;
    restrictSyncRequests(this.bus, {
      installation: [webhook, sync, apply, drift, notify].map((f) => f.role!).concat(schedulerRole),
      approvers: config.approvers,
    });
  }
}
