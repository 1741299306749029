/** Runs the `gitops` command as a user does: `node bin/gitops.cjs` (package.json "bin", the bundle in dist/) in a fresh process. */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const BIN = resolve('bin/gitops.cjs');

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const cache = mkdtempSync(join(tmpdir(), 'gitops-cli-cache-'));

export function gitops(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; bin?: string } = {},
): Promise<Run> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [options.bin ?? BIN, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, XDG_CACHE_HOME: cache, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => ok({ code: code ?? -1, stdout, stderr }));
  });
}
