import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../shared/function-env.ts';
import { FULL_PROPS, makeStack } from './app-fixture.ts';

// One synthesized app for every assertion: synthesis is the slow part.
let template: Template;
let outputs: Record<string, { Value: unknown }>;
beforeAll(() => {
  const { stack } = makeStack(FULL_PROPS);
  template = Template.fromStack(stack);
  outputs = template.toJSON().Outputs;
});

const pascalCase = (name: string) =>
  name
    .split('-')
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
const resourcesOf = (type: string) =>
  Object.entries(template.findResources(type)) as [string, { Properties: Record<string, unknown> }][];
const statements = (): Record<string, unknown>[] =>
  resourcesOf('AWS::IAM::Policy').flatMap(([, r]) => (r.Properties['PolicyDocument'] as { Statement: [] }).Statement);

describe('functions', () => {
  it('are six nodejs22.x arm64 functions with tracing and explicit log groups, source maps off by default', () => {
    template.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      {
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: Match.anyValue() },
        Environment: { Variables: Match.objectLike({ NODE_OPTIONS: Match.absent() }) },
      },
      6,
    );
    template.resourceCountIs('AWS::Logs::LogGroup', 6);
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it.each([
    ['webhook', 10, 10],
    ['sync', 300, undefined],
    ['apply', 900, 5],
    ['drift', 900, 1],
    ['notify', 60, undefined],
    ['drift-worker', 900, undefined],
  ])('%s times out after %i s, reserved concurrency %s', (name, timeout, reserved) => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.anyValue(),
      Timeout: timeout,
      Role: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^GitOps${pascalCase(name)}Role`), 'Arn'] },
      ReservedConcurrentExecutions: reserved ?? Match.absent(),
    });
  });

  it('gives each function the environment it reads', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 300,
      Environment: {
        Variables: Match.objectLike({
          GITOPS_BUS_NAME: Match.anyValue(),
          GITOPS_STATE_BUCKET: Match.anyValue(),
          GITOPS_STATE_PREFIX: '',
          GITOPS_SECRETS_PREFIX: '/lambda-gitops',
          GITOPS_STACK_NAME_PREFIX: 'gitops-',
          GITOPS_APPLY_QUEUE_URL: Match.anyValue(),
          GITOPS_REPOSITORIES: JSON.stringify([
            { name: 'infra', url: 'https://github.com/acme/infra.git', branch: 'main', provider: 'github' },
            {
              name: 'platform',
              url: 'https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/platform',
              branch: 'release/1.x',
              provider: 'codecommit',
            },
          ]),
          POWERTOOLS_SERVICE_NAME: 'sync',
          POWERTOOLS_METRICS_NAMESPACE: 'LambdaGitOps',
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 900,
      ReservedConcurrentExecutions: 5,
      Environment: {
        Variables: Match.objectLike({
          GITOPS_CFN_SERVICE_ROLE_ARN: Match.anyValue(),
          GITOPS_APPLY_TIMEOUT_SECONDS: '840',
          GITOPS_APPLY_MAX_RECEIVES: '3',
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 60,
      Environment: {
        Variables: Match.objectLike({
          GITOPS_ALERTS_TOPIC_ARN: Match.anyValue(),
          GITOPS_SLACK: 'true',
          GITOPS_GITHUB_STATUS: 'true',
          GITOPS_GITHUB_API_URL: 'https://api.github.com',
        }),
      },
    });
  });

  it('exposes the webhook through a Function URL without IAM auth (HMAC is checked in code)', () => {
    template.resourceCountIs('AWS::Lambda::Url', 1);
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
    expect(outputs['WebhookUrl']).toBeDefined();
  });

  it('consumes the FIFO queues one message at a time, apply no faster than its reserved concurrency', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });
});

describe('bus, routes and schedules', () => {
  it('creates the custom bus with an archive', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'lambda-gitops' });
    template.hasResourceProperties('AWS::Events::Archive', { RetentionDays: 30 });
  });

  it('routes Push Received and Sync Requested per repository+branch to the sync queue with a static group', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.anyValue(),
      EventPattern: {
        source: ['lambda-gitops'],
        'detail-type': ['Push Received', 'Sync Requested'],
        detail: { repo: ['infra', 'https://github.com/acme/infra.git'], branch: ['main'] },
      },
      Targets: [
        Match.objectLike({
          SqsParameters: { MessageGroupId: 'infra/main' },
          DeadLetterConfig: Match.anyValue(),
        }),
      ],
    });
  });

  it('routes CodeCommit pushes from the default bus to the sync queue, shaped as Push Received', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.absent(),
      EventPattern: {
        source: ['aws.codecommit'],
        'detail-type': ['CodeCommit Repository State Change'],
        resources: [
          { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':codecommit:eu-west-1:123456789012:platform']] },
        ],
        detail: { referenceType: ['branch'], referenceName: ['release/1.x'] },
      },
      Targets: [
        Match.objectLike({
          SqsParameters: { MessageGroupId: 'platform/release/1.x' },
          InputTransformer: Match.objectLike({
            InputTemplate: Match.stringLikeRegexp('"detail-type":"Push Received"'),
          }),
        }),
      ],
    });
  });

  it('does not route Apply Requested from the bus: the sync function sends it with a per-stack group', () => {
    const patterns = resourcesOf('AWS::Events::Rule').map(([, r]) => JSON.stringify(r.Properties['EventPattern']));
    expect(patterns.some((p) => p.includes('Apply Requested'))).toBe(false);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^GitOpsSyncRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['sqs:SendMessage']),
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GitOpsApplyQueue'), 'Arn'] },
          }),
        ]),
      },
    });
  });

  it('sends results, failures and drift to the notify function, the only publisher to the alerts topic', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['lambda-gitops'],
        'detail-type': Match.arrayWith([
          'Sync Succeeded',
          'Sync Failed',
          'Drift Detected',
          'Drift Resolved',
          'Health Restored',
          'Sync Skipped',
        ]),
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GitOpsNotifyFunction'), 'Arn'] } })],
    });
    const topicTargets = resourcesOf('AWS::Events::Rule').filter(([, r]) =>
      JSON.stringify(r.Properties['Targets']).includes('GitOpsAlertsTopic'),
    );
    expect(topicTargets).toEqual([]);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^GitOpsNotifyRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'sns:Publish', Resource: { Ref: Match.stringLikeRegexp('^GitOpsAlertsTopic') } }),
        ]),
      },
    });
  });

  it('schedules drift every 15 minutes and a safety-net Sync Requested per repository every hour', () => {
    template.resourceCountIs('AWS::Scheduler::Schedule', 3);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(15 minutes)',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GitOpsDriftFunction'), 'Arn'] },
        RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 0 }),
      }),
    });
    template.resourcePropertiesCountIs(
      'AWS::Scheduler::Schedule',
      {
        ScheduleExpression: 'rate(1 hour)',
        Target: Match.objectLike({
          EventBridgeParameters: { DetailType: 'Sync Requested', Source: 'lambda-gitops' },
        }),
      },
      2,
    );
  });
});

describe('queues', () => {
  it('has FIFO sync and apply queues with content-based dedupe, visibility 6x the timeout and a DLQ', () => {
    for (const [visibility, dlq] of [
      [1800, 'SyncDeadLetterQueue'],
      [5400, 'ApplyDeadLetterQueue'],
    ] as const) {
      template.hasResourceProperties('AWS::SQS::Queue', {
        FifoQueue: true,
        ContentBasedDeduplication: true,
        VisibilityTimeout: visibility,
        SqsManagedSseEnabled: true,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^GitOps${dlq}`), 'Arn'] },
          maxReceiveCount: 3,
        },
      });
    }
  });

  it('encrypts every queue and denies every non-TLS request', () => {
    template.resourceCountIs('AWS::SQS::Queue', 7);
    template.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    const policies = resourcesOf('AWS::SQS::QueuePolicy').map(([, r]) => JSON.stringify(r.Properties));
    const tlsOnly = policies.filter((p) => p.includes('"aws:SecureTransport":"false"'));
    const queuesCovered = tlsOnly.flatMap((p) => JSON.parse(p).Queues);
    expect(queuesCovered).toHaveLength(7);
  });
});

