import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDrift } from '../../shared/engine/drift.ts';
import { computePlan, hasChanges } from '../../shared/engine/plan.ts';
import { sync } from '../../shared/engine/sync.ts';
import { GitOpsError } from '../../shared/errors.ts';
import { exampleRepo } from './engine-fixture.ts';

const ENVS = ['dev', 'prod', 'staging'];
const STACKS = ['api', 'data', 'monitoring', 'network', 'queue'];

describe('sync on the bundled example (3 environments, 5 stacks)', () => {
  it('applies every stack once, dependencies first, and records the head revision', async () => {
    // Prepare
    const repo = exampleRepo();
    // Act
    const report = await sync(repo.deps, {});
    // Assess
    expect(report.failed).toEqual([]);
    expect(report.results.map((r) => r.outcome)).toEqual(Array(15).fill('Applied'));
    const order = report.results.map((r) => r.key);
    for (const env of ENVS) {
      const at = (stack: string) => order.indexOf(`${env}/${stack}`);
      expect(at('api')).toBeGreaterThan(Math.max(at('network'), at('data'), at('queue')));
      expect(at('monitoring')).toBeGreaterThan(at('api'));
    }
    const states = await repo.state.listStacks();
    expect(states.map((s) => s.key).sort()).toEqual(ENVS.flatMap((e) => STACKS.map((s) => `${e}/${s}`)).sort());
    expect(new Set(states.map((s) => s.sync))).toEqual(new Set(['Synced']));
    expect(new Set(states.map((s) => s.lastApplied?.revision))).toEqual(new Set([repo.head()]));
    expect(repo.types().filter((t) => t === 'Apply Requested')).toHaveLength(15);
    expect(repo.types().filter((t) => t === 'Sync Succeeded')).toHaveLength(15);
    // the api stack got its parameters from its dependencies' outputs
    const api = states.find((s) => s.key === 'prod/api');
    expect(api?.stackName).toBe('prod-api');
    expect(api?.region).toBe('us-east-1');
  });

  it('plans nothing after a sync, and only the changed stack after a commit that touches one template', async () => {
    const repo = exampleRepo();
    await sync(repo.deps, {});
    expect(hasChanges(await computePlan(repo.deps, {}))).toBe(false);

    repo.edit('templates/queue.yaml', 'VisibilityTimeout: 30', 'VisibilityTimeout: 90', 'Longer visibility');
    repo.clearEvents();
    const plan = await computePlan(repo.deps, {});
    const changed = plan.entries.filter((e) => e.action === 'update');
    expect(changed.map((e) => e.key).sort()).toEqual(['dev/queue', 'prod/queue', 'staging/queue']);
    expect(changed[0]?.preview?.changes.modified).toEqual(['Work']);
    expect(changed[0]?.preview?.diffText).toContain('Work');

    const report = await sync(repo.deps, {});
    expect(report.results.map((r) => r.key).sort()).toEqual(['dev/queue', 'prod/queue', 'staging/queue']);
    expect(repo.types().filter((t) => t === 'Apply Requested')).toHaveLength(3);
  });

  it('never reads uncommitted edits', async () => {
    const repo = exampleRepo();
    await sync(repo.deps, {});
    const file = join(repo.dir, 'templates', 'data.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('AES256', 'aws:kms'));
    expect(hasChanges(await computePlan(repo.deps, {}))).toBe(false);
  });

  it('keeps other stacks going when one template is broken, and records the failure', async () => {
    const repo = exampleRepo();
    await sync(repo.deps, {});
    const applied = (await repo.state.getStack('dev/data'))?.state.lastApplied?.revision;
    repo.commit({ 'templates/data.yaml': 'Resources:\n  Bad: [unclosed\n' }, 'Break the data template');
    repo.edit('templates/queue.yaml', 'VisibilityTimeout: 30', 'VisibilityTimeout: 45', 'Queue change');
    repo.clearEvents();

    const report = await sync(repo.deps, {});

    expect([...report.failed].sort()).toEqual(['dev/data', 'prod/data', 'staging/data']);
    expect(
      report.results
        .filter((r) => r.outcome === 'Applied')
        .map((r) => r.key)
        .sort(),
    ).toEqual(['dev/queue', 'prod/queue', 'staging/queue']);
    const failed = repo.events.events.filter((e) => e.detailType === 'Sync Failed');
    expect(failed).toHaveLength(3);
    expect(failed[0]?.detail.message).toContain('templates/data.yaml');
    const data = (await repo.state.getStack('dev/data'))?.state;
    expect(data?.sync).toBe('Failed');
    expect(data?.lastApplied?.revision).toBe(applied);
    expect(data?.lastAttempted?.revision).toBe(repo.head());
  });

  it('does not apply an older commit after a newer one (newest wins)', async () => {
    const repo = exampleRepo();
    const first = repo.head();
    repo.edit('templates/queue.yaml', 'VisibilityTimeout: 30', 'VisibilityTimeout: 50', 'Newer');
    await sync(repo.deps, {});
    repo.clearEvents();

    const report = await sync(repo.deps, { ref: first });

    expect(report.results).toEqual([]);
    expect(
      report.plan.entries
        .filter((e) => e.action === 'superseded')
        .map((e) => e.key)
        .sort(),
    ).toEqual(['dev/queue', 'prod/queue', 'staging/queue']);
    expect(repo.types()).toEqual(['Sync Skipped', 'Sync Skipped', 'Sync Skipped']);
    expect((await repo.state.getStack('dev/queue'))?.state.lastApplied?.revision).toBe(repo.head());
  });

  it('reports a stack removed from Git once when prune is off, and deletes it when prune is on', async () => {
    const repo = exampleRepo();
    await sync(repo.deps, {});
    repo.edit(
      'gitops.yaml',
      '  - name: monitoring\n',
      '  - name: monitoring\n    environments: [dev]\n',
      'Monitoring only in dev',
    );
    repo.clearEvents();

    await sync(repo.deps, {});
    await sync(repo.deps, {});
    expect(repo.types().filter((t) => t === 'Out Of Sync')).toHaveLength(2);
    expect((await repo.state.getStack('prod/monitoring'))?.state.sync).toBe('OutOfSync');

    repo.edit('gitops.yaml', '    prune: false\n', '    prune: true\n', 'Prune by default');
    repo.clearEvents();
    const report = await sync(repo.deps, {});
    expect([...report.pruned].sort()).toEqual(['staging/monitoring']);
    expect(await repo.state.getStack('staging/monitoring')).toBeUndefined();
    // prod sets its own syncPolicy with prune: false
    expect(await repo.state.getStack('prod/monitoring')).toBeDefined();
    expect(repo.types()).toContain('Stack Pruned');
  });

  it('stops at Plan Ready when an environment is not automated, and applies on approval', async () => {
    const repo = exampleRepo();
    repo.edit(
      'gitops.yaml',
      '      automated: true\n      prune: false\n      selfHeal: true\n',
      '      automated: false\n      prune: false\n      selfHeal: true\n',
      'Manual prod',
    );
    const report = await sync(repo.deps, { environments: ['prod'] });
    expect(report.results.map((r) => r.outcome)).toEqual(Array(5).fill('PlanReady'));
    expect(repo.types().filter((t) => t === 'Plan Ready')).toHaveLength(5);
    expect((await repo.state.getStack('prod/network'))?.state.lastApplied).toBeUndefined();

    const approved = await sync(repo.deps, { environments: ['prod'], approve: true });
    expect(approved.results.map((r) => r.outcome)).toEqual(Array(5).fill('Applied'));
  });

  it('says Out Of Sync once when the branch moves without a sync', async () => {
    const repo = exampleRepo();
    await sync(repo.deps, {});
    repo.edit('deploy/network.yaml', 'SubnetBits: "8"', 'SubnetBits: "6"', 'Smaller subnets');
    repo.clearEvents();

    const first = await checkDrift(repo.deps, {});
    const second = await checkDrift(repo.deps, {});

    expect(first.outOfSync.map((o) => o.key).sort()).toEqual(['dev/network', 'prod/network', 'staging/network']);
    expect(second.outOfSync).toHaveLength(3);
    expect(repo.types().filter((t) => t === 'Out Of Sync')).toHaveLength(3);
    expect((await repo.state.getStack('dev/network'))?.state.sync).toBe('OutOfSync');
  });

  it('refuses an invalid gitops.yaml with one terminal event and no state change', async () => {
    const repo = exampleRepo();
    await sync(repo.deps, {});
    const before = JSON.stringify(await repo.state.listStacks());
    repo.edit('gitops.yaml', 'dependsOn: [api]', 'dependsOn: [apii]', 'Typo');
    repo.clearEvents();

    const error = await sync(repo.deps, {}).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(GitOpsError);
    expect((error as GitOpsError).describe()).toContain('gitops.yaml');
    expect(repo.types()).toEqual(['Sync Failed']);
    expect(JSON.stringify(await repo.state.listStacks())).toBe(before);
  });
});

describe('notification routes of gitops.yaml', () => {
  it('mark events of the environments and types they name, and only those', async () => {
    const repo = exampleRepo();
    repo.edit(
      'gitops.yaml',
      'stacks:\n',
      'notifications:\n  - events: ["Sync Failed"]\n    environments: [prod]\nstacks:\n',
      'Alert on prod failures only',
    );
    await sync(repo.deps, {});
    const succeeded = repo.events.events.filter((e) => e.detailType === 'Sync Succeeded');
    expect(succeeded).toHaveLength(15);
    expect(new Set(succeeded.map((e) => e.detail.notify))).toEqual(new Set([false]));

    repo.commit({ 'templates/queue.yaml': 'Resources:\n  Bad: !Nope x\n' }, 'Break the queue');
    repo.clearEvents();
    await sync(repo.deps, {});
    const failed = repo.events.events.filter((e) => e.detailType === 'Sync Failed');
    expect(failed.map((e) => [e.detail.environment, e.detail.notify]).sort()).toEqual([
      ['dev', false],
      ['prod', true],
      ['staging', false],
    ]);
  });
});
