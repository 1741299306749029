import { toGitOpsError } from '../errors.ts';
import { DetailType } from '../events/catalog.ts';
import { emit } from '../events/publish.ts';
import type { DriftedResource, StackKey, StackState } from '../model.ts';

export { driftFingerprint, recordDrift, selectForResourceCheck } from './drift-record.ts';

import type { DriftResult } from '../ports.ts';
import { applyStack } from './apply-stack.ts';
import type { EngineDeps, Selection } from './deps.ts';
import { driftFingerprint, recordDrift, selectForResourceCheck } from './drift-record.ts';
import { storableDrift } from './drift-values.ts';
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
        // Values (an opt-in of the installation) are redacted before anything stores or publishes them.
        // The artifact of the applied revision: since artifacts are kept per revision, the hash alone finds none.
        result = await storableDrift(await deps.drift.detect(state, options.signal), state.lastApplied?.hash, (h) =>
          deps.state.getRendered(h, state.lastApplied?.revision),
        );
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
            revision: state.lastApplied.revision,
            ...(state.lastApplied.received !== undefined ? { received: state.lastApplied.received } : {}),
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
