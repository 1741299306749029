import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reason } from '../../shared/errors.ts';
import { clearMemoryCache, openSource } from '../../shared/source/index.ts';
import { sourceLimits } from '../../shared/source/limits.ts';
import { loadObject } from '../../shared/source/objects.ts';
import { PackError, readPack } from '../../shared/source/pack.ts';
import {
  catFileBatch,
  commitFiles,
  createBareRepo,
  createWorkRepo,
  deltaRichVersion,
  type GitEnv,
  git,
  gitText,
  makeGitEnv,
  push,
} from '../helpers/git-repo.ts';
import { type GitServer, startGitServer } from '../helpers/git-server.ts';

let genv: GitEnv;
let root: string;
let work: string;
let bare: string;
let server: GitServer;

function allObjectIds(dir: string): string[] {
  return gitText(genv, dir, ['rev-list', '--objects', '--all'])
    .split('\n')
    .map((line) => line.slice(0, 40));
}

function packOf(dir: string, args: readonly string[]): Buffer {
  return git(genv, dir, ['pack-objects', '--stdout', '--all', ...args], '');
}

/** How many entries of a pack git itself reads as deltas (verify-pack prints a depth and a base for those). */
function deltaCount(pack: Buffer): number {
  const dir = mkdtempSync(join(tmpdir(), 'gitops-pack-'));
  const file = join(dir, 'p.pack');
  writeFileSync(file, pack);
  git(genv, dir, ['index-pack', file]);
  const lines = gitText(genv, dir, ['verify-pack', '-v', file]).split('\n');
  rmSync(dir, { recursive: true, force: true });
  return lines.filter((l) => /^[0-9a-f]{40} \w+ +\d+ \d+ \d+ \d+ [0-9a-f]{40}$/.test(l)).length;
}

beforeAll(async () => {
  genv = makeGitEnv();
  root = mkdtempSync(join(tmpdir(), 'gitops-packsrv-'));
  bare = createBareRepo(genv, root, 'deltas');
  work = createWorkRepo(genv, join(root, 'work'));
  for (let v = 0; v < 12; v++) commitFiles(genv, work, deltaRichVersion(24, v), `version ${v}`);
  push(genv, work, bare);
  server = await startGitServer({ root, env: genv.env });
});

afterAll(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('readPack', () => {
  const limits = sourceLimits();
  it.each([
    ['OFS_DELTA', ['--delta-base-offset']],
    ['REF_DELTA', []],
  ])('reads every object of a full-history pack with %s chains exactly as git cat-file does', async (_kind, args) => {
    const pack = packOf(work, args);
    expect(deltaCount(pack)).toBeGreaterThan(100);

    const { objects } = await readPack(pack, limits);

    const expected = catFileBatch(genv, work, allObjectIds(work));
    expect(objects.size).toBe(expected.size);
    for (const [oid, data] of expected) {
      const stored = objects.get(oid);
      expect(stored && loadObject(oid, stored, limits.maxObjectBytes).data.equals(data), oid).toBe(true);
    }
  });

  it('rejects a truncated pack and a thin pack whose bases are not available', async () => {
    const pack = packOf(work, ['--delta-base-offset']);
    await expect(readPack(pack.subarray(0, pack.length - 100), limits)).rejects.toThrow(PackError);

    const head = gitText(genv, work, ['rev-parse', 'HEAD']);
    const thin = git(genv, work, ['pack-objects', '--stdout', '--revs', '--thin'], `${head}\n^${head}~1\n`);
    await expect(readPack(thin, limits)).rejects.toThrow(PackError);
  });
});

describe('RemoteSource against git cat-file', () => {
  it('reads every blob of a delta-rich repository, cold and after a thin incremental fetch', async () => {
    const src = openSource(server.url('deltas'), { cacheDir: mkdtempSync(join(tmpdir(), 'gitops-cache-')) });
    const check = async () => {
      const snap = await src.fetch();
      expect(snap.commit.sha).toBe(gitText(genv, bare, ['rev-parse', 'main']));
      const list = await snap.list();
      const expected = catFileBatch(
        genv,
        bare,
        list.map((e) => e.oid),
      );
      const native = gitText(genv, bare, ['ls-tree', '-r', '--name-only', 'main']).split('\n');
      expect(list.map((e) => e.path).sort()).toEqual(native.sort());
      for (const entry of list) {
        expect(Buffer.from(await snap.readFile(entry.path)).equals(expected.get(entry.oid)!), entry.path).toBe(true);
      }
    };
    await check();
    for (let v = 12; v < 15; v++) {
      commitFiles(genv, work, deltaRichVersion(24, v), `version ${v}`);
      push(genv, work, bare);
      await check();
    }
  });

  it('reports a pack cut off in the middle as retryable FetchFailed', async () => {
    clearMemoryCache();
    server.injectFault({ on: 'upload-pack', fault: { kind: 'truncate', afterBytes: 2_000 } });
    await expect(openSource(server.url('deltas')).fetch()).rejects.toMatchObject({
      reason: Reason.FetchFailed,
      retryable: true,
    });
  });
});
