/**
 * Drift at 10,000 stacks, fanned out (shared/engine/drift-fanout.ts): the planner's items drained by the real worker
 * (`runDriftWorkItem`: the real CloudFormationDriftDetector, the worker's budget and concurrency, conditional
 * transitions, the ledger) against bench/drift.ts's CloudFormation stand-in, whose token bucket is per account and
 * region. The queue is SQS FIFO as the worker sees it: one invocation of a group at a time, groups side by side.
 *
 * - 10 account-regions × 1,000 stacks: the run's total time (the slowest group's invocations end to end);
 * - 1 account-region × 10,000 stacks: the longest invocation against the worker's timeout, and the total against
 *   calls ÷ rate;
 * - both: stacks whose check failed or was left NotChecked (throttling that backoff did not absorb).
 *
 * On a scaled clock, as bench/drift.ts; every figure is in CloudFormation's time. The state store is in memory here
 * (the worker reads a stack's state only on a transition). Alone: `node bin/run-ts.js bench/drift-fanout.ts [--quick]`.
 */
import { pathToFileURL } from 'node:url';
import { DRIFT_CONCURRENCY } from '../functions/drift.ts';
import { DRIFT_WORKER_BUDGET_SECONDS } from '../functions/drift-worker.ts';
import type { CloudFormationClients } from '../shared/adapters/aws/clients.ts';
import { CloudFormationDriftDetector } from '../shared/adapters/aws/drift-cfn.ts';
import { MemoryEventSink } from '../shared/adapters/local/index.ts';
import type { EngineDeps } from '../shared/engine/deps.ts';
import {
  accountRegion,
  type DriftRun,
  type DriftRunStore,
  type DriftWorkItem,
  planItems,
  runDriftWorkItem,
} from '../shared/engine/drift-fanout.ts';
import { Reason, StateError } from '../shared/errors.ts';
import type { StackKey, StackState } from '../shared/model.ts';
import type { StateStore, StoredStackState } from '../shared/ports.ts';
import type { FanOutCosts } from './cost.ts';
import { CloudFormationStandIn, RATE, scaledClock } from './drift.ts';
import { type Figure, formatTable } from './lib/figures.ts';
import { quietLogger } from './lib/quiet.ts';

/** The drift worker's timeout (stack/gitops-construct.ts FUNCTION_SPECS['drift-worker']). */
const WORKER_TIMEOUT_S = 15 * 60;
const WINDOW_S = 15 * 60;

/** The state of the stacks, in memory, with versions: what the worker's transitions read and write. */
class MemoryStates {
  readonly #states = new Map<StackKey, { state: StackState; version: number }>();
  put(state: StackState): void {
    this.#states.set(state.key, { state, version: 1 });
  }
  store(): StateStore {
    return {
      getStack: async (key: StackKey): Promise<StoredStackState | undefined> => {
        const got = this.#states.get(key);
        return got && { state: got.state, version: String(got.version) };
      },
      putStack: async (state: StackState, options: { ifVersion?: string | null } = {}) => {
        const got = this.#states.get(state.key);
        if (options.ifVersion !== undefined && String(got?.version ?? null) !== String(options.ifVersion)) {
          throw new StateError(Reason.StateConflict, `state of ${state.key} changed`);
        }
        const version = (got?.version ?? 0) + 1;
        this.#states.set(state.key, { state, version });
        return String(version);
      },
    } as unknown as StateStore;
  }
}

