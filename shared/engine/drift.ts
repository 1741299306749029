import { createHash } from 'node:crypto';
import { Reason, StateError, toGitOpsError } from '../errors.ts';
import { DetailType } from '../events/catalog.ts';
import { emit } from '../events/publish.ts';
import type { DriftedResource, StackKey, StackState } from '../model.ts';
import type { DriftResult } from '../ports.ts';
import { applyStack } from './apply-stack.ts';
import type { EngineDeps, Selection } from './deps.ts';
import { prepare } from './prepare.ts';
import { stateDetail } from './record.ts';

export interface DriftOptions extends Selection {
  /** Check live resources too (DetectStackDrift on AWS). @default true */
  readonly resources?: boolean;
  /** How many stacks are checked at once. @default 4 */
  readonly concurrency?: number;
}

export interface DriftReport {
  readonly revision: string;
  /** Stacks whose desired state at the branch head differs from what is applied (revision drift). */
  readonly outOfSync: readonly { key: StackKey; reason: string }[];
  /** Stacks whose live resources differ from their template. */
  readonly drifted: readonly { key: StackKey; resources: readonly DriftedResource[] }[];
  readonly notChecked: readonly StackKey[];
  readonly errors: readonly { key: StackKey; message: string }[];
  /** Stacks re-applied to revert drift (selfHeal). */
  readonly healed: readonly StackKey[];
}

/**
 * The revision half of the check: each stack's desired state at the branch head against its applied state, with Out
 * Of Sync on the transition. Returns the stored states too, for the resource half (here, or fanned out to workers by
 * drift-fanout.ts).
 */
export async function checkRevisionDrift(
  deps: EngineDeps,
  options: Selection,
): Promise<{
  revision: string;
  outOfSync: { key: StackKey; reason: string }[];
  errors: { key: StackKey; message: string }[];
  states: ReadonlyMap<StackKey, StackState>;
}> {
  const { snapshot, outcome, states } = await prepare(deps, options);
  const revision = snapshot.commit.sha;
  const outOfSync: { key: StackKey; reason: string }[] = [];
  const errors: { key: StackKey; message: string }[] = [];

  for (const rendered of outcome.rendered) {
    const state = states.get(rendered.key);
    if (state && state.lastApplied?.hash === rendered.hash) {
      if (state.sync === 'OutOfSync') await markSynced(deps, state, revision);
      continue;
    }
    const reason = state?.lastApplied ? 'NewRevision' : 'NeverApplied';
    outOfSync.push({ key: rendered.key, reason });
    if (state && state.sync === 'Synced') {
      await update(deps, state, { sync: 'OutOfSync', headRevision: revision });
      await emit(deps.events, deps.clock, DetailType.OutOfSync, {
        ...stateDetail(state),
        reason,
        message: `${state.stack} (${state.environment}): ${revision.slice(0, 7)} on ${snapshot.branch} differs from the applied ${state.lastApplied?.revision.slice(0, 7)}`,
        data: { headRevision: revision, headCommit: snapshot.commit },
      });
    }
  }
  for (const failure of outcome.errors) errors.push({ key: failure.key, message: failure.error.describe() });
  return { revision, outOfSync, errors, states };
}

/**
 * The scheduled check: revision drift (branch head against the applied state) and resource drift (live stack against
 * its template). Events fire on transitions only — first detection and resolution — never on every tick.
 */
export async function checkDrift(deps: EngineDeps, options: DriftOptions): Promise<DriftReport> {
  const { revision, outOfSync, errors, states } = await checkRevisionDrift(deps, options);
  const drifted: { key: StackKey; resources: readonly DriftedResource[] }[] = [];
  const notChecked: StackKey[] = [];
  const healed: StackKey[] = [];
  if (options.resources !== false) {
    const selected = selectForResourceCheck(states.values(), options);
    await eachLimited(selected, options.concurrency ?? 4, async (state) => {
      let result: DriftResult;
      try {
        result = await deps.drift.detect(state, options.signal);
      } catch (err) {
        errors.push({ key: state.key, message: toGitOpsError(err).describe() });
        return;
      }
      if (result.status === 'NotChecked') {
        notChecked.push(state.key);
        return;
      }
      await recordDrift(deps, state.key, result, driftFingerprint(state.drift));
      if (result.status === 'Drifted') {
        drifted.push({ key: state.key, resources: result.resources });
        if (state.syncPolicy?.selfHeal && state.lastApplied) {
          const healedResult = await applyStack(deps, {
            key: state.key,
            renderedHash: state.lastApplied.hash,
            revertDrift: true,
            approve: true,
            finalAttempt: true,
            ...(options.signal ? { signal: options.signal } : {}),
          }).catch((err) => {
            errors.push({ key: state.key, message: toGitOpsError(err).describe() });
            return undefined;
          });
          if (healedResult && healedResult.outcome !== 'Failed') healed.push(state.key);
        }
      }
    });
  }
  return { revision, outOfSync, drifted, notChecked, errors, healed };
}

