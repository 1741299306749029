import { GitOpsError, Reason, toGitOpsError } from '../errors.ts';
import { DetailType } from '../events/catalog.ts';
import { emit } from '../events/publish.ts';
import type { RenderedStack, StackKey, StackState } from '../model.ts';
import { sameRepo } from '../policy/ownership.ts';
import { type ApplyStackRequest, type ApplyStackResult, applyStack } from './apply-stack.ts';
import { RevisionAuthorizer, type RevisionRequest } from './approval.ts';
import type { EngineDeps, Selection } from './deps.ts';
import { receiveStamp } from './newest-wins.ts';
import { dependencyOrder } from './order.ts';
import { computePlan, type Plan, type PlanEntry } from './plan.ts';
import { attempt, entryDetail, historyRecord, stackDetail, stateDetail } from './record.ts';

export interface SyncOptions extends Selection {
  /** Apply stacks whose environment has `automated: false`. */
  readonly approve?: boolean;
  /**
   * `ref` is a revision someone asked for (a Sync Requested naming one), not a branch the installation follows: each
   * stack is applied only when approval.ts authorizes it (the revision Plan Ready recorded, or one on the bound
   * branch); the others end in Sync Failed `ApprovalRefused`. A requested revision never prunes.
   */
  readonly requestedRevision?: RevisionRequest;
}

export interface SyncReport {
  readonly plan: Plan;
  readonly results: readonly ApplyStackResult[];
  readonly pruned: readonly StackKey[];
  /** Stacks that ended in failure in this run (render, apply or prune). */
  readonly failed: readonly StackKey[];
}

/**
 * The request half of a sync, shared by the sync Lambda and the local loop: plan, record what cannot be applied,
 * store each rendered stack once under its hash, and emit one Apply Requested per stack to apply, in dependency
 * order. The Lambda stops here (the apply function takes the requests from a queue); `sync` goes on and applies.
 */
export async function requestApplies(
  deps: EngineDeps,
  options: SyncOptions,
): Promise<{ plan: Plan; requests: ApplyStackRequest[]; failed: StackKey[] }> {
  // Stamped before the branch is read: the order of syncs as the installation received them.
  const startedAt = deps.clock.now();
  let plan: Plan;
  try {
    plan = await computePlan(deps, options);
  } catch (err) {
    // The repository as a whole could not be read or understood: nothing is applied, and one terminal event says why.
    const error = toGitOpsError(err);
    await emit(deps.events, deps.clock, DetailType.SyncFailed, {
      ...(options.ref ? { branch: options.ref } : {}),
      reason: error.reason,
      message: `sync failed before any stack was applied: ${error.describe()}`,
    });
    throw error;
  }
  const failed: StackKey[] = [];
  const refused = options.requestedRevision
    ? await refuseUnauthorized(deps, plan, options.requestedRevision, options.signal)
    : new Set<StackKey>();
  failed.push(...refused);
  const byKey = new Map(plan.entries.map((e) => [e.key, e]));
  for (const entry of plan.entries) {
    if (refused.has(entry.key)) continue;
    if (entry.action === 'error') {
      failed.push(entry.key);
      await recordRenderFailure(deps, plan, entry);
    } else if (entry.action === 'superseded' && entry.rendered) {
      await emit(deps.events, deps.clock, DetailType.SyncSkipped, {
        ...stackDetail(entry.rendered),
        reason: Reason.Superseded,
        message: `${entry.stack} (${entry.environment}): ${entry.message}`,
        ...(entry.previous?.lastApplied ? { previousRevision: entry.previous.lastApplied.revision } : {}),
      });
    }
  }

  const toApply = plan.entries.filter(
    (e) => (e.action === 'create' || e.action === 'update') && e.rendered && !refused.has(e.key),
  );
  const order = dependencyOrder(
    toApply.map((e) => e.key),
    (key) => byKey.get(key)?.rendered?.dependsOn ?? [],
  );
  const received = receiveStamp(
    startedAt,
    [...plan.prepared.states.values()].map((s) => s.lastApplied?.received),
  );
  const requests: ApplyStackRequest[] = [];
  for (const key of order) {
    const rendered = byKey.get(key)?.rendered as RenderedStack;
    await deps.state.putRendered({ hash: rendered.hash, rendered });
    const dependencies: Record<StackKey, string> = {};
    for (const dependency of rendered.dependsOn) {
      const hash = byKey.get(dependency)?.hash ?? plan.prepared.states.get(dependency)?.lastApplied?.hash;
      if (hash) dependencies[dependency] = hash;
    }
    const request: ApplyStackRequest = {
      key,
      renderedHash: rendered.hash,
      revision: rendered.revision,
      received,
      dependencies,
      ...(options.approve ? { approve: true } : {}),
    };
    requests.push(request);
    await emit(deps.events, deps.clock, DetailType.ApplyRequested, {
      ...stackDetail(rendered),
      reason: byKey.get(key)?.action === 'create' ? 'NewStack' : 'NewRevision',
      message: `${rendered.stack} (${rendered.environment}): apply ${rendered.revision.slice(0, 7)}`,
      renderedHash: rendered.hash,
      ...(byKey.get(key)?.preview ? { changes: byKey.get(key)?.preview?.changes } : {}),
      data: { dependencies, received, ...(options.approve ? { approve: true } : {}) },
    });
  }
  return { plan, requests, failed };
}