class MemoryRuns implements DriftRunStore {
  #run: { run: DriftRun; version: string } | undefined;
  #n = 0;
  async read() {
    return this.#run;
  }
  async write(run: DriftRun, options: { ifVersion: string | null }) {
    if ((this.#run?.version ?? null) !== options.ifVersion) throw new StateError(Reason.StateConflict, 'ledger moved');
    this.#run = { run, version: String(++this.#n) };
    return this.#run.version;
  }
}

export interface FanOutRun {
  readonly stacks: number;
  readonly groups: number;
  /** CloudFormation time from the first invocation to the last item done. */
  readonly totalS: number;
  readonly longestInvocationS: number;
  readonly invocations: number;
  readonly calls: number;
  readonly throttled: number;
  readonly unhandled: number;
  readonly transitions: number;
}

export async function runFanOut(opts: { stacks: number; groups: number; scale: number }): Promise<FanOutRun> {
  const clock = scaledClock(opts.scale);
  const regions = Array.from({ length: opts.groups }, (_, g) => ({
    region: ['eu-west-1', 'us-east-1', 'eu-central-1', 'us-west-2', 'ap-southeast-2'][g % 5]!,
    // Two accounts: the installation's own, and a target account behind a role.
    role: g < 5 ? undefined : 'arn:aws:iam::111122223333:role/lambda-gitops-deployer',
  }));
  const index = new Map<string, number>();
  const memory = new MemoryStates();
  for (let i = 0; i < opts.stacks; i++) {
    const where = regions[i % opts.groups]!;
    const stack = `svc${String(i).padStart(5, '0')}`;
    const stackName = `prod-${stack}`;
    index.set(stackName, i);
    memory.put({
      key: `prod/${stack}`,
      stack,
      environment: 'prod',
      stackName,
      region: where.region,
      ...(where.role ? { role: where.role } : {}),
      lastApplied: { hash: 'a'.repeat(64) },
      drift: { status: 'InSync', resources: [] },
    } as unknown as StackState);
  }
  const standIn = new CloudFormationStandIn(clock, (name) => index.get(name) ?? -1);
  const clients: CloudFormationClients = {
    cloudFormation: (o) => standIn.client(accountRegion({ region: o.region, ...(o.role ? { role: o.role } : {}) })),
    cloudWatch: () => {
      throw new Error('not used by drift detection');
    },
  };
  const detector = new CloudFormationDriftDetector({ clients, clock });
  const store = memory.store();
  const deps = {
    state: store,
    drift: detector,
    events: new MemoryEventSink({ max: 100_000 }),
    clock,
    logger: quietLogger,
  } as unknown as EngineDeps;
  const runs = new MemoryRuns();
  const states: StackState[] = [];
  for (const key of [...index.keys()].map((n) => `prod/${n.slice('prod-'.length)}`)) {
    const got = await store.getStack(key);
    if (got) states.push(got.state);
  }
  const runId = 'bench';
  const items = planItems(runId, 'bench', states);
  await runs.write(
    {
      id: runId,
      startedAt: clock.now().toISOString(),
      updatedAt: clock.now().toISOString(),
      items: Object.fromEntries(
        items.map((i) => [i.item, { group: i.group, total: i.targets.length, remaining: i.targets.length }]),
      ),
    },
    { ifVersion: null },
  );
  // FIFO: per group, in order; a continuation goes to the back of its own group.
  const queues = new Map<string, DriftWorkItem[]>();
  for (const item of items) queues.set(item.group, [...(queues.get(item.group) ?? []), item]);
  const queue = {
    send: async (more: readonly DriftWorkItem[]) => {
      for (const item of more) queues.get(item.group)?.push(item);
    },
  };
  let longest = 0;
  let invocations = 0;
  let unhandled = 0;
  let transitions = 0;
  const t0 = clock.now().getTime();
  await Promise.all(
    [...queues.keys()].map(async (group) => {
      const q = queues.get(group)!;
      for (let item = q.shift(); item; item = q.shift()) {
        const started = clock.now().getTime();
        const result = await runDriftWorkItem(deps, item, {
          runs,
          queue,
          concurrency: DRIFT_CONCURRENCY,
          budgetMs: DRIFT_WORKER_BUDGET_SECONDS * 1000,
        });
        longest = Math.max(longest, (clock.now().getTime() - started) / 1000);
        invocations++;
        unhandled += result.errors.length + result.notChecked;
        transitions += result.transitions;
      }
    }),
  );
  const totalS = (clock.now().getTime() - t0) / 1000;
  const ledger = await runs.read();
  if (!ledger?.run.finishedAt) throw new Error('drift fan-out: the run did not finish');
  return {
    stacks: opts.stacks,
    groups: opts.groups,
    totalS,
    longestInvocationS: longest,
    invocations,
    calls: detector.calls,
    throttled: standIn.throttled,
    unhandled,
    transitions,
  };
}

export async function benchDriftFanOut(opts: { quick: boolean }): Promise<{ figures: Figure[]; costs: FanOutCosts }> {
  const wide = await runFanOut({ stacks: opts.quick ? 2000 : 10_000, groups: 10, scale: opts.quick ? 0.02 : 0.1 });
  const deep = await runFanOut({ stacks: opts.quick ? 2000 : 10_000, groups: 1, scale: opts.quick ? 0.01 : 0.02 });
  const callsOverRate = (deep.calls - deep.throttled) / RATE;
  const limit = WORKER_TIMEOUT_S * 0.8;
  // One account-region's workers run one after another, so their billed time is the run's total.
  const costs: FanOutCosts = {
    workerSecondsPerStack: deep.totalS / deep.stacks,
    invocationsPerStack: deep.invocations / deep.stacks,
    callsPerStack: deep.calls / deep.stacks,
  };
  const figures: Figure[] = [
    {
      name: `drift ${wide.stacks} stacks ${wide.groups} account-regions: total time`,
      value: wide.totalS / 60,
      unit: 'min',
      reference: `${wide.invocations} worker invocations (FIFO: one per account-region at a time, concurrency ${DRIFT_CONCURRENCY}, budget ${DRIFT_WORKER_BUDGET_SECONDS} s); ${wide.calls} calls, ${wide.throttled} throttled and absorbed; bucket ${RATE}/s per account-region; ${wide.transitions} Drift Detected`,
      goal: `fits ${WINDOW_S / 60} min`,
      met: wide.totalS <= WINDOW_S,
    },
    {
      name: `drift ${deep.stacks} stacks 1 account-region: longest invocation`,
      value: deep.longestInvocationS / 60,
      unit: 'min',
      reference: `${deep.invocations} invocations one after another, total ${(deep.totalS / 60).toFixed(1)} min vs calls ÷ rate ${(callsOverRate / 60).toFixed(1)} min (${deep.calls - deep.throttled} calls at ${RATE}/s); worker timeout ${WORKER_TIMEOUT_S / 60} min`,
      goal: `< 80 % of ${WORKER_TIMEOUT_S / 60} min (${limit / 60} min), total ≈ calls ÷ rate`,
      met: deep.longestInvocationS < limit && deep.totalS <= callsOverRate * 1.25,
    },
    {
      name: `drift ${wide.stacks} stacks: throttles unhandled`,
      value: wide.unhandled + deep.unhandled,
      unit: 'stacks',
      reference: `${wide.throttled + deep.throttled} Throttling "Rate exceeded" answers absorbed with backoff over both runs (10 and 1 account-regions)`,
      goal: '0',
      met: wide.unhandled + deep.unhandled === 0,
    },
  ];
  return { figures, costs };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(formatTable((await benchDriftFanOut({ quick: process.argv.includes('--quick') })).figures));
}
