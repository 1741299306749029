/**
 * The `gitops` command as a user runs it: a real process, a real repository (the bundled example: 3 environments,
 * 5 stacks, one of them a CloudFormation Git sync deployment file used unchanged), exit codes and what is printed.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBareRepo, createWorkRepo, git, gitText, makeGitEnv, push } from '../helpers/git-repo.ts';
import { startGitServer } from '../helpers/git-server.ts';
import { gitops } from './run-gitops.ts';

/** The parts of `render --output json` these tests read. */
/**
 * Tests that run seven or more CLI processes in a row: each starts Node, fetches, and (for the stacks a plan
 * changes) loads the CloudFormation resource specification once, about a second of CPU.
 */
const CLI_SEQUENCE_TIMEOUT_MS = 90_000;

type StackJson = {
  key: string;
  stack: string;
  parameters: Record<string, string>;
  template: {
    Resources: Record<string, { Properties: Record<string, unknown> }>;
    Parameters: Record<string, { Type: string }>;
  };
} & Record<string, unknown>;

const genv = makeGitEnv();
let repo: string;
let state: string;

function commitEdit(path: string, from: string, to: string, message: string) {
  const file = join(repo, path);
  writeFileSync(file, readFileSync(file, 'utf8').replace(from, to));
  git(genv, repo, ['commit', '-qam', message]);
}