describe('state bucket', () => {
  it('is versioned, encrypted, private, logged and expires history', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: Match.anyValue(),
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: { DestinationBucketName: Match.anyValue(), LogFilePrefix: 'state-bucket/' },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Id: 'history',
            Prefix: 'history/',
            ExpirationInDays: 365,
            NoncurrentVersionExpiration: { NoncurrentDays: 30 },
            Status: 'Enabled',
          }),
        ]),
      },
    });
  });

  it('has TLS-only bucket policies', () => {
    const policies = resourcesOf('AWS::S3::BucketPolicy').map(([, r]) => JSON.stringify(r.Properties));
    expect(policies.length).toBeGreaterThanOrEqual(2);
    for (const p of policies) expect(p).toContain('"aws:SecureTransport":"false"');
  });
});

describe('alerts', () => {
  it('encrypts the topic with a rotated KMS key and enforces TLS', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GitOpsAlertsKey'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const topicPolicy = JSON.stringify(resourcesOf('AWS::SNS::TopicPolicy')[0]![1].Properties);
    expect(topicPolicy).toContain('"aws:SecureTransport":"false"');
    expect(topicPolicy).toContain('cloudwatch.amazonaws.com');
  });

  it('subscribes the e-mails and the Amazon Q Slack channel', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    template.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      SlackWorkspaceId: 'T0123ABCD',
      SlackChannelId: 'C0123ABCD',
      SnsTopicArns: [{ Ref: Match.stringLikeRegexp('^GitOpsAlertsTopic') }],
    });
  });

  it('alarms on every function, every DLQ, sync failures and drifted stacks, with recovery notices', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 13);
    template.allResourcesProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^GitOpsAlertsTopic') }],
      OKActions: [{ Ref: Match.stringLikeRegexp('^GitOpsAlertsTopic') }],
    });
    // SyncFailed comes from sync and apply, each with its own service dimension: the alarm adds them up.
    const syncFailed = (service: string) =>
      Match.objectLike({
        MetricStat: {
          Metric: {
            Namespace: 'LambdaGitOps',
            MetricName: Metrics.syncFailed,
            Dimensions: [{ Name: 'service', Value: service }],
          },
          Period: 300,
          Stat: 'Sum',
        },
      });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'FILL(m0, 0) + FILL(m1, 0)' }),
        syncFailed('sync'),
        syncFailed('apply'),
      ]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'LambdaGitOps',
      MetricName: Metrics.driftedStacks,
      Statistic: 'Maximum',
      Dimensions: [{ Name: 'service', Value: 'drift' }],
    });
    template.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      { MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1 },
      4,
    );
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('secrets', () => {
  it('creates no SSM parameter and grants GetParameter on exactly the named ones', () => {
    template.resourceCountIs('AWS::SSM::Parameter', 0);
    const ssm = statements().filter((s) => s['Action'] === 'ssm:GetParameter');
    const arns = ssm.flatMap((s) => [s['Resource']].flat()).map((r) => JSON.stringify(r));
    // webhook: its secret; sync and drift: the git token; notify: the Slack URL and the GitHub token.
    expect(arns).toHaveLength(5);
    for (const name of ['webhook-secret', 'git-token', 'slack-webhook-url', 'github-token']) {
      expect(arns.some((a) => a.includes(`:parameter/lambda-gitops/${name}`))).toBe(true);
    }
    const kms = statements().filter((s) => s['Action'] === 'kms:Decrypt');
    for (const s of kms) {
      expect(s['Condition']).toEqual({
        StringEquals: { 'kms:ViaService': 'ssm.eu-west-1.amazonaws.com' },
        'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/aws/ssm' },
      });
    }
  });

  it('outputs the parameter names and the CLI flags', () => {
    expect(outputs['WebhookSecretParameterName']?.Value).toBe('/lambda-gitops/webhook-secret');
    expect(outputs['GitTokenParameterName']?.Value).toBe('/lambda-gitops/git-token');
    expect(outputs['SlackWebhookUrlParameterName']?.Value).toBe('/lambda-gitops/slack-webhook-url');
    expect(outputs['GitHubTokenParameterName']?.Value).toBe('/lambda-gitops/github-token');
    for (const key of ['EventBusName', 'StateBucketName', 'AlertsTopicArn', 'CfnServiceRoleArn']) {
      expect(outputs[key]).toBeDefined();
    }
    expect(JSON.stringify(outputs['CliFlags']?.Value)).toMatch(/--bucket .*--bus /);
  });
});

