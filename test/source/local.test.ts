import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reason, SourceError } from '../../shared/errors.ts';
import { openSource } from '../../shared/source/index.ts';
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
  stopGpgAgent,
} from '../helpers/git-repo.ts';

let genv: GitEnv;
let root: string;
let work: string;
let first: string;
let second: string;

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

beforeAll(() => {
  genv = makeGitEnv();
  root = mkdtempSync(join(tmpdir(), 'gitops-local-'));
  work = createWorkRepo(genv, join(root, 'work'));
  first = commitFiles(genv, work, { ...deltaRichVersion(12, 0), 'app.yaml': 'v: 1\n' }, 'first');
  // Pack what exists so far (and the refs), then add loose objects on top: a local repository has both.
  git(genv, work, ['gc', '-q', '--aggressive']);
  second = commitFiles(
    genv,
    work,
    { ...deltaRichVersion(12, 1), 'app.yaml': 'v: 2\n', 'current.yaml': { symlink: 'app.yaml' } },
    'second',
  );
  git(genv, work, ['branch', 'release', first]);
});

afterAll(() => {
  stopGpgAgent(genv);
  rmSync(root, { recursive: true, force: true });
});

describe('LocalSource', () => {
  it('reads the checked-out branch from packed and loose objects, byte for byte as git cat-file', async () => {
    const snap = await openSource(work).fetch();

    expect(snap.repo).toBe(work);
    expect(snap.branch).toBe('main');
    expect(snap.commit).toMatchObject({ sha: second, message: 'second', author: 'Test Author <author@example.com>' });
    expect(snap.commit.url).toBeUndefined();
    const list = await snap.list();
    const expected = catFileBatch(
      genv,
      work,
      list.map((e) => e.oid),
    );
    expect(list).toHaveLength(14);
    for (const entry of list)
      expect(Buffer.from(await snap.readFile(entry.path)).equals(expected.get(entry.oid)!)).toBe(true);
    expect(list.find((e) => e.path === 'current.yaml')?.mode).toBe('120000');
  });

  it('ignores uncommitted, staged and untracked changes', async () => {
    const dir = createWorkRepo(genv, join(root, 'dirty'));
    commitFiles(genv, dir, { 'app.yaml': 'committed\n', 'gone.yaml': 'still committed\n' }, 'base');
    writeFileSync(join(dir, 'app.yaml'), 'edited in the working tree\n');
    writeFileSync(join(dir, 'untracked.yaml'), 'never added\n');
    writeFileSync(join(dir, 'staged.yaml'), 'added but not committed\n');
    git(genv, dir, ['add', 'staged.yaml']);
    rmSync(join(dir, 'gone.yaml'));

    const snap = await openSource(dir).fetch();

    expect((await snap.list()).map((e) => e.path)).toEqual(['app.yaml', 'gone.yaml']);
    expect(text(await snap.readFile('app.yaml'))).toBe('committed\n');
    await expect(snap.readFile('untracked.yaml')).rejects.toMatchObject({ reason: Reason.MissingFile });
  });

  it('reads a named branch, an annotated tag, and a bare repository', async () => {
    const release = await openSource(work).fetch({ ref: 'release' });
    expect(release.branch).toBe('release');
    expect(release.commit.sha).toBe(first);
    expect(text(await release.readFile('app.yaml'))).toBe('v: 1\n');

    git(genv, work, ['tag', '-a', '-m', 'release one', 'v1', first]);
    expect((await openSource(work).fetch({ ref: 'v1' })).commit.sha).toBe(first);

    const bare = createBareRepo(genv, root, 'bare');
    push(genv, work, bare);
    const fromBare = await openSource(bare).fetch();
    expect(fromBare.commit.sha).toBe(second);
    expect(fromBare.branch).toBe('main');
  });

  it('reports a missing ref, an empty repository and a path that is no repository by reason', async () => {
    await expect(openSource(work).fetch({ ref: 'nope' })).rejects.toMatchObject({ reason: Reason.RefNotFound });
    const empty = createWorkRepo(genv, join(root, 'empty'));
    await expect(openSource(empty).fetch()).rejects.toMatchObject({ reason: Reason.EmptyRepository });
    const plain = join(root, 'plain');
    mkdirSync(plain);
    const err = await openSource(plain)
      .fetch()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).reason).toBe(Reason.RepositoryNotFound);
  });

  it('answers isAncestor: true, false for unrelated history, unknown in a shallow clone', async () => {
    const src = openSource(work);
    expect(await src.isAncestor?.(first, second)).toBe(true);
    expect(await src.isAncestor?.(second, first)).toBe(false);

    const third = commitFiles(genv, work, { 'app.yaml': 'v: 3\n' }, 'third');
    const shallow = join(root, 'shallow');
    git(genv, root, ['clone', '-q', '--depth', '1', `file://${work}`, shallow]);
    const shallowSrc = openSource(shallow);
    expect(await shallowSrc.isAncestor?.(second, third)).toBe(true);
    expect(await shallowSrc.isAncestor?.(first, third)).toBeUndefined();
  });
});

