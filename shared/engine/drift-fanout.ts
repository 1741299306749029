/**
 * Drift that fans out. CloudFormation's request rate is per account and region, so at thousands of stacks one
 * invocation cannot check them all inside Lambda's 15 minutes (10,000 stacks × 2.3 calls at 10 calls/s is 38
 * minutes). The scheduled run is split in two:
 *
 * - the planner (the scheduled drift function) claims the run in the run ledger, does the revision pass (branch head
 *   against applied state, Out Of Sync), and queues the resource pass as work items: one account-region's stacks,
 *   at most {@link MAX_TARGETS_PER_ITEM} per message;
 * - a worker (SQS FIFO, message group = the account-region) checks an item's stacks until its time budget is spent,
 *   queues the rest as the next item of the same group, and records how many are left in the ledger.
 *
 * The FIFO group keeps one worker per account-region at a time, so each keeps to its own rate and ten account-regions
 * run side by side. A worker that dies loses only its current item: SQS hands the message out again after the
 * visibility timeout. A continuation has a deduplication id made of the run, the item and its offset, so a worker
 * that queued it and died before its message was deleted does not queue it twice. A new scheduled run that finds the
 * ledger's run unfinished skips and says so (Drift Run Skipped, with the backlog).
 *
 * Transitions stay exact across workers: every stack belongs to one item, and recordDrift decides against the stored
 * state and writes conditionally on its version (drift.ts).
 */
import { StateError, toGitOpsError } from '../errors.ts';
import { DetailType } from '../events/catalog.ts';
import { emit } from '../events/publish.ts';
import type { StackKey, StackState } from '../model.ts';
import type { DriftResult } from '../ports.ts';
import { applyStack } from './apply-stack.ts';
import type { EngineDeps } from './deps.ts';
import { checkRevisionDrift, driftFingerprint, recordDrift, selectForResourceCheck } from './drift.ts';

/**
 * Stacks per queued item: about 250 bytes each (key, name, region, role, a 64-character fingerprint) keeps a message
 * near 50 KiB, far below SQS's 256 KiB.
 */
export const MAX_TARGETS_PER_ITEM = 200;

/** What a worker needs of one stack: where it is, and the drift it had when the run was planned. */
export interface DriftTarget {
  readonly key: StackKey;
  readonly stackName: string;
  readonly region: string;
  readonly role?: string;
  /** driftFingerprint of the stored drift: a worker reads the state only when the result differs from it. */
  readonly drift: string;
  /** `syncPolicy.selfHeal`: a drifted stack is re-applied with its applied template. */
  readonly selfHeal?: true;
}

/** One queued message of the resource pass. */
export interface DriftWorkItem {
  readonly runId: string;
  /** The repository's name (its engine). */
  readonly repo: string;
  /** `<account>/<region>`: the FIFO message group, one worker at a time. */
  readonly group: string;
  /** The item's id in the ledger; a continuation keeps it. */
  readonly item: string;
  /** Stacks of the item already checked before this message. */
  readonly offset: number;
  readonly targets: readonly DriftTarget[];
}

/** The run ledger: the one run going on, and how many stacks each item has left. */
export interface DriftRun {
  readonly id: string;
  readonly startedAt: string;
  readonly updatedAt: string;
  /** Set when every item has no stack left (or the run was abandoned). */
  readonly finishedAt?: string;
  readonly items: Readonly<
    Record<string, { readonly group: string; readonly total: number; readonly remaining: number }>
  >;
}

export interface DriftRunStore {
  read(): Promise<{ readonly run: DriftRun; readonly version: string } | undefined>;
  /** Conditional on `ifVersion` (`null`: only when there is none); a StateError `StateConflict` otherwise. */
  write(run: DriftRun, options: { readonly ifVersion: string | null }): Promise<string>;
}

export interface DriftWorkQueue {
  /** Sends items (FIFO: group = `item.group`, deduplicated by run, item and offset). */
  send(items: readonly DriftWorkItem[]): Promise<void>;
}

/** Stacks a run has left, over every item. */
export const backlogOf = (run: DriftRun): number =>
  Object.values(run.items).reduce((sum, item) => sum + item.remaining, 0);

/** The FIFO group of a stack: the account of its role (the installation's own, `self`, without one) and its region. */
export function accountRegion(state: Pick<StackState, 'role' | 'region'>): string {
  const account = /^arn:aws[\w-]*:iam::(\d{12}):/.exec(state.role ?? '')?.[1] ?? 'self';
  return `${account}/${state.region}`;
}

