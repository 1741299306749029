import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { configFromContext } from '../../stack/context.ts';
import { GitOps, type GitOpsProps } from '../../stack/gitops-construct.ts';
import { FIXTURE_ENTRIES, FULL_PROPS, makeStack } from './app-fixture.ts';

const APPROVER = 'arn:aws:iam::444455556666:role/release-approver';
const LOCAL_APPROVER = 'arn:aws:iam::123456789012:user/alice';

const busPolicies = (props: GitOpsProps) => {
  const { stack } = makeStack(props);
  const template = Template.fromStack(stack);
  const statements = Object.values(template.findResources('AWS::Events::EventBusPolicy')).map(
    (r) => (r as { Properties: { Statement: Record<string, unknown> } }).Properties.Statement,
  );
  return { template, statements };
};
const role = (name: string) => ({ 'Fn::GetAtt': [Match.stringLikeRegexp(`^GitOps${name}Role`), 'Arn'] });

describe('the bus policy', () => {
  it('denies Sync Requested to every principal but the installation and the approvers', () => {
    const { template, statements } = busPolicies({ ...FULL_PROPS, approvers: [APPROVER, LOCAL_APPROVER] });
    expect(statements).toHaveLength(2);
    template.hasResourceProperties('AWS::Events::EventBusPolicy', {
      EventBusName: { Ref: Match.stringLikeRegexp('^GitOpsBus') },
      Statement: {
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'events:PutEvents',
        Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GitOpsBus'), 'Arn'] },
        Condition: {
          StringEquals: { 'events:detail-type': 'Sync Requested' },
          ArnNotEquals: {
            'aws:PrincipalArn': [
              role('Webhook'),
              role('Sync'),
              role('Apply'),
              role('Drift'),
              role('Notify'),
              role('Scheduler'),
              APPROVER,
              LOCAL_APPROVER,
            ],
          },
        },
      },
    });
  });

  it('allows the approvers to put Sync Requested and nothing else, so approvers in another account can approve', () => {
    const { template } = busPolicies({ ...FULL_PROPS, approvers: [APPROVER, LOCAL_APPROVER] });
    template.hasResourceProperties('AWS::Events::EventBusPolicy', {
      Statement: {
        Effect: 'Allow',
        Principal: { AWS: [APPROVER, LOCAL_APPROVER] },
        Action: 'events:PutEvents',
        Condition: { StringEquals: { 'events:detail-type': 'Sync Requested' } },
      },
    });
  });

  it('without approvers, leaves Sync Requested to the installation alone', () => {
    const { statements } = busPolicies({});
    expect(statements).toEqual([
      expect.objectContaining({
        Effect: 'Deny',
        Condition: expect.objectContaining({ StringEquals: { 'events:detail-type': 'Sync Requested' } }),
      }),
    ]);
    const allowed = (statements[0]!['Condition'] as { ArnNotEquals: { 'aws:PrincipalArn': unknown[] } }).ArnNotEquals[
      'aws:PrincipalArn'
    ];
    expect(allowed).toHaveLength(6);
  });

  it('keeps cdk-nag clean with approvers', () => {
    const { app } = makeStack({ ...FULL_PROPS, approvers: [APPROVER] });
    const errors = new AwsSolutionsChecks(app).validateScope(app).violations.filter((v) => v.severity === 'error');
    expect(errors.map((v) => v.ruleName)).toEqual([]);
  });

  it.each([
    ['an account root', 'arn:aws:iam::123456789012:root'],
    ['a wildcard', 'arn:aws:iam::123456789012:role/approver-*'],
    ['a role name', 'release-approver'],
    ['an assumed-role session', 'arn:aws:sts::123456789012:assumed-role/approver/alice'],
  ])('refuses %s as an approver, naming it', (_name, arn) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'LambdaGitOps', { env: { account: '123456789012', region: 'eu-west-1' } });
    expect(() => new GitOps(stack, 'GitOps', { functionEntries: FIXTURE_ENTRIES, approvers: [arn] })).toThrow(
      `approvers: '${arn}' is not an IAM role or user ARN`,
    );
  });

  it('takes the approvers from -c approvers=<arn>,<arn>', () => {
    const { gitops } = configFromContext((k) => (k === 'approvers' ? `${APPROVER}, ${LOCAL_APPROVER}` : undefined));
    expect(gitops.approvers).toEqual([APPROVER, LOCAL_APPROVER]);
  });
});
