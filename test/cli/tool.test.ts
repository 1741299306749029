/**
 * The `gitops` command as a tool: its version, help for each command, and flags checked per command with our own
 * messages. Every case is a real process running the bundle (bin/gitops.cjs → dist/).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gitops } from './run-gitops.ts';

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

describe('gitops --version and help', () => {
  it('prints the package version and exits 0', async () => {
    const run = await gitops(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(`gitops ${version}`);
  });

  it.each(['render', 'plan', 'sync', 'status', 'drift', 'dev'])(
    'prints the options and examples of one command for `gitops %s --help` and `gitops help <it>`, exit 0',
    async (command) => {
      const flag = await gitops([command, '--help']);
      const topic = await gitops(['help', command]);
      expect(flag.code).toBe(0);
      expect(topic.code).toBe(0);
      expect(topic.stdout).toBe(flag.stdout);
      expect(flag.stdout).toContain(`Usage: gitops ${command}`);
      expect(flag.stdout).toMatch(new RegExp(`Examples:\\n  .*gitops ${command}`));
    },
  );

  it('shows each command only its own flags', async () => {
    const plan = (await gitops(['plan', '--help'])).stdout;
    const sync = (await gitops(['sync', '--help'])).stdout;
    const status = (await gitops(['status', '--help'])).stdout;
    expect(sync).toContain('--approve');
    expect(plan).not.toContain('--approve');
    expect(plan).toContain('--env NAME');
    expect(status).not.toContain('--env');
    expect(status).toContain('--web');
  });

  it('exits 0 for `gitops help` and `gitops` alone, listing the commands', async () => {
    for (const args of [['help'], [], ['--help']]) {
      const run = await gitops(args);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('gitops help <command>');
      expect(run.stdout).toMatch(/^ {2}drift <repo> /m);
    }
  });
});

describe('gitops flags, checked per command', () => {
  it.each([
    [['dev', '.', '--port', '99999'], '--port must be a TCP port from 1 to 65535, not "99999"'],
    [['dev', '.', '--port', '0'], '--port must be a TCP port from 1 to 65535, not "0"'],
    [['render', '.', '--region', 'mars-1'], '--region must be an AWS region name like eu-west-1, not "mars-1"'],
    [['render', '.', '--web'], '--web does not apply to gitops render (it is an option of status)'],
    [['render', '.', '--dry-run'], '--dry-run does not apply to gitops render (it is an option of sync)'],
    [['status', '/some/repo'], 'gitops status takes no <repo> argument, got "/some/repo"'],
    [['plan', 'a', 'b'], 'unexpected argument "b"'],
    [['plan', '.', '--stak', 'api'], 'unknown option --stak (did you mean --stack?)'],
    [['plan', '.', '--colour'], 'unknown option --colour'],
    [['plna', '.'], 'unknown command "plna" (did you mean "plan"?)'],
    [['sync', '.', '--bucket', 'b'], '--bucket applies only with --target aws'],
    [['status', '--port', '9000'], '--port applies to gitops status only with --web'],
    [['plan', '.', '--output', 'jsn'], '--output must be human, json or yaml, not "jsn" (did you mean "json"?)'],
    [['plan', '.', '--state'], '--state needs a value (DIR)'],
  ])('refuses gitops %j with our own message and exit 2', async (args, message) => {
    const run = await gitops(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`error: ${message}`);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stdout).toBe('');
  });

  it('accepts a real region and the flags of the command', async () => {
    for (const region of ['eu-west-1', 'us-gov-west-1', 'cn-north-1', 'ap-southeast-4']) {
      const run = await gitops(['render', '/nonexistent/repo', '--region', region, '--env', 'dev']);
      // The repository does not exist: the flags were accepted, and the error is about the path.
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('/nonexistent/repo');
    }
  });
});
