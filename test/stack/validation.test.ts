import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { configFromContext } from '../../stack/context.ts';
import { GitOps, type GitOpsProps } from '../../stack/gitops-construct.ts';
import { addNag } from '../../stack/nag.ts';
import { FIXTURE_ENTRIES, FULL_PROPS, makeStack } from './app-fixture.ts';

const construct = (props: GitOpsProps, stackName = 'LambdaGitOps') => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, stackName, { env: { account: '123456789012', region: 'eu-west-1' } });
  return new GitOps(stack, 'GitOps', { functionEntries: FIXTURE_ENTRIES, ...props });
};

describe('invalid props throw with the value and the fix', () => {
  it.each<[string, GitOpsProps, RegExp]>([
    ['empty stack prefix', { stackNamePrefix: '' }, /stackNamePrefix '' .*every stack/],
    ['prefix with a slash', { stackNamePrefix: 'a/b' }, /stackNamePrefix 'a\/b'/],
    ['bus named default', { busName: 'default' }, /busName 'default'/],
    ['relative secrets prefix', { secretsPrefix: 'lambda-gitops' }, /secretsPrefix 'lambda-gitops' must look like/],
    ['reserved secrets prefix', { secretsPrefix: '/aws/x' }, /reserved/],
    ['state prefix without slash', { statePrefix: 'gitops' }, /statePrefix 'gitops' must be ''/],
    [
      'http repository',
      { repositories: [{ name: 'r', url: 'http://x/r.git' }] },
      /url 'http:\/\/x\/r.git' must be an https/,
    ],
    [
      'credentials in the URL',
      { repositories: [{ name: 'r', url: 'https://user:tok@github.com/a/r.git' }] },
      /without credentials/,
    ],
    [
      'bad repository name',
      { repositories: [{ name: 'a b', url: 'https://github.com/a/b' }] },
      /repository name 'a b'/,
    ],
    ['bad branch', { repositories: [{ name: 'r', url: 'https://github.com/a/r', branch: 'a..b' }] }, /branch 'a..b'/],
    [
      'relative trusted key parameter',
      { trustedKeyParameters: ['signing/key'] },
      /trustedKeyParameters: 'signing\/key'/,
    ],
    [
      'duplicate repository',
      {
        repositories: [
          { name: 'r', url: 'https://github.com/a/r' },
          { name: 'r', url: 'https://github.com/a/r' },
        ],
      },
      /configured twice/,
    ],
    [
      'CodeCommit with a foreign URL',
      { repositories: [{ name: 'r', url: 'https://example.com/r', provider: 'codecommit' }] },
      /git-codecommit/,
    ],
    [
      'environment without a role ARN',
      { environments: [{ name: 'prod', roleArn: 'gitops-deployer' }] },
      /roleArn 'gitops-deployer' is not an IAM role ARN/,
    ],
    ['drift faster than its timeout', { driftInterval: Duration.minutes(5) }, /driftInterval 5 minutes .* 15 minute/],
    ['apply concurrency 1', { applyConcurrency: 1 }, /applyConcurrency 1 must be an integer >= 2/],
    ['drift concurrency 0', { driftConcurrency: 0 }, /driftConcurrency 0/],
    ['maxReceiveCount 0', { maxReceiveCount: 0 }, /maxReceiveCount 0/],
    ['Slack ids', { slackChannel: { workspaceId: 'team', channelId: 'C0123ABCD' } }, /workspaceId 'team'/],
    ['GitHub API over http', { githubApiUrl: 'http://ghe/api/v3' }, /githubApiUrl 'http:\/\/ghe\/api\/v3'/],
    ['missing entry', { functionEntries: { sync: 'functions/nope.ts' } }, /functions\/nope.ts.*functionEntries/],
  ])('%s', (_name, props, message) => {
    expect(() => construct(props)).toThrow(message);
  });

  it('refuses a prefix that would let lambda-gitops manage itself', () => {
    expect(() => construct({ stackNamePrefix: 'Lambda' }, 'LambdaGitOps')).toThrow(
      /stack name 'LambdaGitOps' starts with stackNamePrefix 'Lambda'/,
    );
  });
});

