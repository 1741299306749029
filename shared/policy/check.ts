/**
 * Checks a repository's desired state against the installation policy. The policy decides; the commit can only
 * narrow: its branch bindings, roles and external ids must be the policy's (or absent, and then the policy's are
 * used), its regions, accounts, capabilities and resource types must be among those the policy allows. Every
 * violation names the field of the repository and the rule of the policy it broke.
 */
import { posix } from 'node:path';
import { GITOPS_FILE } from '../config/gitops-file.ts';
import type { RepoTree } from '../config/repo-tree.ts';
import { type ErrorOptions, GitOpsError, Reason } from '../errors.ts';
import type { CfnTemplate, RenderedStack, RepoConfig } from '../model.ts';
import { normalizeRepo } from './repo-name.ts';
import type { EnvironmentPolicy, InstallationPolicy, RepositoryPolicy } from './schema.ts';

/** What the installation's policy does not allow. Never retried: the next push must change, or the policy. */
export class PolicyError extends GitOpsError {
  /** The policy rule that was broken, as `<policy>: repositories[i].<field>`. */
  readonly rule: string;
  constructor(message: string, rule: string, options: ErrorOptions = {}) {
    super(Reason.PolicyViolation, `policy violation: ${message} (rule: ${rule})`, options);
    this.name = 'PolicyError';
    this.rule = rule;
  }
}

/** How deep nested templates are followed, and how many are read per stack: the repository is untrusted input. */
export const MAX_NESTED_DEPTH = 5;
export const MAX_NESTED_TEMPLATES = 50;

/** The policy entry of one repository, with its place in the policy for messages. */
export interface ScopedPolicy {
  readonly policy: RepositoryPolicy;
  /** `policy.yaml: repositories[2]` */
  readonly where: string;
}

/** The repository's entry, or a PolicyError: a repository the installation does not name may deploy nothing. */
export function repositoryPolicy(policy: InstallationPolicy, repo: string): ScopedPolicy {
  const wanted = normalizeRepo(repo);
  const index = policy.repositories.findIndex((r) => normalizeRepo(r.repo) === wanted);
  if (index < 0) {
    throw new PolicyError(
      `repository ${repo} is not named in the installation policy`,
      `${policy.origin}: repositories`,
      {
        field: 'repo',
        file: policy.origin,
      },
    );
  }
  return { policy: policy.repositories[index]!, where: `${policy.origin}: repositories[${index}]` };
}

export interface NarrowedConfig {
  /** The configuration with the policy's branch, role and external id in every environment the policy names. */
  readonly config: RepoConfig;
  /** Environments the commit may not deploy as it declares them, with why. */
  readonly violations: ReadonlyMap<string, PolicyError>;
}

/**
 * Narrows the commit's environments to the policy: the branch that deploys an environment, the role and the
 * external id come from the policy. A commit that names others, or an environment the policy does not name, breaks
 * the rule for every stack of that environment.
 */
