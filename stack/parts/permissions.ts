/**
 * What each function may call, and nothing more: PutEvents on the bus, its own secrets, the state prefix, the apply
 * queue (sync), CloudFormation on the managed stack prefix (apply, drift), the environment roles and CodeCommit.
 * Statements are added in a fixed order: each role's policy document lists them in that order.
 */
import { ArnFormat, Aws, Stack, Validations } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { SecretName } from '../../shared/function-env.ts';
import { acknowledgeResource } from '../nag.ts';
import { codeCommitArn, type ValidatedConfig } from './config.ts';
import type { GitOpsFunctions } from './functions.ts';
import { grantStateAccess } from './state-store.ts';

export interface GrantTargets {
  readonly bus: events.IEventBus;
  readonly stateBucket: s3.IBucket;
  readonly applyQueue: sqs.IQueue;
  readonly alertsTopic: sns.ITopic;
  readonly serviceRole: iam.IRole;
  readonly secretParameterNames: Readonly<Partial<Record<keyof typeof SecretName, string>>>;
}

export function grantFunctionRights(functions: GitOpsFunctions, config: ValidatedConfig, targets: GrantTargets): void {
  const { webhook, sync, apply, drift, notify, 'drift-worker': driftWorker } = functions;
  const stack = Stack.of(webhook);
  const names = targets.secretParameterNames;
  for (const f of [webhook, sync, apply, drift, driftWorker]) targets.bus.grantPutEventsTo(f);
  grantSecrets(webhook, names.webhookSecret);
  grantSecrets(sync, names.gitToken, ...config.trustedKeyParameters);
  grantSecrets(drift, names.gitToken, ...config.trustedKeyParameters);
  grantSecrets(notify, names.slackWebhookUrl, names.githubToken);
  // Pull-request previews: the sync function comments on the pull request with the forge's token.
  if (config.previews) {
    grantSecrets(sync, names.githubToken, names.githubAppToken, names.gitlabToken, names.bitbucketToken);
  }
  grantStateAccess(targets.stateBucket, sync, config.statePrefix);
  grantStateAccess(targets.stateBucket, apply, config.statePrefix);
  grantStateAccess(targets.stateBucket, drift, config.statePrefix);
  grantStateAccess(targets.stateBucket, driftWorker, config.statePrefix);
  grantStateAccess(targets.stateBucket, notify, `${config.statePrefix}notify/`);
  // The webhook's delivery ledger: create, read and release its own records; nothing else of the bucket.
  const deliveries = targets.stateBucket.arnForObjects(`${config.statePrefix}webhook/deliveries/*`);
  webhook.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      resources: [deliveries],
    }),
  );
  acknowledgeResource(
    webhook.role!,
    deliveries,
    'Ledger keys are digests of delivery ids and signed bodies, known only when a delivery arrives; access is ' +
      'limited to the webhook/deliveries/ prefix of the state bucket.',
  );
  targets.applyQueue.grantSendMessages(sync);
  targets.alertsTopic.grantPublish(notify);
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
  acknowledgeResource(apply.role!, stackArn, stackReason);
  acknowledgeResource(drift.role!, stackArn, stackReason);
  acknowledgeResource(driftWorker.role!, stackArn, stackReason);
  const transformArn = `arn:${Aws.PARTITION}:cloudformation:*:aws:transform/*`;
  acknowledgeResource(
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
  acknowledgeResource(
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
      resources: [targets.serviceRole.roleArn],
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
    // The sync function publishes packaged code and nested templates of another account's stacks with that
    // environment's role, into a bucket of that account (README "Packaging").
    sync.addToRolePolicy(assume);
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
}

/** GetParameter on exactly the named SecureStrings, and Decrypt through SSM with the aws/ssm key only. */
function grantSecrets(grantee: lambda.IFunction, ...names: (string | undefined)[]): void {
  const stack = Stack.of(grantee);
  const parameterArn = (name: string) =>
    stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.slice(1) });
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
  acknowledgeResource(
    grantee.role!,
    stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' }),
    'The aws/ssm key id differs per account and region; Decrypt is limited to that key (kms:ResourceAliases) ' +
      'used through SSM (kms:ViaService).',
  );
}
