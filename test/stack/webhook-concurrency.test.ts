import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { configFromContext } from '../../stack/context.ts';
import { GitOps, type GitOpsProps } from '../../stack/gitops-construct.ts';
import { FIXTURE_ENTRIES, makeStack } from './app-fixture.ts';

const webhookReserved = (props: GitOpsProps) => {
  const { stack } = makeStack(props);
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function', {
    Properties: { Role: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GitOpsWebhookRole'), 'Arn'] } },
  });
  const [webhook, ...more] = Object.values(functions) as { Properties: Record<string, unknown> }[];
  expect(more).toEqual([]);
  return webhook?.Properties['ReservedConcurrentExecutions'];
};

describe('webhook reserved concurrency', () => {
  it('reserves 10 by default, so a flood of the public Function URL cannot take the account concurrency', () => {
    expect(webhookReserved({})).toBe(10);
  });

  it('takes webhookConcurrency, and reserves none with false (small accounts)', () => {
    expect(webhookReserved({ webhookConcurrency: 3 })).toBe(3);
    expect(webhookReserved({ webhookConcurrency: false })).toBeUndefined();
  });

  it('reads -c webhookConcurrency=<n|false>', () => {
    const ctx = (v: string) => configFromContext((k) => (k === 'webhookConcurrency' ? v : undefined)).gitops;
    expect(ctx('false').webhookConcurrency).toBe(false);
    expect(ctx('4').webhookConcurrency).toBe(4);
  });

  it('refuses a reservation below 1, naming it', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'LambdaGitOps', { env: { account: '123456789012', region: 'eu-west-1' } });
    expect(() => new GitOps(stack, 'GitOps', { functionEntries: FIXTURE_ENTRIES, webhookConcurrency: 0 })).toThrow(
      'webhookConcurrency 0 must be an integer >= 1, or false for no reservation',
    );
  });
});
