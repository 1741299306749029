import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, type MetricAlarm, type StateValue } from '@aws-sdk/client-cloudwatch';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudFormationApplier } from '../../shared/adapters/aws/applier-cfn.ts';
import { AwsClientFactory } from '../../shared/adapters/aws/clients.ts';
import { S3TemplateUploader } from '../../shared/adapters/aws/template-uploader.ts';
import { ApplyError } from '../../shared/errors.ts';
import {
  CHANGE_SET_ID,
  insufficientCapabilities,
  notFound,
  resourceChange,
  STACK_ID,
  stack,
  throttling,
} from './cfn-responses.ts';
import { FakeClock, rendered, SHA, stackState } from './fixtures.ts';

const cfn = mockClient(CloudFormationClient);
const cw = mockClient(CloudWatchClient);
const s3 = mockClient(S3Client);
let clock: FakeClock;

beforeEach(() => {
  cfn.reset();
  cw.reset();
  s3.reset();
  clock = new FakeClock();
});

const applier = (extra: Partial<ConstructorParameters<typeof CloudFormationApplier>[0]> = {}) =>
  new CloudFormationApplier({ clients: new AwsClientFactory({ clock }), clock, stackTimeoutMs: 60_000, ...extra });

/** A change set that is computed after one poll, with the given changes. */
function changeSetComputes(changes = [resourceChange('Add', 'Bucket', 'AWS::S3::Bucket')]) {
  cfn.on(CreateChangeSetCommand).resolves({ Id: CHANGE_SET_ID, StackId: STACK_ID });
  cfn
    .on(DescribeChangeSetCommand)
    .resolvesOnce({ Status: 'CREATE_PENDING', ExecutionStatus: 'UNAVAILABLE' })
    .resolves({ Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', StackId: STACK_ID, Changes: changes });
}

/** The stack, looked up by id after execute, goes through `statuses` in turn. */
function stackGoesThrough(...statuses: string[]) {
  const byId = cfn.on(DescribeStacksCommand, { StackName: STACK_ID });
  for (const s of statuses.slice(0, -1)) byId.resolvesOnce(stack(s));
  byId.resolves(
    stack(statuses.at(-1) as string, { Outputs: [{ OutputKey: 'BucketName', OutputValue: 'web-prod-bucket' }] }),
  );
}

const input = <T>(calls: { args: [{ input: T }] }[], i = 0) => calls[i]?.args[0].input as T;

describe('CloudFormationApplier.apply', () => {
  it.each([
    { name: 'a stack that does not exist', existing: undefined },
    { name: 'a stack left in REVIEW_IN_PROGRESS by an unexecuted create', existing: 'REVIEW_IN_PROGRESS' },
  ])('creates $name with a CREATE change set carrying the commit', async ({ existing }) => {
    const named = cfn.on(DescribeStacksCommand, { StackName: 'web-prod' });
    if (existing) named.resolves(stack(existing));
    else named.rejects(notFound('web-prod'));
    changeSetComputes();
    cfn.on(ExecuteChangeSetCommand).resolves({});
    stackGoesThrough('CREATE_IN_PROGRESS', 'CREATE_COMPLETE');

    const result = await applier().apply({
      rendered: rendered({
        capabilities: ['CAPABILITY_IAM'],
        serviceRole: 'arn:aws:iam::123456789012:role/cfn-deployer',
      }),
    });

    expect(result).toMatchObject({
      status: 'Applied',
      changes: { added: ['Bucket'], modified: [], removed: [], replaced: [] },
      outputs: { BucketName: 'web-prod-bucket' },
      changeSetId: CHANGE_SET_ID,
      stackId: STACK_ID,
    });
    const create = input<Record<string, unknown>>(cfn.commandCalls(CreateChangeSetCommand) as never);
    expect(create).toMatchObject({
      StackName: 'web-prod',
      ChangeSetType: 'CREATE',
      Parameters: [{ ParameterKey: 'Stage', ParameterValue: 'prod' }],
      Tags: [{ Key: 'team', Value: 'web' }],
      Capabilities: ['CAPABILITY_IAM'],
      RoleARN: 'arn:aws:iam::123456789012:role/cfn-deployer',
      TemplateBody: JSON.stringify(rendered().template),
    });
    expect(create['ChangeSetName']).toMatch(new RegExp(`^gitops-apply-${SHA.slice(0, 12)}-[a-z0-9]+$`));
    expect(create['DeploymentMode']).toBeUndefined();
    const execute = input<{ ClientRequestToken: string; ChangeSetName: string }>(
      cfn.commandCalls(ExecuteChangeSetCommand) as never,
    );
    expect(execute.ChangeSetName).toBe(CHANGE_SET_ID);
    expect(execute.ClientRequestToken).toContain(SHA);
    expect(execute.ClientRequestToken).toMatch(/^[a-zA-Z0-9][-a-zA-Z0-9]{0,127}$/);
  });

  it('updates an existing stack and summarises every page of the change set', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'web-prod' }).resolves(
      stack('UPDATE_ROLLBACK_COMPLETE', {
        Parameters: [{ ParameterKey: 'Stage', ParameterValue: 'staging' }],
        Tags: [{ Key: 'team', Value: 'web' }],
      }),
    );
    cfn.on(CreateChangeSetCommand).resolves({ Id: CHANGE_SET_ID, StackId: STACK_ID });
    cfn
      .on(DescribeChangeSetCommand, { ChangeSetName: CHANGE_SET_ID, StackName: 'web-prod' })
      .resolves({
        Status: 'CREATE_COMPLETE',
        StackId: STACK_ID,
        Changes: [
          resourceChange('Modify', 'Fn', 'AWS::Lambda::Function', 'True'),
          resourceChange('Modify', 'Bucket', 'AWS::S3::Bucket', 'False'),
        ],
        NextToken: 'page-2',
      })
      .on(DescribeChangeSetCommand, { NextToken: 'page-2' })
      .resolves({
        Status: 'CREATE_COMPLETE',
        Changes: [
          resourceChange('Remove', 'OldQueue', 'AWS::SQS::Queue'),
          resourceChange('Modify', 'Table', 'AWS::DynamoDB::Table', 'Conditional'),
        ],
      });
    cfn.on(ExecuteChangeSetCommand).resolves({});
    stackGoesThrough('UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');

    const result = await applier().apply({ rendered: rendered(), revertDrift: true });

    expect(result.status).toBe('Applied');
    expect(result.changes).toEqual({
      added: [],
      modified: ['Bucket'],
      removed: ['OldQueue'],
      replaced: ['Fn', 'Table'],
      parametersChanged: ['Stage'],
      tagsChanged: [],
    });
    expect(result.diffText).toContain('± Fn (AWS::Lambda::Function) replaced');
    expect(input<Record<string, unknown>>(cfn.commandCalls(CreateChangeSetCommand) as never)).toMatchObject({
      ChangeSetType: 'UPDATE',
      DeploymentMode: 'REVERT_DRIFT',
    });
  });

  it.each([
    "The submitted information didn't contain changes. Submit different information to create a change set.",
    'No updates are to be performed.',
  ])('treats a FAILED change set saying "%s" as NoChanges and deletes it', async (reason) => {
    cfn
      .on(DescribeStacksCommand, { StackName: 'web-prod' })
      .resolves(stack('UPDATE_COMPLETE', { Outputs: [{ OutputKey: 'BucketName', OutputValue: 'kept' }] }));
    cfn.on(CreateChangeSetCommand).resolves({ Id: CHANGE_SET_ID, StackId: STACK_ID });
    cfn
      .on(DescribeChangeSetCommand)
      .resolves({ Status: 'FAILED', ExecutionStatus: 'UNAVAILABLE', StatusReason: reason });
    cfn.on(DeleteChangeSetCommand).resolves({});

    const result = await applier().apply({ rendered: rendered() });

    expect(result).toMatchObject({ status: 'NoChanges', outputs: { BucketName: 'kept' }, stackId: STACK_ID });
    expect(cfn.commandCalls(DeleteChangeSetCommand).map((c) => c.args[0].input.ChangeSetName)).toEqual([CHANGE_SET_ID]);
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
  });

  it('fails a change set CloudFormation refused for another reason, and deletes it', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'web-prod' }).resolves(stack('UPDATE_COMPLETE'));
    cfn.on(CreateChangeSetCommand).resolves({ Id: CHANGE_SET_ID, StackId: STACK_ID });
    cfn.on(DescribeChangeSetCommand).resolves({
      Status: 'FAILED',
      StatusReason: 'Parameters: [Stage] must have values',
    });
    const err = await applier()
      .apply({ rendered: rendered() })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'ChangeSetFailed' });
    expect((err as Error).message).toContain('Parameters: [Stage] must have values');
    expect(cfn.commandCalls(DeleteChangeSetCommand)).toHaveLength(1);
  });

  it('deletes a ROLLBACK_COMPLETE stack and creates it again when recreateOnRollbackComplete is set', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'web-prod' }).resolves(stack('ROLLBACK_COMPLETE'));
    cfn
      .on(DescribeStacksCommand, { StackName: STACK_ID })
      .resolvesOnce(stack('DELETE_IN_PROGRESS'))
      .resolvesOnce(stack('DELETE_COMPLETE'))
      .resolves(stack('CREATE_COMPLETE'));
    cfn.on(DeleteStackCommand).resolves({});
    changeSetComputes();
    cfn.on(ExecuteChangeSetCommand).resolves({});

    const result = await applier().apply({ rendered: rendered({ recreateOnRollbackComplete: true }) });

    expect(result.status).toBe('Applied');
    expect(cfn.commandCalls(DeleteStackCommand).map((c) => c.args[0].input.StackName)).toEqual([STACK_ID]);
    expect(input<{ ChangeSetType: string }>(cfn.commandCalls(CreateChangeSetCommand) as never).ChangeSetType).toBe(
      'CREATE',
    );
  });

  it.each([
    { status: 'ROLLBACK_COMPLETE', reason: 'StackRollbackComplete', retryable: false, text: 'must be deleted' },
    {
      status: 'UPDATE_ROLLBACK_FAILED',
      reason: 'UpdateRollbackFailed',
      retryable: false,
      text: 'ContinueUpdateRollback',
    },
    { status: 'UPDATE_IN_PROGRESS', reason: 'StackBusy', retryable: true, text: 'UPDATE_IN_PROGRESS' },
    { status: 'DELETE_IN_PROGRESS', reason: 'StackBusy', retryable: true, text: 'DELETE_IN_PROGRESS' },
    { status: 'ROLLBACK_FAILED', reason: 'ApplyFailed', retryable: false, text: 'delete it' },
  ])('refuses a stack in $status with $reason and makes no change set', async ({ status, reason, retryable, text }) => {
    cfn.on(DescribeStacksCommand).resolves(stack(status, { StackStatusReason: 'Resource Bucket failed' }));
    const err = await applier()
      .apply({ rendered: rendered() })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplyError);
    expect(err).toMatchObject({ reason, retryable });
    expect((err as Error).message).toContain(text);
    expect(cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
  });

  it('backs off while CloudFormation throttles, then carries on', async () => {
    cfn
      .on(DescribeStacksCommand, { StackName: 'web-prod' })
      .rejectsOnce(throttling())
      .rejectsOnce(throttling())
      .resolves(stack('UPDATE_COMPLETE'));
    changeSetComputes();
    cfn.on(ExecuteChangeSetCommand).resolves({});
    stackGoesThrough('UPDATE_COMPLETE');

    const result = await applier().apply({ rendered: rendered() });

    expect(result.status).toBe('Applied');
    expect(cfn.commandCalls(DescribeStacksCommand, { StackName: 'web-prod' })).toHaveLength(3);
    expect(clock.sleeps.length).toBeGreaterThanOrEqual(2);
  });

  it('retries a transient CloudFormation fault itself (the SDK makes one attempt)', async () => {
    cfn
      .on(DescribeStacksCommand, { StackName: 'web-prod' })
      .rejectsOnce(
        Object.assign(new Error('We encountered an internal error. Please try again.'), {
          name: 'InternalFailure',
          $fault: 'server',
          $metadata: { httpStatusCode: 500 },
        }),
      )
      .resolves(stack('UPDATE_COMPLETE'));
    const result = await applier().health(rendered());
    expect(result.healthy).toBe(true);
    expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(2);
    expect(clock.sleeps).toHaveLength(1);
  });

  it('calls a stack cleaning up after a replacement healthy', async () => {
    cfn.on(DescribeStacksCommand).resolves(stack('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'));
    expect(await applier().health(rendered())).toEqual({
      healthy: true,
      message: 'stack web-prod is UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
    });
  });

  it('gives up with Throttled (retryable) when every try is throttled', async () => {
    cfn.on(DescribeStacksCommand).rejects(throttling());
    const err = await applier({ throttleAttempts: 4 })
      .apply({ rendered: rendered() })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'Throttled', retryable: true });
    expect((err as Error).message).toContain('Rate exceeded');
    expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(4);
  });

  it('reports missing capabilities as InsufficientCapabilities', async () => {
    cfn.on(DescribeStacksCommand).rejects(notFound('web-prod'));
    cfn.on(CreateChangeSetCommand).rejects(insufficientCapabilities());
    const err = await applier()
      .apply({ rendered: rendered() })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'InsufficientCapabilities', retryable: false });
    expect((err as Error).message).toContain('CAPABILITY_IAM');
  });

  it('stops waiting for a stack slower than the deadline with DeadlineExceeded (retryable)', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'web-prod' }).resolves(stack('UPDATE_COMPLETE'));
    changeSetComputes();
    cfn.on(ExecuteChangeSetCommand).resolves({});
    stackGoesThrough('UPDATE_IN_PROGRESS');

    const err = await applier({ stackTimeoutMs: 120_000 })
      .apply({ rendered: rendered() })
      .catch((e: unknown) => e);

    expect(err).toMatchObject({ reason: 'DeadlineExceeded', retryable: true });
    expect((err as Error).message).toContain('UPDATE_IN_PROGRESS');
    const waited = clock.sleeps.reduce((a, b) => a + b, 0);
    expect(waited).toBeGreaterThanOrEqual(120_000);
    expect(waited).toBeLessThan(150_000);
  });

  it('gives up on a change set that is never computed, deleting it (DeadlineExceeded)', async () => {
    cfn.on(DescribeStacksCommand).resolves(stack('UPDATE_COMPLETE'));
    cfn.on(CreateChangeSetCommand).resolves({ Id: CHANGE_SET_ID, StackId: STACK_ID });
    cfn.on(DescribeChangeSetCommand).resolves({ Status: 'CREATE_IN_PROGRESS', ExecutionStatus: 'UNAVAILABLE' });
    cfn.on(DeleteChangeSetCommand).resolves({});
    const err = await applier({ changeSetTimeoutMs: 30_000 })
      .apply({ rendered: rendered() })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'DeadlineExceeded', retryable: true });
    expect(cfn.commandCalls(DeleteChangeSetCommand)).toHaveLength(1);
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
  });

  it('ends at once with DeadlineExceeded when the caller aborts', async () => {
    cfn.on(DescribeStacksCommand).resolves(stack('UPDATE_COMPLETE'));
    const controller = new AbortController();
    controller.abort();
    const err = await applier()
      .apply({ rendered: rendered(), signal: controller.signal })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'DeadlineExceeded', retryable: true });
    expect(cfn.calls()).toHaveLength(0);
  });

  it('names the failing resources of this operation when the update rolls back', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'web-prod' }).resolves(stack('UPDATE_COMPLETE'));
    changeSetComputes();
    cfn.on(ExecuteChangeSetCommand).resolves({});
    stackGoesThrough('UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE');
    cfn.on(DescribeStackEventsCommand).callsFake(() => {
      const token = cfn.commandCalls(ExecuteChangeSetCommand)[0]?.args[0].input.ClientRequestToken;
      const ev = (id: string, type: string, status: string, reason: string, t: string, tok = token) => ({
        StackId: STACK_ID,
        StackName: 'web-prod',
        EventId: `${id}-${t}`,
        LogicalResourceId: id,
        ResourceType: type,
        ResourceStatus: status,
        ResourceStatusReason: reason,
        Timestamp: new Date(t),
        ClientRequestToken: tok,
      });
      return {
        StackEvents: [
          ev('web-prod', 'AWS::CloudFormation::Stack', 'UPDATE_ROLLBACK_COMPLETE', '', '2025-01-02T03:10:00Z'),
          ev(
            'web-prod',
            'AWS::CloudFormation::Stack',
            'UPDATE_ROLLBACK_IN_PROGRESS',
            'The following resource(s) failed to update: [Bucket].',
            '2025-01-02T03:09:00Z',
          ),
          ev('Queue', 'AWS::SQS::Queue', 'UPDATE_FAILED', 'Resource update cancelled', '2025-01-02T03:08:30Z'),
          ev(
            'Bucket',
            'AWS::S3::Bucket',
            'UPDATE_FAILED',
            'Resource handler returned message: "web-prod-bucket already exists"',
            '2025-01-02T03:08:00Z',
          ),
          ev('web-prod', 'AWS::CloudFormation::Stack', 'UPDATE_IN_PROGRESS', 'User Initiated', '2025-01-02T03:07:00Z'),
          ev('Topic', 'AWS::SNS::Topic', 'CREATE_FAILED', 'an older failure', '2025-01-01T00:00:00Z', 'gitops-older'),
        ],
      };
    });

    const err = await applier()
      .apply({ rendered: rendered() })
      .catch((e: unknown) => e);

    expect(err).toMatchObject({ reason: 'ChangeSetFailed', retryable: false });
    const message = (err as Error).message;
    expect(message).toContain('web-prod');
    expect(message).toContain('UPDATE_ROLLBACK_COMPLETE');
    expect(message).toContain(
      'Bucket (AWS::S3::Bucket) UPDATE_FAILED: Resource handler returned message: "web-prod-bucket already exists"',
    );
    expect(message).not.toContain('Queue');
    expect(message).not.toContain('older failure');
  });

  it('reports a rollback that failed too as UpdateRollbackFailed naming ContinueUpdateRollback', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'web-prod' }).resolves(stack('UPDATE_COMPLETE'));
    changeSetComputes();
    cfn.on(ExecuteChangeSetCommand).resolves({});
    stackGoesThrough('UPDATE_ROLLBACK_FAILED');
    cfn.on(DescribeStackEventsCommand).resolves({
      StackEvents: [
        {
          StackId: STACK_ID,
          StackName: 'web-prod',
          EventId: 'e1',
          LogicalResourceId: 'Fn',
          ResourceType: 'AWS::Lambda::Function',
          ResourceStatus: 'UPDATE_FAILED',
          ResourceStatusReason: 'Resource handler returned message: "Role not found"',
          Timestamp: new Date(),
        },
      ],
    });
    const err = await applier()
      .apply({ rendered: rendered() })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'UpdateRollbackFailed' });
    expect((err as Error).message).toMatch(/ContinueUpdateRollback/);
    expect((err as Error).message).toContain('Fn (AWS::Lambda::Function)');
  });

  it('sends a template over 51,200 bytes through S3 as TemplateURL', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"abc"' });
    cfn.on(DescribeStacksCommand, { StackName: 'web-prod' }).resolves(stack('UPDATE_COMPLETE'));
    changeSetComputes();
    cfn.on(ExecuteChangeSetCommand).resolves({});
    stackGoesThrough('UPDATE_COMPLETE');
    const big = rendered({
      template: {
        Resources: {
          Bucket: { Type: 'AWS::S3::Bucket', Properties: { Tags: [{ Key: 'pad', Value: 'x'.repeat(60_000) }] } },
        },
      },
    });
    const uploader = new S3TemplateUploader({
      bucket: 'gitops-templates',
      region: 'eu-west-1',
      client: new S3Client({ region: 'eu-west-1' }),
    });

    await applier({ uploader }).apply({ rendered: big });

    const create = input<Record<string, unknown>>(cfn.commandCalls(CreateChangeSetCommand) as never);
    expect(create['TemplateBody']).toBeUndefined();
    expect(create['TemplateURL']).toMatch(
      /^https:\/\/gitops-templates\.s3\.eu-west-1\.amazonaws\.com\/templates\/[0-9a-f]{64}\.json$/,
    );
    const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put).toMatchObject({ Bucket: 'gitops-templates', IfNoneMatch: '*', Body: JSON.stringify(big.template) });

    const without = await applier()
      .apply({ rendered: big })
      .catch((e: unknown) => e);
    expect(without).toMatchObject({ reason: 'LimitExceeded' });
  });
});

