import { type GitOpsError, toGitOpsError } from '../errors.ts';
import type { RenderedStack, StackKey, StackState } from '../model.ts';
import { type RiskyChange, riskyChanges } from '../plan/risk.ts';
import type { PreviewResult, RepoSnapshot } from '../ports.ts';
import type { EngineDeps, Selection } from './deps.ts';
import { isSuperseded } from './newest-wins.ts';
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

  for (const rendered of outcome.rendered) {
    entries.push(await planRendered(deps, rendered, states.get(rendered.key), selection));
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
): Promise<PlanEntry> {
  const signal = selection.signal;
  const base = {
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
  if (applied && (await isSuperseded(rendered.commit, applied.commit, deps.source, signal))) {
    return {
      ...base,
      action: 'superseded',
      message: `${rendered.revision.slice(0, 7)} is older than the applied ${applied.revision.slice(0, 7)}: not applied (newest wins)`,
    };
  }
  const action = applied ? 'update' : 'create';
  const message = applied ? `update to ${rendered.revision.slice(0, 7)}` : `create at ${rendered.revision.slice(0, 7)}`;
  if (selection.preview === false) return { ...base, action, message };
  try {
    const previousRendered = applied ? (await deps.state.getRendered(applied.hash))?.rendered : undefined;
    const preview = await deps.applier.preview({
      rendered,
      ...(previousRendered ? { previous: previousRendered } : {}),
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
