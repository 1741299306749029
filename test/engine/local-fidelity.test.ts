/**
 * Local fidelity: the local target refuses what CloudFormation would refuse at create time — unknown resource types
 * and properties, missing required properties, literal values of the wrong type, failing `Rules` — with file, line,
 * resource and property, and names the transforms and macros it cannot expand.
 */
import { describe, expect, it } from 'vitest';
import { FolderSpecCheckMemo } from '../../shared/adapters/local/index.ts';
import { computePlan } from '../../shared/engine/plan.ts';
import { sync } from '../../shared/engine/sync.ts';
import { type EngineFixture, exampleRepo } from './engine-fixture.ts';

function checkedRepo(): EngineFixture {
  const repo = exampleRepo();
  return { ...repo, deps: { ...repo.deps, checkResources: true } };
}

async function syncedThenEdited(from: string, to: string, file = 'templates/queue.yaml') {
  const repo = checkedRepo();
  await sync(repo.deps, { environments: ['dev'] });
  const before = await repo.state.getStack('dev/queue');
  repo.edit(file, from, to, 'Edit');
  repo.clearEvents();
  const report = await sync(repo.deps, { environments: ['dev'] });
  const failed = repo.events.events.find((e) => e.detailType === 'Sync Failed');
  return { repo, report, failed, before, after: await repo.state.getStack('dev/queue') };
}

describe('the local target refuses what CloudFormation would refuse', () => {
  it.each([
    [
      'an unknown resource type',
      'Type: AWS::SQS::Queue\n    Properties:\n      MessageRetentionPeriod',
      'Type: AWS::SQS::Queues\n    Properties:\n      MessageRetentionPeriod',
      /templates\/queue\.yaml:5: Resources\.DeadLetters: unknown resource type AWS::SQS::Queues/,
    ],
    [
      'an unknown property, with the likely one',
      'VisibilityTimeout: 30',
      'VisibilityTimeOut: 30',
      /templates\/queue\.yaml:\d+: Resources\.Work: AWS::SQS::Queue has no property VisibilityTimeOut \(did you mean VisibilityTimeout\?\)/,
    ],
    [
      'a literal of the wrong type',
      'VisibilityTimeout: 30',
      'VisibilityTimeout: half a minute',
      /templates\/queue\.yaml:\d+: Resources\.Work: AWS::SQS::Queue\.VisibilityTimeout must be an integer, got "half a minute"/,
    ],
  ])('%s: Sync Failed with file, line, resource and property; nothing applied', async (_what, from, to, message) => {
    const { report, failed, before, after } = await syncedThenEdited(from, to);
    expect(report.failed).toEqual(['dev/queue']);
    expect(failed?.detail.reason).toBe('InvalidTemplate');
    expect(failed?.detail.message).toMatch(message);
    expect(after?.state.lastApplied).toEqual(before?.state.lastApplied);
    expect(after?.state.sync).toBe('Failed');
  });

  it('a missing required property', async () => {
    const repo = checkedRepo();
    repo.commit(
      {
        'templates/queue.yaml':
          'Resources:\n  Work: { Type: AWS::SQS::Queue }\n  Sub:\n    Type: AWS::SNS::Subscription\n    Properties:\n      Protocol: sqs\n',
      },
      'A subscription without its topic',
    );
    const plan = await computePlan(repo.deps, { environments: ['dev'], stacks: ['queue'] });
    const entry = plan.entries.find((e) => e.key === 'dev/queue');
    expect(entry?.action).toBe('error');
    expect(entry?.error?.message).toMatch(
      /templates\/queue\.yaml:6: Resources\.Sub: AWS::SNS::Subscription requires TopicArn/,
    );
    expect(entry?.error?.field).toBe('Resources.Sub.Properties');
  });

  it('a failing Rules assertion, with its description; the rule holds in another environment', async () => {
    const repo = checkedRepo();
    repo.edit(
      'templates/queue.yaml',
      'Outputs:',
      'Rules:\n  EuropeOnly:\n    Assertions:\n      - Assert: !Equals [!Ref "AWS::Region", eu-west-1]\n        AssertDescription: queues stay in eu-west-1\nOutputs:',
      'Keep queues in Europe',
    );
    const plan = await computePlan(repo.deps, { stacks: ['queue'] });
    const prod = plan.entries.find((e) => e.key === 'prod/queue'); // us-east-1
    expect(prod?.action).toBe('error');
    expect(prod?.error?.message).toMatch(/templates\/queue\.yaml:\d+: Rules\.EuropeOnly: queues stay in eu-west-1/);
    expect(plan.entries.find((e) => e.key === 'dev/queue')?.action).toBe('create');
  });

  it('names a macro it cannot expand instead of judging the template', async () => {
    const repo = checkedRepo();
    repo.edit('templates/queue.yaml', 'Resources:', 'Transform: AcmeDefaults\nResources:', 'Use our macro');
    const plan = await computePlan(repo.deps, { environments: ['dev'], stacks: ['queue'] });
    const entry = plan.entries.find((e) => e.key === 'dev/queue');
    expect(entry?.action).toBe('create');
    expect(entry?.preview?.diffText).toContain(
      'Not expanded locally: macro AcmeDefaults (expanded by CloudFormation if the account has it; not checked here)',
    );
  });

  it('remembers templates that passed, so the next process need not load the specification for them', async () => {
    const repo = checkedRepo();
    const memo = new FolderSpecCheckMemo(repo.dir);
    const deps = { ...repo.deps, specChecked: memo };
    await computePlan(deps, { environments: ['dev'], stacks: ['queue'] });
    const added: string[] = [];
    const counting = { has: memo.has.bind(memo), add: async (k: string) => void added.push(k) };
    await computePlan({ ...deps, specChecked: counting }, { environments: ['dev'], stacks: ['queue'] });
    expect(added).toEqual([]);
  });

  it('the AWS functions do not load the specification: without checkResources the same template is planned', async () => {
    const repo = exampleRepo();
    repo.edit('templates/queue.yaml', 'VisibilityTimeout: 30', 'VisibilityTimeOut: 30', 'Typo');
    const plan = await computePlan(repo.deps, { environments: ['dev'], stacks: ['queue'] });
    expect(plan.entries.find((e) => e.key === 'dev/queue')?.action).toBe('create');
  });
});
