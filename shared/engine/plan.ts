import { type GitOpsError, toGitOpsError } from '../errors.ts';
import type { RenderedStack, StackKey, StackState } from '../model.ts';
import { type RiskyChange, riskyChanges } from '../plan/risk.ts';
import { diffTemplates } from '../plan/template-diff.ts';
import { identityOf } from '../policy/ownership.ts';
import type { PreviewResult, RepoSnapshot } from '../ports.ts';
import { checkAgainstSpec } from '../render/render.ts';
import { publishArtifacts } from './artifacts.ts';
import type { EngineDeps, Selection } from './deps.ts';
import { isAncestorOfApplied } from './newest-wins.ts';
import { pendingParametersLine, resolveOutputParameters } from './output-parameters.ts';
import { type Prepared, prepare } from './prepare.ts';

/**
 * What a sync would do to each stack. `plan` prints it and `sync` executes it: one code path, so the dry run is
 * what really happens.
 * - create / update: the rendered stack differs from what was applied;
 * - noop: nothing to do (inputs or rendered hash unchanged);
 * - superseded: the commit is older than the one applied (newest wins);
 * - prune: applied before, gone from Git, and the environment prunes; orphan: the same without prune;
 * - error: the stack could not be rendered; other stacks go on.
 */
export type PlanAction = 'create' | 'update' | 'noop' | 'superseded' | 'prune' | 'orphan' | 'error';

export interface PlanEntry {
  readonly key: StackKey;
  readonly stack: string;
  readonly environment: string;
  readonly action: PlanAction;
  readonly stackName: string;
  readonly region: string;
  readonly rendered?: RenderedStack;
  readonly previous?: StackState;
  readonly preview?: PreviewResult;
  readonly error?: GitOpsError;
  /** The hash this stack has once synced: dependents check their dependencies against it. */
  readonly hash?: string;
  readonly message: string;
  /** Replacements, and deletions of data-holding resources, this entry would make (shared/plan/risk.ts). */
  readonly risks?: readonly RiskyChange[];
}

export interface Plan {
  readonly snapshot: RepoSnapshot;
  readonly prepared: Prepared;
  readonly entries: readonly PlanEntry[];
}

export const hasChanges = (plan: Plan): boolean =>
  plan.entries.some(
    (e) => e.action === 'create' || e.action === 'update' || e.action === 'prune' || e.action === 'orphan',
  );
export const hasErrors = (plan: Plan): boolean => plan.entries.some((e) => e.action === 'error');

export async function computePlan(deps: EngineDeps, selection: Selection): Promise<Plan> {
  const prepared = await prepare(deps, selection);
  const { snapshot, config, outcome, states } = prepared;
  const entries: PlanEntry[] = [];

  for (const key of outcome.unchanged) {
    const previous = states.get(key);
    if (!previous) continue;
    entries.push({
      key,
      stack: previous.stack,
      environment: previous.environment,
      action: 'noop',
      stackName: previous.stackName,
      region: previous.region,
      previous,
      ...(previous.lastApplied ? { hash: previous.lastApplied.hash } : {}),
      message: 'inputs unchanged since the applied revision',
    });
  }

  for (const failure of outcome.errors) {
    const previous = states.get(failure.key);
    entries.push({
      key: failure.key,
      stack: failure.stack,
      environment: failure.environment,
      action: 'error',
      stackName: previous?.stackName ?? failure.stack,
      region: previous?.region ?? '',
      ...(previous ? { previous } : {}),
      error: failure.error,
      message: failure.error.describe(),
    });
  }

  // Dependencies' outputs as applied now: what a preview's `output:` parameters get.
  const outputsOf = (key: StackKey) => states.get(key)?.lastApplied?.outputs;
  for (const rendered of outcome.rendered) {
    entries.push(await planRendered(deps, rendered, states.get(rendered.key), selection, outputsOf, snapshot));
  }

  // Stacks applied from this repository before and no longer declared: prune or report. Only when the whole
  // repository was looked at — a `--stack` or `--deployment-file` selection says nothing about the others.
  if (!selection.stacks?.length && !selection.deploymentFile) {
    const declared = new Set(entries.map((e) => e.key));
    const environments = new Map(config.environments.map((e) => [e.name, e]));
    for (const state of states.values()) {
      if (declared.has(state.key) || state.repo !== snapshot.repo || state.branch !== snapshot.branch) continue;
      if (selection.environments?.length && !selection.environments.includes(state.environment)) continue;
      const prune = environments.get(state.environment)?.syncPolicy.prune ?? state.syncPolicy?.prune ?? false;
      const applied =
        prune && selection.preview !== false && state.lastApplied
          ? (await deps.state.getRendered(state.lastApplied.hash))?.rendered
          : undefined;
      const risks = applied ? riskyChanges({ key: state.key, previous: applied, deleteStack: true }) : [];
      entries.push({
        key: state.key,
        stack: state.stack,
        environment: state.environment,
        action: prune ? 'prune' : 'orphan',
        stackName: state.stackName,
        region: state.region,
        previous: state,
        message: prune
          ? `removed from Git at ${snapshot.commit.sha.slice(0, 7)}: the stack will be deleted (syncPolicy.prune)`
          : `removed from Git at ${snapshot.commit.sha.slice(0, 7)}: not deleted because syncPolicy.prune is off`,
        ...(risks.length ? { risks } : {}),
      });
    }
  }

  entries.sort((a, b) => a.key.localeCompare(b.key));
  return { snapshot, prepared, entries };
}