/**
 * Drift results compare by status and by which resources differ where (not by values or times); a hash, so a queued
 * work item carries 64 characters per stack whatever its drift.
 */
export function driftFingerprint(drift: { readonly status: string; readonly resources: readonly DriftedResource[] }) {
  const parts = drift.resources.map((r) => JSON.stringify([r.logicalId, r.status, r.differences.map((d) => d.path)]));
  return createHash('sha256')
    .update(`${drift.status}\n${parts.sort().join('\n')}`)
    .digest('hex');
}

/**
 * Records a drift result and emits Drift Detected / Drift Resolved only on a transition of the STORED state: the
 * decision is made against the object read, and the write is conditional on that read's version, so when several
 * workers (or a worker and an apply) race, exactly one writer sees each transition and only it emits. `seen` is the
 * fingerprint of the drift the caller last saw: when the result matches it, nothing is read (the steady state costs no state reads).
 * Returns the transition made, if any.
 */
export async function recordDrift(
  deps: EngineDeps,
  key: StackKey,
  result: DriftResult,
  seen?: string,
): Promise<'detected' | 'resolved' | 'changed' | undefined> {
  const after = driftFingerprint(result);
  if (seen === after) return undefined;
  for (let attempt = 0; ; attempt++) {
    const stored = await deps.state.getStack(key);
    if (!stored) return undefined;
    const state = stored.state;
    const before = state.drift;
    if (driftFingerprint(before) === after) return undefined;
    const at = deps.clock.now().toISOString();
    try {
      await deps.state.putStack(
        { ...state, drift: { status: result.status, resources: result.resources, checkedAt: at }, updatedAt: at },
        { ifVersion: stored.version },
      );
    } catch (err) {
      // Another writer changed the state since the read: decide again against what it wrote.
      if (err instanceof StateError && err.reason === Reason.StateConflict && attempt < 4) continue;
      throw err;
    }
    if (result.status === 'Drifted') {
      const names = result.resources.map((r) => `${r.logicalId} (${r.type}) ${r.status}`).join(', ');
      await emit(deps.events, deps.clock, DetailType.DriftDetected, {
        ...stateDetail(state),
        reason: 'ResourceDrift',
        message: `${state.stack} (${state.environment}): ${result.resources.length} resource(s) drifted: ${names}`,
        resources: result.resources,
      });
      return 'detected';
    }
    if (before.status === 'Drifted') {
      await emit(deps.events, deps.clock, DetailType.DriftResolved, {
        ...stateDetail(state),
        reason: 'InSync',
        message: `${state.stack} (${state.environment}): no resource drift any more`,
      });
      return 'resolved';
    }
    return 'changed';
  }
}

/** The stacks whose live resources a run checks: applied ones, within the selection. */
export function selectForResourceCheck(states: Iterable<StackState>, options: Selection): StackState[] {
  return [...states].filter(
    (s) =>
      s.lastApplied &&
      (!options.environments?.length || options.environments.includes(s.environment)) &&
      (!options.stacks?.length || options.stacks.includes(s.stack)),
  );
}

async function markSynced(deps: EngineDeps, state: StackState, revision: string): Promise<void> {
  await update(deps, state, { sync: 'Synced', headRevision: revision });
}

async function update(deps: EngineDeps, state: StackState, patch: Partial<StackState>): Promise<void> {
  const stored = await deps.state.getStack(state.key);
  const current = stored?.state ?? state;
  await deps.state.putStack(
    { ...current, ...patch, updatedAt: deps.clock.now().toISOString() },
    { ifVersion: stored?.version ?? null },
  );
}

/** Runs `work` over `items` with at most `limit` at a time. */
export async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const runners = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(runners);
}