export function narrowConfig(config: RepoConfig, scoped: ScopedPolicy): NarrowedConfig {
  const { policy, where } = scoped;
  const violations = new Map<string, PolicyError>();
  const violate = (env: string, field: string, message: string, rule: string) => {
    if (!violations.has(env)) {
      violations.set(env, new PolicyError(message, `${where}.${rule}`, { file: GITOPS_FILE, field }));
    }
  };
  const environments = config.environments.map((env) => {
    const allowed = policy.environments[env.name];
    const field = `environments[${env.name}]`;
    if (!allowed) {
      const names = Object.keys(policy.environments);
      violate(
        env.name,
        field,
        `${GITOPS_FILE}: ${field}: the installation does not let this repository deploy environment "${env.name}" (allowed: ${names.join(', ') || 'none'})`,
        'environments',
      );
      return env;
    }
    if (allowed.branch !== undefined && env.branch !== undefined && env.branch !== allowed.branch) {
      violate(
        env.name,
        `${field}.branch`,
        `${GITOPS_FILE}: ${field}.branch: "${env.branch}" is not the branch the installation binds to "${env.name}" ("${allowed.branch}")`,
        `environments.${env.name}.branch`,
      );
    }
    if (env.role !== undefined && env.role !== allowed.role) {
      violate(
        env.name,
        `${field}.role`,
        allowed.role
          ? `${GITOPS_FILE}: ${field}.role: ${env.role} is not the role the installation allows for "${env.name}" (${allowed.role})`
          : `${GITOPS_FILE}: ${field}.role: the installation allows no role for "${env.name}"; remove ${env.role}`,
        `environments.${env.name}.role`,
      );
    }
    if (env.externalId !== undefined && env.externalId !== allowed.externalId) {
      violate(
        env.name,
        `${field}.externalId`,
        `${GITOPS_FILE}: ${field}.externalId: not the external id the installation gives "${env.name}"`,
        `environments.${env.name}.externalId`,
      );
    }
    const { role: _role, externalId: _externalId, branch: _branch, ...rest } = env;
    // A binding that contradicts the policy leaves the environment on every branch, so whichever branch is synced
    // reports the violation instead of deploying nothing without a word.
    const conflict = violations.get(env.name)?.field === `${field}.branch`;
    return {
      ...rest,
      ...(conflict
        ? {}
        : allowed.branch !== undefined
          ? { branch: allowed.branch }
          : env.branch !== undefined
            ? { branch: env.branch }
            : {}),
      ...(allowed.role ? { role: allowed.role } : {}),
      ...(allowed.externalId ? { externalId: allowed.externalId } : {}),
    };
  });
  return { config: { ...config, environments }, violations };
}

/** The account of an IAM role ARN. */
export const accountOfRole = (role: string | undefined): string | undefined =>
  role ? /^arn:aws[a-z-]*:iam::(\d{12}):/.exec(role)?.[1] : undefined;

/** The stack's account: its environment role's, else the installation's own (when known). */
export const accountOf = (stack: { readonly role?: string }, installationAccount?: string): string | undefined =>
  accountOfRole(stack.role) ?? installationAccount;

export interface StackCheckContext {
  /** The installation's own account, for stacks without an environment role. */
  readonly installationAccount?: string;
  /** The repository's tree and the stack's template path: nested templates are read from it. Absent: top level only. */
  readonly tree?: RepoTree;
  readonly templateFile?: string;
}

/** Region, account, service role, capabilities and resource types (nested templates included) of one stack. */
export async function checkStack(rendered: RenderedStack, scoped: ScopedPolicy, ctx: StackCheckContext = {}) {
  const { policy, where } = scoped;
  const allowed = policy.environments[rendered.environment];
  const label = `${rendered.stack} (${rendered.environment})`;
  if (!allowed) {
    throw new PolicyError(
      `${label}: environment "${rendered.environment}" is not allowed for this repository`,
      `${where}.environments`,
      { field: 'environment' },
    );
  }
  checkEnvironment(rendered, allowed, scoped, ctx.installationAccount);
  const capabilities = policy.capabilities ?? [];
  const extra = rendered.capabilities.filter((c) => !capabilities.includes(c));
  if (extra.length) {
    throw new PolicyError(
      `${label}: the template needs ${extra.join(', ')}, which the installation does not allow this repository (allowed: ${capabilities.join(', ') || 'none'})`,
      `${where}.capabilities`,
      { field: 'capabilities' },
    );
  }
  const rules = policy.resourceTypes;
  if (!rules || ((rules.allow === undefined || rules.allow.includes('*')) && !rules.deny?.length)) return;
  const allow = (rules.allow ?? ['*']).map(globRegExp);
  const deny = (rules.deny ?? []).map(globRegExp);
  const check = (template: CfnTemplate, file: string) => {
    for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
      const type = String(resource?.Type ?? '');
      const denied = rules.deny?.find((_, i) => deny[i]!.test(type));
      if (denied !== undefined || !allow.some((re) => re.test(type))) {
        throw new PolicyError(
          `${label}: ${file}: Resources.${logicalId}: type ${type} is ${denied !== undefined ? `denied by "${denied}"` : `not in the allowed types (${(rules.allow ?? []).join(', ')})`}`,
          `${where}.resourceTypes.${denied !== undefined ? 'deny' : 'allow'}`,
          { file, field: `Resources.${logicalId}.Type` },
        );
      }
    }
  };
  const root = rendered.templateFiles?.root ?? ctx.templateFile ?? rendered.stack;
  check(rendered.template, root);
  if (rendered.nestedTemplates) {
    // The renderer packaged the repository's nested templates (bounded in depth and count there): check those, and
    // refuse any nested stack it did not package (a template outside the repository cannot be checked).
    checkPackagedNested(rendered, root, check, label, `${where}.resourceTypes`);
    return;
  }
  await checkNested(rendered.template, ctx.templateFile ?? '', ctx.tree, check, label, `${where}.resourceTypes`);
}

