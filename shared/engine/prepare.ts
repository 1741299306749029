import { loadRepoConfig } from '../config/load.ts';
import { RepoTree } from '../config/repo-tree.ts';
import { toGitOpsError } from '../errors.ts';
import type { RepoConfig, StackKey, StackState } from '../model.ts';
import {
  checkStack,
  type NarrowedConfig,
  narrowConfig,
  PolicyError,
  repositoryPolicy,
  type ScopedPolicy,
} from '../policy/check.ts';
import { checkOwnership } from '../policy/ownership.ts';
import type { RepoSnapshot } from '../ports.ts';
import { canonicalJson, sha256Hex } from '../render/hash.ts';
import { type RenderOutcome, renderStacks } from '../render/render.ts';
import type { EngineDeps, Selection } from './deps.ts';
import { enforceSigning } from './signing.ts';

/** The first steps every command shares: fetch the commit, load its configuration, render what changed. */
export interface Prepared {
  readonly snapshot: RepoSnapshot;
  readonly config: RepoConfig;
  readonly outcome: RenderOutcome;
  /** Every stack the state store knows, by key. */
  readonly states: ReadonlyMap<StackKey, StackState>;
}

export async function prepare(deps: EngineDeps, selection: Selection): Promise<Prepared> {
  const snapshot = await deps.source.fetch({
    ...(selection.ref ? { ref: selection.ref } : {}),
    ...(selection.signal ? { signal: selection.signal } : {}),
  });
  deps.logger.debug('fetched', { repo: snapshot.repo, branch: snapshot.branch, revision: snapshot.commit.sha });
  // The installation's own policy first, with only its own keys: the commit cannot weaken what it is checked by.
  if (deps.requireSigned) {
    await enforceSigning({
      source: deps.source,
      commit: snapshot.commit,
      signing: { required: true, keys: deps.requireSigned.keys, ssmKeys: deps.requireSigned.ssmKeys },
      origin: { file: 'the installation', field: 'requireSigned' },
      ...(deps.secrets ? { secrets: deps.secrets } : {}),
    });
  }
  const loaded = await loadRepoConfig(snapshot, {
    defaultRegion: deps.defaultRegion,
    ...(selection.deploymentFile ? { deploymentFile: selection.deploymentFile } : {}),
  });
  // Signed commits only, when the repository asks: checked before anything of the commit is rendered. The policy and
  // its keys come from this commit, so branch protection (or `requireSigned` above) must guard who may change them.
  await enforceSigning({
    source: deps.source,
    commit: snapshot.commit,
    signing: loaded.signing,
    ...(deps.secrets ? { secrets: deps.secrets } : {}),
  });
  const states = new Map((await deps.state.listStacks()).map((s) => [s.key, s] as const));
  // The installation's policy narrows what the commit declares (branch bindings, roles) before anything is rendered.
  const scoped = deps.policy ? repositoryPolicy(deps.policy, snapshot.repo) : undefined;
  const narrowed = scoped
    ? await onBoundBranches(deps, snapshot, narrowConfig(loaded, scoped), scoped, selection)
    : undefined;
  const config = keepAppliedRegions(narrowed?.config ?? loaded, states, snapshot.repo, deps.ambientRegion === true);
  const policyDigest = scoped ? sha256Hex(canonicalJson(scoped.policy)) : undefined;
  const stackNamePrefix = `${deps.stackNamePrefix ?? ''}${scoped?.policy.stackNamePrefix ?? ''}`;
  const rendered = await renderStacks(snapshot, config, {
    ...(selection.environments?.length ? { environments: [...selection.environments] } : {}),
    ...(selection.stacks?.length ? { stacks: [...selection.stacks] } : {}),
    // A commit named by its SHA is on no branch: every environment is rendered from it, whatever branch it follows.
    ...(isCommitSha(snapshot.branch) ? { ignoreBranch: true } : {}),
    ...(stackNamePrefix ? { stackNamePrefix } : {}),
    ...(deps.artifacts ? { artifacts: deps.artifacts } : {}),
    // Only stacks whose input blobs changed since they were applied are rendered again (a monorepo push that
    // touches one stack renders one stack). A stack that belongs to another repository is never "unchanged", nor is
    // one checked under another policy than today's.
    previous: (key) => {
      const state = states.get(key);
      if (!state?.lastApplied || state.repo !== snapshot.repo) return undefined;
      const { [POLICY_INPUT]: digest, ...inputs } = state.lastApplied.inputs;
      if (digest !== policyDigest) return undefined;
      // The region can change without a file changing (`--region`, the installation's): the stack moves, render it.
      const env = config.environments.find((e) => e.name === state.environment);
      const spec = config.stacks.find((s) => s.name === state.stack);
      if (env && (spec?.overrides[env.name]?.region ?? env.region) !== state.region) return undefined;
      return { inputs, hash: state.lastApplied.hash };
    },
  });
  const outcome = await enforce(rendered, {
    snapshot,
    config,
    states,
    ...(scoped ? { scoped } : {}),
    ...(narrowed ? { violations: narrowed.violations } : {}),
    ...(policyDigest ? { policyDigest } : {}),
    ...(deps.account ? { account: deps.account } : {}),
  });
  return { snapshot, config, outcome, states };
}

