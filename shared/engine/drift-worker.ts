/**
 * The worker side of the drift fan-out (drift-fanout.ts describes the whole): one queued item, its stacks checked until
 * the budget is spent, the rest queued again, the ledger's count set. It loads no renderer and no Git: the item says
 * what to check, and the state store says what was seen.
 */
import { StateError, toGitOpsError } from '../errors.ts';
import type { StackKey, StackState } from '../model.ts';
import type { DriftResult } from '../ports.ts';
import { applyStack } from './apply-stack.ts';
import type { EngineDeps } from './deps.ts';
import {
  backlogOf,
  type DriftRun,
  type DriftRunStore,
  type DriftTarget,
  type DriftWorkItem,
  type DriftWorkQueue,
} from './drift-items.ts';
import { recordDrift } from './drift-record.ts';

export interface WorkerOptions {
  readonly runs: DriftRunStore;
  readonly queue: DriftWorkQueue;
  /** Stacks checked at once (the account-region's rate bounds the run, not this). */
  readonly concurrency: number;
  /**
   * No stack is started after this long; the ones in flight finish (each bounded by the detector's own timeout), and
   * the rest go back on the queue. Budget plus the detector's timeout stays well below the function's timeout.
   */
  readonly budgetMs: number;
  readonly signal?: AbortSignal;
}

export interface WorkerResult {
  readonly status: 'checked' | 'stale';
  readonly checked: number;
  readonly drifted: number;
  readonly transitions: number;
  readonly notChecked: number;
  readonly errors: readonly { key: StackKey; message: string }[];
  /** Stacks of this item queued again for the next worker. */
  readonly requeued: number;
  /** Stacks the run has left, every item (after this one's update). */
  readonly backlog: number;
}

/** A worker's share of the resource pass: one item, until its budget is spent. */
export async function runDriftWorkItem(
  deps: EngineDeps,
  item: DriftWorkItem,
  options: WorkerOptions,
): Promise<WorkerResult> {
  const current = await options.runs.read();
  if (!current || current.run.id !== item.runId || current.run.finishedAt) {
    // A message of a run that was abandoned or is over: checking it now would only overlap the current run.
    return {
      status: 'stale',
      checked: 0,
      drifted: 0,
      transitions: 0,
      notChecked: 0,
      errors: [],
      requeued: 0,
      backlog: current ? backlogOf(current.run) : 0,
    };
  }
  const until = deps.clock.now().getTime() + options.budgetMs;
  const errors: { key: StackKey; message: string }[] = [];
  let next = 0;
  let checked = 0;
  let drifted = 0;
  let transitions = 0;
  let notChecked = 0;
  const check = async (target: DriftTarget) => {
    let result: DriftResult;
    try {
      result = await deps.drift.detect(targetState(target), options.signal);
    } catch (err) {
      errors.push({ key: target.key, message: toGitOpsError(err).describe() });
      return;
    }
    if (result.status === 'NotChecked') {
      notChecked++;
      return;
    }
    if (await recordDrift(deps, target.key, result, target.drift)) transitions++;
    if (result.status !== 'Drifted') return;
    drifted++;
    if (target.selfHeal) await heal(deps, target.key, errors, options.signal);
  };
  const runners = Array.from({ length: Math.max(1, Math.min(options.concurrency, item.targets.length)) }, async () => {
    // The first stack is always started, so every invocation makes progress whatever the budget.
    while (
      next < item.targets.length &&
      (next === 0 || deps.clock.now().getTime() < until) &&
      !options.signal?.aborted
    ) {
      const target = item.targets[next++] as DriftTarget;
      await check(target);
      checked++;
    }
  });
  await Promise.all(runners);
  const rest = item.targets.slice(next);
  if (rest.length) {
    await options.queue.send([{ ...item, offset: item.offset + next, targets: rest }]);
  }
  const backlog = await recordProgress(options.runs, deps, item, rest.length);
  return { status: 'checked', checked, drifted, transitions, notChecked, errors, requeued: rest.length, backlog };
}

/** Sets the item's remaining count (absolute, so a redelivered message writes the same) and closes a finished run. */
async function recordProgress(
  runs: DriftRunStore,
  deps: Pick<EngineDeps, 'clock'>,
  item: DriftWorkItem,
  remaining: number,
): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const current = await runs.read();
    if (!current || current.run.id !== item.runId) return current ? backlogOf(current.run) : 0;
    const entry = current.run.items[item.item] ?? { group: item.group, total: item.offset + item.targets.length };
    const at = deps.clock.now().toISOString();
    const items = { ...current.run.items, [item.item]: { ...entry, remaining } };
    const run: DriftRun = { ...current.run, updatedAt: at, items };
    const backlog = backlogOf(run);
    try {
      await runs.write(backlog === 0 ? { ...run, finishedAt: at } : run, { ifVersion: current.version });
      return backlog;
    } catch (err) {
      // Workers of other account-regions update the same ledger: read again and set this item's count on theirs.
      if (err instanceof StateError && err.reason === 'StateConflict' && attempt < 20) continue;
      throw err;
    }
  }
}

async function heal(
  deps: EngineDeps,
  key: StackKey,
  errors: { key: StackKey; message: string }[],
  signal?: AbortSignal,
): Promise<void> {
  const stored = await deps.state.getStack(key);
  const hash = stored?.state.lastApplied?.hash;
  if (!hash) return;
  await applyStack(deps, {
    key,
    renderedHash: hash,
    revertDrift: true,
    approve: true,
    finalAttempt: true,
    ...(signal ? { signal } : {}),
  }).catch((err) => {
    errors.push({ key, message: toGitOpsError(err).describe() });
  });
}

/** The detector reads the stack's name, region, role and key; the rest of StackState is not needed to detect. */
function targetState(target: DriftTarget): StackState {
  const [environment = '', stack = ''] = target.key.split('/');
  return {
    key: target.key,
    environment,
    stack,
    stackName: target.stackName,
    region: target.region,
    ...(target.role ? { role: target.role } : {}),
  } as StackState;
}
