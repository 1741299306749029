/** Capabilities declared in gitops.yaml and inferred through nested templates in the repository. */
import { describe, expect, it } from 'vitest';
import { capabilityAdvice } from '../../shared/adapters/aws/applier-cfn.ts';
import { loadRepoConfig } from '../../shared/config/load.ts';
import type { GitOpsError } from '../../shared/errors.ts';
import type { GitOpsEvent } from '../../shared/events/catalog.ts';
import type { RenderedStack } from '../../shared/model.ts';
import { advice } from '../../shared/notify/describe.ts';
import { type RenderOptions, renderStacks } from '../../shared/render/render.ts';
import { gitBlobOid, type MemoryFile, memorySnapshot } from '../config/memory-snapshot.ts';

const PARENT = `Resources:
  Network:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: ./nested/network.yaml
  Bucket: { Type: AWS::S3::Bucket }
`;
const NETWORK = `Resources:
  Vpc: { Type: AWS::EC2::VPC, Properties: { CidrBlock: 10.0.0.0/16 } }
  Roles:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: ../../../shared/roles.yaml
`;
const ROLES = `Resources:
  FlowLogsRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: { Statement: [] }
`;
const GITOPS = `environments:
  - name: dev
    region: eu-west-1
  - name: prod
    region: eu-west-1
    capabilities: [CAPABILITY_AUTO_EXPAND]
stacks:
  - name: app
    template: stacks/app/main.yaml
  - name: plain
    template: stacks/plain.yaml
    capabilities: [CAPABILITY_IAM]
    overrides:
      prod: { capabilities: [CAPABILITY_NAMED_IAM] }
`;
const FILES: Record<string, MemoryFile> = {
  'gitops.yaml': GITOPS,
  'stacks/app/main.yaml': PARENT,
  'stacks/app/nested/network.yaml': NETWORK,
  'shared/roles.yaml': ROLES,
  'stacks/plain.yaml': 'Resources:\n  Topic: { Type: AWS::SNS::Topic }\n',
};

async function render(files: Record<string, MemoryFile>, options: RenderOptions = {}) {
  const snapshot = memorySnapshot(files);
  const config = await loadRepoConfig(snapshot, { defaultRegion: 'eu-central-1' });
  return renderStacks(snapshot, config, options);
}

const byKey = (rendered: readonly RenderedStack[], key: string) => rendered.find((r) => r.key === key);

describe('capabilities', () => {
  it('are inferred through nested templates: an IAM role two levels down gives CAPABILITY_IAM', async () => {
    const { rendered, errors } = await render(FILES);
    expect(errors).toEqual([]);
    expect(byKey(rendered, 'dev/app')?.capabilities).toEqual(['CAPABILITY_IAM', 'CAPABILITY_AUTO_EXPAND']);
    // Every nested template read is an input of the stack.
    expect(byKey(rendered, 'dev/app')?.inputs).toEqual({
      'gitops.yaml': gitBlobOid(GITOPS),
      'stacks/app/main.yaml': gitBlobOid(PARENT),
      'stacks/app/nested/network.yaml': gitBlobOid(NETWORK),
      'shared/roles.yaml': gitBlobOid(ROLES),
    });
  });

  it('declared on the stack, its override and the environment are added to the inferred ones', async () => {
    const { rendered } = await render(FILES);
    expect(byKey(rendered, 'dev/plain')?.capabilities).toEqual(['CAPABILITY_IAM']);
    // NAMED_IAM includes IAM; the environment adds AUTO_EXPAND.
    expect(byKey(rendered, 'prod/plain')?.capabilities).toEqual(['CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND']);
  });

  it('re-renders a stack when only a nested template changed, and not when nothing did', async () => {
    const first = await render(FILES);
    const app = byKey(first.rendered, 'dev/app') as RenderedStack;
    const previous = (key: string) => (key === 'dev/app' ? { inputs: { ...app.inputs }, hash: app.hash } : undefined);
    const again = await render(FILES, { environments: ['dev'], stacks: ['app'], previous });
    expect(again.unchanged).toEqual(['dev/app']);

    const changed = await render(
      { ...FILES, 'shared/roles.yaml': ROLES.replace('FlowLogsRole:', 'FlowLogsRole2:') },
      { environments: ['dev'], stacks: ['app'], previous },
    );
    expect(changed.unchanged).toEqual([]);
    expect(changed.rendered.map((r) => r.key)).toEqual(['dev/app']);
  });

  it('refuses an unknown capability in gitops.yaml, naming the field', async () => {
    const err = await render({
      ...FILES,
      'gitops.yaml': GITOPS.replace('capabilities: [CAPABILITY_IAM]', 'capabilities: [CAPABILITY_ADMIN]'),
    }).catch((e: unknown) => e as GitOpsError);
    expect((err as GitOpsError).reason).toBe('InvalidConfig');
    expect((err as GitOpsError).message).toMatch(/gitops\.yaml:\d+.*stacks\[1\]\.capabilities\[0\]/);
  });

  it.each([
    ['a nested template that leaves the repository', '../../../outside.yaml', /leaves the repository/],
    ['a missing nested template', './nested/missing.yaml', /missing\.yaml/],
  ])('refuses %s, naming the template and the property', async (_what, url, message) => {
    const { errors } = await render({ ...FILES, 'stacks/app/main.yaml': PARENT.replace('./nested/network.yaml', url) });
    expect(errors.map((e) => e.key)).toEqual(['dev/app', 'prod/app']);
    expect(errors[0]?.error.message).toMatch(message);
    expect(errors[0]?.error.message).toContain('stacks/app/main.yaml');
    expect(errors[0]?.error.message).toContain('Resources.Network.Properties.TemplateURL');
  });

  it('refuses nested templates that include each other', async () => {
    const { errors } = await render({
      ...FILES,
      'shared/roles.yaml': `${ROLES}  Back:\n    Type: AWS::CloudFormation::Stack\n    Properties: { TemplateURL: ../stacks/app/main.yaml }\n`,
    });
    expect(errors[0]?.error.message).toContain(
      'stacks/app/main.yaml → stacks/app/nested/network.yaml → shared/roles.yaml → stacks/app/main.yaml, a cycle',
    );
  });

  it('gives advice that names the gitops.yaml field when CloudFormation still asks for one', () => {
    expect(capabilityAdvice('Requires capabilities : [CAPABILITY_NAMED_IAM]')).toContain(
      '"capabilities: [CAPABILITY_NAMED_IAM]" on the stack (stacks[].capabilities), on overrides.<env>, or on the environment',
    );
    const event = {
      detailType: 'Sync Failed',
      detail: { reason: 'InsufficientCapabilities', stack: 'app', stackName: 'app-dev' },
    } as unknown as GitOpsEvent;
    expect(advice(event)).toContain(
      'capabilities: [CAPABILITY_…] on the stack, its overrides.<env>, or the environment',
    );
  });
});
