import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { sync } from '../../shared/engine/sync.ts';
import type { GitOpsError } from '../../shared/errors.ts';
import type { Secrets } from '../../shared/ports.ts';
import { gpgAgentPids, stopGpgAgent } from '../helpers/git-repo.ts';
import { appliedDigest, BASE_FILES, GITOPS, type SmallRepo, smallRepo } from '../reliability/fixture.ts';
import { commitSigned, makeKey, signatureOf, type TestKey } from './signed-commit.ts';

let trusted: TestKey;
let stranger: TestKey;
let revoked: TestKey;
let revokedPublic: string;

beforeAll(async () => {
  [trusted, stranger, revoked] = await Promise.all([
    makeKey('Release Signer'),
    makeKey('Stranger'),
    makeKey('Old Key'),
  ]);
  const { publicKey } = await openpgp.revokeKey({
    key: await openpgp.readKey({ armoredKey: revoked.publicArmored }),
    revocationCertificate: revoked.revocationCertificate,
    format: 'armored',
  });
  revokedPublic = publicKey;
});

const yamlList = (items: readonly string[]) => `[${items.map((k) => JSON.stringify(k)).join(', ')}]`;

function gitopsWith(signing: { required?: boolean; keys?: string[]; ssmKeys?: string[] }): string {
  const lines = ['signing:'];
  if (signing.required !== undefined) lines.push(`  required: ${signing.required}`);
  if (signing.keys) lines.push(`  keys: ${yamlList(signing.keys)}`);
  if (signing.ssmKeys) lines.push(`  ssmKeys: ${yamlList(signing.ssmKeys)}`);
  return `${GITOPS}${lines.join('\n')}\n`;
}

const secretsOf = (values: Record<string, string>): Secrets => ({ get: async (name) => values[name] });

interface Case {
  readonly name: string;
  readonly signing: () => { required?: boolean; keys?: string[]; ssmKeys?: string[] };
  readonly secrets?: () => Record<string, string>;
  /** How the commit under test is made. */
  readonly commit: (repo: SmallRepo, files: Record<string, string>) => Promise<string>;
  /** `undefined`: applied; otherwise the refusal's reason and a piece of its message. */
  readonly refused?: { readonly reason: string; readonly says: RegExp };
}

const signedBy = (key: () => TestKey) => (repo: SmallRepo, files: Record<string, string>) =>
  commitSigned(repo.genv, repo.dir, files, 'Signed change', key());
const unsigned = async (repo: SmallRepo, files: Record<string, string>) => repo.commit(files, 'Unsigned change');

const cases: Case[] = [
  {
    name: 'a commit signed by a key in signing.keys',
    signing: () => ({ keys: [trusted.publicArmored] }),
    commit: signedBy(() => trusted),
  },
  {
    name: 'a commit signed by one of several trusted keys',
    signing: () => ({ keys: [stranger.publicArmored, trusted.publicArmored] }),
    commit: signedBy(() => trusted),
  },
  {
    name: 'a commit signed by a key read from SSM (signing.ssmKeys)',
    signing: () => ({ ssmKeys: ['/platform/signing/release'] }),
    secrets: () => ({ '/platform/signing/release': trusted.publicArmored }),
    commit: signedBy(() => trusted),
  },
  { name: 'an unsigned commit when signing.required is false', signing: () => ({ required: false }), commit: unsigned },
  {
    name: 'an unsigned commit',
    signing: () => ({ keys: [trusted.publicArmored] }),
    commit: unsigned,
    refused: { reason: 'UnsignedCommit', says: /is not signed/ },
  },
  {
    name: 'a commit signed by an untrusted key',
    signing: () => ({ keys: [trusted.publicArmored] }),
    commit: signedBy(() => stranger),
    refused: { reason: 'UnsignedCommit', says: /not one of the 1 trusted key/ },
  },
  {
    name: "a trusted key's signature copied from another commit",
    signing: () => ({ keys: [trusted.publicArmored] }),
    commit: async (repo, files) => {
      const donor = await commitSigned(repo.genv, repo.dir, { 'notes.txt': 'donor\n' }, 'Donor', trusted);
      return commitSigned(repo.genv, repo.dir, files, 'Borrowed signature', {
        rawSignature: signatureOf(repo.genv, repo.dir, donor),
      });
    },
    refused: { reason: 'UnsignedCommit', says: /does not verify/ },
  },
  {
    name: 'a commit signed by a revoked key',
    signing: () => ({ keys: [revokedPublic] }),
    commit: signedBy(() => revoked),
    refused: { reason: 'UnsignedCommit', says: /does not verify/ },
  },
  {
    name: 'an SSH signature',
    signing: () => ({ keys: [trusted.publicArmored] }),
    commit: (repo, files) =>
      commitSigned(repo.genv, repo.dir, files, 'SSH-signed', {
        rawSignature:
          '-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTk=\n-----END SSH SIGNATURE-----\n',
      }),
    refused: { reason: 'UnsignedCommit', says: /not an OpenPGP signature/ },
  },
  {
    name: 'a signed commit whose SSM key is not set',
    signing: () => ({ ssmKeys: ['/platform/signing/missing'] }),
    secrets: () => ({}),
    commit: signedBy(() => trusted),
    refused: { reason: 'UnsignedCommit', says: /SSM parameter \/platform\/signing\/missing .* is not set/ },
  },
  {
    name: 'a signed commit with ssmKeys and no secrets store',
    signing: () => ({ ssmKeys: ['/platform/signing/release'] }),
    commit: signedBy(() => trusted),
    refused: { reason: 'UnsignedCommit', says: /no secrets store is configured/ },
  },
  {
    name: 'a signed commit whose SSM key is not a key',
    signing: () => ({ ssmKeys: ['/platform/signing/garbage'] }),
    secrets: () => ({ '/platform/signing/garbage': '-----BEGIN PGP PUBLIC KEY BLOCK-----\nnot a key\n' }),
    commit: signedBy(() => trusted),
    refused: { reason: 'InvalidConfig', says: /signing\.ssmKeys\[0\] is not an armored OpenPGP public key/ },
  },
];

