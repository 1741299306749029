/**
 * The engine's plan and sync on the CloudFormation stand-in with the real CloudFormationApplier: previews CloudFormation
 * accepts (output parameters resolved, or an offline preview that says which are missing), parameters compared as
 * resolved, one change set per stack in a CLI sync, and a replacement's cleanup counted as healthy.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudFormationApplier } from '../../shared/adapters/aws/applier-cfn.ts';
import type { CloudFormationClients } from '../../shared/adapters/aws/clients.ts';
import type { EngineDeps } from '../../shared/engine/deps.ts';
import { computePlan } from '../../shared/engine/plan.ts';
import { sync } from '../../shared/engine/sync.ts';
import { FakeClock } from '../aws/fixtures.ts';
import { type CfnStandIn, startCfnStandIn } from '../helpers/cfn-standin.ts';
import { type EngineFixture, exampleRepo } from './engine-fixture.ts';

/** Clients that ignore the environment role: the stand-in answers every account alike. */
const clients: CloudFormationClients = {
  cloudFormation: (t) => new CloudFormationClient({ region: t.region }),
  cloudWatch: (t) => new CloudWatchClient({ region: t.region }),
};

let cfn: CfnStandIn;
beforeEach(() => {
  cfn = startCfnStandIn();
});
afterEach(() => cfn.restore());

function onAws(repo: EngineFixture): EngineDeps {
  return { ...repo.deps, applier: new CloudFormationApplier({ clients, clock: new FakeClock() }) };
}

const DEV_STACKS = ['dev-network', 'dev-data', 'dev-queue', 'dev-api', 'dev-monitoring'];
const count = (call: string) => cfn.calls.filter((c) => c === call).length;
/** ExecuteChangeSet names the stack by its id (`arn:…:stack/<name>/<id>`). */
const executed = (name: string) =>
  cfn.calls.filter(
    (c) => c === `ExecuteChangeSet ${name}` || (c.startsWith(`ExecuteChangeSet arn:`) && c.includes(`:stack/${name}/`)),
  ).length;

describe('previews CloudFormation accepts', () => {
  it('previews a stack fed by outputs offline while its dependencies are not applied, and says which parameters', async () => {
    const repo = exampleRepo();
    const plan = await computePlan(onAws(repo), { environments: ['dev'] });

    const api = plan.entries.find((e) => e.key === 'dev/api');
    expect(api?.action).toBe('create');
    expect(api?.preview?.pendingParameters).toEqual({
      VpcId: 'network.VpcId',
      TableName: 'data.TableName',
      QueueUrl: 'queue.QueueUrl',
    });
    expect(api?.preview?.diffText).toContain(
      'parameters from dependency, not applied yet: QueueUrl (queue.QueueUrl), TableName (data.TableName), VpcId (network.VpcId)',
    );
    expect(api?.preview?.changes.added).toContain('Handler');
    // No change set CloudFormation would refuse ("Parameters: [...] must have values") was attempted.
    expect(count('CreateChangeSet dev-api')).toBe(0);
    expect(count('CreateChangeSet dev-monitoring')).toBe(0);
    // Stacks with no output parameters got a real change set; plan removed it and the review stack again.
    expect(count('CreateChangeSet dev-network')).toBe(1);
    expect(count('DeleteChangeSet dev-network')).toBe(1);
    expect([...cfn.stacks.values()].filter((s) => s.status !== 'DELETE_COMPLETE')).toEqual([]);
    expect(plan.entries.filter((e) => e.action === 'error')).toEqual([]);
  });

  it('fills output parameters from the applied dependencies and reports only the parameter that changed', async () => {
    const repo = exampleRepo();
    const deps = onAws(repo);
    expect((await sync(deps, { environments: ['dev'] })).failed).toEqual([]);
    repo.edit('gitops.yaml', 'LogRetentionDays: "7"', 'LogRetentionDays: "10"', 'Keep dev logs 10 days');
    cfn.calls.splice(0);

    const plan = await computePlan(deps, { environments: ['dev'] });
    const api = plan.entries.find((e) => e.key === 'dev/api');
    expect(api?.action).toBe('update');
    expect(api?.preview?.pendingParameters).toBeUndefined();
    expect(api?.preview?.changes.parametersChanged).toEqual(['LogRetentionDays']);
    expect(api?.preview?.diffText).toContain('parameters: LogRetentionDays');
    expect(count('CreateChangeSet dev-api')).toBe(1);
    // The change set carried the dependencies' applied outputs.
    expect(cfn.stacks.get('dev-api')?.parameters).toMatchObject({
      VpcId: 'dev-network-VpcId',
      TableName: 'dev-data-TableName',
      QueueUrl: 'dev-queue-QueueUrl',
    });
  });
});

