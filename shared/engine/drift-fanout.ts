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
import { toGitOpsError } from '../errors.ts';
import { DetailType } from '../events/catalog.ts';
import { emit } from '../events/publish.ts';
import type { EngineDeps } from './deps.ts';
import { checkRevisionDrift } from './drift.ts';
import {
  backlogOf,
  type DriftRun,
  type DriftRunStore,
  type DriftWorkItem,
  type DriftWorkQueue,
  planItems,
} from './drift-items.ts';
import { selectForResourceCheck } from './drift-record.ts';

export * from './drift-items.ts';
export * from './drift-worker.ts';

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
