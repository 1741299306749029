/**
 * The preview of a pull request: render its head and compare every stack with what is applied in each environment
 * bound to the base branch. Never applies, never writes state.
 *
 * Safety (the head is untrusted: anyone who can open a pull request wrote it):
 * - The BASE commit's configuration decides which environments exist, their regions, roles, external ids, parameters
 *   and tags, and each stack's CloudFormation service role. The head supplies only stacks, templates and their
 *   parameters; a role or service role that only the head names is never used.
 * - By default the diff is computed offline (`@aws-cdk/cloudformation-diff` against the applied template): no AWS
 *   call, so no macro or transform of the head runs with the installation's rights. A real preview change set goes
 *   through the applier only with `changeSets: true`, and never for a head from a fork.
 */
import { loadRepoConfig } from '../config/load.ts';
import { RepoTree } from '../config/repo-tree.ts';
import type { EngineDeps } from '../engine/deps.ts';
import { enforce } from '../engine/prepare.ts';
import { type GitOpsError, toGitOpsError } from '../errors.ts';
import type { Capability, EnvironmentSpec, RenderedStack, RepoConfig, StackSpec, StackState } from '../model.ts';
import { diffTemplates } from '../plan/template-diff.ts';
import { narrowConfig, type PolicyError, repositoryPolicy, type ScopedPolicy } from '../policy/check.ts';
import { identityOf } from '../policy/ownership.ts';
import type { PreviewResult, RepoSnapshot } from '../ports.ts';
import { renderStacks } from '../render/render.ts';
import { withLine } from './locate.ts';
import type { Preview, PreviewFailure, PreviewStack } from './types.ts';

export type PreviewDeps = Pick<EngineDeps, 'source' | 'state' | 'applier' | 'logger' | 'defaultRegion'> &
  Partial<Pick<EngineDeps, 'stackNamePrefix' | 'policy' | 'account'>>;

export interface PreviewRequest {
  /** The branch the pull request would merge into. */
  readonly baseBranch: string;
  /** What to render: the head branch, a full ref (`refs/pull/7/head`) or a commit SHA. */
  readonly headRef: string;
  /**
   * The branch the installation follows: environments without `branch:` are bound to it. Undefined: they follow
   * whatever branch is previewed against (the local CLI, which follows the repository's default branch).
   */
  readonly followedBranch?: string;
  /** Real preview change sets (opt-in); refused for forks whatever this says. @default false */
  readonly changeSets?: boolean;
  /** The head comes from a fork. @default false */
  readonly fromFork?: boolean;
  readonly signal?: AbortSignal;
}

export type PreviewOutcome =
  | { readonly kind: 'preview'; readonly preview: Preview }
  | { readonly kind: 'not-bound'; readonly reason: string; readonly base: RepoSnapshot };

export async function computePreview(deps: PreviewDeps, request: PreviewRequest): Promise<PreviewOutcome> {
  const signal = request.signal;
  const base = await deps.source.fetch({ ref: request.baseBranch, ...(signal ? { signal } : {}) });
  // The installation's side: a broken base configuration is an error of the base, not of the pull request.
  const loadedBase = await loadRepoConfig(base, { defaultRegion: deps.defaultRegion });
  // With an installation policy, the policy binds branches and roles, as on a sync; a repository it does not name
  // deploys nothing (a PolicyError, like a broken base configuration: an error of the installation's side).
  const scoped: ScopedPolicy | undefined = deps.policy ? repositoryPolicy(deps.policy, base.repo) : undefined;
  const baseConfig = scoped ? narrowConfig(loadedBase, scoped).config : loadedBase;
  const bound = baseConfig.environments.filter((env) => isBound(env, request.baseBranch, request.followedBranch));
  if (bound.length === 0) {
    return {
      kind: 'not-bound',
      reason: `no environment is bound to ${request.baseBranch}`,
      base,
    };
  }
  const head = await deps.source.fetch({ ref: request.headRef, ...(signal ? { signal } : {}) });
  const mode = request.changeSets === true && request.fromFork !== true ? 'change-set' : 'offline';
  const shell = {
    repo: base.repo,
    baseBranch: request.baseBranch,
    base: base.commit,
    headRef: request.headRef,
    head: head.commit,
    environments: bound.map((e) => e.name),
    mode,
  } as const;

  let headConfig: RepoConfig;
  try {
    headConfig = await loadRepoConfig(head, { defaultRegion: deps.defaultRegion });
  } catch (err) {
    return { kind: 'preview', preview: { ...shell, stacks: [], unchanged: 0, configFailure: failureOf(err) } };
  }

  const config = mergeConfig(baseConfig, headConfig, bound);
  const names = new Set(bound.map((e) => e.name));
  const known = await deps.state.listStacks();
  const states = new Map(
    known.filter((s) => s.repo === base.repo && names.has(s.environment)).map((s) => [s.key, s] as const),
  );
  const stackNamePrefix = `${deps.stackNamePrefix ?? ''}${scoped?.policy.stackNamePrefix ?? ''}`;
  const rendered = await renderStacks(head, config, {
    environments: [...names],
    // The head is on another branch than the environments follow; the bound set above already chose them.
    ignoreBranch: true,
    ...(stackNamePrefix ? { stackNamePrefix } : {}),
  });
  // What a sync of the merged head would refuse, the preview shows as failed: a stack another repository owns, and
  // with a policy, what the head's gitops.yaml declares against it and each stack's region, account, roles,
  // capabilities and resource types (the same checks as shared/engine/prepare.ts).
  const outcome = await enforce(rendered, {
    snapshot: head,
    config,
    states: new Map(known.map((s) => [s.key, s] as const)),
    ...(scoped ? { scoped, violations: headViolations(headConfig, scoped, names) } : {}),
    ...(deps.account ? { account: deps.account } : {}),
  });
  const tree = outcome.errors.length ? await RepoTree.of(head) : undefined;

  const stacks: PreviewStack[] = [];
  let unchanged = 0;
  for (const failure of outcome.errors) {
    const state = states.get(failure.key);
    stacks.push({
      key: failure.key,
      stack: failure.stack,
      environment: failure.environment,
      stackName: state?.stackName ?? failure.stack,
      region: state?.region ?? '',
      status: 'failed',
      capabilities: [],
      newCapabilities: [],
      failure: tree ? await withLine(failureOf(failure.error), tree, failure.error.field) : failureOf(failure.error),
    });
  }
  for (const rendered of outcome.rendered) {
    const entry = await previewStack(deps, rendered, states.get(rendered.key), mode, signal);
    if (entry) stacks.push(entry);
    else unchanged += 1;
  }
  const seen = new Set(stacks.map((s) => s.key).concat(outcome.rendered.map((r) => r.key)));
  const environments = new Map(bound.map((e) => [e.name, e]));
  for (const state of states.values()) {
    if (seen.has(state.key) || !state.lastApplied) continue;
    stacks.push({
      key: state.key,
      stack: state.stack,
      environment: state.environment,
      stackName: state.stackName,
      region: state.region,
      status: 'removed',
      capabilities: [],
      newCapabilities: [],
      prune: environments.get(state.environment)?.syncPolicy.prune ?? false,
    });
  }
  stacks.sort((a, b) => a.key.localeCompare(b.key));
  return { kind: 'preview', preview: { ...shell, stacks, unchanged } };
}

