/**
 * What `gitops plan` and `gitops sync` tell a person and a CI check: exit codes (a stack removed from Git is a
 * change), capabilities, stacks waiting for approval and the command that approves them, replacements and deletions
 * of data-holding resources in the summary line, and one result format shared with the local runtime (`gitops dev`).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { consoleLogger } from '../../shared/log.ts';
import { startDevRuntime } from '../../shared/runtime/dev.ts';
import { commitFiles, createWorkRepo, makeGitEnv } from '../helpers/git-repo.ts';
import { gitops } from './run-gitops.ts';

const GITOPS_YAML = `defaults:
  region: eu-west-1
  stackName: "{env}-{stack}"
environments:
  - name: dev
  - name: prod
    syncPolicy: { automated: false }
stacks:
  - name: app
    template: templates/app.yaml
  - name: extra
    template: templates/extra.yaml
`;

const APP = `Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{ AttributeName: pk, AttributeType: S }]
      KeySchema: [{ AttributeName: pk, KeyType: HASH }]
  Exports:
    Type: AWS::S3::Bucket
  Archive:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement: [{ Effect: Allow, Principal: { Service: lambda.amazonaws.com }, Action: sts:AssumeRole }]
`;

const genv = makeGitEnv();
let repo: string;
let state: string;

describe('gitops plan and sync output', () => {
  beforeAll(() => {
    repo = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-plan-out-')));
    commitFiles(
      genv,
      repo,
      {
        'gitops.yaml': GITOPS_YAML,
        'templates/app.yaml': APP,
        'templates/extra.yaml': 'Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n',
      },
      'Two stacks, two environments',
    );
    state = mkdtempSync(join(tmpdir(), 'gitops-plan-out-state-'));
  });

  it('plans new stacks with their capabilities and says which wait for approval', async () => {
    const plan = await gitops(['plan', repo, '--state', state]);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toMatch(
      /\+ dev\/app {2}dev-app \(eu-west-1\) {2}create at [0-9a-f]{7} \[capabilities: CAPABILITY_IAM\]/,
    );
    expect(plan.stdout).toMatch(
      /\+ prod\/app .*\[capabilities: CAPABILITY_IAM; waits for approval \(sync --approve\)\]/,
    );
    expect(plan.stdout).toContain(`2 stack(s) wait for approval: gitops sync ${repo} --state ${state} --approve`);
    const json = JSON.parse((await gitops(['plan', repo, '--state', state, '-o', 'json'])).stdout);
    expect(json.entries.find((e: { key: string }) => e.key === 'prod/app')).toMatchObject({
      capabilities: ['CAPABILITY_IAM'],
      needsApproval: true,
    });
  });

  it('syncs what is automated, reports new stacks as created, and tells how to approve the rest', async () => {
    const sync = await gitops(['sync', repo, '--state', state]);
    expect(sync.code).toBe(0);
    expect(sync.stdout).toContain('  Applied    dev/app → dev-app: created with 4 resources');
    expect(sync.stdout).not.toContain('parameters changed');
    expect(sync.stdout).toContain(
      `  PlanReady  prod/app → prod-app: waiting for approval (syncPolicy.automated is false): gitops sync ${repo} --state ${state} --approve --env prod --stack app`,
    );
    expect(sync.stdout).toContain(
      `Sync complete: 2 applied, 0 unchanged, 0 deleted, 2 waiting for approval (approve with: gitops sync ${repo} --state ${state} --approve)`,
    );
    const approved = await gitops(['sync', repo, '--state', state, '--approve', '--env', 'prod']);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain('Sync complete: 2 applied');
    expect((await gitops(['plan', repo, '--state', state])).code).toBe(0);
  });

  it('flags a replaced table and a deleted bucket in the summary line, not a retained one', async () => {
    commitFiles(
      genv,
      repo,
      {
        'templates/app.yaml': APP.replace(/AttributeName: pk/g, 'AttributeName: id').replace(
          / {2}Exports:\n {4}Type: AWS::S3::Bucket\n {2}Archive:\n {4}Type: AWS::S3::Bucket\n {4}DeletionPolicy: Retain\n/,
          '',
        ),
      },
      'New table key; no export or archive buckets',
    );
    const plan = await gitops(['plan', repo, '--state', state, '--env', 'dev']);
    expect(plan.code).toBe(1);
    const summary = plan.stdout.split('\n').find((l) => l.startsWith('Plan:'));
    expect(summary).toBe(
      'Plan: 0 to create, 1 to update, 0 to delete, 0 removed from Git (kept), 1 unchanged — WARNING: ' +
        '1 replaced (dev/app Orders AWS::DynamoDB::Table, stateful), 1 stateful deletion (dev/app Exports AWS::S3::Bucket)',
    );
    const sync = await gitops(['sync', repo, '--state', state, '--env', 'dev']);
    expect(sync.stdout).toContain(
      'Applied    dev/app → dev-app: 1 replaced, 2 removed — WARNING: replaced Orders AWS::DynamoDB::Table, deleted Exports AWS::S3::Bucket',
    );
  });

  it('exits 1 when a stack was removed from Git, though prune is off and nothing is deleted', async () => {
    commitFiles(genv, repo, { 'gitops.yaml': GITOPS_YAML.replace(/ {2}- name: extra\n.*\n/, '') }, 'Drop extra');
    const plan = await gitops(['plan', repo, '--state', state, '--env', 'dev']);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toMatch(
      /\? dev\/extra .*removed from Git at [0-9a-f]{7}: not deleted because syncPolicy.prune is off/,
    );
    expect(plan.stdout).toContain('1 removed from Git (kept)');
  });

  it('prints the same result lines for gitops sync and the local runtime', async () => {
    const fresh = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-plan-out-dev-')));
    commitFiles(
      genv,
      fresh,
      { 'gitops.yaml': GITOPS_YAML, 'templates/app.yaml': APP, 'templates/extra.yaml': APP },
      'Import',
    );
    const cli = await gitops(['sync', fresh, '--state', mkdtempSync(join(tmpdir(), 'gitops-plan-out-s1-'))]);
    const printed: string[] = [];
    const devState = mkdtempSync(join(tmpdir(), 'gitops-plan-out-s2-'));
    const runtime = await startDevRuntime({
      repo: fresh,
      stateDir: devState,
      port: 0,
      intervalMs: 3_600_000,
      logger: consoleLogger({ level: 'error', stream: { write: () => {} } }),
      out: (t) => printed.push(t),
      env: { GITOPS_WEBHOOK_SECRET: 'plan-output-test-secret' },
    });
    try {
      await runtime.idle();
    } finally {
      await runtime.close();
    }
    const dev = printed.join('');
    const resultLines = (text: string) =>
      text.split('\n').filter((l) => /^ {2}(Applied|PlanReady|Failed|Deleted) /.test(l));
    expect(resultLines(cli.stdout)).toHaveLength(4);
    expect(resultLines(dev.replaceAll(devState, 'STATE')).sort()).toEqual(
      resultLines(cli.stdout.replace(/--state \S+/g, '--state STATE')).sort(),
    );
    const totals = (text: string) => text.split('\n').find((l) => l.startsWith('Sync complete:'));
    expect(totals(dev)).toBe(
      'Sync complete: 2 applied, 0 unchanged, 0 deleted, 2 waiting for approval (approve with: gitops sync ' +
        `${fresh} --state ${devState} --approve)`,
    );
    expect(totals(cli.stdout)?.replace(/--state \S+/, '')).toBe(totals(dev)?.replace(/--state \S+/, ''));
  });
});