describe('signed commits only (signing.required)', () => {
  it.each(cases)('$name', async (c) => {
    // Prepare: a repository whose first, signed commit is applied.
    const signing = c.signing();
    const secrets = c.secrets?.();
    const repo = smallRepo({ files: {}, empty: true, ...(secrets ? { secrets: secretsOf(secrets) } : {}) });
    const files = { ...BASE_FILES, 'gitops.yaml': gitopsWith(signing) };
    const first = await commitSigned(repo.genv, repo.dir, files, 'Signed desired state', trusted);
    const ready = await sync(repo.deps, {}).catch((err: GitOpsError) => err);
    const firstApplied = !(ready instanceof Error);
    const before = appliedDigest(repo.stateDir);
    repo.clearEvents();

    // Act: the commit under test changes the app stack.
    const sha = await c.commit(repo, { 'templates/app.yaml': BASE_FILES['templates/app.yaml']!.replace('30', '45') });
    const outcome = await sync(repo.deps, {}).catch((err: GitOpsError) => err);

    // Assess
    const app = (await repo.state.getStack('dev/app'))?.state;
    if (!c.refused) {
      expect(outcome).not.toBeInstanceOf(Error);
      expect(app?.lastApplied?.revision).toBe(sha);
      expect(repo.types()).toContain('Sync Succeeded');
      return;
    }
    expect(outcome).toMatchObject({ reason: c.refused.reason });
    const failed = repo.events.events.filter((e) => e.detailType === 'Sync Failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.detail.reason).toBe(c.refused.reason);
    expect(failed[0]?.detail.message).toMatch(c.refused.says);
    if (c.refused.reason === 'UnsignedCommit') expect(failed[0]?.detail.message).toContain(sha.slice(0, 12));
    expect(repo.types()).not.toContain('Apply Requested');
    expect(repo.types()).not.toContain('Sync Succeeded');
    // Nothing applied, nothing recorded: the state is what it was before the commit.
    expect(appliedDigest(repo.stateDir)).toEqual(before);
    if (firstApplied) expect(app?.lastApplied?.revision).toBe(first);
  });

  it('keeps refusing unsigned commits on top of a signed one, and applies the next signed commit', async () => {
    const repo = smallRepo({ files: {}, empty: true });
    const files = { ...BASE_FILES, 'gitops.yaml': gitopsWith({ keys: [trusted.publicArmored] }) };
    await commitSigned(repo.genv, repo.dir, files, 'Signed desired state', trusted);
    await sync(repo.deps, {});
    const sneaky = repo.commit(
      { 'templates/web.yaml': BASE_FILES['templates/web.yaml']!.replace('60', '61') },
      'Sneaky',
    );
    await expect(sync(repo.deps, {})).rejects.toMatchObject({ reason: 'UnsignedCommit' });
    await expect(sync(repo.deps, {})).rejects.toMatchObject({ reason: 'UnsignedCommit' });
    expect((await repo.state.getStack('dev/web'))?.state.lastApplied?.revision).not.toBe(sneaky);

    const fixed = await commitSigned(
      repo.genv,
      repo.dir,
      { 'templates/web.yaml': BASE_FILES['templates/web.yaml']!.replace('60', '62') },
      'Signed fix',
      trusted,
    );
    await sync(repo.deps, {});
    expect((await repo.state.getStack('dev/web'))?.state.lastApplied?.revision).toBe(fixed);
  });

  it('makes commits git itself accepts as signed (git verify-commit with gpg)', async () => {
    const repo = smallRepo();
    const sha = await commitSigned(repo.genv, repo.dir, { 'notes.txt': 'signed\n' }, 'Signed', trusted);
    // Verifying needs no gpg-agent: none is started (no-autostart), and any that is gets stopped below.
    mkdirSync(repo.genv.env.GNUPGHOME!, { recursive: true, mode: 0o700 });
    writeFileSync(join(repo.genv.env.GNUPGHOME!, 'gpg.conf'), 'no-autostart\n');
    try {
      const imported = spawnSync('gpg', ['--batch', '--import'], { env: repo.genv.env, input: trusted.publicArmored });
      expect(imported.status).toBe(0);
      const verified = spawnSync('git', ['verify-commit', sha], { cwd: repo.dir, env: repo.genv.env });
      expect(verified.stderr.toString()).toContain('Good signature');
      expect(verified.status).toBe(0);
    } finally {
      stopGpgAgent(repo.genv);
    }
    // No gpg-agent daemon is left running for this temporary home.
    expect(gpgAgentPids(repo.genv.env.GNUPGHOME!)).toEqual([]);
  });
});
