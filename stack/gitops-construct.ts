import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, Arn, ArnFormat, Aws, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DetailType, EVENT_SOURCE } from '../shared/events/catalog.ts';
import { DEFAULT_STACK_NAME_PREFIX } from '../shared/model.ts';
import { DriftFanOut } from './drift-fanout.ts';
import { FUNCTION_BUNDLING, SOURCE_MAPS_NODE_OPTIONS } from './function-bundling.ts';
import {
  FUNCTION_MEMORY_MB,
  FunctionEnv,
  type GitProvider,
  MetricPublishers,
  Metrics,
  NOTIFY_DETAIL_TYPES,
  type RepositoryEnv,
  SecretName,
  secretParameterName,
} from './function-env.ts';
import { nagFlatten } from './nag.ts';

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
}

/** The project root: where `functions/`, `package.json` and `package-lock.json` live. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** openpgp's self-contained ESM build, copied beside every bundle as `openpgp.mjs`. */
const OPENPGP_MODULE_FILE = fileURLToPath(
  new URL('../node_modules/openpgp/dist/node/openpgp.min.mjs', import.meta.url),
);

const DEFAULTS = {
  busName: 'lambda-gitops',
  stackNamePrefix: DEFAULT_STACK_NAME_PREFIX,
  secretsPrefix: '/lambda-gitops',
  githubApiUrl: 'https://api.github.com',
} as const;

interface FunctionSpec {
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly description: string;
}

/** Timeouts are the issue's; memory is FUNCTION_MEMORY_MB (function-env.ts), which says why each size. */
const FUNCTION_SPECS: Readonly<Record<GitOpsFunctionName, FunctionSpec>> = {
  webhook: {
    timeout: Duration.seconds(10),
    memorySize: FUNCTION_MEMORY_MB.webhook,
    description: 'Verifies Git webhooks, emits Push Received',
  },
  sync: {
    timeout: Duration.minutes(5),
    memorySize: FUNCTION_MEMORY_MB.sync,
    description: 'Fetches, renders, diffs, requests applies',
  },
  apply: {
    timeout: Duration.minutes(15),
    memorySize: FUNCTION_MEMORY_MB.apply,
    description: 'Runs the change set lifecycle of one stack',
  },
  drift: {
    timeout: Duration.minutes(15),
    memorySize: FUNCTION_MEMORY_MB.drift,
    description: 'Detects drift of the managed stacks',
  },
  notify: {
    timeout: Duration.minutes(1),
    memorySize: FUNCTION_MEMORY_MB.notify,
    description: 'Alerts (SNS, Slack) and commit statuses',
  },
  'drift-worker': {
    timeout: Duration.minutes(15),
    memorySize: FUNCTION_MEMORY_MB.driftWorker,
    description: 'Checks one queued account-region batch of a drift run',
  },
};

