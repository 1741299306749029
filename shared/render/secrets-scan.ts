/**
 * Refuses plaintext secrets in parameter and tag values, and in a template's literal values (parameter Defaults and
 * resource properties): they would sit in Git, in the stack's parameters and in our state store. The message names
 * where the value is and how to fix it, never the value itself.
 *
 * Two tests: the unambiguous token formats (PATTERNS) everywhere, and, for parameter and tag values only, a
 * high-entropy value under a secret-like name. The second never fires on what is evidently not a secret: values of
 * AWS-typed parameters (`AWS::EC2::Subnet::Id`, `List<…>`, `AWS::SSM::Parameter::…`), ARNs, URLs and resource ids
 * (`subnet-0123…`). A deliberate value is allowed by path with the stack's `notSecrets` in gitops.yaml.
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
export const SECRET_NAME = /pass(?:word|wd|phrase)?|pwd|secret|token|api[-_]?key|private|credential|auth[-_]?key/i;
/** Names that hold a reference to a secret (an ARN, a parameter name), not the secret. */
export const REFERENCE_NAME =
  /(?:arn|name|id|path|parameter|param|ref|length|ttl|rotation|version|expiry|expiration)$/i;
const MIN_ENTROPY_LENGTH = 20;
/** Bits per character; random base64 is about 6, English words stay under 3.5. */
const MIN_ENTROPY_BITS = 3.5;

/** Values that name or locate something rather than being a credential. */
const URL_VALUE = /^[a-z][a-z0-9+.-]*:\/\/[^\s]*$/i;
const ARN_OR_PATH_VALUE = /^(?:arn:|\/|\{\{resolve:)/;
/** A resource id (`subnet-0123456789abcdef0`, `sg-…`, `ami-…`, `i-…`), or a comma-separated list of them. */
const RESOURCE_ID = /^[a-z][a-z0-9-]{0,40}-[0-9a-f]{8,32}$/;
const isResourceIdList = (value: string) => value.split(',').every((item) => RESOURCE_ID.test(item.trim()));
/** Parameter types whose values CloudFormation checks to be AWS resource names, ids or SSM parameter names. */
const AWS_TYPED_PARAMETER = /^(?:AWS::|List<)/;

export interface ScannedValue {
  readonly kind: 'parameter' | 'tag' | 'template';
  readonly name: string;
  readonly value: string;
  /** The file the value was written in. */
  readonly file: string;
  /** The declared parameter type (`String`, `List<AWS::EC2::Subnet::Id>`, …), when the value is a parameter's. */
  readonly type?: string;
  /**
   * Where the value is, as `notSecrets` names it: `parameters.<Name>`, `tags.<Key>`, `Parameters.<Name>.Default`,
   * `Resources.<LogicalId>.Properties.<Property>…` (array items by index). @default from kind and name
   */
  readonly path?: string;
}

/** Why the value looks like a secret, or undefined. */
export function secretKind(name: string, value: string, type?: string): string | undefined {
  for (const p of PATTERNS) if (p.test.test(value)) return p.what;
  if (
    value.length >= MIN_ENTROPY_LENGTH &&
    SECRET_NAME.test(name) &&
    !REFERENCE_NAME.test(name) &&
    !(type !== undefined && AWS_TYPED_PARAMETER.test(type)) &&
    !ARN_OR_PATH_VALUE.test(value) &&
    !URL_VALUE.test(value) &&
    !isResourceIdList(value) &&
    !/\s/.test(value) &&
    shannonEntropy(value) >= MIN_ENTROPY_BITS
  ) {
    return 'a high-entropy value under a secret-like name';
  }
  return undefined;
}

/** A template's literal values only meet the unambiguous token formats: names there say nothing. */
export function tokenKind(value: string): string | undefined {
  for (const p of PATTERNS) if (p.test.test(value)) return p.what;
  return undefined;
}

/** The field path of a scanned value, as the error names it and `notSecrets` allows it. */
export const scannedPath = (v: ScannedValue): string =>
  v.path ?? `${v.kind === 'parameter' ? 'parameters' : v.kind === 'tag' ? 'tags' : 'Resources'}.${v.name}`;

/**
 * Throws ConfigError `PlaintextSecret` for the first value that looks like a secret, unless its path is in `allowed`
 * (the stack's `notSecrets`).
 */
export function assertNoPlaintextSecrets(values: readonly ScannedValue[], allowed: readonly string[] = []): void {
  for (const v of values) {
    const path = scannedPath(v);
    if (allowed.includes(path)) continue;
    const kind = v.kind === 'template' ? tokenKind(v.value) : secretKind(v.name, v.value, v.type);
    if (!kind) continue;
    const fix =
      v.kind === 'parameter'
        ? `store it in SSM Parameter Store and write "ssm:/path/to/parameter" as the value (or use a {{resolve:secretsmanager:...}} dynamic reference in the template)`
        : v.kind === 'tag'
          ? 'tags are visible to anyone who can describe the stack: keep the secret in SSM Parameter Store and pass it as a parameter with "ssm:/path/to/parameter"'
          : 'templates are readable by anyone who can read the repository or describe the stack: use a {{resolve:ssm-secure:...}} or {{resolve:secretsmanager:...}} dynamic reference, or a NoEcho parameter given with "ssm:"';
    // A template literal is named by its path in the `file: field:` form, so that render's line lookup and
    // describe() give `file:line: field: …` with the path once; parameters and tags are named by their own name.
    const where = v.kind === 'template' ? `${path}: this value` : `${v.kind} "${v.name}"`;
    throw new ConfigError(
      Reason.PlaintextSecret,
      `${v.file}: ${where} looks like a plaintext secret (${kind}); ${fix}. If it is not a secret, list "${path}" under the stack's notSecrets in gitops.yaml`,
      { file: v.file, field: path },
    );
  }
}

/**
 * Every literal string of a template that CloudFormation stores or passes on: parameter Defaults and resource
 * Properties, with its path. Intrinsic functions' string arguments are literal text too (an `Fn::Sub` can hold a
 * token), so they are included.
 */
export function templateLiterals(
  template: {
    readonly Parameters?: Readonly<Record<string, { readonly Default?: unknown }>>;
    readonly Resources?: Readonly<Record<string, unknown>>;
  },
  file: string,
): ScannedValue[] {
  const out: ScannedValue[] = [];
  const visit = (value: unknown, path: string, depth: number): void => {
    if (depth > 64) return; // a parsed template is bounded in size (and so in strings); this bounds recursion
    if (typeof value === 'string') out.push({ kind: 'template', name: path, value, file, path });
    else if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) visit(item, `${path}.${i}`, depth + 1);
    } else if (value && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) visit(item, `${path}.${key}`, depth + 1);
    }
  };
  for (const [name, spec] of Object.entries(template.Parameters ?? {})) {
    const fallback = spec?.Default;
    if (typeof fallback === 'string' || Array.isArray(fallback)) visit(fallback, `Parameters.${name}.Default`, 0);
  }
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const properties = (resource as { Properties?: unknown } | undefined)?.Properties;
    if (properties !== undefined) visit(properties, `Resources.${logicalId}.Properties`, 0);
  }
  return out;
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
