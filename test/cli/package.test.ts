/**
 * The package people install (`npm install -g <tarball>`, `npx --package <tarball> gitops`): only what runs is in it,
 * and the CLI runs from an unpacked copy, outside this checkout, with nothing but its dependencies beside it.
 * `--ignore-scripts`: the suite's global setup has built dist/ already, and other test files run it meanwhile.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commitFiles, createWorkRepo, makeGitEnv } from '../helpers/git-repo.ts';
import { gitops } from './run-gitops.ts';

const npm = (args: readonly string[]) =>
  execFileSync('npm', ['--silent', '--no-audit', '--no-fund', ...args], { encoding: 'utf8' });

describe('the packed gitops package', () => {
  it('holds the bundle, its assets and the schemas, and no tests, benchmarks, docs or sources', () => {
    const [pack] = JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts'])) as [
      { files: { path: string }[] },
    ];
    const files = pack.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'bin/gitops.cjs',
        'dist/gitops.cjs',
        'dist/main.mjs',
        'dist/assets/status.css',
        'dist/assets/status.js',
        'schema/gitops.schema.json',
      ]),
    );
    expect(files.filter((f) => !/^(package\.json|README\.md|bin\/gitops\.cjs|dist\/|schema\/)/.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
  });

  it('runs from the unpacked tarball, from another folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gitops-pack-'));
    npm(['pack', '--ignore-scripts', '--pack-destination', dir]);
    execFileSync('sh', ['-c', 'tar -xzf lambda-gitops-*.tgz'], { cwd: dir });
    // What `npm install` puts beside the package: its dependencies (here, this checkout's).
    symlinkSync(resolve('node_modules'), join(dir, 'package', 'node_modules'));
    const bin = join(dir, 'package', 'bin', 'gitops.cjs');
    const genv = makeGitEnv();
    const repo = createWorkRepo(genv, join(dir, 'repo'));
    commitFiles(
      genv,
      repo,
      {
        'templates/queue.yaml': 'Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n',
        'queue.yaml': 'template-file-path: templates/queue.yaml\n',
      },
      'One stack',
    );

    const version = await gitops(['--version'], { bin, cwd: dir });
    expect(version.code).toBe(0);
    const plan = await gitops(['plan', 'repo', '--state', 'state'], { bin, cwd: dir });
    expect(plan.stdout).toContain('[+] AWS::SQS::Queue Queue');
    expect(plan.code).toBe(1);
  });
});