describe('CloudFormationApplier.preview', () => {
  it('creates, describes and deletes the change set without executing it', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'web-prod' }).resolves(stack('UPDATE_COMPLETE'));
    changeSetComputes([resourceChange('Modify', 'Bucket', 'AWS::S3::Bucket', 'False')]);
    cfn.on(DeleteChangeSetCommand).resolves({});

    const result = await applier().preview({ rendered: rendered() });

    expect(result.hasChanges).toBe(true);
    expect(result.changes.modified).toEqual(['Bucket']);
    expect(result.diffText).toContain('~ Bucket (AWS::S3::Bucket)');
    expect(cfn.commandCalls(DeleteChangeSetCommand)).toHaveLength(1);
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
    expect(cfn.commandCalls(DeleteStackCommand)).toHaveLength(0);
  });

  it('removes the REVIEW_IN_PROGRESS stack its CREATE change set made for a new stack', async () => {
    cfn.on(DescribeStacksCommand).rejects(notFound('web-prod'));
    changeSetComputes();
    cfn.on(DeleteChangeSetCommand).resolves({});
    cfn.on(DeleteStackCommand).resolves({});
    const result = await applier().preview({ rendered: rendered() });
    expect(result.changes.added).toEqual(['Bucket']);
    expect(cfn.commandCalls(DeleteStackCommand).map((c) => c.args[0].input.StackName)).toEqual([STACK_ID]);
  });

  it('reports no changes for an empty change set', async () => {
    cfn.on(DescribeStacksCommand).resolves(stack('UPDATE_COMPLETE'));
    cfn.on(CreateChangeSetCommand).resolves({ Id: CHANGE_SET_ID, StackId: STACK_ID });
    cfn.on(DescribeChangeSetCommand).resolves({ Status: 'FAILED', StatusReason: 'No updates are to be performed.' });
    const result = await applier().preview({ rendered: rendered() });
    expect(result.hasChanges).toBe(false);
    expect(cfn.commandCalls(DeleteChangeSetCommand)).toHaveLength(1);
  });
});

