/**
 * Drift values are the live and expected values of drifted properties. A value set in the console can be a secret (a
 * Lambda environment variable, a password), and drift results travel far: state, events and their archive, the
 * status page. So by default the drift detector keeps only the property paths and difference kinds. An installation
 * that wants the values opts in (`GITOPS_DRIFT_VALUES=redacted`), and even then every value that could be a secret is
 * replaced here before anything stores or publishes it. Alerts (mail, chat, Slack, commit status) never show values,
 * opted in or not (shared/notify/describe.ts).
 */
import { ConfigError, Reason } from '../errors.ts';
import type { CfnTemplate, DriftedResource, RenderedStack } from '../model.ts';
import { REFERENCE_NAME, SECRET_NAME, secretKind } from '../render/secrets-scan.ts';
import { sanitize } from '../sanitize.ts';

/** What a redacted value reads as. */
export const REDACTED = '(redacted)';

/** Path segments under which every value is redacted: environment variables, secrets. */
const SECRET_CONTAINER = /^(?:Environment|Variables|EnvironmentVariables|Secrets?|SecretString|Parameters)$/i;
/** Shortest NoEcho value looked for inside drift values; shorter ones would match by chance. */
const MIN_NOECHO_LENGTH = 4;

/** Whether any difference carries a value (only when the installation opted in). */
export const hasDriftValues = (resources: readonly DriftedResource[]): boolean =>
  resources.some((r) => r.differences.some((d) => d.expected !== undefined || d.actual !== undefined));

/** Every difference without its values: the default. */
export function withoutDriftValues(resources: readonly DriftedResource[]): DriftedResource[] {
  return resources.map((r) => ({
    ...r,
    differences: r.differences.map(({ path, kind }) => ({ path, kind })),
  }));
}

/**
 * The values that may stay, the others replaced by REDACTED: under environment variables and secret containers,
 * under secret-like property names, matching a token format, looking like a credential or holding what the sanitizer
 * masks, containing a NoEcho
 * parameter's value, or at a property the template sets from a NoEcho parameter.
 */
export function redactDriftValues(
  resources: readonly DriftedResource[],
  rendered?: Pick<RenderedStack, 'template' | 'parameters'>,
): DriftedResource[] {
  const noEcho = noEchoParameters(rendered?.template);
  const noEchoValues = [...noEcho]
    .map((name) => rendered?.parameters[name])
    .filter((v): v is string => v !== undefined && v.length >= MIN_NOECHO_LENGTH);
  return resources.map((r) => ({
    ...r,
    differences: r.differences.map((d) => {
      const segments = d.path.split('/').filter(Boolean);
      const secretPath =
        segments.some((s) => SECRET_CONTAINER.test(s)) ||
        segments.some((s) => SECRET_NAME.test(s) && !REFERENCE_NAME.test(s)) ||
        fromNoEcho(rendered?.template, r.logicalId, segments, noEcho);
      const name = [...segments].reverse().find((s) => !/^\d+$/.test(s)) ?? '';
      const keep = (value: string | undefined) =>
        value === undefined ||
        !(
          secretPath ||
          secretKind(name, value) !== undefined ||
          // What the log and event sanitizer would mask (credentials in URLs, bearer tokens, registered secrets).
          sanitize(value) !== value ||
          noEchoValues.some((v) => value.includes(v))
        );
      return {
        path: d.path,
        kind: d.kind,
        ...(d.expected !== undefined ? { expected: keep(d.expected) ? d.expected : REDACTED } : {}),
        ...(d.actual !== undefined ? { actual: keep(d.actual) ? d.actual : REDACTED } : {}),
      };
    }),
  }));
}

function noEchoParameters(template: CfnTemplate | undefined): Set<string> {
  const out = new Set<string>();
  for (const [name, spec] of Object.entries(template?.Parameters ?? {})) {
    if (spec.NoEcho === true || String(spec.NoEcho).toLowerCase() === 'true') out.add(name);
  }
  return out;
}

/** Whether the template sets this property (or what contains it) from a NoEcho parameter. */
function fromNoEcho(
  template: CfnTemplate | undefined,
  logicalId: string,
  segments: readonly string[],
  noEcho: ReadonlySet<string>,
): boolean {
  if (!template || noEcho.size === 0) return false;
  const resource = (template.Resources as Record<string, { Properties?: unknown }> | undefined)?.[logicalId];
  let node: unknown = resource;
  // Drift paths start at /Properties/… in CloudFormation's own notation.
  const path = segments[0] === 'Properties' ? segments : ['Properties', ...segments];
  for (const segment of path) {
    // An intrinsic function (Ref, Fn::Sub, Fn::If…) computes everything below it: judge it as a whole.
    if (isIntrinsic(node)) break;
    if (node === null || typeof node !== 'object') return false;
    node = (node as Record<string, unknown>)[segment];
    if (node === undefined) return false;
  }
  return mentionsParameter(node, noEcho, 0);
}

const isIntrinsic = (node: unknown): boolean => {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return false;
  const keys = Object.keys(node);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::'));
};

function mentionsParameter(node: unknown, names: ReadonlySet<string>, depth: number): boolean {
  if (depth > 32 || node === null || node === undefined) return false;
  if (typeof node === 'string') {
    for (const name of names) if (node.includes(`\${${name}}`)) return true;
    return false;
  }
  if (Array.isArray(node)) return node.some((item) => mentionsParameter(item, names, depth + 1));
  if (typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'Ref' && typeof value === 'string' && names.has(value)) return true;
      if (mentionsParameter(value, names, depth + 1)) return true;
    }
  }
  return false;
}

/**
 * The detector's result as it may be stored and published: unchanged without values; with values (the installation
 * opted in), redacted against the applied rendered stack (its NoEcho parameters and template).
 */
export async function storableDrift<T extends { readonly resources: readonly DriftedResource[] }>(
  result: T,
  appliedHash: string | undefined,
  getRendered: (hash: string) => Promise<{ readonly rendered: RenderedStack } | undefined>,
): Promise<T> {
  if (!hasDriftValues(result.resources)) return result;
  const rendered = appliedHash ? (await getRendered(appliedHash).catch(() => undefined))?.rendered : undefined;
  // Without the applied template, NoEcho properties cannot be told apart: keep no values rather than guess.
  const resources = rendered ? redactDriftValues(result.resources, rendered) : withoutDriftValues(result.resources);
  return { ...result, resources };
}

/** The installation's setting (`GITOPS_DRIFT_VALUES`): unset or `off` keeps no values, `redacted` keeps them redacted. */
export function driftValuesSetting(value: string | undefined, name = 'GITOPS_DRIFT_VALUES'): boolean {
  if (value === undefined || value === '' || value === 'off') return false;
  if (value === 'redacted') return true;
  throw new ConfigError(Reason.InvalidConfig, `${name} must be "redacted" or "off" (got "${value}")`, { field: name });
}
