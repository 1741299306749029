/**
 * The installation policy and stack ownership as a user meets them: the `gitops` CLI as a process, repositories served
 * by a real `git http-backend`, the local state folder and its events. What a pusher's commit declares is checked
 * against what the installation allows, and two repositories never touch each other's stacks.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StackState } from '../../shared/model.ts';
import { gitops } from '../cli/run-gitops.ts';
import { commitFiles, createBareRepo, createWorkRepo, git, makeGitEnv, push } from '../helpers/git-repo.ts';
import { type GitServer, startGitServer } from '../helpers/git-server.ts';

const stateOf = (dir: string, key: string): StackState | undefined => {
  const file = join(dir, 'state', `${key}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as StackState) : undefined;
};
const eventsOf = (dir: string): { detailType: string; detail: Record<string, unknown> }[] => {
  const file = join(dir, 'events.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
};

const QUEUE = (timeout: number) => `Resources:
  Work:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: ${timeout}
`;
const DEV_ROLE = 'arn:aws:iam::111111111111:role/gitops-dev';
const PROD_ROLE = 'arn:aws:iam::222222222222:role/gitops-prod';

/** dev follows main, prod follows release; both in eu-west-1. */
const GITOPS = (prod = '    branch: release\n', extra = '') => `defaults:
  region: eu-west-1
environments:
  - name: dev
    branch: main
  - name: prod
${prod}stacks:
  - name: queue
    template: templates/queue.yaml
${extra}`;

const genv = makeGitEnv();
const root = mkdtempSync(join(tmpdir(), 'gitops-policy-'));
let server: GitServer;
let url: string;
let work: string;
let policyFile: string;

const policyYaml = (repo: string, extra = '') => `repositories:
  - repo: ${repo}
    environments:
      dev:
        branch: main
        regions: [eu-west-1]
        role: ${DEV_ROLE}
        accounts: ["111111111111"]
      prod:
        branch: release
        regions: [eu-west-1]
        role: ${PROD_ROLE}
        accounts: ["222222222222"]
${extra}`;

beforeAll(async () => {
  const bare = createBareRepo(genv, join(root, 'srv'), 'platform');
  work = createWorkRepo(genv, join(root, 'work'));
  commitFiles(genv, work, { 'gitops.yaml': GITOPS(), 'templates/queue.yaml': QUEUE(30) }, 'First');
  push(genv, work, bare, 'main');
  push(genv, work, bare, 'release');
  server = await startGitServer({ root: join(root, 'srv'), env: genv.env });
  url = server.url('platform');
  policyFile = join(root, 'policy.yaml');
  writeFileSync(policyFile, policyYaml(url));
}, 60_000);

afterAll(async () => {
  await server.close();
});

describe('a push to a less protected branch', () => {
  it('cannot deploy prod by dropping its branch binding', async () => {
    // A feature branch whose gitops.yaml leaves prod unbound: without a policy, that commit deploys prod.
    git(genv, work, ['checkout', '-q', '-b', 'feature']);
    commitFiles(genv, work, { 'gitops.yaml': GITOPS(''), 'templates/queue.yaml': QUEUE(5) }, 'Unbind prod');
    push(genv, work, join(root, 'srv', 'platform.git'), 'feature');

    const open = mkdtempSync(join(tmpdir(), 'gitops-policy-open-'));
    expect((await gitops(['sync', url, '--ref', 'feature', '--state', open])).code).toBe(0);
    expect(stateOf(open, 'prod/queue')?.lastApplied?.commit.message).toBe('Unbind prod');

    const guarded = mkdtempSync(join(tmpdir(), 'gitops-policy-guarded-'));
    const run = await gitops(['sync', url, '--ref', 'feature', '--state', guarded, '--policy', policyFile]);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('prod/queue');
    expect(stateOf(guarded, 'prod/queue')).toBeUndefined();
    expect(eventsOf(guarded).filter((e) => e.detailType === 'Sync Succeeded')).toEqual([]);
  });

  it('cannot bind prod to itself: PolicyViolation naming the field and the rule, nothing applied', async () => {
    commitFiles(genv, work, { 'gitops.yaml': GITOPS('    branch: feature\n') }, 'Bind prod to feature');
    push(genv, work, join(root, 'srv', 'platform.git'), 'feature');
    const state = mkdtempSync(join(tmpdir(), 'gitops-policy-bind-'));

    const run = await gitops(['sync', url, '--ref', 'feature', '--state', state], {
      env: { GITOPS_POLICY: policyFile },
    });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('environments[prod].branch');
    expect(run.stderr).toContain(`${policyFile}: repositories[0].environments.prod.branch`);
    const failed = eventsOf(state).find((e) => e.detailType === 'Sync Failed');
    expect(failed?.detail).toMatchObject({ stack: 'queue', environment: 'prod', reason: 'PolicyViolation' });
    expect(stateOf(state, 'prod/queue')?.lastApplied).toBeUndefined();
    expect(stateOf(state, 'prod/queue')?.sync).toBe('Failed');
    git(genv, work, ['checkout', '-q', 'main']);
  });
});