describe('least privilege', () => {
  it('never allows * on *', () => {
    const stars = statements().filter(
      (s) => s['Effect'] === 'Allow' && [s['Action']].flat().includes('*') && [s['Resource']].flat().includes('*'),
    );
    expect(stars).toEqual([]);
  });

  it('scopes CloudFormation to the managed stack prefix', () => {
    const cfn = statements().filter((s) =>
      [s['Action']]
        .flat()
        .some((a) => String(a).startsWith('cloudformation:') && a !== 'cloudformation:CreateChangeSet'),
    );
    for (const s of cfn) {
      const resource = JSON.stringify(s['Resource']);
      if (s['Action'] === 'cloudformation:DescribeStackDriftDetectionStatus') expect(resource).toBe('"*"');
      else expect(resource).toContain(':cloudformation:*:123456789012:stack/gitops-*/*');
    }
    expect(cfn.length).toBeGreaterThanOrEqual(3);
  });

  it('lets apply pass the service role to CloudFormation only and assume the environment roles', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^GitOpsApplyRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'iam:PassRole',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GitOpsCfnServiceRole'), 'Arn'] },
            Condition: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
          }),
          Match.objectLike({ Action: 'cloudwatch:DescribeAlarms' }),
          Match.objectLike({
            Action: ['sts:AssumeRole', 'sts:TagSession'],
            Resource: 'arn:aws:iam::111122223333:role/gitops-deployer',
          }),
        ]),
      },
    });
  });

  it('creates the CloudFormation service role without policies unless the operator chooses them', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'cloudformation.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
          }),
        ],
      },
      ManagedPolicyArns: Match.absent(),
    });
  });

  it('gives the webhook only PutEvents, its secret, its delivery ledger and its own log group', () => {
    const [, policy] = resourcesOf('AWS::IAM::Policy').find(([id]) => id.startsWith('GitOpsWebhookRole'))!;
    const statements = (
      policy.Properties['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown }[] }
    ).Statement;
    const actions = statements.flatMap((s) => [s.Action].flat()).sort();
    expect(actions).toEqual(
      [
        'events:PutEvents',
        'kms:Decrypt',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:DeleteObject',
        's3:GetObject',
        's3:PutObject',
        'ssm:GetParameter',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
    // The bucket only under the ledger's prefix.
    const s3 = statements.find((s) => [s.Action].flat().includes('s3:PutObject'));
    expect(JSON.stringify(s3?.Resource)).toContain('/webhook/deliveries/*');
  });

  it('expires the webhook delivery ledger with a lifecycle rule on its prefix', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Id: 'webhook-deliveries',
            Prefix: 'webhook/deliveries/',
            ExpirationInDays: 2,
            Status: 'Enabled',
          }),
        ]),
      },
    });
  });
});

