/**
 * Makes real Git repositories with the `git` CLI for tests and benchmarks. Every call runs with a private HOME and
 * no system config, so the developer's own settings (signing, hooks, default branch, credential helpers) never leak
 * into a fixture.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface GitEnv {
  /** A throwaway HOME (and GNUPGHOME parent) for this set of repositories. */
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
}

export function makeGitEnv(home = mkdtempSync(join(tmpdir(), 'gitops-home-'))): GitEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: join(home, '.gitconfig'),
    GIT_TERMINAL_PROMPT: '0',
    GNUPGHOME: join(home, '.gnupg'),
    LANG: 'C',
  };
  return { home, env };
}

/**
 * Stops the gpg-agent that gpg started for this environment's GNUPGHOME, if any: every gpg call that touches keys
 * starts one as a daemon, and it outlives the test run unless stopped (one per temporary home). Call in teardown.
 * An agent still coming up (gpg spawns it in the background) can miss the first kill, so this checks and kills again.
 */
export function stopGpgAgent(genv: GitEnv): void {
  const home = genv.env['GNUPGHOME'];
  if (!home || !existsSync(home)) return;
  for (let attempt = 0; attempt < 20; attempt++) {
    spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { env: genv.env, stdio: 'ignore' });
    if (gpgAgentPids(home).length === 0) return;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
}

/** The gpg-agent processes serving `home` (a GNUPGHOME). */
export function gpgAgentPids(home: string): string[] {
  const found = spawnSync('pgrep', ['-f', `gpg-agent --homedir ${home} `], { encoding: 'utf8' });
  return found.stdout.split('\n').filter(Boolean);
}

const identity = ['-c', 'user.name=Test Author', '-c', 'user.email=author@example.com', '-c', 'commit.gpgsign=false'];

/** Runs git and returns stdout; throws with git's stderr when it fails. */
export function git(genv: GitEnv, cwd: string, args: readonly string[], input?: string | Buffer): Buffer {
  const res = spawnSync('git', [...identity, ...args], {
    cwd,
    env: genv.env,
    input,
    maxBuffer: 1024 * 1024 * 1024,
  });
  if (res.status !== 0) {
    throw new Error(`git ${args.join(' ')} failed (${res.status}): ${res.stderr?.toString() ?? res.error}`);
  }
  return res.stdout;
}

export function gitText(genv: GitEnv, cwd: string, args: readonly string[], input?: string | Buffer): string {
  return git(genv, cwd, args, input).toString('utf8').trim();
}

/** Creates an empty bare repository `<root>/<name>.git` whose default branch is `main`. */
export function createBareRepo(genv: GitEnv, root: string, name: string, defaultBranch = 'main'): string {
  const path = join(root, `${name}.git`);
  mkdirSync(path, { recursive: true });
  git(genv, path, ['init', '-q', '--bare', `--initial-branch=${defaultBranch}`]);
  return path;
}

/** Creates a working repository with `main` checked out. */
export function createWorkRepo(genv: GitEnv, path: string, branch = 'main'): string {
  mkdirSync(path, { recursive: true });
  git(genv, path, ['init', '-q', `--initial-branch=${branch}`]);
  return path;
}

/** A file's content, `null` to delete it, or `{ symlink: target }` for a symbolic link. */
export type FileSpec = string | Buffer | null | { readonly symlink: string };

/** Writes the files into the working tree, stages everything and commits; returns the new commit's sha. */
export function commitFiles(
  genv: GitEnv,
  dir: string,
  files: Readonly<Record<string, FileSpec>>,
  message: string,
  extraArgs: readonly string[] = [],
): string {
  for (const [path, spec] of Object.entries(files)) {
    const full = join(dir, path);
    rmSync(full, { force: true });
    if (spec === null) continue;
    mkdirSync(dirname(full), { recursive: true });
    if (typeof spec === 'object' && !Buffer.isBuffer(spec)) symlinkSync(spec.symlink, full);
    else writeFileSync(full, spec);
  }
  git(genv, dir, ['add', '-A']);
  git(genv, dir, ['commit', '-q', '--allow-empty', '-m', message, ...extraArgs]);
  return gitText(genv, dir, ['rev-parse', 'HEAD']);
}

/** Pushes a local branch to a bare repository path (optionally forced). */
export function push(genv: GitEnv, dir: string, bare: string, branch = 'main', force = false): void {
  git(genv, dir, ['push', '-q', ...(force ? ['--force'] : []), bare, `HEAD:refs/heads/${branch}`]);
}

/**
 * A synthetic desired-state repository: `files` small YAML files spread over `folders` folders, each a little
 * different so the pack has realistic sizes.
 */
export function yamlTree(files: number, folders: number, salt = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < files; i++) {
    const folder = `app-${String(i % folders).padStart(3, '0')}`;
    out[`${folder}/stack-${i}.yaml`] =
      `template-file-path: ${folder}/template.yaml\nparameters:\n  Name: stack-${i}${salt}\n  Size: ${(i * 7) % 13}\n` +
      `tags:\n  team: team-${i % 17}\n  cost-center: cc-${i % 5}\n`;
  }
  return out;
}

/** Every requested object's bytes as `git cat-file --batch` prints them. */
export function catFileBatch(genv: GitEnv, dir: string, oids: readonly string[]): Map<string, Buffer> {
  const out = git(genv, dir, ['cat-file', '--batch'], `${oids.join('\n')}\n`);
  const objects = new Map<string, Buffer>();
  let pos = 0;
  while (pos < out.length) {
    const eol = out.indexOf(0x0a, pos);
    const [oid, type, size] = out.toString('latin1', pos, eol).split(' ');
    if (type === 'missing' || !oid || !size) throw new Error(`object ${oid} is missing`);
    const start = eol + 1;
    objects.set(oid, out.subarray(start, start + Number(size)));
    pos = start + Number(size) + 1;
  }
  return objects;
}

/**
 * Files of about 3 KB that change a few lines per commit: packs of this history are mostly delta chains.
 */
export function deltaRichVersion(files: number, version: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let f = 0; f < files; f++) {
    const lines: string[] = [];
    for (let l = 0; l < 100; l++) {
      const touched = (l + f) % 10 === version % 10;
      lines.push(`line ${l} of file ${f}: ${touched ? `version ${version}` : 'stable content here'}`);
    }
    out[`dir-${f % 4}/file-${f}.txt`] = `${lines.join('\n')}\n`;
  }
  return out;
}