/** The head's gitops.yaml against the policy (roles, external ids, branch bindings), for the bound environments. */
function headViolations(head: RepoConfig, scoped: ScopedPolicy, bound: ReadonlySet<string>) {
  const violations = new Map<string, PolicyError>();
  for (const [env, error] of narrowConfig(head, scoped).violations) if (bound.has(env)) violations.set(env, error);
  return violations;
}

/** An environment follows the base branch when it says so, or says nothing and the base is the followed branch. */
function isBound(env: EnvironmentSpec, baseBranch: string, followedBranch: string | undefined): boolean {
  if (env.branch !== undefined) return env.branch === baseBranch;
  return followedBranch === undefined || followedBranch === baseBranch;
}

/**
 * The head's stacks placed in the base's environments. Everything that says where and as whom a stack is applied
 * comes from the base: environments (region, role, external id, parameters, tags, sync policy), signing and each
 * stack's service role (taken from the base's stack of the same name; a stack new in the head gets none).
 */
function mergeConfig(base: RepoConfig, head: RepoConfig, bound: readonly EnvironmentSpec[]): RepoConfig {
  const names = new Set(bound.map((e) => e.name));
  const baseStacks = new Map(base.stacks.map((s) => [s.name, s]));
  const stacks: StackSpec[] = head.stacks.map((stack) => {
    const { serviceRole: _ignored, ...rest } = stack;
    const trusted = baseStacks.get(stack.name)?.serviceRole;
    return {
      ...rest,
      environments: stack.environments.filter((e) => names.has(e)),
      ...(trusted ? { serviceRole: trusted } : {}),
    };
  });
  return {
    mode: head.mode,
    environments: bound,
    stacks,
    notifications: base.notifications,
    ...(base.signing ? { signing: base.signing } : {}),
  };
}

async function previewStack(
  deps: PreviewDeps,
  rendered: RenderedStack,
  state: StackState | undefined,
  mode: Preview['mode'],
  signal: AbortSignal | undefined,
): Promise<PreviewStack | undefined> {
  const applied = state?.lastApplied;
  if (applied?.hash === rendered.hash) return undefined;
  // A stack is its account, region and name: one that moves is a new stack, compared with nothing (as in a plan).
  const moved = applied && state && identityOf(state, deps.account) !== identityOf(rendered, deps.account);
  const previous =
    applied && !moved ? (await deps.state.getRendered(applied.hash, applied.revision))?.rendered : undefined;
  const base = {
    key: rendered.key,
    stack: rendered.stack,
    environment: rendered.environment,
    stackName: rendered.stackName,
    region: rendered.region,
    capabilities: rendered.capabilities,
    newCapabilities: newCapabilities(rendered.capabilities, previous?.capabilities),
  };
  let result: PreviewResult;
  try {
    result =
      mode === 'change-set'
        ? await deps.applier.preview({
            rendered,
            ...(previous ? { previous } : {}),
            ...(signal ? { signal } : {}),
          })
        : await diffTemplates(previous, rendered);
  } catch (err) {
    return { ...base, status: 'failed', failure: failureOf(err) };
  }
  if (!result.hasChanges && applied) return undefined;
  return {
    ...base,
    status: applied && !moved ? 'update' : 'create',
    changes: result.changes,
    diffText: result.diffText,
  };
}

function newCapabilities(next: readonly Capability[], previous: readonly Capability[] | undefined): Capability[] {
  const had = new Set(previous ?? []);
  return next.filter((c) => !had.has(c));
}

function failureOf(err: unknown): PreviewFailure {
  const error: GitOpsError = toGitOpsError(err);
  return {
    reason: error.reason,
    message: error.message,
    ...(error.file !== undefined ? { file: error.file } : {}),
    ...(error.line !== undefined ? { line: error.line } : {}),
  };
}