describe('gitops CLI on the bundled example', () => {
  beforeAll(() => {
    repo = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-cli-repo-')));
    cpSync(resolve('examples'), repo, { recursive: true });
    git(genv, repo, ['add', '-A']);
    git(genv, repo, ['commit', '-qm', 'Import the example']);
    state = mkdtempSync(join(tmpdir(), 'gitops-cli-state-'));
  });

  it('renders every stack of every environment as JSON, in AWS long form', async () => {
    const run = await gitops(['render', repo, '--output', 'json']);
    expect(run.code).toBe(0);
    const stacks = JSON.parse(run.stdout) as Array<Record<string, unknown>>;
    expect(stacks).toHaveLength(15);
    const prodApi = stacks.find((s) => s.key === 'prod/api') as StackJson;
    // The IAM role is in the nested template api-role.yaml: CAPABILITY_IAM is inferred through it.
    expect(prodApi).toMatchObject({
      stackName: 'prod-api',
      region: 'us-east-1',
      capabilities: ['CAPABILITY_IAM', 'CAPABILITY_AUTO_EXPAND'],
    });
    expect(prodApi.parameters.MemorySize).toBe('1024');
    expect(prodApi.template.Resources.Handler?.Properties.Role).toEqual({
      'Fn::GetAtt': ['Roles', 'Outputs.RoleArn'],
    });
    // The local code folder and the nested template are packaged, content-addressed.
    expect(prodApi.template.Resources.Handler?.Properties.Code).toEqual({
      S3Bucket: 'lambda-gitops-local',
      S3Key: expect.stringMatching(/^artifacts\/[0-9a-f]{64}\.zip$/),
    });
    expect(prodApi.template.Resources.Roles?.Properties.TemplateURL).toMatch(
      /^https:\/\/lambda-gitops-local\.invalid\/templates\/[0-9a-f]{64}\.json$/,
    );
    expect(prodApi.revision).toBe(gitText(genv, repo, ['rev-parse', 'HEAD']));
    expect(prodApi.hash).toMatch(/^[0-9a-f]{64}$/);
    const monitoring = stacks.find((s) => s.key === 'dev/monitoring') as StackJson;
    expect(monitoring.parameters.AlertEmail).toBe('/platform/alerts/email');
    expect(monitoring.template.Parameters.AlertEmail?.Type).toBe('AWS::SSM::Parameter::Value<String>');
  });

  it('renders one Git sync deployment file directly, without gitops.yaml', async () => {
    const run = await gitops(['render', repo, '--deployment-file', 'deploy/network.yaml', '--output', 'json']);
    expect(run.code).toBe(0);
    const [network] = JSON.parse(run.stdout);
    expect(network.stack).toBe('network');
    expect(network.parameters).toEqual({ VpcCidr: '10.10.0.0/16', SubnetBits: '8' });
    // The owning repository's tag is the installation's, after the repository's own.
    expect(network.tags).toEqual({ 'cost-center': 'networking', 'lambda-gitops:repository': repo });
    expect(network.template.Resources.SubnetA.Properties.AvailabilityZone).toEqual({
      'Fn::Select': [0, { 'Fn::GetAZs': '' }],
    });
  });

  it('selects by environment and stack, and prints YAML', async () => {
    const run = await gitops(['render', repo, '--env', 'staging', '--stack', 'queue', '-o', 'yaml']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('stackName: staging-queue');
    expect(run.stdout).not.toContain('dev-queue');
  });

  it(
    'plans, syncs, reports status, and plans nothing afterwards',
    async () => {
      const before = await gitops(['plan', repo, '--state', state]);
      expect(before.code).toBe(1);
      expect(before.stdout).toContain('15 to create');

      const sync = await gitops(['sync', repo, '--state', state]);
      expect(sync.code).toBe(0);
      expect(sync.stdout).toContain('Sync complete: 15 applied');
      expect(sync.stderr).toContain('Sync Succeeded');

      const status = await gitops(['status', '--state', state, '--output', 'json']);
      const rows = JSON.parse(status.stdout) as Array<Record<string, string>>;
      expect(rows).toHaveLength(15);
      expect(new Set(rows.map((r) => r.sync))).toEqual(new Set(['Synced']));

      const human = await gitops(['status', '--state', state]);
      expect(human.stdout).toMatch(/prod\s+api\s+prod-api\s+Synced/);
      expect(human.stdout).not.toContain('\u001b[');

      const after = await gitops(['plan', repo, '--state', state]);
      expect(after.code).toBe(0);
      expect(after.stdout).toContain('15 unchanged');
    },
    CLI_SEQUENCE_TIMEOUT_MS,
  );

  it(
    'sees a committed change as drift and plan, never an uncommitted one',
    async () => {
      writeFileSync(join(repo, 'templates', 'data.yaml'), 'Resources: {}\n');
      expect((await gitops(['plan', repo, '--state', state])).code).toBe(0);
      git(genv, repo, ['checkout', '--', 'templates/data.yaml']);

      commitEdit('templates/queue.yaml', 'VisibilityTimeout: 30', 'VisibilityTimeout: 120', 'Longer visibility');
      const drift = await gitops(['drift', repo, '--state', state]);
      expect(drift.code).toBe(1);
      expect(drift.stdout).toContain('OutOfSync  dev/queue');

      const plan = await gitops(['plan', repo, '--state', state, '--env', 'dev']);
      expect(plan.code).toBe(1);
      expect(plan.stdout).toContain('VisibilityTimeout');
      expect(plan.stdout).toContain('~ dev/queue');

      const dry = await gitops(['sync', repo, '--state', state, '--dry-run']);
      expect(dry.code).toBe(0);
      expect((await gitops(['plan', repo, '--state', state])).code).toBe(1);

      expect((await gitops(['sync', repo, '--state', state, '--stack', 'queue'])).code).toBe(0);
      expect((await gitops(['drift', repo, '--state', state])).code).toBe(0);
    },
    CLI_SEQUENCE_TIMEOUT_MS,
  );

  it('exits 2 on a broken template, naming the file and the tag, and marks only that stack Failed', async () => {
    commitEdit('templates/data.yaml', 'Resources:', 'Resources:\n  Broken: !NoSuchTag x\n', 'Break it');
    const plan = await gitops(['plan', repo, '--state', state]);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain('templates/data.yaml');
    expect(plan.stderr).toContain('!NoSuchTag');
    expect(plan.stderr).not.toMatch(/^\s+at /m);

    const sync = await gitops(['sync', repo, '--state', state]);
    expect(sync.code).toBe(2);
    const status = JSON.parse((await gitops(['status', '--state', state, '-o', 'json'])).stdout) as Array<
      Record<string, string>
    >;
    expect(
      status
        .filter((r) => r.sync === 'Failed')
        .map((r) => r.key)
        .sort(),
    ).toEqual(['dev/data', 'prod/data', 'staging/data']);
    git(genv, repo, ['revert', '--no-edit', 'HEAD']);
  });

  it.each([
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['plan', '--colour'], 'unknown option --colour'],
    [['plan'], 'needs a <repo>'],
    [['render', '/nonexistent/repo'], '/nonexistent/repo'],
    [['sync', '.', '--target', 'gcp'], '--target must be local or aws'],
  ])('exits 2 with a clear message for gitops %j', async (args, message) => {
    const run = await gitops(args as string[]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it('prints the stack trace of an error only with --verbose', async () => {
    const quiet = await gitops(['render', '/nonexistent/repo']);
    const verbose = await gitops(['render', '/nonexistent/repo', '--verbose']);
    expect(quiet.stderr).not.toMatch(/^\s+at /m);
    expect(verbose.stderr).toMatch(/^\s+at /m);
  });

  it('refuses to start the local runtime without a webhook secret', async () => {
    const run = await gitops(['dev', repo, '--port', '65535', '--state', state]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('GITOPS_WEBHOOK_SECRET');
  });
});

describe('gitops CLI on a remote repository over smart HTTP', () => {
  it('fetches with the token from GITOPS_GIT_TOKEN, which appears nowhere in the output', async () => {
    const token = 'ghp_CliCanaryToken0000000000000000000000';
    const root = mkdtempSync(join(tmpdir(), 'gitops-cli-remote-'));
    const bare = createBareRepo(genv, root, 'platform');
    const work = createWorkRepo(genv, join(root, 'work'));
    cpSync(resolve('examples'), work, { recursive: true });
    git(genv, work, ['add', '-A']);
    git(genv, work, ['commit', '-qm', 'Import']);
    push(genv, work, bare);
    const server = await startGitServer({ root, auth: { username: 'x-access-token', password: token }, env: genv.env });
    try {
      const url = server.url('platform');
      const ok = await gitops(['render', url, '--stack', 'queue', '-o', 'json'], { env: { GITOPS_GIT_TOKEN: token } });
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toHaveLength(3);
      expect(ok.stdout + ok.stderr).not.toContain(token);

      const denied = await gitops(['render', url], { env: { GITOPS_GIT_TOKEN: 'wrong-token-value' } });
      expect(denied.code).toBe(2);
      expect(denied.stderr).toMatch(/auth|401|credentials/i);
      expect(denied.stderr).not.toContain('wrong-token-value');
    } finally {
      await server.close();
    }
  });
});

describe('gitops CLI progress', () => {
  it('reports the fetch and each stack on stderr for a terminal, and keeps stdout for the result', async () => {
    const { main } = await import('../../bin/cli/main.ts');
    const dir = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-cli-progress-')));
    cpSync(resolve('examples'), dir, { recursive: true });
    git(genv, dir, ['add', '-A']);
    git(genv, dir, ['commit', '-qm', 'Import']);
    let out = '';
    let err = '';
    const io = {
      out: (t: string) => {
        out += t;
      },
      err: (t: string) => {
        err += t;
      },
      color: false,
      env: {},
      progress: true,
    };

    const code = await main(
      ['sync', dir, '--env', 'dev', '--state', mkdtempSync(join(tmpdir(), 'gitops-cli-ps-'))],
      io,
    );

    expect(code).toBe(0);
    expect(err).toMatch(/fetched main at [0-9a-f]{7}/);
    expect(err).toContain('applying dev/network (dev-network)');
    expect(err.match(/^applying /gm)).toHaveLength(5);
    expect(out).not.toContain('applying');
    expect(out).toContain('Sync complete: 5 applied');
  });
});