describe('drift fan-out', () => {
  const varsOf = (r: { Properties: Record<string, unknown> }) =>
    (r.Properties['Environment'] as { Variables: Record<string, unknown> }).Variables;
  const fnWithService = (service: string) => {
    const found = resourcesOf('AWS::Lambda::Function').find(
      ([, r]) => varsOf(r)['POWERTOOLS_SERVICE_NAME'] === service,
    );
    if (!found) throw new Error(`no function with service ${service}`);
    return { id: found[0], vars: varsOf(found[1]) };
  };

  it('queues each run on its own FIFO queue with a dead-letter queue, six times the worker timeout visible', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      ContentBasedDeduplication: false,
      VisibilityTimeout: 5400,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GitOpsDriftFanOutDeadLetterQueue'), 'Arn'] },
        maxReceiveCount: 3,
      },
    });
  });

  it('gives the planner and the worker the queue, and the worker its budget and an event source of one item', () => {
    for (const service of ['drift', 'drift-worker']) {
      expect(JSON.stringify(fnWithService(service).vars['GITOPS_DRIFT_QUEUE_URL'])).toContain('GitOpsDriftFanOutQueue');
    }
    const worker = fnWithService('drift-worker');
    const vars = worker.vars;
    expect(vars['GITOPS_DRIFT_WORKER_BUDGET_SECONDS']).toBe('300');
    // The worker never fetches: it has no git token and no CodeCommit pull.
    expect(vars['GITOPS_SECRETS_PREFIX']).toBeUndefined();
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: worker.id },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });

  it('alarms on dead letters and on a backlog older than an hour, and shows the queue and the backlog', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 3600,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^GitOpsAlertsTopic') }],
    });
    const body = JSON.stringify(resourcesOf('AWS::CloudWatch::Dashboard')[0]![1].Properties['DashboardBody']);
    expect(body).toContain('Drift fan-out queue');
    expect(body).toContain(Metrics.driftBacklog);
  });
});
