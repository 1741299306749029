import type { CfnTemplate, RenderedStack } from '../../shared/model.ts';

/** A RenderedStack as the renderer would produce it, with only what a test cares about overridden. */
export function rendered(overrides: Partial<RenderedStack> & { template: CfnTemplate }): RenderedStack {
  return {
    key: 'prod/web',
    stack: 'web',
    environment: 'prod',
    stackName: 'web-prod',
    region: 'eu-west-1',
    parameters: {},
    tags: {},
    capabilities: [],
    dependsOn: [],
    outputParameters: {},
    syncPolicy: { automated: true, prune: false, selfHeal: false },
    alarms: [],
    recreateOnRollbackComplete: true,
    inputs: {},
    hash: 'a'.repeat(64),
    revision: '1111111111111111111111111111111111111111',
    commit: { sha: '1111111111111111111111111111111111111111' },
    repo: 'https://example.com/acme/infra.git',
    branch: 'main',
    ...overrides,
  };
}
