/**
 * Signed commits required by the installation (GITOPS_TRUSTED_KEYS_FILE locally, trustedKeyParameters on AWS): unlike
 * `signing` in gitops.yaml, a commit can neither switch it off nor bring its own key.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sync } from '../../shared/engine/sync.ts';
import type { GitOpsError } from '../../shared/errors.ts';
import { BASE_FILES, GITOPS, smallRepo } from '../reliability/fixture.ts';
import { commitSigned, makeKey, type TestKey } from './signed-commit.ts';

let trusted: TestKey;
let attacker: TestKey;
beforeAll(async () => {
  [trusted, attacker] = await Promise.all([makeKey('Release Signer'), makeKey('Attacker')]);
});

const withRequireSigned = (keys: string[]) => {
  const repo = smallRepo({ empty: true });
  return { ...repo, deps: { ...repo.deps, requireSigned: { keys, ssmKeys: [] } } };
};

describe('signed commits required by the installation', () => {
  it('applies a commit signed by an installation key', async () => {
    const repo = withRequireSigned([trusted.publicArmored]);
    await commitSigned(repo.genv, repo.dir, BASE_FILES, 'Signed', trusted);
    const report = await sync(repo.deps, {});
    expect(report.failed).toEqual([]);
    expect(report.results.length).toBeGreaterThan(0);
  });

  it('refuses an unsigned commit although gitops.yaml asks for nothing, naming the commit', async () => {
    const repo = withRequireSigned([trusted.publicArmored]);
    const sha = repo.commit(BASE_FILES, 'Unsigned');
    const error = (await sync(repo.deps, {}).catch((e: unknown) => e)) as GitOpsError;
    expect(error.reason).toBe('UnsignedCommit');
    expect(error.describe()).toContain(sha.slice(0, 12));
    expect(error.describe()).toContain('requireSigned');
    expect(repo.types()).toEqual(['Sync Failed']);
    expect(await repo.state.listStacks()).toEqual([]);
  });

  it('refuses a commit that adds its own key to gitops.yaml and signs with it', async () => {
    const repo = withRequireSigned([trusted.publicArmored]);
    const files = {
      ...BASE_FILES,
      'gitops.yaml': `${GITOPS}signing:\n  required: true\n  keys: [${JSON.stringify(attacker.publicArmored)}]\n`,
    };
    await commitSigned(repo.genv, repo.dir, files, 'Trust me', attacker);
    const error = (await sync(repo.deps, {}).catch((e: unknown) => e)) as GitOpsError;
    expect(error.reason).toBe('UnsignedCommit');
    expect(await repo.state.listStacks()).toEqual([]);
  });

  it('is read from GITOPS_TRUSTED_KEYS_FILE by the CLI', async () => {
    const repo = smallRepo();
    const keys = join(mkdtempSync(join(tmpdir(), 'gitops-keys-')), 'trusted.asc');
    writeFileSync(keys, trusted.publicArmored);
    const run = await new Promise<{ code: number; stderr: string }>((ok) => {
      const child = spawn(process.execPath, [resolve('bin/gitops.js'), 'sync', repo.dir, '--state', repo.stateDir], {
        env: { PATH: process.env.PATH, HOME: repo.genv.home, GITOPS_TRUSTED_KEYS_FILE: keys },
      });
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.on('close', (code) => ok({ code: code ?? -1, stderr }));
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/is not signed/);
    expect(run.stderr).toContain('requireSigned');
  });
});