/** Splits the checkable stacks into items per account-region, each at most `max` stacks, in key order. */
export function planItems(
  runId: string,
  repo: string,
  states: Iterable<StackState>,
  max = MAX_TARGETS_PER_ITEM,
): DriftWorkItem[] {
  const groups = new Map<string, DriftTarget[]>();
  for (const s of [...states].sort((a, b) => a.key.localeCompare(b.key))) {
    const group = accountRegion(s);
    const target: DriftTarget = {
      key: s.key,
      stackName: s.stackName,
      region: s.region,
      ...(s.role ? { role: s.role } : {}),
      drift: driftFingerprint(s.drift),
      ...(s.syncPolicy?.selfHeal ? { selfHeal: true as const } : {}),
    };
    groups.set(group, [...(groups.get(group) ?? []), target]);
  }
  const items: DriftWorkItem[] = [];
  for (const [group, targets] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    for (let from = 0; from < targets.length; from += max) {
      const item = `${repo}:${group}:${from / max}`;
      items.push({ runId, repo, group, item, offset: 0, targets: targets.slice(from, from + max) });
    }
  }
  return items;
}

export interface PlanOptions {
  readonly runs: DriftRunStore;
  readonly queue: DriftWorkQueue;
  /** Each repository's engine and the branch it follows. */
  readonly repositories: readonly { readonly name: string; readonly branch: string; readonly deps: EngineDeps }[];
  /** Events and the clock of the run itself (Drift Run Skipped). */
  readonly deps: Pick<EngineDeps, 'events' | 'clock' | 'logger'>;
  /** An unfinished run older than this is taken to have died (its messages are ignored from then on). */
  readonly staleAfterMs: number;
  readonly signal?: AbortSignal;
  /** @default a random id */
  readonly runId?: string;
}

export type PlanResult =
  | { readonly status: 'skipped'; readonly runId: string; readonly backlog: number }
  | {
      readonly status: 'queued';
      readonly runId: string;
      readonly items: number;
      readonly stacks: number;
      readonly outOfSync: number;
      /** Stacks whose stored drift is Drifted as the run starts (this run's transitions show in the next one). */
      readonly drifted: number;
      readonly errors: readonly { repo: string; message: string }[];
    };

/**
 * The scheduled run: skip if a run is still going, otherwise claim the ledger, do every repository's revision pass,
 * record the items and queue them. A repository that cannot be read is reported and left out; the others go on.
 */
export async function planDriftRun(options: PlanOptions): Promise<PlanResult> {
  const { clock, events, logger } = options.deps;
  const now = clock.now();
  const current = await options.runs.read();
  if (current && !current.run.finishedAt && now.getTime() - Date.parse(current.run.startedAt) < options.staleAfterMs) {
    const backlog = backlogOf(current.run);
    await emit(events, clock, DetailType.DriftRunSkipped, {
      reason: 'RunInProgress',
      message: `drift check skipped: run ${current.run.id} (started ${current.run.startedAt}) still has ${backlog} stack(s) to check`,
      data: { runId: current.run.id, startedAt: current.run.startedAt, backlog },
    });
    return { status: 'skipped', runId: current.run.id, backlog };
  }
  const runId = options.runId ?? `${now.toISOString().replace(/[:.]/g, '')}-${Math.random().toString(36).slice(2, 8)}`;
  const started = now.toISOString();
  // Claimed before the revision pass: a second planner started meanwhile loses the conditional write and stops here.
  let version = await options.runs.write(
    { id: runId, startedAt: started, updatedAt: started, items: {} },
    { ifVersion: current?.version ?? null },
  );
  if (current && !current.run.finishedAt) {
    logger.warn(`drift run ${current.run.id} was abandoned with ${backlogOf(current.run)} stack(s) left`);
  }
  const items: DriftWorkItem[] = [];
  const errors: { repo: string; message: string }[] = [];
  let outOfSync = 0;
  let drifted = 0;
  for (const repo of options.repositories) {
    try {
      const pass = await checkRevisionDrift(repo.deps, {
        ref: repo.branch,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      outOfSync += pass.outOfSync.length;
      const checkable = selectForResourceCheck(pass.states.values(), {});
      drifted += checkable.filter((s) => s.drift.status === 'Drifted').length;
      items.push(...planItems(runId, repo.name, checkable));
    } catch (err) {
      const message = toGitOpsError(err).describe();
      errors.push({ repo: repo.name, message });
      logger.error(`drift check of ${repo.name} failed: ${message}`);
    }
  }
  const stacks = items.reduce((n, i) => n + i.targets.length, 0);
  const at = clock.now().toISOString();
  const run: DriftRun = {
    id: runId,
    startedAt: started,
    updatedAt: at,
    items: Object.fromEntries(
      items.map((i) => [i.item, { group: i.group, total: i.targets.length, remaining: i.targets.length }]),
    ),
    ...(items.length ? {} : { finishedAt: at }),
  };
  version = await options.runs.write(run, { ifVersion: version });
  try {
    await options.queue.send(items);
  } catch (err) {
    // Items not queued would keep the run open until it is stale: close it, so the next run starts on time.
    await options.runs.write({ ...run, finishedAt: clock.now().toISOString() }, { ifVersion: version }).catch(() => {});
    throw err;
  }
  return { status: 'queued', runId, items: items.length, stacks, outOfSync, drifted, errors };
}

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