/** Every nested template the renderer packaged, by logical path (`Network`, `Network/Roles`), checked by `check`. */
function checkPackagedNested(
  rendered: RenderedStack,
  root: string,
  check: (template: CfnTemplate, file: string) => void,
  label: string,
  rule: string,
): void {
  const nested = rendered.nestedTemplates ?? {};
  const files = rendered.templateFiles?.nested ?? {};
  const visit = (template: CfnTemplate, from: string, logicalPath: string): void => {
    for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
      if (nestedLocation(resource) === undefined) continue;
      const path = logicalPath ? `${logicalPath}/${logicalId}` : logicalId;
      const child = nested[path];
      if (!child) {
        const field = `Resources.${logicalId}`;
        throw new PolicyError(
          `${label}: ${from}: ${field}: the nested template is not a file of the repository, so its resource types cannot be checked; keep nested templates in the repository`,
          rule,
          { file: from, field },
        );
      }
      const file = files[path] ?? path;
      check(child, file);
      visit(child, file, path);
    }
  };
  visit(rendered.template, root, '');
}

function checkEnvironment(
  rendered: RenderedStack,
  allowed: EnvironmentPolicy,
  scoped: ScopedPolicy,
  installationAccount?: string,
): void {
  const { where } = scoped;
  const rule = `${where}.environments.${rendered.environment}`;
  const label = `${rendered.stack} (${rendered.environment})`;
  if (allowed.regions && !allowed.regions.includes(rendered.region)) {
    throw new PolicyError(
      `${label}: region ${rendered.region} is not allowed (allowed: ${allowed.regions.join(', ')})`,
      `${rule}.regions`,
      { field: 'region' },
    );
  }
  const account = accountOf(rendered, installationAccount);
  if (allowed.accounts && account !== undefined && !allowed.accounts.includes(account)) {
    throw new PolicyError(
      `${label}: account ${account} is not allowed (allowed: ${allowed.accounts.join(', ')})`,
      `${rule}.accounts`,
      { field: 'account' },
    );
  }
  if ((rendered.role ?? undefined) !== (allowed.role ?? undefined)) {
    throw new PolicyError(
      `${label}: role ${rendered.role ?? '(none)'} is not the role the installation allows (${allowed.role ?? 'none'})`,
      `${rule}.role`,
      { field: 'role' },
    );
  }
  if (rendered.serviceRole !== undefined && rendered.serviceRole !== allowed.serviceRole) {
    throw new PolicyError(
      `${label}: serviceRole ${rendered.serviceRole} is not a service role the installation allows (${allowed.serviceRole ?? 'none'})`,
      `${rule}.serviceRole`,
      { file: GITOPS_FILE, field: 'serviceRole' },
    );
  }
}

/**
 * The checks an apply repeats on a stored rendered stack before it touches CloudFormation: environment, branch,
 * region, account, roles, capabilities and top-level resource types (the sync already read nested templates).
 */
