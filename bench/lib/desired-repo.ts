/**
 * A synthetic desired-state repository for the sync, webhook and runtime benchmarks: a `gitops.yaml` with three
 * environments and one stack per template, each template a realistic small service (queues, a bucket, a topic, a log
 * group, a role, parameters, conditions and outputs in YAML short form), a little different per stack so renders and
 * hashes differ.
 */
import { commitFiles, createWorkRepo, type GitEnv } from '../../test/helpers/git-repo.ts';

export const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export const stackName = (i: number): string => `svc${String(i).padStart(4, '0')}`;
export const templatePath = (i: number): string => `templates/${stackName(i)}.yaml`;

const ENVIRONMENT_LINES: Readonly<Record<Environment, readonly string[]>> = {
  dev: ['  - name: dev', '    parameters: { LogRetentionDays: "7" }', '    tags: { env: dev }'],
  staging: ['  - name: staging', '    parameters: { LogRetentionDays: "14" }', '    tags: { env: staging }'],
  prod: [
    '  - name: prod',
    '    region: us-east-1',
    '    role: arn:aws:iam::111111111111:role/lambda-gitops-deployer',
    '    parameters: { LogRetentionDays: "90" }',
    '    tags: { env: prod }',
  ],
};

/** `environments`: all three by default; the 10,000-stack sync uses prod alone (one stack key per service). */
export function gitopsYaml(stacks: number, environments: readonly Environment[] = ENVIRONMENTS): string {
  const lines = [
    'defaults:',
    '  region: eu-west-1',
    '  stackName: "{env}-{stack}"',
    '  tags: { owner: platform-team, managed-by: lambda-gitops }',
    '  syncPolicy: { automated: true, prune: false, selfHeal: false }',
    'environments:',
    ...environments.flatMap((e) => ENVIRONMENT_LINES[e]),
    'stacks:',
  ];
  for (let i = 0; i < stacks; i++) {
    lines.push(`  - name: ${stackName(i)}`, `    template: ${templatePath(i)}`);
    lines.push(`    parameters: { ServiceName: ${stackName(i)}, TeamEmail: team-${i % 23}@example.com }`);
    lines.push(`    tags: { team: team-${i % 23}, cost-center: cc-${i % 7} }`);
    // Some services build on the one before them, as real platforms do.
    if (i % 10 === 1) lines.push(`    dependsOn: [${stackName(i - 1)}]`);
    if (i % 5 === 0 && environments.includes('prod')) {
      lines.push('    overrides:', '      prod: { parameters: { VisibilityTimeout: "120" } }');
    }
  }
  return `${lines.join('\n')}\n`;
}

export function template(i: number, revision = 0): string {
  return `AWSTemplateFormatVersion: "2010-09-09"
Description: Service ${stackName(i)} (revision ${revision}) - work queue, archive bucket, alerts and logs.
Parameters:
  ServiceName:
    Type: String
    AllowedPattern: "^[a-z][a-z0-9-]*$"
  TeamEmail:
    Type: String
  LogRetentionDays:
    Type: Number
    Default: 7
    AllowedValues: [1, 3, 5, 7, 14, 30, 60, 90, 120, 180, 365]
  VisibilityTimeout:
    Type: Number
    Default: ${30 + (i % 5) * 10}
    MinValue: 0
    MaxValue: 43200
Conditions:
  LongRetention: !Not [!Equals [!Ref LogRetentionDays, 7]]
Resources:
  DeadLetters:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: 1209600
      SqsManagedSseEnabled: true
  Work:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "\${ServiceName}-\${AWS::Region}-work"
      VisibilityTimeout: !Ref VisibilityTimeout
      SqsManagedSseEnabled: true
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt DeadLetters.Arn
        maxReceiveCount: ${3 + (i % 4)}
  Archive:
    Type: AWS::S3::Bucket
    Properties:
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault: { SSEAlgorithm: AES256 }
      PublicAccessBlockConfiguration:
        BlockPublicAcls: true
        BlockPublicPolicy: true
        IgnorePublicAcls: true
        RestrictPublicBuckets: true
      LifecycleConfiguration:
        Rules:
          - Id: expire
            Status: Enabled
            ExpirationInDays: !If [LongRetention, 365, ${30 + (i % 11)}]
  Alerts:
    Type: AWS::SNS::Topic
    Properties:
      Subscription:
        - Endpoint: !Ref TeamEmail
          Protocol: email
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Join ["/", ["/services", !Ref ServiceName]]
      RetentionInDays: !Ref LogRetentionDays
  WorkerRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: { Service: lambda.amazonaws.com }
            Action: sts:AssumeRole
      Policies:
        - PolicyName: work
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: [sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes]
                Resource: !GetAtt Work.Arn
              - Effect: Allow
                Action: [s3:PutObject]
                Resource: !Sub "\${Archive.Arn}/*"
Outputs:
  QueueUrl:
    Value: !Ref Work
  QueueArn:
    Value: !GetAtt Work.Arn
    Export:
      Name: !Sub "\${AWS::StackName}-QueueArn"
  BucketName:
    Value: !Ref Archive
  TopicArn:
    Value: !Ref Alerts
`;
}

/** Creates `<dir>` as a Git working repository with `stacks` services committed on `main`; returns the commit. */
export function createDesiredRepo(
  genv: GitEnv,
  dir: string,
  stacks: number,
  environments: readonly Environment[] = ENVIRONMENTS,
): string {
  createWorkRepo(genv, dir);
  const files: Record<string, string> = { 'gitops.yaml': gitopsYaml(stacks, environments) };
  for (let i = 0; i < stacks; i++) files[templatePath(i)] = template(i);
  return commitFiles(genv, dir, files, `${stacks} services in ${environments.length} environment(s)`);
}

/** Commits a new revision of one service's template (every environment of that stack changes). */
export function changeOneTemplate(genv: GitEnv, dir: string, i: number, revision: number): string {
  return commitFiles(genv, dir, { [templatePath(i)]: template(i, revision) }, `${stackName(i)}: revision ${revision}`);
}