describe('roles', () => {
  it('a pull request head previewed with plan --ref cannot assume the role its gitops.yaml names', async () => {
    git(genv, work, ['checkout', '-q', '-b', 'pr-7']);
    const head = commitFiles(
      genv,
      work,
      { 'gitops.yaml': GITOPS('    branch: release\n    role: arn:aws:iam::999999999999:role/admin\n') },
      'Use my own role',
    );
    git(genv, work, ['push', '-q', join(root, 'srv', 'platform.git'), `HEAD:refs/pull/7/head`]);
    git(genv, work, ['checkout', '-q', 'main']);
    const state = mkdtempSync(join(tmpdir(), 'gitops-policy-pr-'));

    const plan = await gitops(['plan', url, '--ref', head, '--state', state, '--policy', policyFile, '-o', 'json']);

    expect(plan.code).toBe(2);
    const entries = (
      JSON.parse(plan.stdout) as {
        entries: { key: string; action: string; error?: { reason: string; message: string } }[];
      }
    ).entries;
    const prod = entries.find((e) => e.key === 'prod/queue');
    expect(prod?.action).toBe('error');
    expect(prod?.error?.reason).toBe('PolicyViolation');
    expect(prod?.error?.message).toContain('environments[prod].role');
    expect(prod?.error?.message).toContain('arn:aws:iam::999999999999:role/admin');
    expect(prod?.error?.message).toContain(PROD_ROLE);
  });

  it('a commit named by its SHA deploys a bound environment only when it is on that branch', async () => {
    git(genv, work, ['checkout', '-q', '-b', 'pr-8', 'main']);
    const head = commitFiles(genv, work, { 'templates/queue.yaml': QUEUE(99) }, 'Unreviewed change');
    git(genv, work, ['push', '-q', join(root, 'srv', 'platform.git'), 'HEAD:refs/pull/8/head']);
    git(genv, work, ['checkout', '-q', 'main']);
    const state = mkdtempSync(join(tmpdir(), 'gitops-policy-sha-'));

    const refused = await gitops(['sync', url, '--ref', head, '--state', state, '--policy', policyFile]);

    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('is not on branch release, the only branch that deploys "prod"');
    expect(stateOf(state, 'prod/queue')?.lastApplied).toBeUndefined();
    expect(stateOf(state, 'dev/queue')?.lastApplied).toBeUndefined();

    const release = git(genv, join(root, 'srv', 'platform.git'), ['rev-parse', 'release'])
      .toString()
      .trim();
    const reviewed = await gitops([
      'sync',
      url,
      '--ref',
      release,
      '--env',
      'prod',
      '--state',
      state,
      '--policy',
      policyFile,
    ]);
    expect(reviewed.code).toBe(0);
    expect(stateOf(state, 'prod/queue')?.lastApplied?.revision).toBe(release);
  });

  it("a commit that names no role gets the installation's", async () => {
    const state = mkdtempSync(join(tmpdir(), 'gitops-policy-role-'));
    const run = await gitops(['sync', url, '--state', state, '--policy', policyFile]);
    expect(run.code).toBe(0);
    expect(stateOf(state, 'dev/queue')?.role).toBe(DEV_ROLE);
    // prod follows release, not main.
    expect(stateOf(state, 'prod/queue')).toBeUndefined();

    const render = await gitops(['render', url, '--policy', policyFile, '-o', 'json']);
    expect(render.code).toBe(0);
    expect(JSON.parse(render.stdout)).toEqual([expect.objectContaining({ key: 'dev/queue', role: DEV_ROLE })]);
  });
});