describe('cdk-nag AwsSolutions', () => {
  const errors = (props: GitOpsProps) => {
    const { app } = makeStack(props);
    return new AwsSolutionsChecks(app)
      .validateScope(app)
      .violations.filter((v) => v.severity === 'error')
      .map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(',')}`);
  };

  it('has no unacknowledged error with everything enabled', () => {
    expect(errors(FULL_PROPS)).toEqual([]);
  });

  it('has none with the defaults, a state prefix, an operator policy and a custom stack prefix', () => {
    expect(
      errors({
        statePrefix: 'gitops/',
        stackNamePrefix: 'apps-',
        serviceRolePolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('PowerUserAccess')],
        serviceRolePolicyArns: ['arn:aws:iam::123456789012:policy/deployer'],
        applyConcurrency: false,
        driftConcurrency: false,
      }),
    ).toEqual([]);
  });

  it('is registered as a validation plugin that fails the synth on an error', () => {
    const { app, stack } = makeStack({});
    // An unacknowledged finding added on purpose: the synth must now fail.
    new iam.Role(stack, 'Unchecked', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess')],
    });
    addNag(app);
    expect(() => app.synth()).toThrow(/AwsSolutions-IAM4/);
  });
});

describe('without repositories', () => {
  it('still installs everything, with no per-repository rules and schedules', () => {
    const { stack } = makeStack({});
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::Events::Rule', 1);
    t.resourceCountIs('AWS::Scheduler::Schedule', 1);
    t.resourceCountIs('AWS::Lambda::Function', 6);
    t.resourceCountIs('AWS::Chatbot::SlackChannelConfiguration', 0);
    t.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('context', () => {
  const ctx = (values: Record<string, unknown>) => configFromContext((k) => values[k]);

  it('defaults to the LambdaGitOps stack with construct defaults', () => {
    const { stackName, gitops } = ctx({});
    expect(stackName).toBe('LambdaGitOps');
    expect(gitops.repositories).toBeUndefined();
  });

  it('reads repositories as JSON or as one URL', () => {
    expect(ctx({ repositories: '[{"name":"a","url":"https://github.com/x/a"}]' }).gitops.repositories).toEqual([
      { name: 'a', url: 'https://github.com/x/a' },
    ]);
    expect(ctx({ repository: 'https://github.com/x/infra.git', branch: 'prod' }).gitops.repositories).toEqual([
      { name: 'infra', url: 'https://github.com/x/infra.git', branch: 'prod' },
    ]);
  });

  it('reads lists, flags, minutes and policies', () => {
    const { gitops } = ctx({
      alertEmails: 'a@x.com, b@x.com',
      slackWorkspaceId: 'T0123ABCD',
      slackChannelId: 'C0123ABCD',
      slackWebhook: 'true',
      githubStatus: 'false',
      driftMinutes: '30',
      pollMinutes: '120',
      serviceRolePolicies: 'PowerUserAccess,arn:aws:iam::123456789012:policy/x',
      applyConcurrency: 'false',
      sourceMaps: 'true',
      environments: [{ name: 'prod', roleArn: 'arn:aws:iam::111122223333:role/d' }],
    });
    expect(gitops.alertEmails).toEqual(['a@x.com', 'b@x.com']);
    expect(gitops.slackChannel).toEqual({ workspaceId: 'T0123ABCD', channelId: 'C0123ABCD' });
    expect([gitops.slackWebhook, gitops.githubCommitStatus]).toEqual([true, false]);
    expect(gitops.driftInterval?.toMinutes()).toBe(30);
    expect(gitops.pollInterval?.toMinutes()).toBe(120);
    expect(gitops.serviceRolePolicies).toHaveLength(1);
    expect(gitops.serviceRolePolicyArns).toEqual(['arn:aws:iam::123456789012:policy/x']);
    expect(gitops.applyConcurrency).toBe(false);
    expect(gitops.sourceMaps).toBe(true);
    expect(gitops.environments).toEqual([{ name: 'prod', roleArn: 'arn:aws:iam::111122223333:role/d' }]);
  });

  it.each([
    [{ repositories: '[{' }, /-c repositories must be JSON/],
    [{ repositories: '[]', repository: 'https://x/y' }, /either/],
    [{ slackWorkspaceId: 'T0123ABCD' }, /go together/],
    [{ slackWebhook: 'yes' }, /-c slackWebhook must be true or false, got 'yes'/],
    [{ driftMinutes: 'often' }, /-c driftMinutes must be an integer, got 'often'/],
  ])('rejects %j', (values, message) => {
    expect(() => ctx(values)).toThrow(message);
  });
});

describe('source maps', () => {
  it('are applied to stack traces (NODE_OPTIONS=--enable-source-maps) in every function with sourceMaps: true', () => {
    const t = Template.fromStack(Stack.of(construct({ sourceMaps: true })));
    t.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { Environment: { Variables: Match.objectLike({ NODE_OPTIONS: '--enable-source-maps' }) } },
      6,
    );
  });
});

describe('trusted signing keys of the installation', () => {
  it('reach the sync and drift functions, which may read exactly those parameters', () => {
    const gitops = construct({ trustedKeyParameters: ['/platform/signing/release', '/platform/signing/backup'] });
    const t = Template.fromStack(Stack.of(gitops));
    for (const name of ['Sync', 'Drift']) {
      t.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp(name === 'Sync' ? '^Fetches' : '^Detects drift'),
        Environment: {
          Variables: Match.objectLike({
            GITOPS_TRUSTED_KEY_PARAMETERS: '/platform/signing/release,/platform/signing/backup',
          }),
        },
      });
      const policy = JSON.stringify(
        Object.values(t.findResources('AWS::IAM::Policy')).filter((p) =>
          JSON.stringify(p.Properties.Roles).includes(`GitOps${name}Role`),
        ),
      );
      expect(policy).toContain('parameter/platform/signing/release');
      expect(policy).toContain('parameter/platform/signing/backup');
    }
    const webhookPolicy = JSON.stringify(
      Object.values(t.findResources('AWS::IAM::Policy')).filter((p) =>
        JSON.stringify(p.Properties.Roles).includes('GitOpsWebhookRole'),
      ),
    );
    expect(webhookPolicy).not.toContain('signing');
  });
});
