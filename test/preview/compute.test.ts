/**
 * computePreview on the bundled example, synced into a local state folder: what a reviewer would read, and the
 * safety rules (base configuration decides environments and roles; change sets only when asked, never for forks).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../shared/policy/load.ts';
import type { ApplyRequest } from '../../shared/ports.ts';
import { computePreview } from '../../shared/preview/compute.ts';
import { previewMarkdown } from '../../shared/preview/markdown.ts';
import type { Preview } from '../../shared/preview/types.ts';
import { gitText } from '../helpers/git-repo.ts';
import { addIamUser, type ExampleRepo, examplePolicy, renameOrdersTable, syncedExample } from './example-repo.ts';

let example: ExampleRepo;

beforeAll(async () => {
  example = await syncedExample();
}, 120_000);

async function preview(headRef: string, extra: Partial<Parameters<typeof computePreview>[1]> = {}) {
  const outcome = await computePreview(example.deps(), { baseBranch: 'main', headRef, ...extra });
  if (outcome.kind !== 'preview') throw new Error(`no preview: ${outcome.reason}`);
  return outcome.preview;
}

const byKey = (p: Preview, key: string) => p.stacks.find((s) => s.key === key);

describe('computePreview', () => {
  it('shows a replaced resource in every bound environment and only counts the unchanged stacks', async () => {
    const sha = example.branch('rename-orders', { 'templates/data.yaml': renameOrdersTable });
    const p = await preview('rename-orders');
    expect(p.head.sha).toBe(sha);
    expect(p.environments).toEqual(['dev', 'staging', 'prod']);
    expect(p.mode).toBe('offline');
    expect(p.stacks.map((s) => s.key)).toEqual(['dev/data', 'prod/data', 'staging/data']);
    expect(byKey(p, 'prod/data')).toMatchObject({ status: 'update', changes: { replaced: ['Orders'], added: [] } });
    expect(byKey(p, 'prod/data')?.diffText).toContain('TableName (requires replacement)');
    expect(p.unchanged).toBe(12);
  });

  it('reports a template error of the head with its file and line, and the other stacks go on', async () => {
    example.branch('broken', {
      'templates/queue.yaml': (t) => `${t}\n  Broken: [unclosed\n`,
      'templates/data.yaml': renameOrdersTable,
    });
    const p = await preview('broken');
    const failed = p.stacks.filter((s) => s.status === 'failed');
    expect(failed.map((s) => s.key)).toEqual(['dev/queue', 'prod/queue', 'staging/queue']);
    expect(failed[0]?.failure?.file).toBe('templates/queue.yaml');
    expect(failed[0]?.failure?.line).toBeGreaterThan(0);
    expect(byKey(p, 'dev/data')?.status).toBe('update');
  });

  it('reports a plaintext secret in the head as a secret-guard failure naming the file, never the value', async () => {
    const token = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';
    example.branch('leak', {
      'gitops.yaml': (t) => t.replace('      MemorySize: "256"\n', `      MemorySize: "256"\n      Deploy: ${token}\n`),
    });
    const p = await preview('leak');
    const failed = p.stacks.filter((s) => s.status === 'failed');
    expect(failed.map((s) => s.key)).toEqual(['dev/api', 'prod/api', 'staging/api']);
    expect(failed[0]?.failure).toMatchObject({ reason: 'PlaintextSecret' });
    expect(failed[0]?.failure?.message).toContain('gitops.yaml');
    expect(JSON.stringify(p)).not.toContain(token);
    expect(previewMarkdown(p)).not.toContain(token);
  });

  it('reports a broken gitops.yaml of the head as a configuration failure with its line', async () => {
    example.branch('bad-config', {
      'gitops.yaml': (t) => t.replace('  - name: queue\n', '  - name: queue\n    bogus: 1\n'),
    });
    const p = await preview('bad-config');
    expect(p.stacks).toEqual([]);
    expect(p.configFailure).toMatchObject({ file: 'gitops.yaml' });
    expect(p.configFailure?.line).toBeGreaterThan(0);
  });

  it('lists a stack removed from Git, kept because the base environment does not prune', async () => {
    example.branch('drop-monitoring', {
      'gitops.yaml': (t) => t.replace(/\n {2}- name: monitoring[\s\S]*$/, '\n'),
    });
    const p = await preview('drop-monitoring');
    expect(p.stacks.map((s) => [s.key, s.status, s.prune])).toEqual([
      ['dev/monitoring', 'removed', false],
      ['prod/monitoring', 'removed', false],
      ['staging/monitoring', 'removed', false],
    ]);
  });

  it('takes environments and roles from the base: a role or environment only the head names is never used', async () => {
    example.branch('widen', {
      'gitops.yaml': (t) =>
        t
          .replace('arn:aws:iam::111111111111:role/lambda-gitops-deployer', 'arn:aws:iam::999999999999:role/attacker')
          .replace(
            'environments:\n',
            'environments:\n  - name: sneaky\n    branch: main\n    role: arn:aws:iam::999999999999:role/attacker\n',
          )
          .replace(
            '  - name: queue\n    template: templates/queue.yaml\n',
            '  - name: queue\n    template: templates/queue.yaml\n    serviceRole: arn:aws:iam::999999999999:role/cfn\n',
          ),
      'templates/data.yaml': renameOrdersTable,
    });
    const seen: ApplyRequest[] = [];
    const deps = example.deps();
    const recording = {
      ...deps,
      applier: {
        ...deps.applier,
        preview: async (request: ApplyRequest) => {
          seen.push(request);
          return deps.applier.preview(request);
        },
      },
    };
    const outcome = await computePreview(recording, { baseBranch: 'main', headRef: 'widen', changeSets: true });
    if (outcome.kind !== 'preview') throw new Error('no preview');
    expect(outcome.preview.environments).toEqual(['dev', 'staging', 'prod']);
    expect(outcome.preview.stacks.some((s) => s.environment === 'sneaky')).toBe(false);
    expect(outcome.preview.mode).toBe('change-set');
    expect(seen.length).toBeGreaterThan(0);
    const roles = new Set(seen.map((r) => r.rendered.role));
    expect(roles).toEqual(new Set([undefined, 'arn:aws:iam::111111111111:role/lambda-gitops-deployer']));
    expect(seen.some((r) => r.rendered.serviceRole !== undefined)).toBe(false);
  });

  it('never asks the applier (no change set) for a fork, even with change sets on', async () => {
    example.branch('fork-head', { 'templates/data.yaml': renameOrdersTable });
    const deps = example.deps();
    let calls = 0;
    const counting = {
      ...deps,
      applier: {
        ...deps.applier,
        preview: async (request: ApplyRequest) => {
          calls += 1;
          return deps.applier.preview(request);
        },
      },
    };
    const outcome = await computePreview(counting, {
      baseBranch: 'main',
      headRef: 'fork-head',
      changeSets: true,
      fromFork: true,
    });
    expect(outcome.kind === 'preview' && outcome.preview.mode).toBe('offline');
    expect(calls).toBe(0);
  });

  it('with an installation policy, shows what it refuses as failures with file and line; without, the change', async () => {
    example.branch('against-policy', {
      'templates/data.yaml': addIamUser,
      'gitops.yaml': (t) =>
        t.replace('arn:aws:iam::111111111111:role/lambda-gitops-deployer', 'arn:aws:iam::999999999999:role/other'),
    });
    const lineOf = (file: string, text: string) =>
      gitText(example.genv, example.dir, ['show', `against-policy:${file}`])
        .split('\n')
        .indexOf(text) + 1;
    const policy = parsePolicy(examplePolicy(example.dir), 'policy.yaml');
    const outcome = await computePreview(
      { ...example.deps(), policy },
      { baseBranch: 'main', headRef: 'against-policy' },
    );
    if (outcome.kind !== 'preview') throw new Error('no preview');
    const p = outcome.preview;
    // The denied type, in the template, at the line of its Type.
    for (const key of ['dev/data', 'staging/data']) {
      expect(byKey(p, key)).toMatchObject({
        status: 'failed',
        failure: {
          reason: 'PolicyViolation',
          file: 'templates/data.yaml',
          line: lineOf('templates/data.yaml', '    Type: AWS::IAM::User'),
        },
      });
    }
    // A role the head names for prod that the policy does not allow: every prod stack, at the line of the role.
    const prod = p.stacks.filter((s) => s.environment === 'prod');
    expect(prod.map((s) => s.status)).toEqual(['failed', 'failed', 'failed', 'failed', 'failed']);
    expect(prod[0]?.failure).toMatchObject({
      reason: 'PolicyViolation',
      file: 'gitops.yaml',
      line: lineOf('gitops.yaml', '    role: arn:aws:iam::999999999999:role/other'),
    });
    expect(previewMarkdown(p)).toContain(
      `templates/data.yaml:${lineOf('templates/data.yaml', '    Type: AWS::IAM::User')}\``,
    );

    // Without a policy the same head is an ordinary change (the base's prod role is used, the head's ignored).
    const open = await preview('against-policy');
    expect(open.stacks.map((s) => [s.key, s.status])).toEqual([
      ['dev/data', 'update'],
      ['prod/data', 'update'],
      ['staging/data', 'update'],
    ]);
  });

  it('shows a stack another repository owns as failed: a sync would refuse it', async () => {
    example.branch('owned', { 'templates/data.yaml': renameOrdersTable });
    const deps = example.deps();
    const listStacks = async () =>
      (await deps.state.listStacks()).map((s) =>
        s.key === 'dev/data' ? { ...s, repo: 'https://git.example.com/other.git' } : s,
      );
    const outcome = await computePreview(
      { ...deps, state: Object.assign(Object.create(deps.state), { listStacks }) },
      { baseBranch: 'main', headRef: 'owned' },
    );
    if (outcome.kind !== 'preview') throw new Error('no preview');
    expect(byKey(outcome.preview, 'dev/data')).toMatchObject({
      status: 'failed',
      failure: { reason: 'StackOwnedElsewhere' },
    });
    expect(byKey(outcome.preview, 'staging/data')?.status).toBe('update');
  });

  it('has nothing to preview when no environment is bound to the base branch', async () => {
    example.branch('release', {});
    const outcome = await computePreview(example.deps(), { baseBranch: 'release', headRef: 'rename-orders' });
    expect(outcome).toMatchObject({ kind: 'not-bound', reason: 'no environment is bound to release' });
  });
});
