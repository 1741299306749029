/**
 * Recording a drift result: the transition rules shared by the in-process check (drift.ts) and the fan-out's workers
 * (drift-worker.ts). Kept apart from the revision pass so a worker loads no renderer.
 */
import { createHash } from 'node:crypto';
import { Reason, StateError } from '../errors.ts';
import { DetailType } from '../events/catalog.ts';
import { emit } from '../events/publish.ts';
import type { DriftedResource, StackKey, StackState } from '../model.ts';
import type { DriftResult } from '../ports.ts';
import type { EngineDeps, Selection } from './deps.ts';
import { stateDetail } from './record.ts';

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