/** The tag the renderer puts on every stack of the fixture's repository. */
const OWNED = [{ Key: 'lambda-gitops:repository', Value: 'https://github.com/acme/infra' }];

describe('CloudFormationApplier.delete (prune)', () => {
  it('refuses a stack with termination protection', async () => {
    cfn.on(DescribeStacksCommand).resolves(stack('UPDATE_COMPLETE', { EnableTerminationProtection: true }));
    const err = await applier()
      .delete({ state: stackState() })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'TerminationProtected', retryable: false });
    expect((err as Error).message).toContain('web-prod');
    expect(cfn.commandCalls(DeleteStackCommand)).toHaveLength(0);
  });

  it('deletes the stack and waits for DELETE_COMPLETE', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'web-prod' }).resolves(stack('UPDATE_COMPLETE', { Tags: OWNED }));
    cfn
      .on(DescribeStacksCommand, { StackName: STACK_ID })
      .resolvesOnce(stack('DELETE_IN_PROGRESS'))
      .resolves(stack('DELETE_COMPLETE'));
    cfn.on(DeleteStackCommand).resolves({});
    await applier().delete({ state: stackState() });
    expect(cfn.commandCalls(DeleteStackCommand).map((c) => c.args[0].input.StackName)).toEqual([STACK_ID]);
    expect(cfn.commandCalls(DescribeStacksCommand, { StackName: STACK_ID })).toHaveLength(2);
  });

  it.each([
    ['tagged for another repository', [{ Key: 'lambda-gitops:repository', Value: 'https://github.com/other/infra' }]],
    ['without the repository tag', [{ Key: 'team', Value: 'web' }]],
  ])('refuses to delete a stack %s, even when the state names this repository', async (_, tags) => {
    cfn.on(DescribeStacksCommand).resolves(stack('UPDATE_COMPLETE', { Tags: tags }));
    const err = await applier()
      .delete({ state: stackState(), repo: 'https://github.com/acme/infra' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'StackOwnedElsewhere' });
    expect((err as Error).message).toContain('lambda-gitops:repository');
    expect(cfn.commandCalls(DeleteStackCommand)).toHaveLength(0);
  });

  it('refuses to change a live stack tagged for another repository', async () => {
    cfn.on(DescribeStacksCommand).resolves(
      stack('UPDATE_COMPLETE', {
        Tags: [{ Key: 'lambda-gitops:repository', Value: 'https://github.com/other/infra' }],
      }),
    );
    const err = await applier()
      .apply({ rendered: rendered() })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'StackOwnedElsewhere' });
    expect(cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
  });

  it('does nothing for a stack that is already gone', async () => {
    cfn.on(DescribeStacksCommand).rejects(notFound('web-prod'));
    await applier().delete({ state: stackState() });
    expect(cfn.commandCalls(DeleteStackCommand)).toHaveLength(0);
  });
});

