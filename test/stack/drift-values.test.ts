import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { configFromContext } from '../../stack/context.ts';
import type { GitOpsProps } from '../../stack/gitops-construct.ts';
import { makeStack } from './app-fixture.ts';

/** The environment of the functions whose role matches `role` (the drift function, the drift worker). */
const envOf = (props: GitOpsProps, role: RegExp) => {
  const { stack } = makeStack(props);
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function', {
    Properties: { Role: { 'Fn::GetAtt': [Match.stringLikeRegexp(role.source), 'Arn'] } },
  });
  return Object.values(functions).map(
    (f) =>
      ((f as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }).Properties.Environment
        ?.Variables ?? {}) as Record<string, unknown>,
  );
};

describe('drift values', () => {
  it('are off by default: the drift function keeps property paths and kinds only', () => {
    const [drift] = envOf({}, /^GitOpsDriftRole/);
    expect(drift).toBeDefined();
    expect(drift?.['GITOPS_DRIFT_VALUES']).toBeUndefined();
  });

  it('driftValues: redacted reaches the drift function as GITOPS_DRIFT_VALUES', () => {
    const [drift] = envOf({ driftValues: 'redacted' }, /^GitOpsDriftRole/);
    expect(drift?.['GITOPS_DRIFT_VALUES']).toBe('redacted');
  });

  it('reads -c driftValues=redacted|off and refuses anything else, naming the key', () => {
    const ctx = (v: string) => configFromContext((k) => (k === 'driftValues' ? v : undefined)).gitops;
    expect(ctx('redacted').driftValues).toBe('redacted');
    expect(ctx('off').driftValues).toBe('off');
    expect(() => ctx('all')).toThrow("driftValues must be 'off' or 'redacted', not 'all'");
  });
});
