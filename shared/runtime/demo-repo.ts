import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Runs git with an identity and no user/system configuration, so the demo behaves the same on every machine. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec(
    'git',
    ['-c', 'user.name=lambda-gitops demo', '-c', 'user.email=demo@example.com', ...args],
    {
      cwd,
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' },
    },
  );
  return stdout.trim();
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * `npm start` runs on a fresh clone, where `examples/` is a folder of the project, not a repository. The demo copies
 * it into `<state>/demo/repo`, commits it, and watches that repository, so only committed state counts as it would
 * for a real one. An existing demo repository is reused with the commits made in it since.
 */
export async function prepareDemoRepo(source: string, stateDir: string): Promise<{ path: string; created: boolean }> {
  const path = resolve(stateDir, 'demo', 'repo');
  if (await exists(join(path, '.git'))) return { path, created: false };
  await mkdir(path, { recursive: true });
  await cp(resolve(source), path, { recursive: true });
  await git(path, 'init', '-q', '-b', 'main');
  await git(path, 'add', '-A');
  await git(path, 'commit', '-q', '-m', 'Import the lambda-gitops example');
  return { path, created: true };
}

/**
 * The demo's webhook secret: GITOPS_WEBHOOK_SECRET when set; otherwise one generated once and kept in
 * `<state>/demo/webhook-secret` (mode 0600) so the README's curl command can sign a delivery with it.
 */
export async function demoSecret(stateDir: string, env: NodeJS.ProcessEnv): Promise<{ secret: string; file?: string }> {
  if (env.GITOPS_WEBHOOK_SECRET) return { secret: env.GITOPS_WEBHOOK_SECRET };
  const file = resolve(stateDir, 'demo', 'webhook-secret');
  if (await exists(file)) return { secret: (await readFile(file, 'utf8')).trim(), file };
  await mkdir(resolve(stateDir, 'demo'), { recursive: true });
  const secret = randomBytes(24).toString('hex');
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return { secret, file };
}