describe('CloudFormationApplier.health', () => {
  const alarm = (name: string, state: string, reason = ''): MetricAlarm => ({
    AlarmName: name,
    StateValue: state as StateValue,
    StateReason: reason,
  });

  it.each([
    { name: 'all alarms OK', answers: [['OK', 'OK']], healthy: true, text: '2 alarm(s) OK' },
    {
      name: 'INSUFFICIENT_DATA then OK',
      answers: [
        ['INSUFFICIENT_DATA', 'OK'],
        ['OK', 'OK'],
      ],
      healthy: true,
      text: 'OK',
    },
    { name: 'an alarm firing', answers: [['OK', 'ALARM']], healthy: false, text: 'web-prod-5xx (Threshold Crossed' },
    {
      name: 'never OK within the deadline',
      answers: [['INSUFFICIENT_DATA', 'OK']],
      healthy: false,
      text: 'web-prod-errors (INSUFFICIENT_DATA)',
    },
  ])('$name → healthy: $healthy', async ({ answers, healthy, text }) => {
    cfn.on(DescribeStacksCommand).resolves(stack('UPDATE_COMPLETE'));
    const on = cw.on(DescribeAlarmsCommand);
    for (const [a, b] of answers.slice(0, -1)) {
      on.resolvesOnce({ MetricAlarms: [alarm('web-prod-errors', a as string), alarm('web-prod-5xx', b as string)] });
    }
    const [a, b] = answers.at(-1) as string[];
    on.resolves({
      MetricAlarms: [
        alarm('web-prod-errors', a as string),
        alarm('web-prod-5xx', b as string, 'Threshold Crossed: 3 datapoints'),
      ],
    });
    const result = await applier({ healthTimeoutMs: 60_000 }).health(
      rendered({ alarms: ['web-prod-errors', 'web-prod-5xx'] }),
    );
    expect(result.healthy).toBe(healthy);
    expect(result.message).toContain(text);
    expect(input<{ AlarmNames: string[] }>(cw.commandCalls(DescribeAlarmsCommand) as never).AlarmNames).toEqual([
      'web-prod-errors',
      'web-prod-5xx',
    ]);
  });

  it('is not healthy when the stack rolled back', async () => {
    cfn.on(DescribeStacksCommand).resolves(stack('UPDATE_ROLLBACK_COMPLETE'));
    expect(await applier().health(rendered())).toEqual({
      healthy: false,
      message: 'stack web-prod is UPDATE_ROLLBACK_COMPLETE',
    });
  });
});
