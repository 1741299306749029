/**
 * Refuses plaintext secrets in parameter and tag values: they would sit in Git, in the stack's parameters and in our
 * state store. The message names where the value is and how to fix it, never the value itself.
 */
import { ConfigError, Reason } from '../errors.ts';

interface SecretPattern {
  readonly what: string;
  readonly test: RegExp;
}

const PATTERNS: readonly SecretPattern[] = [
  { what: 'an AWS access key id', test: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/ },
  { what: 'a private key', test: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/ },
  { what: 'a GitHub token', test: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/ },
  { what: 'a GitLab token', test: /\bglpat-[A-Za-z0-9_-]{20,}\b/ },
  { what: 'a Slack token', test: /\bxox[abprse]-[A-Za-z0-9-]{10,}\b/ },
  { what: 'a Slack webhook URL', test: /https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/_-]{20,}/ },
];

/** Names under which a random-looking value is most likely a credential. */
const SECRET_NAME = /pass(?:word|wd|phrase)?|pwd|secret|token|api[-_]?key|private|credential|auth[-_]?key/i;
/** Names that hold a reference to a secret (an ARN, a parameter name), not the secret. */
const REFERENCE_NAME = /(?:arn|name|id|path|parameter|param|ref|length|ttl|rotation|version|expiry|expiration)$/i;
const MIN_ENTROPY_LENGTH = 20;
/** Bits per character; random base64 is about 6, English words stay under 3.5. */
const MIN_ENTROPY_BITS = 3.5;

export interface ScannedValue {
  readonly kind: 'parameter' | 'tag';
  readonly name: string;
  readonly value: string;
  /** The file the value was written in. */
  readonly file: string;
}

/** Why the value looks like a secret, or undefined. */
export function secretKind(name: string, value: string): string | undefined {
  for (const p of PATTERNS) if (p.test.test(value)) return p.what;
  if (
    value.length >= MIN_ENTROPY_LENGTH &&
    SECRET_NAME.test(name) &&
    !REFERENCE_NAME.test(name) &&
    !/^(?:arn:|\/|\{\{resolve:)/.test(value) &&
    !/\s/.test(value) &&
    shannonEntropy(value) >= MIN_ENTROPY_BITS
  ) {
    return 'a high-entropy value under a secret-like name';
  }
  return undefined;
}

/** Throws ConfigError `PlaintextSecret` for the first value that looks like a secret. */
export function assertNoPlaintextSecrets(values: readonly ScannedValue[]): void {
  for (const v of values) {
    const kind = secretKind(v.name, v.value);
    if (!kind) continue;
    const fix =
      v.kind === 'parameter'
        ? `store it in SSM Parameter Store and write "ssm:/path/to/parameter" as the value (or use a {{resolve:secretsmanager:...}} dynamic reference in the template)`
        : 'tags are visible to anyone who can describe the stack: keep the secret in SSM Parameter Store and pass it as a parameter with "ssm:/path/to/parameter"';
    throw new ConfigError(
      Reason.PlaintextSecret,
      `${v.file}: ${v.kind} "${v.name}" looks like a plaintext secret (${kind}); ${fix}`,
      { file: v.file, field: `${v.kind === 'parameter' ? 'parameters' : 'tags'}.${v.name}` },
    );
  }
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(text: string): number {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const n = [...text].length;
  let bits = 0;
  for (const c of counts.values()) {
    const p = c / n;
    bits -= p * Math.log2(p);
  }
  return bits;
}
