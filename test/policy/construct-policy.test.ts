/**
 * The construct hands the installation policy to the functions that enforce it — sync, apply and drift — as
 * `GITOPS_POLICY`, checked at synth; the webhook and notify functions never see it.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { GitOps, type GitOpsProps } from '../../stack/gitops-construct.ts';
import { FIXTURE_ENTRIES } from '../stack/app-fixture.ts';

const POLICY = {
  repositories: [
    {
      repo: 'https://github.com/acme/infra.git',
      capabilities: ['CAPABILITY_IAM' as const],
      environments: { prod: { branch: 'release', accounts: ['111122223333'], regions: ['eu-west-1'] } },
    },
  ],
};

const synth = (props: GitOpsProps) => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'LambdaGitOps', { env: { account: '123456789012', region: 'eu-west-1' } });
  new GitOps(stack, 'GitOps', { functionEntries: FIXTURE_ENTRIES, ...props });
  return Template.fromStack(stack);
};

describe('the policy prop', () => {
  it('reaches the sync, apply and drift functions as GITOPS_POLICY, and no other function', () => {
    const template = synth({ repositories: [{ name: 'infra', url: POLICY.repositories[0]!.repo }], policy: POLICY });
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as {
      Properties: { Timeout: number; Environment: { Variables: Record<string, unknown> } };
    }[];
    // Timeouts name the functions: webhook 10, sync 300, apply and drift 900, notify 60.
    const withPolicy = functions.filter((f) => 'GITOPS_POLICY' in f.Properties.Environment.Variables);
    expect(withPolicy.map((f) => f.Properties.Timeout).sort()).toEqual([300, 900, 900]);
    for (const f of withPolicy) {
      expect(JSON.parse(String(f.Properties.Environment.Variables.GITOPS_POLICY))).toEqual(POLICY);
    }
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 10,
      Environment: { Variables: Match.objectLike({ GITOPS_POLICY: Match.absent() }) },
    });
  });

  it('is checked at synth: a bad policy never deploys', () => {
    const bad = { repositories: [{ repo: 'x', environments: { prod: { regions: ['mars-1'] } } }] };
    expect(() => synth({ policy: bad as never })).toThrow('repositories[0].environments.prod.regions[0]');
  });

  it('adds nothing without a policy', () => {
    const template = synth({});
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as {
      Properties: { Environment: { Variables: Record<string, unknown> } };
    }[];
    expect(functions.filter((f) => 'GITOPS_POLICY' in f.Properties.Environment.Variables)).toEqual([]);
  });
});
