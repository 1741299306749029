/** pullRequestPreviews: what the construct adds when previews are on, and that nothing changes when they are off. */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { configFromContext } from '../../stack/context.ts';
import { FULL_PROPS, makeStack } from './app-fixture.ts';

const templateOf = (previews: boolean) =>
  Template.fromStack(makeStack({ ...FULL_PROPS, githubCommitStatus: false, pullRequestPreviews: previews }).stack);

const functionEnv = (t: Template, role: string) => {
  const fns = Object.values(
    t.findResources('AWS::Lambda::Function', {
      Properties: { Role: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^GitOps${role}Role`), 'Arn'] } },
    }),
  ) as { Properties: { Environment: { Variables: Record<string, unknown> } } }[];
  return fns[0]?.Properties.Environment.Variables ?? {};
};

describe('pullRequestPreviews', () => {
  it('routes Preview Requested of each repository to the sync queue in a message group of its own', () => {
    const t = templateOf(true);
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['lambda-gitops'],
        'detail-type': ['Preview Requested'],
        detail: { repo: ['infra', 'https://github.com/acme/infra.git'] },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GitOpsSyncQueue'), 'Arn'] },
          SqsParameters: { MessageGroupId: 'infra/previews' },
        }),
      ],
    });
    expect(functionEnv(t, 'Webhook')['GITOPS_PREVIEWS']).toBe('true');
    expect(functionEnv(t, 'Sync')['GITOPS_PREVIEWS']).toBe('true');
  });

  it('lets the sync function read the forge tokens, and outputs their parameter names', () => {
    const t = templateOf(true);
    const policies = JSON.stringify(
      t.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^GitOpsSyncRole') }] },
      }),
    );
    for (const name of ['github-token', 'github-app-token', 'gitlab-token', 'bitbucket-token']) {
      expect(policies).toContain(`parameter/lambda-gitops/${name}`);
    }
    const outputs = Object.keys(t.findOutputs('*'));
    expect(outputs).toEqual(
      expect.arrayContaining(['GitHubTokenParameterName', 'GitLabTokenParameterName', 'BitbucketTokenParameterName']),
    );
  });

  it('adds nothing when off (the default)', () => {
    const t = templateOf(false);
    expect(JSON.stringify(t.toJSON())).not.toContain('Preview Requested');
    expect(functionEnv(t, 'Webhook')['GITOPS_PREVIEWS']).toBeUndefined();
    expect(JSON.stringify(t.toJSON())).not.toContain('gitlab-token');
  });

  it('reads -c pullRequestPreviews=true', () => {
    const ctx = configFromContext((k) => (k === 'pullRequestPreviews' ? 'true' : undefined)).gitops;
    expect(ctx.pullRequestPreviews).toBe(true);
  });
});