/**
 * A commit named by its SHA (an approval, `--ref <sha>`) is on no branch, so every environment is rendered from it.
 * Under a policy, an environment bound to a branch is deployed from such a commit only when the commit is that
 * branch's head or one of its ancestors: a pull request head cannot reach prod by its SHA.
 */
async function onBoundBranches(
  deps: EngineDeps,
  snapshot: RepoSnapshot,
  narrowed: NarrowedConfig,
  scoped: ScopedPolicy,
  selection: Selection,
): Promise<NarrowedConfig> {
  if (!isCommitSha(snapshot.branch)) return narrowed;
  const violations = new Map(narrowed.violations);
  const heads = new Map<string, Promise<boolean>>();
  const sha = snapshot.commit.sha;
  const reachable = (branch: string) => {
    let found = heads.get(branch);
    if (!found) {
      found = (async () => {
        try {
          const head = await deps.source.fetch({
            ref: branch,
            ...(selection.signal ? { signal: selection.signal } : {}),
          });
          if (head.commit.sha === sha) return true;
          return (await deps.source.isAncestor?.(sha, head.commit.sha, selection.signal)) === true;
        } catch {
          return false;
        }
      })();
      heads.set(branch, found);
    }
    return found;
  };
  for (const env of narrowed.config.environments) {
    const branch = scoped.policy.environments[env.name]?.branch;
    if (branch === undefined || violations.has(env.name)) continue;
    if (selection.environments?.length && !selection.environments.includes(env.name)) continue;
    if (!(await reachable(branch))) {
      violations.set(
        env.name,
        new PolicyError(
          `commit ${sha.slice(0, 12)} is not on branch ${branch}, the only branch that deploys "${env.name}" (or its history could not be read)`,
          `${scoped.where}.environments.${env.name}.branch`,
          { field: 'revision' },
        ),
      );
    }
  }
  return { config: narrowed.config, violations };
}

/** The pseudo-input that records the policy a stack was checked under (inputs are not part of the rendered hash). */
export const POLICY_INPUT = '<installation policy>';

/**
 * Ownership (always) and the installation policy (when there is one), stack by stack: a stack that breaks a rule
 * moves from `rendered` to `errors`, so nothing of it is applied while the other stacks go on.
 */
export async function enforce(
  outcome: RenderOutcome,
  ctx: {
    snapshot: RepoSnapshot;
    config: RepoConfig;
    states: ReadonlyMap<StackKey, StackState>;
    scoped?: ScopedPolicy;
    violations?: ReadonlyMap<string, PolicyError>;
    policyDigest?: string;
    account?: string;
  },
): Promise<RenderOutcome> {
  const result: RenderOutcome = { rendered: [], unchanged: outcome.unchanged, errors: [...outcome.errors] };
  const tree = ctx.scoped ? await RepoTree.of(ctx.snapshot) : undefined;
  for (const stack of outcome.rendered) {
    try {
      checkOwnership(stack, ctx.states.values(), ctx.account);
      if (ctx.scoped) {
        const violation = ctx.violations?.get(stack.environment);
        if (violation) throw violation;
        const spec = ctx.config.stacks.find((s) => s.name === stack.stack);
        const templateFile = spec
          ? (await tree!.resolve(spec.templatePath, { file: spec.declaredIn, field: 'template' })).entry.path
          : undefined;
        await checkStack(stack, ctx.scoped, {
          ...(ctx.account ? { installationAccount: ctx.account } : {}),
          ...(tree ? { tree } : {}),
          ...(templateFile ? { templateFile } : {}),
        });
      }
      result.rendered.push(
        ctx.policyDigest ? { ...stack, inputs: { ...stack.inputs, [POLICY_INPUT]: ctx.policyDigest } } : stack,
      );
    } catch (err) {
      result.errors.push({
        key: stack.key,
        stack: stack.stack,
        environment: stack.environment,
        error: toGitOpsError(err),
      });
    }
  }
  return result;
}

/**
 * A stack whose region nobody configured keeps the region it was applied in: the operator's ambient AWS_REGION
 * never moves an applied stack (issue: identity). gitops.yaml, `--region` and the installation's region do.
 */
function keepAppliedRegions(
  config: RepoConfig,
  states: ReadonlyMap<StackKey, StackState>,
  repo: string,
  ambient: boolean,
): RepoConfig {
  if (!ambient) return config;
  const environments = config.environments.map((env) => {
    if (!env.regionDefaulted) return env;
    const applied = [...states.values()].find(
      (s) =>
        s.environment === env.name &&
        s.repo === repo &&
        s.lastApplied &&
        config.stacks.some((spec) => spec.name === s.stack && spec.overrides[env.name]?.region === undefined),
    );
    return applied ? { ...env, region: applied.region } : env;
  });
  return { ...config, environments };
}

const isCommitSha = (ref: string) => /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(ref);