/** Plan and apply in one process: the CLI's `sync` and the local runtime. */
export async function sync(deps: EngineDeps, options: SyncOptions): Promise<SyncReport> {
  const { plan, requests, failed } = await requestApplies(deps, { ...options, keepPreviews: true });
  const results: ApplyStackResult[] = [];
  const byKey = new Map(plan.entries.map((e) => [e.key, e]));
  try {
    for (const request of requests) {
      const changeSetId = byKey.get(request.key)?.preview?.changeSetId;
      try {
        const result = await applyStack(deps, {
          ...request,
          finalAttempt: true,
          ...(changeSetId ? { changeSetId } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        results.push(result);
        if (result.outcome === 'Failed') failed.push(request.key);
      } catch (err) {
        // Only the state store or the event sink can throw here (apply failures are results): stop, the rest waits.
        throw toGitOpsError(err);
      }
    }
  } finally {
    // Previews no apply executed (waiting for approval, a failed dependency, superseded): leave no change set behind.
    await discardUnused(deps, plan.entries);
  }
  const pruned: StackKey[] = [];
  for (const entry of options.requestedRevision ? [] : plan.entries) {
    if (entry.action === 'prune' && entry.previous) {
      if (await prune(deps, entry.previous, plan)) pruned.push(entry.key);
      else failed.push(entry.key);
    } else if (entry.action === 'orphan' && entry.previous) {
      await reportOrphan(deps, entry.previous, entry.message);
    }
  }
  return { plan, results, pruned, failed };
}

/**
 * Checks every stack a requested revision would change (or fail to render) against approval.ts, and reports each
 * refusal with one Sync Failed `ApprovalRefused`. The refused stacks' state is left as it was: a request nobody was
 * allowed to make must not overwrite what the stack records (a pending Plan Ready included).
 */
async function refuseUnauthorized(
  deps: EngineDeps,
  plan: Plan,
  request: RevisionRequest,
  signal?: AbortSignal,
): Promise<Set<StackKey>> {
  const authorizer = new RevisionAuthorizer(deps.source, request, {
    defaultRegion: deps.defaultRegion,
    ...(signal ? { signal } : {}),
  });
  const { snapshot } = plan;
  const refused = new Set<StackKey>();
  for (const entry of plan.entries) {
    if (entry.action !== 'create' && entry.action !== 'update' && entry.action !== 'error') continue;
    const verdict = await authorizer.authorize({
      environment: entry.environment,
      revision: snapshot.commit.sha,
      ...(entry.rendered ? { hash: entry.rendered.hash } : {}),
      ...(entry.previous ? { previous: entry.previous } : {}),
    });
    if (verdict.allowed) {
      deps.logger.info(`${entry.key}: requested revision ${snapshot.commit.sha.slice(0, 7)} authorized`, {
        how: verdict.how,
      });
      continue;
    }
    refused.add(entry.key);
    await emit(deps.events, deps.clock, DetailType.SyncFailed, {
      ...(entry.rendered ? stackDetail(entry.rendered) : entryDetail(snapshot, entry)),
      reason: Reason.ApprovalRefused,
      message: `${entry.stack} (${entry.environment}): requested revision ${snapshot.commit.sha.slice(0, 7)} refused: ${verdict.why}; nothing applied`,
    });
  }
  return refused;
}

async function discardUnused(deps: EngineDeps, entries: readonly PlanEntry[]): Promise<void> {
  if (!deps.applier.discard) return;
  for (const entry of entries) {
    if (!entry.preview?.changeSetId || !entry.rendered) continue;
    try {
      await deps.applier.discard(entry.preview, entry.rendered);
    } catch (err) {
      deps.logger.warn('could not discard a preview change set', {
        stack: entry.key,
        error: toGitOpsError(err).describe(),
      });
    }
  }
}

async function recordRenderFailure(deps: EngineDeps, plan: Plan, entry: PlanEntry): Promise<void> {
  const error = entry.error as GitOpsError;
  const at = deps.clock.now().toISOString();
  const { snapshot, config } = plan.prepared;
  const stored = await deps.state.getStack(entry.key);
  if (error.reason === Reason.StackOwnedElsewhere || (stored && !sameRepo(stored.state.repo, snapshot.repo))) {
    // The state under this key is another repository's: it is left exactly as it is, only the event says why.
    await emit(deps.events, deps.clock, DetailType.SyncFailed, {
      routes: config.notifications,
      ...entryDetail(snapshot, entry),
      reason: error.reason,
      message: `${entry.stack} (${entry.environment}) failed at ${snapshot.commit.sha.slice(0, 7)}: ${error.describe()}`,
    });
    return;
  }
  const previous = stored?.state;
  const environment = config.environments.find((e) => e.name === entry.environment);
  // The commit failed before anything was rendered: no hash to record.
  const failedAt = { key: entry.key, revision: snapshot.commit.sha, commit: snapshot.commit, hash: '' };
  const message = `${entry.stack} (${entry.environment}) failed at ${snapshot.commit.sha.slice(0, 7)}: ${error.describe()}`;
  const state: StackState = {
    ...(previous ?? {
      key: entry.key,
      stack: entry.stack,
      environment: entry.environment,
      stackName: entry.stackName,
      region: environment?.region ?? deps.defaultRegion,
      repo: snapshot.repo,
      branch: snapshot.branch,
      drift: { status: 'NotChecked', resources: [] },
      health: 'Unknown',
      dependsOn: [],
    }),
    sync: 'Failed',
    lastAttempted: attempt(failedAt, 'Failed', error.reason, message, at),
    updatedAt: at,
  };
  await deps.state.putStack(state, { ifVersion: stored?.version ?? null });
  await deps.state.appendHistory(historyRecord(failedAt, at, at, 'Failed', error.reason, message));
  await emit(deps.events, deps.clock, DetailType.SyncFailed, {
    routes: config.notifications,
    // The name and region of the state record just written (the stored ones when there was a record).
    ...entryDetail(snapshot, { ...entry, stackName: state.stackName, region: state.region }),
    reason: error.reason,
    message,
  });
}

/** Deletes a stack that is gone from Git. Returns false (and reports why) when it could not. */
export async function prune(deps: EngineDeps, state: StackState, plan: Plan): Promise<boolean> {
  const revision = plan.snapshot.commit.sha;
  try {
    await deps.applier.delete({ state, repo: plan.snapshot.repo });
    await deps.state.deleteStack(state.key);
    await emit(deps.events, deps.clock, DetailType.StackPruned, {
      ...stateDetail(state),
      revision,
      commit: plan.snapshot.commit,
      reason: 'Pruned',
      message: `${state.stack} (${state.environment}): stack ${state.stackName} deleted, it is gone from Git at ${revision.slice(0, 7)}`,
    });
    return true;
  } catch (err) {
    const error = err instanceof GitOpsError ? err : toGitOpsError(err, Reason.ApplyFailed);
    const at = deps.clock.now().toISOString();
    const message = `${state.stack} (${state.environment}): could not delete ${state.stackName}: ${error.describe()}`;
    const stored = await deps.state.getStack(state.key);
    await deps.state.putStack(
      {
        ...state,
        sync: 'OutOfSync',
        lastAttempted: attempt({ revision, hash: '' }, 'Failed', error.reason, message, at),
        updatedAt: at,
      },
      { ifVersion: stored?.version ?? null },
    );
    await emit(deps.events, deps.clock, DetailType.SyncFailed, {
      ...stateDetail(state),
      revision,
      reason: error.reason,
      message,
    });
    return false;
  }
}

/** A stack gone from Git while prune is off: Out Of Sync, said once (on the transition), not on every sync. */
async function reportOrphan(deps: EngineDeps, state: StackState, message: string): Promise<void> {
  if (state.sync === 'OutOfSync') return;
  const stored = await deps.state.getStack(state.key);
  await deps.state.putStack(
    { ...state, sync: 'OutOfSync', updatedAt: deps.clock.now().toISOString() },
    { ifVersion: stored?.version ?? null },
  );
  await emit(deps.events, deps.clock, DetailType.OutOfSync, {
    ...stateDetail(state),
    reason: 'RemovedFromGit',
    message: `${state.stack} (${state.environment}): ${message}`,
  });
}
