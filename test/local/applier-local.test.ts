import { describe, expect, it } from 'vitest';
import { LocalApplier } from '../../shared/adapters/local/applier-local.ts';
import { LocalDriftDetector } from '../../shared/adapters/local/drift-local.ts';
import { ApplyError, Reason } from '../../shared/errors.ts';
import { REPOSITORY_TAG } from '../../shared/policy/ownership.ts';
import type { RenderedArtifact } from '../../shared/ports.ts';
import { rendered } from '../plan/rendered-fixture.ts';
import { stackState } from './stack-state-fixture.ts';

const template = {
  Parameters: {
    Env: { Type: 'String' },
    Size: { Type: 'String', Default: 'small' },
    Password: { Type: 'String', NoEcho: true },
  },
  Resources: {
    Logs: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'logs' } },
    Jobs: { Type: 'AWS::SQS::Queue' },
  },
  Outputs: {
    Literal: { Value: 'hello' },
    EnvName: { Value: { Ref: 'Env' } },
    SizeDefault: { Value: { Ref: 'Size' } },
    Secret: { Value: { Ref: 'Password' } },
    BucketRef: { Value: { Ref: 'Logs' } },
    QueueArn: { Value: { 'Fn::GetAtt': ['Jobs', 'Arn'] } },
    QueueUrlShort: { Value: { 'Fn::GetAtt': 'Jobs.QueueUrl' } },
    Where: { Value: { 'Fn::Sub': '${AWS::StackName} in ${AWS::Region} for ${Env}: ${Logs} ${Jobs.Arn} ${!Keep}' } },
    Joined: { Value: { 'Fn::Join': ['-', [{ Ref: 'Env' }, 'x']] } },
    Imported: { Value: { 'Fn::ImportValue': 'shared-vpc' } },
  },
};

describe('LocalApplier', () => {
  it('applies a new stack with every resource added and outputs computed locally', async () => {
    // Prepare
    const applier = new LocalApplier();
    const stack = rendered({ template, parameters: { Env: 'prod', Password: 'pw-123456' } });

    // Act
    const result = await applier.apply({ rendered: stack });

    // Assess
    expect(result.status).toBe('Applied');
    expect(result.changes.added).toEqual(['Jobs', 'Logs']);
    expect(result.outputs).toEqual({
      Literal: 'hello',
      EnvName: 'prod',
      SizeDefault: 'small',
      Secret: '****',
      BucketRef: 'web-prod-Logs',
      QueueArn: 'web-prod.Jobs.Arn',
      QueueUrlShort: 'web-prod.Jobs.QueueUrl',
      Where: 'web-prod in eu-west-1 for prod: web-prod-Logs web-prod.Jobs.Arn ${Keep}',
      Joined: 'prod-x',
      Imported: 'web-prod.Imported',
    });
    expect(result.diffText).toContain('[+] AWS::S3::Bucket Logs');
  });

  it('answers NoChanges when the previous stack is the same', async () => {
    // Prepare
    const applier = new LocalApplier();
    const stack = rendered({ template, parameters: { Env: 'prod' } });

    // Act
    const result = await applier.apply({ rendered: stack, previous: stack });

    // Assess
    expect(result.status).toBe('NoChanges');
    expect(result.outputs['EnvName']).toBe('prod');
  });

  it('previews a replacement without applying anything', async () => {
    // Prepare
    const applier = new LocalApplier();
    const previous = rendered({ template, parameters: { Env: 'prod' } });
    const next = rendered({
      template: {
        ...template,
        Resources: { ...template.Resources, Logs: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'logs-2' } } },
      },
      parameters: { Env: 'prod' },
    });

    // Act
    const preview = await applier.preview({ rendered: next, previous });

    // Assess
    expect(preview.hasChanges).toBe(true);
    expect(preview.changes.replaced).toEqual(['Logs']);
  });

  it('deletes an unprotected stack applied from the repository being synced', async () => {
    // Prepare
    const applier = new LocalApplier();
    await applier.apply({ rendered: rendered({ template, tags: { [REPOSITORY_TAG]: stackState().repo } }) });

    // Act / Assess
    await expect(applier.delete({ state: stackState() })).resolves.toBeUndefined();
  });

  it('refuses to delete a stack whose last apply names another repository', async () => {
    // Prepare
    const applier = new LocalApplier();
    await applier.apply({
      rendered: rendered({ template, tags: { [REPOSITORY_TAG]: 'https://example.com/other.git' } }),
    });

    // Act
    const error = await applier.delete({ state: stackState() }).catch((err: unknown) => err);

    // Assess
    expect((error as ApplyError).reason).toBe(Reason.StackOwnedElsewhere);
  });

  it('refuses to delete a stack tagged gitops:termination-protection=true', async () => {
    // Prepare
    const stack = rendered({ template, tags: { 'gitops:termination-protection': 'true' }, hash: 'c'.repeat(64) });
    const artifacts = new Map<string, RenderedArtifact>([[stack.hash, { hash: stack.hash, rendered: stack }]]);
    const applier = new LocalApplier({ store: { getRendered: async (hash) => artifacts.get(hash) } });
    const state = stackState({
      lastApplied: {
        revision: stack.revision,
        commit: stack.commit,
        hash: stack.hash,
        inputs: {},
        at: '2024-05-01T10:00:00.000Z',
        outputs: {},
        changes: { added: [], modified: [], removed: [], replaced: [], parametersChanged: [], tagsChanged: [] },
      },
    });

    // Act
    const error = await applier.delete({ state }).catch((err: unknown) => err);

    // Assess
    expect(error).toBeInstanceOf(ApplyError);
    expect((error as ApplyError).reason).toBe(Reason.TerminationProtected);
  });

  it('remembers protection tags of stacks it applied itself', async () => {
    // Prepare
    const applier = new LocalApplier();
    const stack = rendered({ template, tags: { 'gitops:termination-protection': 'TRUE' } });
    await applier.apply({ rendered: stack });

    // Act
    const error = await applier.delete({ state: stackState() }).catch((err: unknown) => err);

    // Assess
    expect((error as ApplyError).reason).toBe(Reason.TerminationProtected);
  });

  it('reports local stacks as healthy', async () => {
    // Act
    const health = await new LocalApplier().health(rendered({ template }));

    // Assess
    expect(health.healthy).toBe(true);
  });
});

describe('LocalDriftDetector', () => {
  it('says resource drift was not checked and why', async () => {
    // Act
    const result = await new LocalDriftDetector().detect(stackState());

    // Assess
    expect(result).toEqual({ status: 'NotChecked', resources: [], message: 'resource drift needs --target aws' });
  });
});
