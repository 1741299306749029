/**
 * Monthly cost of an installation managing 1,000 and 10,000 stacks with the 15-minute drift check, from the calls and
 * the worker time counted by the drift fan-out (bench/drift-fanout.ts) and a day of schedules, at list prices. Free tiers are left out of the goal (they are
 * per account and other workloads share them); the reference says what they would take off.
 *
 * Prices: US East (N. Virginia), as published on the AWS pricing pages (checked 2025):
 *   Lambda arm64 $0.0000133334 per GB-s, $0.20 per 1M requests · EventBridge custom events $1.00 per 1M ·
 *   EventBridge Scheduler $1.00 per 1M invocations · SQS FIFO $0.50 per 1M requests · S3 Standard GET $0.0004 per
 *   1,000, PUT/LIST $0.005 per 1,000 · CloudFormation drift detection: no charge.
 * Measured: the workers' time and calls per stack at one account-region's rate (bench/drift-fanout.ts; the workers of
 * other account-regions run beside them, so their time adds up the same), and the CPU of the planner's own run —
 * fetch, render, state — (bench/drift-run.ts), at the drift function's share of a vCPU (1,769 MB = 1 vCPU).
 * The SDK's CPU per call runs while the fan-out waits on CloudFormation's rate, so it adds no billed time.
 * Assumed: a month is 730 hours; the safety-net poll runs hourly (the stack's default); no drift and no push in the
 * month (transitions write state and send events; steady state does not); each of the three SQS event source mappings
 * (sync, apply, drift work) long-polls an idle queue with 5 pollers × 3 ReceiveMessage a minute (20 s waits).
 */
import { FUNCTION_MEMORY_MB } from '../shared/function-env.ts';
import type { DriftRunCosts } from './drift-run.ts';
import type { Figure } from './lib/figures.ts';

export const PRICES = {
  region: 'us-east-1',
  lambdaGbSecondArm: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  eventBridgeCustomEvent: 1 / 1e6,
  schedulerInvocation: 1 / 1e6,
  sqsFifoRequest: 0.5 / 1e6,
  s3Get: 0.0004 / 1000,
  s3PutOrList: 0.005 / 1000,
  cloudFormationDrift: 0,
} as const;

const HOURS = 730;
const DRIFT_MEMORY_GB = FUNCTION_MEMORY_MB.drift / 1024;
const WORKER_MEMORY_GB = FUNCTION_MEMORY_MB.driftWorker / 1024;
const SYNC_MEMORY_GB = FUNCTION_MEMORY_MB.sync / 1024;
/** Lambda gives a function one vCPU at 1,769 MB, and a share of it proportional to its memory below that. */
const VCPU_MEMORY_MB = 1769;
/** Stacks per queued drift item (MAX_TARGETS_PER_ITEM) and SendMessageBatch entries per request. */
const ITEM_STACKS = 200;
const BATCH = 10;

export interface CostLine {
  readonly item: string;
  readonly monthly: number;
}

/** What the fan-out measured (bench/drift-fanout.ts): worker time per stack at one account-region's rate. */
export interface FanOutCosts {
  /** Worker seconds per stack (the waits on CloudFormation's rate, which a worker is billed for). */
  readonly workerSecondsPerStack: number;
  /** Worker invocations per stack (items, and continuations when a budget ends first). */
  readonly invocationsPerStack: number;
  /** CloudFormation calls per stack, throttled tries included. */
  readonly callsPerStack: number;
}

