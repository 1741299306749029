/**
 * Signed commits only, when the repository asks for it (`gitops.yaml` `signing: { required: true, keys, ssmKeys }`):
 * the commit about to be rendered must carry an OpenPGP signature (git's `gpgsig` header) made by one of the trusted
 * keys, or nothing of it is rendered or applied. Keys come from the configuration itself and from SSM parameters read
 * through the Secrets port, so a key can be rotated without a commit.
 *
 * The policy and its keys are read from the commit being checked, before any template of it is rendered. A commit
 * that changes the key list is therefore checked against the keys it brings. Keep the keys (or at least one) in SSM
 * (`ssmKeys`) so the trust root does not live only in the repository it protects. A commit that drops the `signing`
 * section is not held to it: branch protection on the forge has to cover that.
 */
// Types only at module level: openpgp (~375 KB) is loaded when a repository requires signed commits, not on every cold
// start of the sync function.
import type * as OpenPGP from 'openpgp';
import { ConfigError, Reason, SourceError } from '../errors.ts';
import type { CommitInfo, RepoConfig } from '../model.ts';
import type { Secrets, Source } from '../ports.ts';

/**
 * Where openpgp (~390 KB) comes from: the package, or — in the Lambda bundles, which leave it out so that functions
 * whose repositories do not sign pay nothing for it at cold start — the copy the stack ships beside the bundle
 * (`GITOPS_OPENPGP_MODULE=./openpgp.mjs`). The specifier is a variable so the bundler leaves the import alone.
 */
async function loadOpenpgp(): Promise<typeof OpenPGP> {
  const specifier = process.env.GITOPS_OPENPGP_MODULE || 'openpgp';
  return (await import(specifier)) as typeof OpenPGP;
}

const REPOSITORY_POLICY = { file: 'gitops.yaml', field: 'signing' } as const;

export interface SigningCheck {
  readonly source: Pick<Source, 'readSignature'>;
  readonly commit: CommitInfo;
  readonly signing: RepoConfig['signing'];
  /**
   * Where the policy comes from, for error messages: the repository's `gitops.yaml` `signing`, or the installation's
   * own setting (`GITOPS_TRUSTED_KEYS_FILE`, `GITOPS_TRUSTED_KEY_PARAMETERS`). @default gitops.yaml
   */
  readonly origin?: { readonly file: string; readonly field: string };
  readonly secrets?: Secrets;
}

/** The key that made the signature, once verified. */
export interface VerifiedSignature {
  readonly keyId: string;
  readonly fingerprint: string;
}

/**
 * Resolves when the policy does not apply or the commit is signed by a trusted key; throws SourceError (the commit) or
 * ConfigError (the keys) with reason `UnsignedCommit` otherwise, naming the commit and why.
 */
export async function enforceSigning(check: SigningCheck): Promise<VerifiedSignature | undefined> {
  const { signing, commit } = check;
  if (!signing?.required) return undefined;
  const where = check.origin ?? REPOSITORY_POLICY;
  const openpgp = await loadOpenpgp();
  const short = commit.sha.slice(0, 12);
  if (!check.source.readSignature) {
    throw new SourceError(
      Reason.UnsignedCommit,
      `commit ${short} cannot be checked: this source cannot read commit signatures, and ${where.field} requires signed commits`,
      { field: where.field },
    );
  }
  const keys = await trustedKeys(where, openpgp, signing, check.secrets, short);
  const { signature, payload } = await check.source.readSignature(commit.sha);
  if (!signature) {
    throw new SourceError(
      Reason.UnsignedCommit,
      `commit ${short} is not signed; ${where.field} accepts only commits signed by a trusted key`,
      { field: where.field },
    );
  }
  let parsed: OpenPGP.Signature;
  try {
    parsed = await openpgp.readSignature({ armoredSignature: signature });
  } catch {
    throw new SourceError(
      Reason.UnsignedCommit,
      `commit ${short} carries a signature that is not an OpenPGP signature (an SSH or X.509 signature?); only OpenPGP keys are trusted`,
      { field: where.field },
    );
  }
  const signer = parsed.getSigningKeyIDs().map((id) => id.toHex().toUpperCase());
  const trusted = keys.filter((k) =>
    signer.some((id) => k.getKeys().some((sub) => sub.getKeyID().toHex().toUpperCase() === id)),
  );
  if (trusted.length === 0) {
    throw new SourceError(
      Reason.UnsignedCommit,
      `commit ${short} is signed by key ${signer.join(', ') || '(unknown)'}, which is not one of the ${keys.length} trusted key(s) in signing`,
      { field: where.field },
    );
  }
  const message = await openpgp.createMessage({ binary: Buffer.from(payload, 'utf8') });
  try {
    const result = await openpgp.verify({ message, signature: parsed, verificationKeys: trusted, format: 'binary' });
    for (const verification of result.signatures) {
      await verification.verified;
      const key = trusted.find((k) => k.getKeys().some((sub) => sub.getKeyID().equals(verification.keyID)));
      return {
        keyId: verification.keyID.toHex().toUpperCase(),
        fingerprint: (key?.getFingerprint() ?? '').toUpperCase(),
      };
    }
  } catch (err) {
    // openpgp's messages say what is wrong with the signature (bad, expired, revoked) and hold no secret.
    const why = err instanceof Error ? err.message : String(err);
    throw new SourceError(Reason.UnsignedCommit, `commit ${short} has a signature that does not verify: ${why}`, {
      field: where.field,
      cause: err,
    });
  }
  throw new SourceError(Reason.UnsignedCommit, `commit ${short} has no signature to verify`, { field: where.field });
}

async function trustedKeys(
  where: { readonly file: string; readonly field: string },
  openpgp: typeof OpenPGP,
  signing: NonNullable<RepoConfig['signing']>,
  secrets: Secrets | undefined,
  short: string,
): Promise<OpenPGP.PublicKey[]> {
  const armored: { text: string; field: string }[] = signing.keys.map((text, i) => ({
    text,
    field: `${where.field}.keys[${i}]`,
  }));
  for (const [i, name] of signing.ssmKeys.entries()) {
    const field = `${where.field}.ssmKeys[${i}]`;
    if (!secrets) {
      throw new ConfigError(
        Reason.UnsignedCommit,
        `commit ${short} cannot be checked: ${field} names SSM parameter ${name}, but no secrets store is configured`,
        { file: where.file, field },
      );
    }
    const text = await secrets.get(name);
    if (!text) {
      throw new ConfigError(
        Reason.UnsignedCommit,
        `commit ${short} cannot be checked: SSM parameter ${name} (${field}) is not set`,
        { file: where.file, field },
      );
    }
    armored.push({ text, field });
  }
  const keys: OpenPGP.PublicKey[] = [];
  for (const { text, field } of armored) {
    try {
      for (const key of await openpgp.readKeys({ armoredKeys: text })) keys.push(key.toPublic());
    } catch {
      throw new ConfigError(Reason.InvalidConfig, `${field} is not an armored OpenPGP public key`, {
        file: where.file,
        field,
      });
    }
  }
  if (keys.length === 0) {
    throw new ConfigError(Reason.UnsignedCommit, `commit ${short} cannot be checked: signing lists no trusted key`, {
      file: where.file,
      field: where.field,
    });
  }
  return keys;
}