describe('a CLI sync on AWS', () => {
  it('creates one change set per stack, shows it, and executes that same one', async () => {
    const repo = exampleRepo();
    const deps = onAws(repo);
    const first = await sync(deps, { environments: ['dev'] });
    expect(first.failed).toEqual([]);
    for (const name of DEV_STACKS) {
      expect({ name, created: count(`CreateChangeSet ${name}`), executed: executed(name) }).toEqual({
        name,
        created: 1,
        executed: 1,
      });
      expect(count(`DeleteChangeSet ${name}`)).toBe(0);
      expect(cfn.stacks.get(name)?.status).toBe('CREATE_COMPLETE');
    }
    // What the sync showed is the change set it executed.
    const network = first.results.find((r) => r.key === 'dev/network');
    expect(network?.result?.diffText).toContain('+ Vpc (AWS::EC2::VPC)');

    repo.edit('templates/queue.yaml', 'VisibilityTimeout: 30', 'VisibilityTimeout: 90', 'Longer visibility');
    cfn.calls.splice(0);
    const second = await sync(deps, { environments: ['dev'] });
    expect(second.results.map((r) => [r.key, r.outcome])).toEqual([['dev/queue', 'Applied']]);
    expect(count('CreateChangeSet dev-queue')).toBe(1);
    expect(executed('dev-queue')).toBe(1);
    expect(count('DeleteChangeSet dev-queue')).toBe(0);
  });

  it('makes a new change set when a dependency changed its outputs after the preview, and deletes the stale one', async () => {
    const repo = exampleRepo();
    const deps = onAws(repo);
    await sync(deps, { environments: ['dev'] });
    // One commit changes the queue's QueueUrl output and the api: the api's preview saw the old URL.
    repo.edit('templates/queue.yaml', 'Value: !Ref Work', 'Value: https://sqs.example/work-v2', 'New queue URL');
    repo.edit('templates/api.yaml', 'MaxValue: 10240', 'MaxValue: 10000', 'Cap memory');
    cfn.calls.splice(0);

    const report = await sync(deps, { environments: ['dev'] });
    expect(report.failed).toEqual([]);
    expect(count('CreateChangeSet dev-api')).toBe(2);
    expect(count('DeleteChangeSet dev-api')).toBe(1);
    expect(executed('dev-api')).toBe(1);
    expect(cfn.stacks.get('dev-api')?.parameters['QueueUrl']).toBe('https://sqs.example/work-v2');
    // The queue itself needed no second change set.
    expect(count('CreateChangeSet dev-queue')).toBe(1);
  });

  it('leaves no change set or review stack behind for a stack that waits for approval', async () => {
    const repo = exampleRepo();
    repo.edit(
      'gitops.yaml',
      '  - name: dev\n    branch: main\n',
      '  - name: dev\n    branch: main\n    syncPolicy: { automated: false, prune: false, selfHeal: false }\n',
      'Dev waits for approval',
    );
    const report = await sync(onAws(repo), { environments: ['dev'] });
    expect(report.results.every((r) => r.outcome === 'PlanReady')).toBe(true);
    expect(executed('dev-network')).toBe(0);
    expect(count('DeleteChangeSet dev-network')).toBe(1);
    expect([...cfn.stacks.values()].filter((s) => s.status !== 'DELETE_COMPLETE')).toEqual([]);
  });
});

describe('health after a replacement', () => {
  it('counts UPDATE_COMPLETE_CLEANUP_IN_PROGRESS as healthy: no Health Degraded after Sync Succeeded', async () => {
    const repo = exampleRepo();
    const deps = onAws(repo);
    await sync(deps, { environments: ['dev'] });
    cfn.settleUpdatesIn('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
    repo.edit('templates/queue.yaml', 'VisibilityTimeout: 30', 'VisibilityTimeout: 90', 'Longer visibility');
    repo.clearEvents();

    const report = await sync(deps, { environments: ['dev'] });
    expect(report.results.map((r) => r.outcome)).toEqual(['Applied']);
    expect(cfn.stacks.get('dev-queue')?.status).toBe('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
    expect(repo.types()).toEqual(['Apply Requested', 'Sync Succeeded']);
    expect((await repo.state.getStack('dev/queue'))?.state.health).toBe('Healthy');
  });
});