describe('readSignature', () => {
  const hasGpg = gitOk(['gpg', '--version']);

  it('splits a signed commit into the armored signature and the payload gpg verifies', async () => {
    const dir = createWorkRepo(genv, join(root, 'signed'));
    let sha: string;
    if (hasGpg) {
      const gnupg = join(genv.home, '.gnupg');
      mkdirSync(gnupg, { recursive: true });
      chmodSync(gnupg, 0o700);
      run([
        'gpg',
        '--batch',
        '--passphrase',
        '',
        '--quick-gen-key',
        'Signer <signer@example.com>',
        'ed25519',
        'sign',
        'never',
      ]);
      writeFileSync(join(dir, 'a.yaml'), 'signed: true\n');
      git(genv, dir, ['add', '-A']);
      git(genv, dir, ['-c', 'user.signingkey=signer@example.com', 'commit', '-q', '-S', '-m', 'signed commit']);
      sha = gitText(genv, dir, ['rev-parse', 'HEAD']);
    } else {
      // Without gpg, a commit object with a gpgsig header is built by hand.
      const base = commitFiles(genv, dir, { 'a.yaml': 'x\n' }, 'base');
      const tree = gitText(genv, dir, ['rev-parse', `${base}^{tree}`]);
      const body =
        `tree ${tree}\nauthor A <a@example.com> 1700000000 +0000\ncommitter A <a@example.com> 1700000000 +0000\n` +
        'gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQFAKE\n -----END PGP SIGNATURE-----\n\nsigned commit\n';
      sha = gitText(genv, dir, ['hash-object', '-t', 'commit', '-w', '--stdin'], body);
    }

    const { signature, payload } = await openSource(dir).readSignature!(sha);

    expect(signature).toMatch(/^-----BEGIN PGP SIGNATURE-----\n[\s\S]*-----END PGP SIGNATURE-----\n$/);
    expect(payload).not.toContain('gpgsig');
    expect(payload).toMatch(/^tree [0-9a-f]{40}\n/);
    expect(payload.endsWith('\n\nsigned commit\n')).toBe(true);
    if (hasGpg) {
      writeFileSync(join(root, 'sig.asc'), signature!);
      writeFileSync(join(root, 'payload'), payload);
      expect(gitOk(['gpg', '--batch', '--verify', join(root, 'sig.asc'), join(root, 'payload')])).toBe(true);
    }
    const unsigned = await openSource(work).readSignature!(second);
    expect(unsigned.signature).toBeUndefined();
    expect(unsigned.payload).toBe(gitText(genv, work, ['cat-file', 'commit', second]) + '\n');
  });
});

function run(cmd: readonly string[]): void {
  if (!gitOk(cmd)) throw new Error(`${cmd.join(' ')} failed`);
}

function gitOk(cmd: readonly string[]): boolean {
  return spawnSync(cmd[0]!, cmd.slice(1), { env: genv?.env ?? process.env }).status === 0;
}