async function planRendered(
  deps: EngineDeps,
  rendered: RenderedStack,
  previous: StackState | undefined,
  selection: Selection,
  outputsOf: (key: StackKey) => Readonly<Record<string, string>> | undefined,
  snapshot: RepoSnapshot,
): Promise<PlanEntry> {
  const signal = selection.signal;
  let base = {
    key: rendered.key,
    stack: rendered.stack,
    environment: rendered.environment,
    stackName: rendered.stackName,
    region: rendered.region,
    rendered,
    hash: rendered.hash,
    ...(previous ? { previous } : {}),
  };
  const applied = previous?.lastApplied;
  if (applied?.hash === rendered.hash) {
    return { ...base, action: 'noop', message: 'rendered stack equals the applied one' };
  }
  if (applied && (await isAncestorOfApplied(rendered.commit, applied.commit, deps.source, signal))) {
    return {
      ...base,
      action: 'superseded',
      message: `${rendered.revision.slice(0, 7)} is an ancestor of the applied ${applied.revision.slice(0, 7)}: not applied (newest wins)`,
    };
  }
  // A stack is its account, region and name: when one of them changes, CloudFormation makes a new stack, and the
  // old one is handled as removed from Git once the new one is applied (deleted with prune, reported without).
  const moved = applied && previous && identityOf(previous, deps.account) !== identityOf(rendered, deps.account);
  const action = applied && !moved ? 'update' : 'create';
  const message = moved
    ? `create at ${rendered.revision.slice(0, 7)}: ${describeMove(previous, rendered, deps.account)}`
    : applied
      ? `update to ${rendered.revision.slice(0, 7)}`
      : `create at ${rendered.revision.slice(0, 7)}`;
  try {
    // What CloudFormation would refuse at create time is refused before anything is stored or previewed. Only the
    // stacks that will change are checked: loading the resource specification takes a second.
    if (deps.checkResources) {
      rendered = await checkAgainstSpec(snapshot, rendered, deps.specChecked);
      base = { ...base, rendered };
    }
    // Packaged code and nested templates must be where the template says before CloudFormation reads it.
    await publishArtifacts(deps, snapshot, rendered, signal);
  } catch (err) {
    const error = toGitOpsError(err);
    return { ...base, action: 'error', error, message: error.describe() };
  }
  if (selection.preview === false) return { ...base, action, message };
  try {
    const storedPrevious =
      applied && !moved ? (await deps.state.getRendered(applied.hash, applied.revision))?.rendered : undefined;
    const previousRendered = storedPrevious ? resolveOutputParameters(storedPrevious, outputsOf).rendered : undefined;
    const { rendered: resolved, pending } = resolveOutputParameters(rendered, outputsOf);
    if (Object.keys(pending).length > 0) {
      // A dependency is not applied yet: CloudFormation would refuse the change set ("Parameters: [...] must have
      // values"), so the preview is the offline template diff, and says which values it did not have.
      const offline = await diffTemplates(previousRendered, resolved);
      const preview: PreviewResult = {
        ...offline,
        diffText: `${offline.diffText.trimEnd()}\n${pendingParametersLine(pending)}\n`,
        pendingParameters: pending,
      };
      return { ...base, action, preview, message };
    }
    const preview = await deps.applier.preview({
      rendered: resolved,
      ...(previousRendered ? { previous: previousRendered } : {}),
      ...(selection.keepPreviews ? { keep: true } : {}),
      ...(signal ? { signal } : {}),
    });
    const risks = riskyChanges({
      key: rendered.key,
      changes: preview.changes,
      next: rendered,
      ...(previousRendered ? { previous: previousRendered } : {}),
    });
    return { ...base, action, preview, message, ...(risks.length ? { risks } : {}) };
  } catch (err) {
    const error = toGitOpsError(err);
    return { ...base, action: 'error', error, message: error.describe() };
  }
}

/** `moves from <account>/us-east-1/old-name to <account>/eu-west-1/new-name; the old stack is deleted …` */
export function describeMove(previous: StackState, rendered: RenderedStack, installationAccount?: string): string {
  const from = identityOf(previous, installationAccount);
  const to = identityOf(rendered, installationAccount);
  return `moves from ${from} to ${to}; the old stack ${
    rendered.syncPolicy.prune
      ? 'is deleted once the new one is applied (syncPolicy.prune)'
      : 'is left behind, Out Of Sync (syncPolicy.prune is off)'
  }`;
}