/** SQS wants a visibility timeout of at least 6x the consumer's timeout so a retried batch is not seen twice. */
const VISIBILITY_FACTOR = 6;

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

  private readonly alarmAction: cwActions.SnsAction;
  private readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: GitOpsProps = {}) {
    super(scope, id);
    // Access logs are delivered through a bucket policy, not the deprecated LogDeliveryWrite ACL, whatever the
    // app's feature flags say: context set here is seen by every child, and must be set before any child exists.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const stack = Stack.of(this);
    const config = validate(props, stack);
    this.busName = config.busName;
    this.stackNamePrefix = config.stackNamePrefix;
    this.repositories = config.repositories;

    this.secretParameterNames = {
      webhookSecret: secretParameterName(config.secretsPrefix, SecretName.webhookSecret),
      gitToken: secretParameterName(config.secretsPrefix, SecretName.gitToken),
      ...(props.slackWebhook
        ? { slackWebhookUrl: secretParameterName(config.secretsPrefix, SecretName.slackWebhookUrl) }
        : {}),
      ...(props.githubCommitStatus
        ? { githubToken: secretParameterName(config.secretsPrefix, SecretName.githubToken) }
        : {}),
    };

    // ---- state bucket -------------------------------------------------------------------------------------------
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const accessLogs = props.accessLogsBucket ?? this.createAccessLogsBucket(removalPolicy);
    this.stateBucket = new s3.Bucket(this, 'StateBucket', {
      versioned: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'state-bucket/',
      removalPolicy,
      lifecycleRules: [
        {
          id: 'history',
          prefix: `${config.statePrefix}history/`,
          expiration: Duration.days(props.historyRetentionDays ?? 365),
          noncurrentVersionExpiration: Duration.days(30),
        },
        {
          // state/ is overwritten on every apply; old versions are only worth keeping for a short undo window.
          id: 'noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(90),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });

    // ---- alerts topic ---------------------------------------------------------------------------------------------
    const alertsKey = new kms.Key(this, 'AlertsKey', {
      description: 'Encrypts the lambda-gitops alerts topic',
      enableKeyRotation: true,
    });
    // CloudWatch alarms publish to the topic as a service, so it must be able to use the key (the notify function
    // gets its grant from grantPublish).
    for (const service of ['cloudwatch.amazonaws.com']) {
      alertsKey.addToResourcePolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          principals: [new iam.ServicePrincipal(service)],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
        }),
      );
    }
    this.alertsTopic = new sns.Topic(this, 'AlertsTopic', {
      displayName: 'lambda-gitops alerts',
      masterKey: alertsKey,
      enforceSSL: true,
    });
    // A topic policy replaces SNS's default owner-account policy, so CloudWatch alarms need their own statement.
    this.alertsTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ['sns:Publish'],
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        resources: [this.alertsTopic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    for (const email of props.alertEmails ?? []) {
      this.alertsTopic.addSubscription(new subscriptions.EmailSubscription(email));
    }
    if (props.slackChannel) {
      new chatbot.SlackChannelConfiguration(this, 'SlackChannel', {
        slackChannelConfigurationName: props.slackChannel.configurationName ?? 'lambda-gitops-alerts',
        slackWorkspaceId: props.slackChannel.workspaceId,
        slackChannelId: props.slackChannel.channelId,
        notificationTopics: [this.alertsTopic],
        // Notifications only: the channel role gets no policy, and the guardrail keeps chat users read-only.
        guardrailPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('ReadOnlyAccess')],
        loggingLevel: chatbot.LoggingLevel.ERROR,
      });
    }
    this.alarmAction = new cwActions.SnsAction(this.alertsTopic);

    // ---- bus --------------------------------------------------------------------------------------------------------
    this.bus = new events.EventBus(this, 'Bus', { eventBusName: config.busName });
    this.bus.archive('Archive', {
      description: 'Every lambda-gitops event, for replay',
      eventPattern: { account: [stack.account] },
      retention: props.archiveRetention ?? Duration.days(30),
    });

    // ---- queues -------------------------------------------------------------------------------------------------
    const maxReceiveCount = props.maxReceiveCount ?? 3;
    const syncDlq = this.createQueue('SyncDeadLetterQueue', { fifo: true });
    this.syncQueue = this.createQueue('SyncQueue', {
      fifo: true,
      contentBasedDeduplication: true,
      visibilityTimeout: Duration.seconds(FUNCTION_SPECS.sync.timeout.toSeconds() * VISIBILITY_FACTOR),
      deadLetterQueue: { queue: syncDlq, maxReceiveCount },
    });
    const applyDlq = this.createQueue('ApplyDeadLetterQueue', { fifo: true });
    this.applyQueue = this.createQueue('ApplyQueue', {
      fifo: true,
      contentBasedDeduplication: true,
      visibilityTimeout: Duration.seconds(FUNCTION_SPECS.apply.timeout.toSeconds() * VISIBILITY_FACTOR),
      deadLetterQueue: { queue: applyDlq, maxReceiveCount },
    });
    // Events EventBridge rules or Scheduler could not deliver after their retries.
    const deliveryDlq = this.createQueue('DeliveryDeadLetterQueue', {});
    Validations.of(deliveryDlq).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself a dead-letter queue: that of the EventBridge rule and Scheduler targets.',
    });
    this.deadLetterQueues = { sync: syncDlq, apply: applyDlq, delivery: deliveryDlq };

    // ---- CloudFormation service role -----------------------------------------------------------------------------
    const servicePolicies = [
      ...(props.serviceRolePolicies ?? []),
      ...(props.serviceRolePolicyArns ?? []).map((arn, i) =>
        iam.ManagedPolicy.fromManagedPolicyArn(this, `ServiceRolePolicy${i}`, arn),
      ),
    ];
    this.serviceRole = new iam.Role(this, 'CfnServiceRole', {
      roleName: props.serviceRoleName,
      description: `CloudFormation service role of lambda-gitops for stacks named ${config.stackNamePrefix}*`,
      assumedBy: new iam.ServicePrincipal('cloudformation.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      managedPolicies: servicePolicies,
    });
    if (servicePolicies.length === 0) {
      Annotations.of(this.serviceRole).addWarningV2(
        'lambda-gitops:service-role-without-policy',
        'The CloudFormation service role of the managed stacks has no policy, so every apply fails with ' +
          'AccessDenied. Pass serviceRolePolicies (or -c serviceRolePolicies=<AWS managed name or ARN>,...) with the ' +
          'rights the repository needs.',
      );
    }
    for (const policy of servicePolicies) {
      const finding = nagFlatten(stack.resolve(policy.managedPolicyArn));
      if (finding.includes(':iam::aws:')) {
        Validations.of(this.serviceRole).acknowledge({
          id: `AwsSolutions-IAM4[Policy::${finding}]`,
          reason: 'The operator chose this policy for the managed stacks: what Git may deploy is their decision.',
        });
      }
    }

    // ---- functions ------------------------------------------------------------------------------------------------
    const common: Record<string, string> = {
      [FunctionEnv.powertoolsMetricsNamespace]: Metrics.namespace,
      ...(props.sourceMaps ? { NODE_OPTIONS: SOURCE_MAPS_NODE_OPTIONS } : {}),
      GITOPS_OPENPGP_MODULE: './openpgp.mjs',
    };
    const state = {
      [FunctionEnv.stateBucket]: this.stateBucket.bucketName,
      [FunctionEnv.statePrefix]: config.statePrefix,
    };
    const repositoriesJson = JSON.stringify(config.repositories);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const fn = (name: GitOpsFunctionName, environment: Record<string, string>, reserved?: number | false) =>
      this.createFunction(name, {
        entry: config.entries[name],
        // The service name is the function's: logs and the `service` metric dimension say which one spoke.
        environment: { ...common, [FunctionEnv.powertoolsServiceName]: name, ...environment },
        logRetention,
        removalPolicy,
        reserved,
      });

    const webhook = fn('webhook', {
      [FunctionEnv.busName]: this.bus.eventBusName,
      [FunctionEnv.secretsPrefix]: config.secretsPrefix,
      [FunctionEnv.repositories]: repositoriesJson,
    });
    for (const name of props.trustedKeyParameters ?? []) {
      if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(name)) {
        fail(
          `trustedKeyParameters: '${name}' is not an SSM parameter name; use the full name, e.g. '/platform/signing/release'`,
        );
      }
    }
    const trusted: Record<string, string> = props.trustedKeyParameters?.length
      ? { [FunctionEnv.trustedKeyParameters]: props.trustedKeyParameters.join(',') }
      : {};
    const sync = fn('sync', {
      ...trusted,
      [FunctionEnv.busName]: this.bus.eventBusName,
      ...state,
      [FunctionEnv.secretsPrefix]: config.secretsPrefix,
      [FunctionEnv.repositories]: repositoriesJson,
      [FunctionEnv.stackNamePrefix]: config.stackNamePrefix,
      [FunctionEnv.applyQueueUrl]: this.applyQueue.queueUrl,
    });
    const apply = fn(
      'apply',
      {
        [FunctionEnv.busName]: this.bus.eventBusName,
        ...state,
        [FunctionEnv.cfnServiceRoleArn]: this.serviceRole.roleArn,
        [FunctionEnv.stackNamePrefix]: config.stackNamePrefix,
        // One minute less than the function, so the apply can record its timeout before Lambda kills it.
        [FunctionEnv.applyTimeoutSeconds]: String(FUNCTION_SPECS.apply.timeout.toSeconds() - 60),
        [FunctionEnv.applyMaxReceives]: String(maxReceiveCount),
      },
      config.applyConcurrency,
    );
    const drift = fn(
      'drift',
      {
        [FunctionEnv.busName]: this.bus.eventBusName,
        ...state,
        ...trusted,
        // Revision drift compares each branch head with the applied commit, so drift fetches too.
        [FunctionEnv.secretsPrefix]: config.secretsPrefix,
        [FunctionEnv.repositories]: repositoriesJson,
        [FunctionEnv.stackNamePrefix]: config.stackNamePrefix,
      },
      config.driftConcurrency,
    );
    const notify = fn('notify', {
      // The dedupe record (one alert per transition) lives in the state bucket under notify/.
      ...state,
      [FunctionEnv.alertsTopicArn]: this.alertsTopic.topicArn,
      [FunctionEnv.secretsPrefix]: config.secretsPrefix,
      [FunctionEnv.slack]: String(props.slackWebhook ?? false),
      [FunctionEnv.githubStatus]: String(props.githubCommitStatus ?? false),
      [FunctionEnv.githubApiUrl]: config.githubApiUrl,
    });
    // The resource pass of each drift run, fanned out per account-region (stack/drift-fanout.ts).
    const driftWorker = fn('drift-worker', {
      [FunctionEnv.busName]: this.bus.eventBusName,
      ...state,
      [FunctionEnv.repositories]: repositoriesJson,
      [FunctionEnv.stackNamePrefix]: config.stackNamePrefix,
    });
    this.driftFanOut = new DriftFanOut(this, 'DriftFanOut', {
      planner: drift,
      worker: driftWorker,
      workerTimeout: FUNCTION_SPECS['drift-worker'].timeout,
      workerBudget: Duration.minutes(5),
    });
    this.functions = { webhook, sync, apply, drift, notify, 'drift-worker': driftWorker };

    // ---- permissions: each function gets what it calls, nothing more ------------------------------------------
    const parameterArn = (name: string) =>
      stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.slice(1) });
    const grantSecrets = (grantee: lambda.IFunction, ...names: (string | undefined)[]) => {
      const arns = names.filter((n): n is string => n !== undefined).map(parameterArn);
      if (arns.length === 0) return;
      grantee.addToRolePolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: arns }));
      // SecureStrings under the AWS managed aws/ssm key: decrypt only through SSM, only with that key.
      grantee.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' })],
          conditions: {
            StringEquals: { 'kms:ViaService': `ssm.${stack.region}.amazonaws.com` },
            'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/aws/ssm' },
          },
        }),
      );
      this.acknowledgeResource(
        grantee.role!,
        stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' }),
        'The aws/ssm key id differs per account and region; Decrypt is limited to that key (kms:ResourceAliases) ' +
          'used through SSM (kms:ViaService).',
      );
    };
    const names = this.secretParameterNames;
    for (const f of [webhook, sync, apply, drift, driftWorker]) this.bus.grantPutEventsTo(f);
    grantSecrets(webhook, names.webhookSecret);
    grantSecrets(sync, names.gitToken, ...(props.trustedKeyParameters ?? []));
    grantSecrets(drift, names.gitToken, ...(props.trustedKeyParameters ?? []));
    grantSecrets(notify, names.slackWebhookUrl, names.githubToken);
    this.grantState(sync, config.statePrefix);
    this.grantState(apply, config.statePrefix);
    this.grantState(drift, config.statePrefix);
    this.grantState(driftWorker, config.statePrefix);
    this.grantState(notify, `${config.statePrefix}notify/`);
    this.applyQueue.grantSendMessages(sync);
    this.alertsTopic.grantPublish(notify);
    Validations.of(notify.role!).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason: 'Publishing to the KMS-encrypted alerts topic needs GenerateDataKey* on that one key (CDK grantPublish).',
    });

    const stackArn = stack.formatArn({
      service: 'cloudformation',
      region: '*',
      resource: 'stack',
      resourceName: `${config.stackNamePrefix}*/*`,
    });
    const stackReason =
      `Managed stacks are named by Git, not known at deploy time; rights are limited to stacks named ` +
      `${config.stackNamePrefix}* in this account (any region, as environments choose theirs).`;
    this.acknowledgeResource(apply.role!, stackArn, stackReason);
    this.acknowledgeResource(drift.role!, stackArn, stackReason);
    this.acknowledgeResource(driftWorker.role!, stackArn, stackReason);
    const transformArn = `arn:${Aws.PARTITION}:cloudformation:*:aws:transform/*`;
    this.acknowledgeResource(
      apply.role!,
      transformArn,
      'AWS-owned transforms (AWS::Serverless, AWS::Include, ...) a template may use; they are not user resources.',
    );
    const alarmArn = stack.formatArn({
      service: 'cloudwatch',
      resource: 'alarm',
      resourceName: '*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.acknowledgeResource(
      apply.role!,
      alarmArn,
      'Health checks read the alarms the managed stacks declare, whose names are only known from their templates; ' +
        'DescribeAlarms is read-only.',
    );
    apply.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'cloudformation:CreateChangeSet',
          'cloudformation:DescribeChangeSet',
          'cloudformation:ExecuteChangeSet',
          'cloudformation:DeleteChangeSet',
          'cloudformation:ListChangeSets',
          'cloudformation:DescribeStacks',
          'cloudformation:DescribeStackEvents',
          'cloudformation:DescribeStackResources',
          'cloudformation:GetTemplate',
          'cloudformation:DeleteStack',
          'cloudformation:ContinueUpdateRollback',
          'cloudformation:TagResource',
          'cloudformation:UntagResource',
        ],
        resources: [stackArn],
      }),
    );
    // Templates using transforms (SAM, macros) need CreateChangeSet on the AWS-owned transform too.
    apply.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['cloudformation:CreateChangeSet'],
        resources: [transformArn],
      }),
    );
    apply.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.serviceRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
      }),
    );
    apply.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:DescribeAlarms'],
        resources: [alarmArn],
      }),
    );
    for (const f of [drift, driftWorker]) {
      f.addToRolePolicy(
        new iam.PolicyStatement({
          actions: [
            'cloudformation:DetectStackDrift',
            'cloudformation:DetectStackResourceDrift',
            'cloudformation:DescribeStackResourceDrifts',
            'cloudformation:DescribeStacks',
            'cloudformation:DescribeStackResources',
          ],
          resources: [stackArn],
        }),
      );
      // DescribeStackDriftDetectionStatus has no resource-level permissions: it takes a detection id, not a stack.
      f.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['cloudformation:DescribeStackDriftDetectionStatus'], resources: ['*'] }),
      );
    }
    if (config.environments.length > 0) {
      const assume = new iam.PolicyStatement({
        actions: ['sts:AssumeRole', 'sts:TagSession'],
        resources: config.environments.map((e) => e.roleArn),
      });
      apply.addToRolePolicy(assume);
      drift.addToRolePolicy(assume);
      driftWorker.addToRolePolicy(assume);
    }
    const codeCommitRepos = config.repositories.filter((r) => r.provider === 'codecommit');
    if (codeCommitRepos.length > 0) {
      const gitPull = new iam.PolicyStatement({
        actions: ['codecommit:GitPull'],
        resources: [...new Set(codeCommitRepos.map((r) => codeCommitArn(stack, r.url)))],
      });
      sync.addToRolePolicy(gitPull);
      drift.addToRolePolicy(gitPull);
    }

    // ---- triggers ---------------------------------------------------------------------------------------------------
    // One role for every schedule, owned here, instead of the targets library's stack-level singleton roles.
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'EventBridge Scheduler: drift runs and safety-net polls of lambda-gitops',
    });
    this.webhookUrl = webhook.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    sync.addEventSource(new SqsEventSource(this.syncQueue, { batchSize: 1, reportBatchItemFailures: true }));
    apply.addEventSource(
      new SqsEventSource(this.applyQueue, {
        batchSize: 1,
        reportBatchItemFailures: true,
        // Never poll faster than the reserved concurrency allows, or throttled messages burn their receive count.
        ...(config.applyConcurrency === false ? {} : { maxConcurrency: config.applyConcurrency }),
      }),
    );

    // Routing. EventBridge SQS targets take one static MessageGroupId each, so each configured repository+branch
    // gets its own rule whose group is `name/branch`: pushes of one branch are serialized, branches run in
    // parallel. Apply Requested is NOT routed from the bus: stacks are only known after rendering, so the sync
    // function sends it straight to the apply queue with MessageGroupId = `environment/stack` (see
    // ApplyQueueMessage in function-env.ts).
    for (const repo of config.repositories) {
      const routeId = constructIdOf(repo);
      new events.Rule(this, `SyncRoute${routeId}`, {
        eventBus: this.bus,
        description: `Push Received and Sync Requested of ${repo.name}@${repo.branch} to the sync queue`,
        eventPattern: {
          source: [EVENT_SOURCE],
          detailType: [DetailType.PushReceived, DetailType.SyncRequested],
          detail: { repo: [...new Set([repo.name, repo.url])], branch: [repo.branch] },
        },
        targets: [
          new targets.SqsQueue(this.syncQueue, {
            messageGroupId: messageGroupOf(repo),
            deadLetterQueue: deliveryDlq,
          }),
        ],
      });
      new scheduler.Schedule(this, `PollSchedule${routeId}`, {
        description: `Safety-net Sync Requested for ${repo.name}@${repo.branch}`,
        schedule: scheduler.ScheduleExpression.rate(config.pollInterval),
        target: new schedulerTargets.EventBridgePutEvents(
          {
            eventBus: this.bus,
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
          { deadLetterQueue: deliveryDlq, retryAttempts: 2, role: schedulerRole },
        ),
      });
      if (repo.provider === 'codecommit') {
        // CodeCommit has no webhook: its own event on the default bus, shaped like Push Received, goes to the queue.
        new events.Rule(this, `CodeCommitRoute${routeId}`, {
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
            new targets.SqsQueue(this.syncQueue, {
              messageGroupId: messageGroupOf(repo),
              deadLetterQueue: deliveryDlq,
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
    new events.Rule(this, 'NotifyRoute', {
      eventBus: this.bus,
      // The notify function is the alerts topic's only publisher: it deduplicates repeated alerts, always sends
      // recoveries, and publishes one message per protocol (plain text for e-mail, the Amazon Q Developer custom
      // notification JSON for chat). A second rule straight to the topic would send every failure twice, undeduped.
      description: 'Results, drift and health events to the notify function (alerts topic, Slack, commit statuses)',
      eventPattern: { source: [EVENT_SOURCE], detailType: [...NOTIFY_DETAIL_TYPES] },
      targets: [
        new targets.LambdaFunction(notify, {
          deadLetterQueue: deliveryDlq,
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });
    new scheduler.Schedule(this, 'DriftSchedule', {
      description: 'Drift detection of the managed stacks',
      schedule: scheduler.ScheduleExpression.rate(config.driftInterval),
      target: new schedulerTargets.LambdaInvoke(drift, {
        input: scheduler.ScheduleTargetInput.fromObject({ reason: 'ScheduledDriftCheck' }),
        // The next run comes soon enough; retrying a missed one would only overlap it.
        retryAttempts: 0,
        deadLetterQueue: deliveryDlq,
        role: schedulerRole,
      }),
    });
    this.acknowledgeResource(
      schedulerRole,
      `${drift.functionArn}:*`,
      'The Scheduler Lambda target grants invoke on the function and its versions; it is one function.',
    );
    drift.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: config.driftInterval });

    // ---- alarms and dashboard ----------------------------------------------------------------------------------
    for (const [name, f] of Object.entries(this.functions)) {
      this.alarm(`${pascal(name)}ErrorsAlarm`, f.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }), {
        description: `The ${name} function failed`,
      });
    }
    for (const [name, q] of Object.entries(this.deadLetterQueues)) {
      this.alarm(
        `${pascal(name)}DeadLetterAlarm`,
        q.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        { description: `Messages in the ${name} dead-letter queue: inspect them, then redrive` },
      );
    }
    const syncFailed = this.emfMetric(Metrics.syncFailed, 'Sum');
    const driftedStacks = this.emfMetric(Metrics.driftedStacks, 'Maximum');
    this.alarm('SyncFailedAlarm', syncFailed, { description: 'A sync or apply failed (see the Sync Failed event)' });
    this.alarm('DriftedStacksAlarm', driftedStacks, { description: 'Managed stacks have drifted from Git' });
    for (const alarm of this.driftFanOut.alarms) {
      alarm.addAlarmAction(this.alarmAction);
      alarm.addOkAction(this.alarmAction);
      this.alarms.push(alarm);
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(6),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Invocations',
            left: Object.values(this.functions).map((f) => f.metricInvocations({ period: Duration.minutes(5) })),
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Errors',
            left: Object.values(this.functions).map((f) => f.metricErrors({ period: Duration.minutes(5) })),
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Duration (p90)',
            left: Object.values(this.functions).map((f) => f.metricDuration({ statistic: 'p90' })),
            width: 8,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Queue depth',
            left: [this.syncQueue, this.applyQueue].map((q) => q.metricApproximateNumberOfMessagesVisible()),
            right: [this.syncQueue, this.applyQueue].map((q) => q.metricApproximateAgeOfOldestMessage()),
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Dead-letter queues',
            left: Object.values(this.deadLetterQueues).map((q) => q.metricApproximateNumberOfMessagesVisible()),
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Sync failures and drifted stacks',
            left: [syncFailed],
            right: [driftedStacks],
            width: 8,
          }),
        ],
        [...this.driftFanOut.widgets],
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 })],
      ],
    });
  }

  /** Reads and writes only below the state prefix; no wildcard actions. */
  private grantState(f: lambda.IFunction, prefix: string): void {
    f.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resources: [this.stateBucket.arnForObjects(`${prefix}*`)],
      }),
    );
    f.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.stateBucket.bucketArn] }));
    this.acknowledgeResource(
      f.role!,
      this.stateBucket.arnForObjects(`${prefix}*`),
      'Object keys are stack keys and content hashes chosen at run time; access is limited to the state prefix ' +
        'of the state bucket and to Get/Put/DeleteObject.',
    );
  }

  private createAccessLogsBucket(removalPolicy: RemovalPolicy): s3.Bucket {
    const bucket = new s3.Bucket(this, 'AccessLogsBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      lifecycleRules: [{ id: 'expire', expiration: Duration.days(90) }],
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket receives the state bucket access logs; logging it too would log forever.',
    });
    return bucket;
  }

  private createQueue(id: string, props: sqs.QueueProps): sqs.Queue {
    return new sqs.Queue(this, id, {
      ...props,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
  }

  private createFunction(
    name: GitOpsFunctionName,
    opts: {
      readonly entry: string;
      readonly environment: Record<string, string>;
      readonly logRetention: logs.RetentionDays;
      readonly removalPolicy: RemovalPolicy;
      readonly reserved: number | false | undefined;
    },
  ): nodejs.NodejsFunction {
    const id = pascal(name);
    const spec = FUNCTION_SPECS[name];
    const logGroup = new logs.LogGroup(this, `${id}LogGroup`, {
      retention: opts.logRetention,
      removalPolicy: opts.removalPolicy,
    });
    // Own role instead of the default one: the default attaches the AWS managed AWSLambdaBasicExecutionRole,
    // which may write to any log group.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `lambda-gitops ${name} function`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    const fn = new nodejs.NodejsFunction(this, `${id}Function`, {
      entry: opts.entry,
      handler: 'handler',
      description: spec.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: spec.timeout,
      memorySize: spec.memorySize,
      role,
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment: opts.environment,
      reservedConcurrentExecutions: opts.reserved === false ? undefined : opts.reserved,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: resolve(PROJECT_ROOT, 'package-lock.json'),
      bundling: {
        // openpgp is left out of the bundle and shipped beside it (signing.ts imports it by GITOPS_OPENPGP_MODULE):
        // only repositories that require signed commits load it.
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_input: string, output: string) => [`cp "${OPENPGP_MODULE_FILE}" "${output}/openpgp.mjs"`],
        },
        forceDockerBundling: false,
        format: nodejs.OutputFormat.ESM,
        target: FUNCTION_BUNDLING.target,
        platform: FUNCTION_BUNDLING.platform,
        minify: false,
        sourceMap: FUNCTION_BUNDLING.sourceMap,
        sourcesContent: FUNCTION_BUNDLING.sourcesContent,
        mainFields: [...FUNCTION_BUNDLING.mainFields],
        banner: FUNCTION_BUNDLING.banner,
        esbuildArgs: {
          '--minify-whitespace': FUNCTION_BUNDLING.minifyWhitespace,
          '--minify-syntax': FUNCTION_BUNDLING.minifySyntax,
          '--alias': Object.entries(FUNCTION_BUNDLING.alias).map(([from, to]) => `${from}=${to}`),
        },
        // The SDK is bundled too, though the nodejs22.x runtime ships one: one minified, tree-shaken file loads about
        // five times faster than the runtime's copy spread over hundreds of files (bench/cold-start.ts measures it),
        // and the functions run the SDK version the tests ran.
        bundleAwsSDK: true,
        externalModules: [],
      },
    });
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is the runtime this project targets and tests (Node 22 LTS); moving on is a deliberate change.',
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray PutTraceSegments/PutTelemetryRecords (and, for drift, DescribeStackDriftDetectionStatus) have no ' +
        'resource-level permissions.',
    });
    return fn;
  }

  private alarm(id: string, metric: cloudwatch.IMetric, opts: { readonly description: string }): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: opts.description,
    });
    alarm.addAlarmAction(this.alarmAction);
    // Recovery is news too: an alert that never says "resolved" keeps people guessing.
    alarm.addOkAction(this.alarmAction);
    this.alarms.push(alarm);
  }

  /**
   * An EMF metric added up over the functions that publish it (each publishes with its own `service` dimension);
   * FILL keeps a quiet publisher from blanking the sum.
   */
  private emfMetric(metricName: keyof typeof MetricPublishers, statistic: string): cloudwatch.IMetric {
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

  /** Acknowledges one wildcard resource of an IAM policy, naming it exactly as cdk-nag reports it. */
  private acknowledgeResource(scope: Construct, resource: string, reason: string): void {
    const flat = nagFlatten(Stack.of(this).resolve(resource));
    Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flat}]`, reason });
  }
}

// ---- validation ---------------------------------------------------------------------------------------------------

interface ValidatedConfig {
  readonly busName: string;
  readonly stackNamePrefix: string;
  readonly secretsPrefix: string;
  readonly statePrefix: string;
  readonly githubApiUrl: string;
  readonly repositories: readonly RepositoryEnv[];
  readonly environments: readonly GitOpsEnvironment[];
  readonly driftInterval: Duration;
  readonly pollInterval: Duration;
  readonly applyConcurrency: number | false;
  readonly driftConcurrency: number | false;
  readonly entries: Readonly<Record<GitOpsFunctionName, string>>;
}

const fail = (message: string): never => {
  throw new Error(`GitOps: ${message}`);
};

function validate(props: GitOpsProps, stack: Stack): ValidatedConfig {
  const busName = props.busName ?? DEFAULTS.busName;
  if (!/^[A-Za-z0-9._-]{1,256}$/.test(busName) || busName === 'default') {
    fail(`busName '${busName}' is not a custom bus name: use 1-256 of A-Z a-z 0-9 . _ - (and not 'default')`);
  }

  const stackNamePrefix = props.stackNamePrefix ?? DEFAULTS.stackNamePrefix;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(stackNamePrefix)) {
    fail(
      `stackNamePrefix '${stackNamePrefix}' must start with a letter and hold only letters, digits and '-' ` +
        `(an empty prefix would grant CloudFormation rights on every stack); e.g. 'gitops-'`,
    );
  }
  if (!Token.isUnresolved(stack.stackName) && stack.stackName.startsWith(stackNamePrefix)) {
    fail(
      `stack name '${stack.stackName}' starts with stackNamePrefix '${stackNamePrefix}', so lambda-gitops could ` +
        `update or delete itself: rename the stack or choose another prefix`,
    );
  }

  const secretsPrefix = props.secretsPrefix ?? DEFAULTS.secretsPrefix;
  if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(secretsPrefix) || /^\/(aws|ssm)(\/|$)/i.test(secretsPrefix)) {
    fail(
      `secretsPrefix '${secretsPrefix}' must look like '/lambda-gitops' (starts with '/', no trailing '/', ` +
        `not under the reserved /aws or /ssm)`,
    );
  }

  const statePrefix = props.statePrefix ?? '';
  if (statePrefix !== '' && !/^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*\/$/.test(statePrefix)) {
    fail(`statePrefix '${statePrefix}' must be '' or a key prefix ending in '/', e.g. 'gitops/'`);
  }

  const githubApiUrl = props.githubApiUrl ?? DEFAULTS.githubApiUrl;
  if (!/^https:\/\/[^\s/]+/.test(githubApiUrl)) {
    fail(`githubApiUrl '${githubApiUrl}' must be an https URL, e.g. 'https://github.example.com/api/v3'`);
  }

  const repositories = (props.repositories ?? []).map((r): RepositoryEnv => {
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(r.name)) {
      fail(`repository name '${r.name}' must be 1-100 of A-Z a-z 0-9 . _ - (it names rules and message groups)`);
    }
    if (!/^https:\/\/[^\s@]+$/.test(r.url)) {
      fail(
        `repository '${r.name}' url '${r.url}' must be an https clone URL without credentials ` +
          `(the token comes from SSM, never from the URL)`,
      );
    }
    const branch = r.branch ?? 'main';
    if (!/^[A-Za-z0-9._/-]+$/.test(branch) || branch.includes('..') || branch.endsWith('/')) {
      fail(`repository '${r.name}' branch '${branch}' is not a plain branch name, e.g. 'main' or 'release/1.x'`);
    }
    if (`${r.name}/${branch}`.length > 128) {
      fail(`repository '${r.name}' with branch '${branch}' is longer than the 128-character SQS message group id`);
    }
    const provider = r.provider ?? inferProvider(r.url);
    if (
      provider === 'codecommit' &&
      !/^https:\/\/git-codecommit\.[a-z0-9-]+\.amazonaws\.com\/v1\/repos\/[^/]+$/.test(r.url)
    ) {
      fail(
        `repository '${r.name}' is a CodeCommit repository but url '${r.url}' is not ` +
          `'https://git-codecommit.<region>.amazonaws.com/v1/repos/<name>'`,
      );
    }
    return { name: r.name, url: r.url, branch, provider };
  });
  const seen = new Map<string, RepositoryEnv>();
  for (const r of repositories) {
    const key = constructIdOf(r);
    const other = seen.get(key);
    if (other?.name === r.name && other.branch === r.branch) {
      fail(`repository '${r.name}' branch '${r.branch}' is configured twice: remove one entry`);
    }
    if (other) {
      fail(
        `repositories '${other.name}@${other.branch}' and '${r.name}@${r.branch}' map to the same construct id ` +
          `'${key}': rename one`,
      );
    }
    seen.set(key, r);
  }

  const environments = props.environments ?? [];
  const envNames = new Set<string>();
  for (const e of environments) {
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/*-]+$/.test(e.roleArn)) {
      fail(
        `environment '${e.name}' roleArn '${e.roleArn}' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)`,
      );
    }
    if (envNames.has(e.name)) fail(`environment '${e.name}' is configured twice: remove one entry`);
    envNames.add(e.name);
  }

  const driftInterval = props.driftInterval ?? Duration.minutes(15);
  const pollInterval = props.pollInterval ?? Duration.hours(1);
  for (const [name, d] of [
    ['driftInterval', driftInterval],
    ['pollInterval', pollInterval],
  ] as const) {
    if (d.toMinutes({ integral: false }) < 1) fail(`${name} ${d.toHumanString()} is below Scheduler's 1 minute rate`);
  }
  if (driftInterval.toMinutes({ integral: false }) < FUNCTION_SPECS.drift.timeout.toMinutes()) {
    fail(
      `driftInterval ${driftInterval.toHumanString()} is shorter than the drift function's 15 minute timeout: ` +
        `runs would overlap; use Duration.minutes(15) or more`,
    );
  }

  const applyConcurrency = props.applyConcurrency ?? 5;
  if (applyConcurrency !== false && (!Number.isInteger(applyConcurrency) || applyConcurrency < 2)) {
    fail(
      `applyConcurrency ${applyConcurrency} must be an integer >= 2 (the SQS event source needs 2) or false for no ` +
        `reservation`,
    );
  }
  const driftConcurrency = props.driftConcurrency ?? 1;
  if (driftConcurrency !== false && (!Number.isInteger(driftConcurrency) || driftConcurrency < 1)) {
    fail(`driftConcurrency ${driftConcurrency} must be an integer >= 1, or false for no reservation`);
  }
  if (props.maxReceiveCount !== undefined && (!Number.isInteger(props.maxReceiveCount) || props.maxReceiveCount < 1)) {
    fail(`maxReceiveCount ${props.maxReceiveCount} must be an integer >= 1`);
  }
  if (props.slackChannel) {
    const { workspaceId, channelId } = props.slackChannel;
    if (!/^[A-Z0-9]{6,}$/.test(workspaceId) || !/^[A-Z0-9]{6,}$/.test(channelId)) {
      fail(
        `slackChannel workspaceId '${workspaceId}' / channelId '${channelId}' must be Slack ids such as ` +
          `'T0123ABCD' / 'C0123ABCD' (Slack: channel details > About)`,
      );
    }
  }

  const names: readonly GitOpsFunctionName[] = ['webhook', 'sync', 'apply', 'drift', 'notify', 'drift-worker'];
  const entries = Object.fromEntries(
    names.map((n) => [n, resolve(PROJECT_ROOT, props.functionEntries?.[n] ?? `functions/${n}.ts`)]),
  ) as Record<GitOpsFunctionName, string>;
  const missing = names.filter((n) => !existsSync(entries[n]));
  if (missing.length > 0) {
    fail(
      `function entry files not found: ${missing.map((n) => entries[n]).join(', ')}; each must export 'handler' ` +
        `(or pass functionEntries)`,
    );
  }

  return {
    busName,
    stackNamePrefix,
    secretsPrefix,
    statePrefix,
    githubApiUrl,
    repositories,
    environments,
    driftInterval,
    pollInterval,
    applyConcurrency,
    driftConcurrency,
    entries,
  };
}

function inferProvider(url: string): GitProvider {
  const host = new URL(url).hostname;
  if (host === 'github.com' || host.endsWith('.github.com')) return 'github';
  if (host === 'gitlab.com' || host.startsWith('gitlab.')) return 'gitlab';
  if (host === 'bitbucket.org') return 'bitbucket';
  if (/^git-codecommit\.[a-z0-9-]+\.amazonaws\.com$/.test(host)) return 'codecommit';
  return 'generic';
}

/** The repository ARN of a CodeCommit clone URL (same account; the region is the URL's). */
function codeCommitArn(stack: Stack, url: string): string {
  const { hostname, pathname } = new URL(url);
  const region = hostname.split('.')[1]!;
  const name = pathname.split('/').pop()!;
  return Arn.format({ service: 'codecommit', region, resource: name }, stack);
}

function messageGroupOf(repo: RepositoryEnv): string {
  return `${repo.name}/${repo.branch}`;
}

/** Stable construct id part per repository+branch (ids name resources, so they must not depend on list order). */
function constructIdOf(repo: RepositoryEnv): string {
  return pascal(`${repo.name}-${repo.branch}`.replace(/[^A-Za-z0-9]+/g, '-'));
}

function pascal(s: string): string {
  return s
    .split('-')
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
}