export async function checkStoredStack(
  rendered: RenderedStack,
  policy: InstallationPolicy,
  installationAccount?: string,
  installationPrefix = '',
): Promise<void> {
  const scoped = repositoryPolicy(policy, rendered.repo);
  const allowed = scoped.policy.environments[rendered.environment];
  const prefix = `${installationPrefix}${scoped.policy.stackNamePrefix ?? ''}`;
  if (!rendered.stackName.startsWith(prefix)) {
    throw new PolicyError(
      `${rendered.stack} (${rendered.environment}): stack name ${rendered.stackName} does not start with ${prefix}`,
      `${scoped.where}.stackNamePrefix`,
      { field: 'stackName' },
    );
  }
  // A commit named by its SHA is on no branch (an approval of a reviewed revision); any other branch must be the bound one.
  if (allowed?.branch !== undefined && !isCommitSha(rendered.branch) && rendered.branch !== allowed.branch) {
    throw new PolicyError(
      `${rendered.stack} (${rendered.environment}): branch ${rendered.branch} may not deploy "${rendered.environment}" (bound to ${allowed.branch})`,
      `${scoped.where}.environments.${rendered.environment}.branch`,
      { field: 'branch' },
    );
  }
  await checkStack(rendered, scoped, installationAccount ? { installationAccount } : {});
}

const isCommitSha = (ref: string) => /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(ref);

/** Nested stacks whose template is a file of the repository are read and checked by the same rules. */
async function checkNested(
  template: CfnTemplate,
  file: string,
  tree: RepoTree | undefined,
  check: (template: CfnTemplate, file: string) => void,
  label: string,
  rule: string,
): Promise<void> {
  let read = 0;
  const visit = async (t: CfnTemplate, from: string, depth: number): Promise<void> => {
    for (const [logicalId, resource] of Object.entries(t.Resources ?? {})) {
      const location = nestedLocation(resource);
      if (location === undefined) continue;
      const field = `Resources.${logicalId}`;
      if (typeof location !== 'string' || /^[a-z][a-z0-9+.-]*:/i.test(location) || !tree) {
        throw new PolicyError(
          `${label}: ${from}: ${field}: the nested template ${typeof location === 'string' ? location : '(not a repository path)'} cannot be read here, so its resource types cannot be checked; keep nested templates in the repository`,
          rule,
          { file: from, field },
        );
      }
      const path = posix.normalize(posix.join(posix.dirname(from), location));
      if (path.startsWith('..') || path.startsWith('/')) {
        throw new PolicyError(`${label}: ${from}: ${field}: ${location} leaves the repository`, rule, {
          file: from,
          field,
        });
      }
      if (depth >= MAX_NESTED_DEPTH || ++read > MAX_NESTED_TEMPLATES) {
        throw new PolicyError(
          `${label}: ${from}: ${field}: nested templates go deeper than ${MAX_NESTED_DEPTH} levels or number more than ${MAX_NESTED_TEMPLATES}`,
          rule,
          { file: from, field },
        );
      }
      const { entry } = await tree.resolve(path, { file: from, field: `${field}.Properties` });
      // The template reader (the YAML parser) loads with the first nested template: the functions check stored
      // stacks on every apply, and nested templates are the rare case.
      const { parseTemplate } = await import('../render/cfn-template.ts');
      const nested = parseTemplate(await tree.readText(entry.path), entry.path);
      check(nested, entry.path);
      await visit(nested, entry.path, depth + 1);
    }
  };
  await visit(template, file, 0);
}

/** Where a nested stack's template is: `TemplateURL` of a stack, `Location` of a Serverless application. */
function nestedLocation(resource: { readonly Type: string; readonly Properties?: unknown }): unknown {
  const props = (resource.Properties ?? {}) as Record<string, unknown>;
  if (resource.Type === 'AWS::CloudFormation::Stack') return props['TemplateURL'] ?? null;
  if (resource.Type === 'AWS::Serverless::Application') return props['Location'] ?? null;
  return undefined;
}

/** `AWS::IAM::*` → /^AWS::IAM::.*$/ (patterns are bounded and checked by the schema). */
function globRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
}
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
