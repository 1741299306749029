/**
 * The `gitops` command's start, as a person at a terminal feels it: a fresh `node bin/gitops.cjs` process per run (the
 * esbuild bundle in dist/, built here first with bin/build.js as `npm ci` builds it), against a bare `node -e 0`
 * measured in the same run, interleaved so machine load hits both alike. Wall time of the whole process, exit
 * included; the figure is the ratio of the medians.
 * - `cli start --help`: the help text, answered from the entry module alone.
 * - `cli render 1 stack`: `gitops render` of a repository with one deployment file and its template (Git read,
 *   YAML, schema, render).
 *
 * Alone: `node bin/run-ts.js bench/cli-start.ts [--quick]`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commitFiles, createWorkRepo, makeGitEnv } from '../test/helpers/git-repo.ts';
import { type Figure, formatTable, median } from './lib/figures.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'gitops.cjs');

/** Milliseconds from spawn to exit of one process; its output is read and dropped. */
function timeProcess(args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    child.stdout.resume();
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve(ms);
      else reject(new Error(`node ${args.join(' ')} exited ${code}: ${err.slice(0, 300)}`));
    });
  });
}

async function ratio(name: string, args: readonly string[], goal: number, runs: number): Promise<Figure> {
  // One warm-up of each: the first spawn pays for the file cache, not for the code.
  await timeProcess(args);
  await timeProcess(['-e', '0']);
  const ours: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) {
    ours.push(await timeProcess(args));
    bare.push(await timeProcess(['-e', '0']));
  }
  const value = median(ours) / median(bare);
  return {
    name,
    value,
    unit: '×',
    reference: `ours ${median(ours).toFixed(0)} ms vs node -e 0 ${median(bare).toFixed(0)} ms (median of ${runs}, interleaved)`,
    goal: `≤ ${goal}×`,
    met: value <= goal,
  };
}

export async function benchCliStart(opts: { quick: boolean }): Promise<Figure[]> {
  execFileSync(process.execPath, [join(ROOT, 'bin', 'build.js')], { stdio: 'inherit' });
  const runs = opts.quick ? 9 : 21;
  const dir = mkdtempSync(join(tmpdir(), 'gitops-bench-cli-'));
  try {
    const genv = makeGitEnv();
    const repo = createWorkRepo(genv, join(dir, 'repo'));
    commitFiles(
      genv,
      repo,
      {
        'templates/queue.yaml': 'Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n',
        'queue.yaml': 'template-file-path: templates/queue.yaml\ntags:\n  team: platform\n',
      },
      'One stack',
    );
    return [
      await ratio('cli start --help', [BIN, '--help'], 1.5, runs),
      await ratio('cli render 1 stack', [BIN, 'render', repo], 3, runs),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(formatTable(await benchCliStart({ quick: process.argv.includes('--quick') })));
}
