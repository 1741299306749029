/**
 * The five Lambda functions: how each is sized, bundled and logged, and the environment each reads (the contract in
 * shared/function-env.ts). Each gets its own role and log group; permissions.ts grants what each calls.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { FUNCTION_MEMORY_MB, FunctionEnv, Metrics } from '../../shared/function-env.ts';
import { FUNCTION_BUNDLING, SOURCE_MAPS_NODE_OPTIONS } from '../function-bundling.ts';
import type { GitOpsFunctionName, GitOpsProps } from '../gitops-construct.ts';
import { policyEnvironment } from '../policy-env.ts';
import { pascal, type ValidatedConfig } from './config.ts';

/** The project root: where `functions/`, `package.json` and `package-lock.json` live. */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** openpgp's self-contained ESM build, copied beside every bundle as `openpgp.mjs`. */
const OPENPGP_MODULE_FILE = fileURLToPath(
  new URL('../../node_modules/openpgp/dist/node/openpgp.min.mjs', import.meta.url),
);

interface FunctionSpec {
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly description: string;
}

/** Timeouts are the issue's; memory is FUNCTION_MEMORY_MB (shared/function-env.ts), which says why each size. */
export const FUNCTION_SPECS: Readonly<Record<GitOpsFunctionName, FunctionSpec>> = {
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

export type GitOpsFunctions = Readonly<Record<GitOpsFunctionName, nodejs.NodejsFunction>>;

/** What the functions' environment names: the resources they talk to. */
export interface FunctionResources {
  readonly bus: events.IEventBus;
  readonly stateBucket: s3.IBucket;
  readonly applyQueue: sqs.IQueue;
  readonly serviceRole: iam.IRole;
  readonly alertsTopic: sns.ITopic;
}

/** Creates the five functions, each with only the environment variables it reads. */
export function createFunctions(
  scope: Construct,
  config: ValidatedConfig,
  props: GitOpsProps,
  removalPolicy: RemovalPolicy,
  resources: FunctionResources,
): GitOpsFunctions {
  const { bus, stateBucket, applyQueue, serviceRole, alertsTopic } = resources;
  const common: Record<string, string> = {
    [FunctionEnv.powertoolsMetricsNamespace]: Metrics.namespace,
    ...(props.sourceMaps ? { NODE_OPTIONS: SOURCE_MAPS_NODE_OPTIONS } : {}),
    GITOPS_OPENPGP_MODULE: './openpgp.mjs',
  };
  const state = {
    [FunctionEnv.stateBucket]: stateBucket.bucketName,
    [FunctionEnv.statePrefix]: config.statePrefix,
  };
  const repositoriesJson = JSON.stringify(config.repositories);
  // Where packaged artifacts go, and the account that the policy's `accounts` and the artifact buckets are read for.
  const installation = {
    [FunctionEnv.accountId]: Stack.of(scope).account,
    ...(props.artifactBucket ? { [FunctionEnv.artifactBucket]: props.artifactBucket } : {}),
  };
  const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
  const fn = (name: GitOpsFunctionName, environment: Record<string, string>, reserved?: number | false) =>
    createFunction(scope, name, {
      entry: config.entries[name],
      // The service name is the function's: logs and the `service` metric dimension say which one spoke.
      environment: { ...common, [FunctionEnv.powertoolsServiceName]: name, ...environment },
      logRetention,
      removalPolicy,
      reserved,
    });

  const webhook = fn(
    'webhook',
    {
      [FunctionEnv.busName]: bus.eventBusName,
      // The delivery ledger (replay protection) lives in the state bucket under webhook/deliveries/.
      ...state,
      [FunctionEnv.secretsPrefix]: config.secretsPrefix,
      [FunctionEnv.repositories]: repositoriesJson,
      ...(config.previews ? { [FunctionEnv.previews]: 'true' } : {}),
    },
    config.webhookConcurrency,
  );
  const trusted: Record<string, string> =
    config.trustedKeyParameters.length > 0
      ? { [FunctionEnv.trustedKeyParameters]: config.trustedKeyParameters.join(',') }
      : {};
  const sync = fn('sync', {
    ...trusted,
    ...installation,
    ...policyEnvironment(props.policy),
    [FunctionEnv.busName]: bus.eventBusName,
    ...state,
    [FunctionEnv.secretsPrefix]: config.secretsPrefix,
    [FunctionEnv.repositories]: repositoriesJson,
    [FunctionEnv.stackNamePrefix]: config.stackNamePrefix,
    [FunctionEnv.applyQueueUrl]: applyQueue.queueUrl,
    ...(config.previews ? { [FunctionEnv.previews]: 'true', [FunctionEnv.githubApiUrl]: config.githubApiUrl } : {}),
  });
  const apply = fn(
    'apply',
    {
      [FunctionEnv.busName]: bus.eventBusName,
      ...state,
      ...installation,
      ...policyEnvironment(props.policy),
      [FunctionEnv.cfnServiceRoleArn]: serviceRole.roleArn,
      [FunctionEnv.stackNamePrefix]: config.stackNamePrefix,
      // One minute less than the function, so the apply can record its timeout before Lambda kills it.
      [FunctionEnv.applyTimeoutSeconds]: String(FUNCTION_SPECS.apply.timeout.toSeconds() - 60),
      [FunctionEnv.applyMaxReceives]: String(config.maxReceiveCount),
    },
    config.applyConcurrency,
  );
  const drift = fn(
    'drift',
    {
      [FunctionEnv.busName]: bus.eventBusName,
      ...state,
      ...trusted,
      ...policyEnvironment(props.policy),
      ...(props.driftValues === 'redacted' ? { [FunctionEnv.driftValues]: 'redacted' } : {}),
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
    [FunctionEnv.alertsTopicArn]: alertsTopic.topicArn,
    [FunctionEnv.secretsPrefix]: config.secretsPrefix,
    [FunctionEnv.slack]: String(props.slackWebhook ?? false),
    [FunctionEnv.githubStatus]: String(props.githubCommitStatus ?? false),
    [FunctionEnv.githubApiUrl]: config.githubApiUrl,
  });
  // The resource pass of each drift run, fanned out per account-region (stack/drift-fanout.ts wires its queue).
  const driftWorker = fn('drift-worker', {
    [FunctionEnv.busName]: bus.eventBusName,
    ...state,
    ...(props.driftValues === 'redacted' ? { [FunctionEnv.driftValues]: 'redacted' } : {}),
    [FunctionEnv.repositories]: repositoriesJson,
    [FunctionEnv.stackNamePrefix]: config.stackNamePrefix,
  });
  return { webhook, sync, apply, drift, notify, 'drift-worker': driftWorker };
}

function createFunction(
  scope: Construct,
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
  const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, {
    retention: opts.logRetention,
    removalPolicy: opts.removalPolicy,
  });
  // Own role instead of the default one: the default attaches the AWS managed AWSLambdaBasicExecutionRole,
  // which may write to any log group.
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `lambda-gitops ${name} function`,
  });
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  const fn = new nodejs.NodejsFunction(scope, `${id}Function`, {
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
    reason: 'nodejs22.x is the runtime this project targets and tests (Node 22 LTS); moving on is a deliberate change.',
  });
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'X-Ray PutTraceSegments/PutTelemetryRecords (and, for drift, DescribeStackDriftDetectionStatus) have no ' +
      'resource-level permissions.',
  });
  return fn;
}
