import { describe, expect, it } from 'vitest';
import { checkDrift } from '../../shared/engine/drift.ts';
import { driftValuesSetting, REDACTED, redactDriftValues, storableDrift } from '../../shared/engine/drift-values.ts';
import { sync } from '../../shared/engine/sync.ts';
import type { DriftedResource, RenderedStack } from '../../shared/model.ts';
import { exampleRepo } from './engine-fixture.ts';

const fn = (differences: DriftedResource['differences']): DriftedResource => ({
  logicalId: 'Fn',
  type: 'AWS::Lambda::Function',
  status: 'MODIFIED',
  differences,
});

const rendered = {
  template: {
    Parameters: { DbPassword: { Type: 'String', NoEcho: true }, Size: { Type: 'Number' } },
    Resources: {
      Fn: {
        Type: 'AWS::Lambda::Function',
        Properties: { MemorySize: { Ref: 'Size' }, Description: { Ref: 'DbPassword' } },
      },
    },
  },
  parameters: { DbPassword: 'correct-horse-battery', Size: '128' },
} as unknown as RenderedStack;

describe('drift values', () => {
  it('redacts environment variables, secret-like names, tokens and NoEcho values, and keeps the rest', () => {
    // Act
    const [r] = redactDriftValues(
      [
        fn([
          { path: '/Environment/Variables/API_URL', expected: 'https://a', actual: 'https://b', kind: 'NOT_EQUAL' },
          { path: '/MasterUserPassword', expected: 'x', actual: 'y', kind: 'NOT_EQUAL' },
          { path: '/Tags/0/Value', expected: 'none', actual: 'AKIAIOSFODNN7EXAMPLE', kind: 'NOT_EQUAL' },
          { path: '/Description', expected: 'correct-horse-battery', actual: 'changed', kind: 'NOT_EQUAL' },
          { path: '/Handler', expected: 'prefix correct-horse-battery', actual: 'index.h', kind: 'NOT_EQUAL' },
          { path: '/MemorySize', expected: '128', actual: '256', kind: 'NOT_EQUAL' },
        ]),
      ],
      rendered,
    );
    // Assess
    expect(r!.differences).toEqual([
      { path: '/Environment/Variables/API_URL', expected: REDACTED, actual: REDACTED, kind: 'NOT_EQUAL' },
      { path: '/MasterUserPassword', expected: REDACTED, actual: REDACTED, kind: 'NOT_EQUAL' },
      { path: '/Tags/0/Value', expected: 'none', actual: REDACTED, kind: 'NOT_EQUAL' },
      // Set from a NoEcho parameter in the template: both sides.
      { path: '/Description', expected: REDACTED, actual: REDACTED, kind: 'NOT_EQUAL' },
      { path: '/Handler', expected: REDACTED, actual: 'index.h', kind: 'NOT_EQUAL' },
      { path: '/MemorySize', expected: '128', actual: '256', kind: 'NOT_EQUAL' },
    ]);
  });

  it('keeps no values at all when the applied template cannot be read', async () => {
    const result = { resources: [fn([{ path: '/MemorySize', expected: '128', actual: '256', kind: 'NOT_EQUAL' }])] };
    const stored = await storableDrift(result, 'abc', async () => undefined);
    expect(stored.resources[0]!.differences).toEqual([{ path: '/MemorySize', kind: 'NOT_EQUAL' }]);
  });

  it('keeps redacted values of a synced stack: the applied template is read at the applied revision', async () => {
    const repo = exampleRepo();
    await sync(repo.deps, { environments: ['dev'] });
    const drifted: DriftedResource = {
      logicalId: 'Queue',
      type: 'AWS::SQS::Queue',
      status: 'MODIFIED',
      differences: [{ path: '/VisibilityTimeout', expected: '30', actual: '60', kind: 'NOT_EQUAL' }],
    };
    const deps = {
      ...repo.deps,
      drift: {
        detect: async (state: { key: string }) =>
          state.key === 'dev/queue'
            ? { status: 'Drifted' as const, resources: [drifted] }
            : { status: 'InSync' as const, resources: [] },
      },
    };
    await checkDrift(deps, { environments: ['dev'] });
    const stored = (await repo.state.getStack('dev/queue'))?.state.drift;
    expect(stored?.resources[0]?.differences).toEqual(drifted.differences);
  });

  it('is off unless the installation says "redacted", and refuses anything else by name', () => {
    expect(driftValuesSetting(undefined)).toBe(false);
    expect(driftValuesSetting('off')).toBe(false);
    expect(driftValuesSetting('redacted')).toBe(true);
    expect(() => driftValuesSetting('raw')).toThrow(/GITOPS_DRIFT_VALUES must be "redacted" or "off"/);
  });
});
