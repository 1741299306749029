/**
 * Real signed Git commits without a keyring: the commit object is written by git (`commit-tree`), its bytes are signed
 * with openpgp (a detached, armored signature, as `gpg --detach-sign --armor` makes for `git commit -S`), the signature
 * goes into the `gpgsig` header, and `git hash-object -t commit -w` stores the result. Git accepts these commits as
 * signed (`git verify-commit` checks them with gpg when the public key is imported).
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as openpgp from 'openpgp';
import { type FileSpec, type GitEnv, git, gitText } from '../helpers/git-repo.ts';

export interface TestKey {
  readonly privateKey: openpgp.PrivateKey;
  readonly publicArmored: string;
  readonly privateArmored: string;
  readonly revocationCertificate: string;
  /** Long key id, upper-case hex. */
  readonly keyId: string;
}

export async function makeKey(name = 'Release Signer'): Promise<TestKey> {
  const { privateKey, publicKey, revocationCertificate } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name, email: `${name.toLowerCase().replace(/\s+/g, '.')}@example.com` }],
    format: 'armored',
  });
  const key = await openpgp.readPrivateKey({ armoredKey: privateKey });
  return {
    privateKey: key,
    publicArmored: publicKey,
    privateArmored: privateKey,
    revocationCertificate,
    keyId: key.getKeyID().toHex().toUpperCase(),
  };
}

/** A detached armored signature over `payload`'s bytes. */
export async function detachedSignature(payload: Buffer, key: TestKey): Promise<string> {
  const message = await openpgp.createMessage({ binary: payload });
  return openpgp.sign({ message, signingKeys: key.privateKey, detached: true, format: 'armored' });
}

/** The commit object with `signature` in its gpgsig header (continuation lines start with a space). */
export function withSignature(commit: Buffer, signature: string): Buffer {
  const text = commit.toString('utf8');
  const end = text.indexOf('\n\n');
  const header = text.slice(0, end + 1);
  const rest = text.slice(end + 1);
  const lines = signature.replace(/\n$/, '').split('\n');
  const gpgsig = `gpgsig ${lines[0]}\n${lines
    .slice(1)
    .map((l) => ` ${l}\n`)
    .join('')}`;
  return Buffer.from(`${header}${gpgsig}${rest}`, 'utf8');
}

function writeFiles(dir: string, files: Readonly<Record<string, FileSpec>>): void {
  for (const [path, spec] of Object.entries(files)) {
    const full = join(dir, path);
    rmSync(full, { force: true });
    if (spec === null) continue;
    mkdirSync(dirname(full), { recursive: true });
    if (typeof spec === 'object' && !Buffer.isBuffer(spec)) symlinkSync(spec.symlink, full);
    else writeFileSync(full, spec);
  }
}

/**
 * Commits `files` on the checked-out branch, signed with `key` (or with a raw `signature` text for malformed cases),
 * and returns the new commit's sha.
 */
export async function commitSigned(
  genv: GitEnv,
  dir: string,
  files: Readonly<Record<string, FileSpec>>,
  message: string,
  signer: TestKey | { readonly rawSignature: string },
): Promise<string> {
  writeFiles(dir, files);
  git(genv, dir, ['add', '-A']);
  const tree = gitText(genv, dir, ['write-tree']);
  let parent: string | undefined;
  try {
    parent = gitText(genv, dir, ['rev-parse', '--verify', '-q', 'HEAD']);
  } catch {
    parent = undefined;
  }
  const unsigned = gitText(genv, dir, ['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', message]);
  const payload = git(genv, dir, ['cat-file', 'commit', unsigned]);
  const signature = 'rawSignature' in signer ? signer.rawSignature : await detachedSignature(payload, signer);
  const signed = gitText(
    genv,
    dir,
    ['hash-object', '-t', 'commit', '-w', '--stdin'],
    withSignature(payload, signature),
  );
  git(genv, dir, ['update-ref', 'HEAD', signed]);
  return signed;
}

/** A copy of an existing commit's signature placed on a new commit: a valid signature over other bytes. */
export function signatureOf(genv: GitEnv, dir: string, sha: string): string {
  const text = git(genv, dir, ['cat-file', 'commit', sha]).toString('utf8');
  const match = /\ngpgsig ([\s\S]*?)\n(?! )/.exec(text);
  if (!match) throw new Error(`${sha} is not signed`);
  return `${match[1]!.replace(/\n /g, '\n')}\n`;
}