export function monthlyCost(
  stacks: number,
  fanOut: FanOutCosts,
  run: DriftRunCosts,
): { lines: CostLine[]; total: number; freeTierTotal: number } {
  const driftRuns = HOURS * 4;
  const polls = HOURS;
  // The planner: fetch, render, read state and queue the items, at the drift function's share of a vCPU.
  const plannerSeconds =
    (run.cpuSecondsPerStack * stacks * VCPU_MEMORY_MB) / Math.min(VCPU_MEMORY_MB, FUNCTION_MEMORY_MB.drift);
  const workerSeconds = fanOut.workerSecondsPerStack * stacks;
  const invocations = Math.max(1, Math.round(fanOut.invocationsPerStack * stacks));
  const driftGbS = driftRuns * (plannerSeconds * DRIFT_MEMORY_GB + workerSeconds * WORKER_MEMORY_GB);
  const pollSyncGbS = polls * 1 * SYNC_MEMORY_GB; // an hourly poll that finds nothing new: about a second
  const cfnCalls = driftRuns * fanOut.callsPerStack * stacks;
  // Listing state (the planner and each poll): a LIST per 1,000 keys and a GET per index shard (at most 256 stacks
  // each, bench figure of state-s3.ts); no state object changed, so none is read. The ledger: a GET and a PUT per
  // worker invocation, a GET and two PUTs per plan.
  const shards = Math.max(1, 2 ** Math.ceil(Math.log2(Math.max(1, stacks / 256))));
  const listings = driftRuns + polls;
  const s3Lists = listings * Math.ceil(stacks / 1000);
  const s3Gets = listings * shards + driftRuns * (1 + invocations);
  const s3Puts = driftRuns * (2 + invocations);
  const items = Math.ceil(stacks / ITEM_STACKS);
  // FIFO requests: the plan's SendMessageBatch calls, and each invocation's receive and delete.
  const sqsWork = driftRuns * (Math.ceil(items / BATCH) + 2 * invocations) + polls * 3;
  // Three FIFO queues (sync, apply, drift) long-polled while idle by their event source mappings.
  const sqsPolling = 3 * 5 * 3 * 60 * HOURS;
  const lines: CostLine[] = [
    {
      item: `Lambda drift planner ${driftRuns} runs × ${plannerSeconds.toFixed(0)} s × ${FUNCTION_MEMORY_MB.drift} MB`,
      monthly: driftRuns * plannerSeconds * DRIFT_MEMORY_GB * PRICES.lambdaGbSecondArm,
    },
    {
      item: `Lambda drift workers ${driftRuns} runs × ${workerSeconds.toFixed(0)} s in ${invocations} invocation(s) × ${FUNCTION_MEMORY_MB.driftWorker} MB`,
      monthly: driftRuns * workerSeconds * WORKER_MEMORY_GB * PRICES.lambdaGbSecondArm,
    },
    {
      item: `Lambda sync ${polls} polls × 1 s × ${FUNCTION_MEMORY_MB.sync} MB`,
      monthly: pollSyncGbS * PRICES.lambdaGbSecondArm,
    },
    { item: 'Lambda requests', monthly: (driftRuns * (1 + invocations) + polls) * PRICES.lambdaRequest },
    { item: `Scheduler ${driftRuns + polls} invocations`, monthly: (driftRuns + polls) * PRICES.schedulerInvocation },
    { item: `EventBridge ${polls} custom events`, monthly: polls * PRICES.eventBridgeCustomEvent },
    {
      item: `SQS FIFO ${(sqsPolling + sqsWork).toLocaleString('en')} requests (${sqsPolling.toLocaleString('en')} idle long polls)`,
      monthly: (sqsPolling + sqsWork) * PRICES.sqsFifoRequest,
    },
    {
      item: `S3 ${s3Gets.toLocaleString('en')} GET + ${(s3Lists + s3Puts).toLocaleString('en')} LIST/PUT`,
      monthly: s3Gets * PRICES.s3Get + (s3Lists + s3Puts) * PRICES.s3PutOrList,
    },
    {
      item: `CloudFormation ${Math.round(cfnCalls).toLocaleString('en')} drift calls`,
      monthly: cfnCalls * PRICES.cloudFormationDrift,
    },
  ];
  const total = lines.reduce((sum, l) => sum + l.monthly, 0);
  // Free tiers: Lambda 400,000 GB-s and 1M requests, SQS 1M requests, Scheduler 14M invocations.
  const lambdaBilled = Math.max(0, driftGbS + pollSyncGbS - 400_000) * PRICES.lambdaGbSecondArm;
  const sqsBilled = Math.max(0, sqsPolling + sqsWork - 1_000_000) * PRICES.sqsFifoRequest;
  const freeTierTotal = lambdaBilled + sqsBilled + polls * PRICES.eventBridgeCustomEvent + lines[7]!.monthly;
  return { lines, total, freeTierTotal };
}

/** The monthly cost at 1,000 stacks (goal ≤ $5) and at 10,000 (modelled, no goal), from the fan-out's counted calls. */
export function costFigures(fanOut: FanOutCosts, run: DriftRunCosts): Figure[] {
  return [
    { stacks: 1000, goal: 5 },
    { stacks: 10_000, goal: undefined },
  ].map(({ stacks, goal }) => {
    const { lines, total, freeTierTotal } = monthlyCost(stacks, fanOut, run);
    return {
      name: `cost ${stacks} stacks, 15-min drift checks`,
      value: total,
      unit: '$/month',
      reference: `${PRICES.region} list prices, no free tier (with it $${freeTierTotal.toFixed(2)}): ${lines
        .filter((l) => l.monthly >= 0.005)
        .map((l) => `${l.item} $${l.monthly.toFixed(2)}`)
        .join('; ')}`,
      goal: goal === undefined ? '—' : `≤ $${goal}/month`,
      met: goal === undefined || total <= goal,
    };
  });
}
