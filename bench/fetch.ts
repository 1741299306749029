/**
 * Fetch speed of the Source port against native git, both reading the same repositories from the same
 * `git http-backend` server on loopback in the same run (design.md §9).
 *
 * cold: a new process with an empty cache: fetch + list + read every file, against `git clone --depth 1
 *       --no-checkout` + `ls-tree -r` + `cat-file --batch` of every blob.
 * warm: one new commit on top of a cached fetch (a warm container), against `git fetch --depth 1` into the native
 *       clone + the same reading.
 *
 * Run alone: `node bin/run-ts.js bench/fetch.ts [--quick]`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { clearMemoryCache, openSource } from '../shared/source/index.ts';
import {
  commitFiles,
  createBareRepo,
  createWorkRepo,
  type GitEnv,
  makeGitEnv,
  push,
  yamlTree,
} from '../test/helpers/git-repo.ts';
import { type GitServer, startGitServer } from '../test/helpers/git-server.ts';
import { exec } from './lib/exec.ts';
import { type Figure, formatTable, median } from './lib/figures.ts';

interface RepoCase {
  readonly label: string;
  readonly name: string;
  readonly work: string;
  readonly bare: string;
}

async function nativeRead(genv: GitEnv, dir: string, rev: string): Promise<number> {
  const listing = (await exec('git', ['ls-tree', '-r', rev], { cwd: dir, env: genv.env })).toString();
  const blobs = listing
    .split('\n')
    .filter((l) => l.includes(' blob '))
    .map((l) => l.split(/\s+/)[2]);
  const out = await exec('git', ['cat-file', '--batch'], { cwd: dir, env: genv.env, input: `${blobs.join('\n')}\n` });
  return out.length;
}

async function oursRead(url: string, cacheDir: string): Promise<number> {
  const snap = await openSource(url, { cacheDir }).fetch();
  let bytes = 0;
  for (const entry of await snap.list()) bytes += (await snap.readFile(entry.path)).length;
  return bytes;
}

async function time(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

function ratioFigure(name: string, ours: number[], native: number[], goal: number): Figure {
  const o = median(ours);
  const n = median(native);
  const value = o / n;
  return {
    name,
    value,
    unit: '×',
    reference: `ours ${o.toFixed(0)} ms vs native ${n.toFixed(0)} ms (median of ${ours.length})`,
    goal: `≤ ${goal}×`,
    met: value <= goal,
  };
}

async function measure(
  genv: GitEnv,
  server: GitServer,
  repo: RepoCase,
  reps: number,
  scratch: string,
): Promise<Figure[]> {
  const url = server.url(repo.name);
  const env = genv.env;
  const coldOurs: number[] = [];
  const coldNative: number[] = [];
  // One untimed round of each first: the OS file cache and Node's module loading are not what is measured.
  for (let i = -1; i < reps; i++) {
    const dir = join(scratch, `native-${repo.name}-${i}`);
    const t = await time(async () => {
      await exec('git', ['clone', '-q', '--depth', '1', '--no-checkout', '--single-branch', '--no-tags', url, dir], {
        env,
      });
      await nativeRead(genv, dir, 'HEAD');
    });
    const cacheDir = join(scratch, `cache-${repo.name}-${i}`);
    clearMemoryCache();
    const o = await time(() => oursRead(url, cacheDir));
    if (i >= 0) {
      coldNative.push(t);
      coldOurs.push(o);
    }
  }

  const warmOurs: number[] = [];
  const warmNative: number[] = [];
  const nativeDir = join(scratch, `native-${repo.name}-0`);
  const cacheDir = join(scratch, `cache-${repo.name}-0`);
  clearMemoryCache();
  await oursRead(url, cacheDir);
  for (let i = -1; i < reps; i++) {
    commitFiles(
      genv,
      repo.work,
      { [`app-000/warm-${i}.yaml`]: `run: ${i}\n`, 'app-001/changed.yaml': `rev: ${i}\n` },
      `warm ${i}`,
    );
    push(genv, repo.work, repo.bare);
    const t = await time(async () => {
      await exec('git', ['fetch', '-q', '--depth', '1', '--no-tags', 'origin', 'main'], { cwd: nativeDir, env });
      await nativeRead(genv, nativeDir, 'FETCH_HEAD');
    });
    const o = await time(() => oursRead(url, cacheDir));
    if (i >= 0) {
      warmNative.push(t);
      warmOurs.push(o);
    }
  }
  return [
    ratioFigure(`fetch cold ${repo.label}`, coldOurs, coldNative, 2),
    ratioFigure(`fetch warm ${repo.label}`, warmOurs, warmNative, 1),
  ];
}

function makeRepo(genv: GitEnv, root: string, name: string, label: string, fill: (work: string) => void): RepoCase {
  const bare = createBareRepo(genv, root, name);
  const work = createWorkRepo(genv, join(root, `work-${name}`));
  fill(work);
  push(genv, work, bare);
  return { label, name, work, bare };
}

export async function benchFetch(opts: { quick: boolean }): Promise<Figure[]> {
  const genv = makeGitEnv();
  const root = mkdtempSync(join(tmpdir(), 'gitops-bench-fetch-'));
  const scratch = join(root, 'scratch');
  const reps = opts.quick ? 3 : 7;
  const big = opts.quick ? 1000 : 2000;
  const historyBytes = opts.quick ? 1_000_000 : 5_000_000;
  const server = await startGitServer({ root, env: genv.env });
  try {
    const repos = [
      makeRepo(genv, root, 'small', '200 files', (w) => commitFiles(genv, w, yamlTree(200, 20), 'init')),
      makeRepo(genv, root, 'large', `${big} files`, (w) => commitFiles(genv, w, yamlTree(big, big / 10), 'init')),
      makeRepo(genv, root, 'history', `history ${(historyBytes / 1e6).toFixed(0)} MB`, (w) => {
        // Incompressible blobs rewritten by every commit: the history is about `historyBytes`, the head tree small.
        const commits = 40;
        const per = Math.floor(historyBytes / commits / 10);
        for (let c = 0; c < commits; c++) {
          const files: Record<string, string | Buffer> = c === 0 ? yamlTree(200, 20) : {};
          for (let f = 0; f < 10; f++) files[`blobs/data-${f}.bin`] = randomBytes(per);
          commitFiles(genv, w, files, `history ${c}`);
        }
      }),
    ];
    const figures: Figure[] = [];
    for (const repo of repos) figures.push(...(await measure(genv, server, repo, reps, scratch)));
    return figures;
  } finally {
    await server.close();
    clearMemoryCache();
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick');
  const started = performance.now();
  const figures = await benchFetch({ quick });
  console.log(formatTable(figures));
  console.log(`\n(${((performance.now() - started) / 1000).toFixed(1)} s${quick ? ', --quick' : ''})`);
}