describe('regions, capabilities and resource types', () => {
  const repoWith = (files: Record<string, string>) => {
    const dir = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-policy-repo-')));
    commitFiles(genv, dir, files, 'Import');
    return dir;
  };
  const policyFor = (repo: string, extra = '') => {
    const file = join(mkdtempSync(join(tmpdir(), 'gitops-policy-file-')), 'policy.yaml');
    writeFileSync(file, policyYaml(repo, extra));
    return file;
  };
  const IAM = `Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
`;
  const PARENT = `Resources:
  Network:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: ./nested/topic.yaml
`;
  const TOPIC = `Resources:
  Alerts:
    Type: AWS::SNS::Topic
`;
  const STACKS = `  - name: far
    template: templates/queue.yaml
    environments: [dev]
    overrides:
      dev: { region: us-west-2 }
  - name: iam
    template: templates/iam.yaml
    environments: [dev]
  - name: nested
    template: templates/parent.yaml
    environments: [dev]
`;

  it('refuse each stack that breaks a rule with PolicyViolation, and apply the others', async () => {
    const repo = repoWith({
      'gitops.yaml': GITOPS('    branch: release\n', STACKS),
      'templates/queue.yaml': QUEUE(30),
      'templates/iam.yaml': IAM,
      'templates/parent.yaml': PARENT,
      'templates/nested/topic.yaml': TOPIC,
    });
    const policy = policyFor(
      repo,
      '    capabilities: [CAPABILITY_AUTO_EXPAND]\n    resourceTypes:\n      deny: ["AWS::SNS::*"]\n',
    );
    const state = mkdtempSync(join(tmpdir(), 'gitops-policy-rules-'));

    const run = await gitops(['sync', repo, '--state', state, '--policy', policy]);

    expect(run.code).toBe(2);
    const failures = Object.fromEntries(
      eventsOf(state)
        .filter((e) => e.detailType === 'Sync Failed')
        .map((e) => [e.detail.stack, e.detail]),
    );
    expect(Object.keys(failures).sort()).toEqual(['far', 'iam', 'nested']);
    expect(failures.far).toMatchObject({ reason: 'PolicyViolation' });
    expect(failures.far?.message).toContain('region us-west-2 is not allowed');
    expect(failures.far?.message).toContain('repositories[0].environments.dev.regions');
    expect(failures.iam?.message).toContain('CAPABILITY_IAM');
    expect(failures.iam?.message).toContain('repositories[0].capabilities');
    expect(failures.nested?.message).toContain('templates/nested/topic.yaml');
    expect(failures.nested?.message).toContain('AWS::SNS::Topic is denied by "AWS::SNS::*"');
    for (const stack of ['far', 'iam', 'nested']) expect(stateOf(state, `dev/${stack}`)?.lastApplied).toBeUndefined();
    expect(stateOf(state, 'dev/queue')?.sync).toBe('Synced');
  });

  it('a repository the policy does not name deploys nothing', async () => {
    const repo = repoWith({ 'gitops.yaml': GITOPS(), 'templates/queue.yaml': QUEUE(30) });
    const state = mkdtempSync(join(tmpdir(), 'gitops-policy-unknown-'));
    const run = await gitops(['sync', repo, '--state', state, '--policy', policyFile]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('is not named in the installation policy');
    expect(stateOf(state, 'dev/queue')).toBeUndefined();
  });

  it('a bad policy file is refused with its line and field', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gitops-policy-bad-')), 'policy.yaml');
    writeFileSync(file, 'repositories:\n  - repo: x\n    environments:\n      dev: { regions: [mars-1] }\n');
    const run = await gitops(['plan', work, '--policy', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${file}:4: repositories[0].environments.dev.regions[0]`);
  });
});

describe('ownership', () => {
  const DATA = `Resources:
  Table:
    Type: AWS::SQS::Queue
`;
  const TWO = (prune: boolean, stacks: string) => `environments:
  - name: dev
    syncPolicy: { prune: ${prune} }
stacks:
${stacks}`;

  it('a second repository declaring dev/data gets StackOwnedElsewhere; the first keeps its state and its stacks', async () => {
    const first = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-owner-a-')));
    commitFiles(
      genv,
      first,
      {
        'gitops.yaml': TWO(true, '  - name: data\n    template: data.yaml\n  - name: cache\n    template: data.yaml\n'),
        'data.yaml': DATA,
      },
      'A',
    );
    const second = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-owner-b-')));
    commitFiles(
      genv,
      second,
      { 'gitops.yaml': TWO(true, '  - name: data\n    template: data.yaml\n'), 'data.yaml': DATA },
      'B',
    );
    const state = mkdtempSync(join(tmpdir(), 'gitops-owner-state-'));
    expect((await gitops(['sync', first, '--state', state])).code).toBe(0);
    const before = readFileSync(join(state, 'state', 'dev', 'data.json'), 'utf8');

    const run = await gitops(['sync', second, '--state', state]);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`dev/data belongs to repository ${first}`);
    const failed = eventsOf(state).filter((e) => e.detailType === 'Sync Failed');
    expect(failed.map((e) => e.detail.reason)).toEqual(['StackOwnedElsewhere']);
    expect(readFileSync(join(state, 'state', 'dev', 'data.json'), 'utf8')).toBe(before);

    // Prune on in the second repository: it never deletes what the first one applied.
    commitFiles(genv, second, { 'gitops.yaml': TWO(true, '  - name: other\n    template: data.yaml\n') }, 'B renames');
    expect((await gitops(['sync', second, '--state', state])).code).toBe(0);
    expect(stateOf(state, 'dev/data')?.repo).toBe(first);
    expect(stateOf(state, 'dev/cache')?.repo).toBe(first);
    expect(eventsOf(state).filter((e) => e.detailType === 'Stack Pruned')).toEqual([]);

    // The first repository still prunes its own.
    commitFiles(
      genv,
      first,
      { 'gitops.yaml': TWO(true, '  - name: data\n    template: data.yaml\n') },
      'A drops cache',
    );
    expect((await gitops(['sync', first, '--state', state])).code).toBe(0);
    expect(
      eventsOf(state)
        .filter((e) => e.detailType === 'Stack Pruned')
        .map((e) => e.detail.stack),
    ).toEqual(['cache']);
    expect(stateOf(state, 'dev/data')?.repo).toBe(first);
  });

  it('a repository cannot set the lambda-gitops:repository tag itself', async () => {
    const dir = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-owner-tag-')));
    commitFiles(
      genv,
      dir,
      {
        'gitops.yaml': `environments:\n  - name: dev\n    tags: { "lambda-gitops:repository": someone-else }\nstacks:\n  - name: data\n    template: data.yaml\n`,
        'data.yaml': DATA,
      },
      'Claim',
    );
    const run = await gitops(['render', dir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('tags.lambda-gitops:repository: the "lambda-gitops:" prefix is reserved');
  });
});

describe('identity: account, region and name', () => {
  const DEPLOY = 'template-file-path: queue.yaml\n';

  it("the operator's AWS_REGION never moves an applied stack; --region does, and the old one is reported left behind", async () => {
    const dir = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-identity-')));
    commitFiles(genv, dir, { 'deploy/queue.yaml': DEPLOY, 'queue.yaml': QUEUE(30) }, 'Zero config');
    const state = mkdtempSync(join(tmpdir(), 'gitops-identity-state-'));
    expect((await gitops(['sync', dir, '--state', state], { env: { AWS_REGION: 'us-east-1' } })).code).toBe(0);
    expect(stateOf(state, 'default/queue')?.region).toBe('us-east-1');

    commitFiles(genv, dir, { 'queue.yaml': QUEUE(45) }, 'Longer');
    const plan = await gitops(['plan', dir, '--state', state, '-o', 'json'], { env: { AWS_REGION: 'eu-west-1' } });
    const entry = (JSON.parse(plan.stdout) as { entries: { key: string; action: string; region: string }[] })
      .entries[0];
    expect(entry).toMatchObject({ key: 'default/queue', action: 'update', region: 'us-east-1' });
    expect((await gitops(['sync', dir, '--state', state], { env: { AWS_REGION: 'eu-west-1' } })).code).toBe(0);
    expect(stateOf(state, 'default/queue')?.region).toBe('us-east-1');

    // Configuration moves it: a new stack in eu-west-1, the old one Out Of Sync (zero configuration never prunes).
    const moved = await gitops(['plan', dir, '--state', state, '--region', 'eu-west-1']);
    expect(moved.stdout).toContain('moves from installation/us-east-1/queue to installation/eu-west-1/queue');
    expect((await gitops(['sync', dir, '--state', state, '--region', 'eu-west-1'])).code).toBe(0);
    const after = stateOf(state, 'default/queue');
    expect(after?.region).toBe('eu-west-1');
    expect(after?.formerStacks).toEqual([expect.objectContaining({ stackName: 'queue', region: 'us-east-1' })]);
    const left = eventsOf(state).filter((e) => e.detailType === 'Out Of Sync');
    expect(left.map((e) => [e.detail.stackName, e.detail.region])).toEqual([['queue', 'us-east-1']]);
  });

  it('a new stack name creates the new stack and, with prune on, deletes the old one', async () => {
    const dir = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-rename-')));
    const config = (name: string) =>
      `environments:\n  - name: dev\n    region: eu-west-1\n    syncPolicy: { prune: true }\nstacks:\n  - name: queue\n    template: queue.yaml\n    stackName: ${name}\n`;
    commitFiles(genv, dir, { 'gitops.yaml': config('old-queue'), 'queue.yaml': QUEUE(30) }, 'Old name');
    const state = mkdtempSync(join(tmpdir(), 'gitops-rename-state-'));
    expect((await gitops(['sync', dir, '--state', state])).code).toBe(0);

    commitFiles(genv, dir, { 'gitops.yaml': config('new-queue') }, 'New name');
    const plan = await gitops(['plan', dir, '--state', state]);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain('+ dev/queue  new-queue');
    expect((await gitops(['sync', dir, '--state', state])).code).toBe(0);

    expect(stateOf(state, 'dev/queue')).toMatchObject({ stackName: 'new-queue', sync: 'Synced' });
    expect(stateOf(state, 'dev/queue')?.formerStacks).toBeUndefined();
    const pruned = eventsOf(state).filter((e) => e.detailType === 'Stack Pruned');
    expect(pruned.map((e) => e.detail.stackName)).toEqual(['old-queue']);
  });
});

describe('gitops sync --target aws without a service role', () => {
  it('refuses, naming --service-role and --use-own-credentials', async () => {
    const run = await gitops(
      ['sync', work, '--target', 'aws', '--region', 'eu-west-1', '--bucket', 'state', '--bus', 'bus'],
      {
        env: {
          // Nothing answers here: the installation's outputs (its CfnServiceRoleArn) cannot be read.
          AWS_ENDPOINT_URL_CLOUDFORMATION: 'http://127.0.0.1:9',
          AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'example-secret',
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--service-role');
    expect(run.stderr).toContain('--use-own-credentials');
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('gitops dev under a policy', () => {
  it('the local runtime enforces the policy on every sync it runs', async () => {
    const { startDevRuntime } = await import('../../shared/runtime/dev.ts');
    const { readPolicyFile } = await import('../../shared/policy/load.ts');
    const file = join(mkdtempSync(join(tmpdir(), 'gitops-policy-dev-')), 'policy.yaml');
    // dev may deploy only to us-east-1; the repository says eu-west-1.
    writeFileSync(
      file,
      `repositories:\n  - repo: ${url}\n    environments:\n      dev: { branch: main, regions: [us-east-1] }\n`,
    );
    const stateDir = mkdtempSync(join(tmpdir(), 'gitops-policy-dev-state-'));
    const runtime = await startDevRuntime({
      repo: url,
      stateDir,
      port: 0,
      intervalMs: 3_600_000,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      out: () => undefined,
      env: { GITOPS_WEBHOOK_SECRET: 'dev-policy-test-secret' },
      policy: readPolicyFile(file),
    });
    try {
      await runtime.syncNow('test');
      const failed = runtime.events.events.find((e) => e.detailType === 'Sync Failed');
      expect(failed?.detail).toMatchObject({ stack: 'queue', environment: 'dev', reason: 'PolicyViolation' });
      expect(stateOf(stateDir, 'dev/queue')?.lastApplied).toBeUndefined();
    } finally {
      await runtime.close();
    }
  });
});
