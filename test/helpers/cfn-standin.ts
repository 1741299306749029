/**
 * A CloudFormation stand-in for tests that need a whole change-set lifecycle, not one scripted answer: stacks with
 * statuses, change sets computed from the template (Add / Modify / Remove, with AWS's "no changes" failure), execution,
 * outputs, termination protection and drift. Errors and statuses copy what the service returns. It plugs into
 * aws-sdk-client-mock, so the real CloudFormationApplier and drift detector run against it.
 */
import {
  type Change,
  CloudFormationClient,
  CloudFormationServiceException,
  CreateChangeSetCommand,
  type CreateChangeSetCommandInput,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStackDriftDetectionStatusCommand,
  DescribeStackEventsCommand,
  DescribeStackResourceDriftsCommand,
  DescribeStacksCommand,
  DetectStackDriftCommand,
  ExecuteChangeSetCommand,
  type StackResourceDrift,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';

interface SimStack {
  id: string;
  name: string;
  status: string;
  template?: { Resources?: Record<string, { Type: string; Properties?: unknown }>; Outputs?: Record<string, unknown> };
  parameters: Record<string, string>;
  tags: Record<string, string>;
  protected: boolean;
  drift: StackResourceDrift[];
  /** Why the last execution failed, reported through DescribeStackEvents. */
  failure?: string;
  /** Capabilities acknowledged by the last executed change set. */
  capabilities?: string[];
}

interface SimChangeSet {
  id: string;
  stack: string;
  type: 'CREATE' | 'UPDATE';
  status: 'CREATE_COMPLETE' | 'FAILED';
  reason?: string;
  changes: Change[];
  input: CreateChangeSetCommandInput;
}

export interface CfnStandIn {
  readonly stacks: Map<string, SimStack>;
  /** Every call, as `Command stackName`. */
  readonly calls: string[];
  /** Every CreateChangeSet request as sent (RoleARN, Capabilities, Tags...). */
  readonly changeSetInputs: CreateChangeSetCommandInput[];
  /** Make the next execution of this stack fail and roll back (CREATE → ROLLBACK_COMPLETE). */
  failNextExecution(stackName: string, reason: string): void;
  /** Put a stack in a status (e.g. UPDATE_IN_PROGRESS, UPDATE_ROLLBACK_FAILED). */
  setStatus(stackName: string, status: string): void;
  setDrift(stackName: string, drift: StackResourceDrift[]): void;
  /**
   * The status a successful update ends in, as DescribeStacks shows it right after: `UPDATE_COMPLETE`, or
   * `UPDATE_COMPLETE_CLEANUP_IN_PROGRESS` as after a replacement, while CloudFormation deletes the old resources.
   */
  settleUpdatesIn(status: 'UPDATE_COMPLETE' | 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'): void;
  restore(): void;
}

const validation = (message: string) =>
  new CloudFormationServiceException({
    name: 'ValidationError',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message,
  });

export function startCfnStandIn(account = '123456789012', region = 'eu-west-1'): CfnStandIn {
  const cfn = mockClient(CloudFormationClient);
  const cw = mockClient(CloudWatchClient);
  const stacks = new Map<string, SimStack>();
  const changeSets = new Map<string, SimChangeSet>();
  const failing = new Map<string, string>();
  const calls: string[] = [];
  const changeSetInputs: CreateChangeSetCommandInput[] = [];
  let seq = 0;
  let updateStatus = 'UPDATE_COMPLETE';

  const find = (nameOrId: string | undefined) =>
    [...stacks.values()].find((s) => s.name === nameOrId || s.id === nameOrId);
  const describe = (s: SimStack) => ({
    StackId: s.id,
    StackName: s.name,
    StackStatus: s.status as never,
    CreationTime: new Date('2026-11-01T00:00:00Z'),
    EnableTerminationProtection: s.protected,
    Parameters: Object.entries(s.parameters).map(([ParameterKey, ParameterValue]) => ({
      ParameterKey,
      ParameterValue,
    })),
    Tags: Object.entries(s.tags).map(([Key, Value]) => ({ Key, Value })),
    // A literal output value is given back as it is; anything computed becomes `<stack>-<output>`.
    Outputs: Object.entries(s.template?.Outputs ?? {}).map(([k, o]) => ({
      OutputKey: k,
      OutputValue:
        typeof (o as { Value?: unknown })?.Value === 'string' ? (o as { Value: string }).Value : `${s.name}-${k}`,
    })),
  });

  cfn.on(DescribeStacksCommand).callsFake((input) => {
    calls.push(`DescribeStacks ${input.StackName}`);
    const s = find(input.StackName);
    if (!s || s.status === 'DELETE_COMPLETE') throw validation(`Stack with id ${input.StackName} does not exist`);
    return { Stacks: [describe(s)] };
  });

  cfn.on(CreateChangeSetCommand).callsFake((input: CreateChangeSetCommandInput) => {
    calls.push(`CreateChangeSet ${input.StackName}`);
    changeSetInputs.push(input);
    let s = find(input.StackName);
    if (input.ChangeSetType === 'CREATE') {
      if (s && s.status !== 'REVIEW_IN_PROGRESS' && s.status !== 'DELETE_COMPLETE') {
        throw validation(
          `Stack [${input.StackName}] already exists and cannot be created again with the changeSet [${input.ChangeSetName}].`,
        );
      }
      s = {
        id: `arn:aws:cloudformation:${region}:${account}:stack/${input.StackName}/${(++seq).toString(16).padStart(8, '0')}`,
        name: input.StackName as string,
        status: 'REVIEW_IN_PROGRESS',
        parameters: {},
        tags: {},
        protected: false,
        drift: [],
      };
      stacks.set(s.name, s);
    } else if (!s) {
      throw validation(`Stack [${input.StackName}] does not exist`);
    }
    const template = JSON.parse(input.TemplateBody ?? '{}');
    const params = Object.fromEntries((input.Parameters ?? []).map((p) => [p.ParameterKey, p.ParameterValue]));
    // CloudFormation refuses a change set that leaves a parameter without a Default and without a value.
    const missing = Object.entries((template.Parameters ?? {}) as Record<string, { Default?: unknown }>)
      .filter(([name, spec]) => spec.Default === undefined && params[name] === undefined)
      .map(([name]) => name);
    if (missing.length) {
      if (input.ChangeSetType === 'CREATE' && s.status === 'REVIEW_IN_PROGRESS' && !s.template) stacks.delete(s.name);
      throw validation(`Parameters: [${missing.join(', ')}] must have values`);
    }
    const before = s.template?.Resources ?? {};
    const after = template.Resources ?? {};
    const changes: Change[] = [];
    for (const [id, r] of Object.entries(after) as [string, { Type: string }][]) {
      if (!before[id])
        changes.push({
          Type: 'Resource',
          ResourceChange: { Action: 'Add', LogicalResourceId: id, ResourceType: r.Type },
        });
      else if (JSON.stringify(before[id]) !== JSON.stringify(r))
        changes.push({
          Type: 'Resource',
          ResourceChange: { Action: 'Modify', LogicalResourceId: id, ResourceType: r.Type, Replacement: 'False' },
        });
    }
    for (const [id, r] of Object.entries(before)) {
      if (!after[id])
        changes.push({
          Type: 'Resource',
          ResourceChange: { Action: 'Remove', LogicalResourceId: id, ResourceType: r.Type },
        });
    }
    const same =
      input.ChangeSetType === 'UPDATE' &&
      changes.length === 0 &&
      JSON.stringify(s.template) === JSON.stringify(template) &&
      JSON.stringify(s.parameters) === JSON.stringify(params);
    const id = `arn:aws:cloudformation:${region}:${account}:changeSet/${input.ChangeSetName}/${(++seq).toString(16)}`;
    changeSets.set(id, {
      id,
      stack: s.name,
      type: input.ChangeSetType as 'CREATE' | 'UPDATE',
      status: same ? 'FAILED' : 'CREATE_COMPLETE',
      ...(same
        ? {
            reason:
              "The submitted information didn't contain changes. Submit different information to create a change set.",
          }
        : {}),
      changes,
      input,
    });
    return { Id: id, StackId: s.id };
  });

  const changeSet = (input: { ChangeSetName?: string; StackName?: string }) => {
    const cs =
      changeSets.get(input.ChangeSetName ?? '') ??
      [...changeSets.values()].find(
        (c) => c.input.ChangeSetName === input.ChangeSetName && c.stack === find(input.StackName)?.name,
      );
    if (!cs)
      throw new CloudFormationServiceException({
        name: 'ChangeSetNotFoundException',
        $fault: 'client',
        $metadata: {},
        message: `ChangeSet [${input.ChangeSetName}] does not exist`,
      });
    return cs;
  };

  cfn.on(DescribeChangeSetCommand).callsFake((input) => {
    calls.push(`DescribeChangeSet ${input.StackName ?? ''}`);
    const cs = changeSet(input);
    return {
      ChangeSetId: cs.id,
      ChangeSetName: cs.input.ChangeSetName,
      StackId: find(cs.stack)?.id,
      StackName: cs.stack,
      Status: cs.status,
      ExecutionStatus: cs.status === 'FAILED' ? 'UNAVAILABLE' : 'AVAILABLE',
      ...(cs.reason ? { StatusReason: cs.reason } : {}),
      Changes: cs.changes,
      Parameters: cs.input.Parameters,
    };
  });

  cfn.on(DeleteChangeSetCommand).callsFake((input) => {
    calls.push(`DeleteChangeSet ${input.StackName ?? ''}`);
    changeSets.delete(changeSet(input).id);
    return {};
  });

  cfn.on(ExecuteChangeSetCommand).callsFake((input) => {
    calls.push(`ExecuteChangeSet ${input.StackName ?? ''}`);
    const cs = changeSet(input);
    const s = find(cs.stack) as SimStack;
    const failure = failing.get(s.name);
    if (failure) {
      failing.delete(s.name);
      s.status = cs.type === 'CREATE' ? 'ROLLBACK_COMPLETE' : 'UPDATE_ROLLBACK_COMPLETE';
      s.failure = failure;
    } else {
      s.template = JSON.parse(cs.input.TemplateBody ?? '{}');
      s.parameters = Object.fromEntries(
        (cs.input.Parameters ?? []).map((p) => [p.ParameterKey as string, p.ParameterValue as string]),
      );
      s.tags = Object.fromEntries((cs.input.Tags ?? []).map((t) => [t.Key as string, t.Value as string]));
      s.capabilities = [...(cs.input.Capabilities ?? [])];
      s.status = cs.type === 'CREATE' ? 'CREATE_COMPLETE' : updateStatus;
    }
    changeSets.delete(cs.id);
    return {};
  });

  cfn.on(DescribeStackEventsCommand).callsFake((input) => {
    calls.push(`DescribeStackEvents ${input.StackName}`);
    const s = find(input.StackName);
    const failure = s?.failure;
    return {
      StackEvents: failure
        ? [
            {
              StackId: s?.id,
              StackName: s?.name,
              EventId: `e-${++seq}`,
              LogicalResourceId: 'Bucket',
              ResourceType: 'AWS::S3::Bucket',
              ResourceStatus: 'CREATE_FAILED',
              ResourceStatusReason: failure,
              Timestamp: new Date(),
            },
          ]
        : [],
    };
  });

  cfn.on(DeleteStackCommand).callsFake((input) => {
    calls.push(`DeleteStack ${input.StackName}`);
    const s = find(input.StackName);
    if (s?.protected) throw validation(`Stack [${s.name}] cannot be deleted while TerminationProtection is enabled`);
    if (s) s.status = 'DELETE_COMPLETE';
    return {};
  });

  cfn.on(DetectStackDriftCommand).callsFake((input) => {
    calls.push(`DetectStackDrift ${input.StackName}`);
    return { StackDriftDetectionId: `drift-${find(input.StackName)?.name}` };
  });
  cfn.on(DescribeStackDriftDetectionStatusCommand).callsFake((input) => {
    const name = String(input.StackDriftDetectionId).replace(/^drift-/, '');
    calls.push(`DescribeStackDriftDetectionStatus ${name}`);
    const s = find(name);
    return {
      StackId: s?.id,
      StackDriftDetectionId: input.StackDriftDetectionId,
      DetectionStatus: 'DETECTION_COMPLETE',
      StackDriftStatus: s?.drift.length ? 'DRIFTED' : 'IN_SYNC',
      DriftedStackResourceCount: s?.drift.length ?? 0,
      Timestamp: new Date(),
    };
  });
  cfn.on(DescribeStackResourceDriftsCommand).callsFake((input) => {
    calls.push(`DescribeStackResourceDrifts ${input.StackName}`);
    return { StackResourceDrifts: find(input.StackName)?.drift ?? [] };
  });

  cw.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });

  return {
    stacks,
    calls,
    changeSetInputs,
    failNextExecution: (name, reason) => failing.set(name, reason),
    setStatus: (name, status) => {
      const s = find(name);
      if (s) s.status = status;
    },
    settleUpdatesIn: (status) => {
      updateStatus = status;
    },
    setDrift: (name, drift) => {
      const s = find(name);
      if (s) s.drift = drift;
    },
    restore: () => {
      cfn.restore();
      cw.restore();
    },
  };
}
