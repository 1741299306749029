/**
 * Monthly cost of an installation managing 100 stacks with the 15-minute drift check, from the calls counted by the
 * drift fan-out (bench/drift.ts) and a day of schedules, at list prices. Free tiers are left out of the goal (they are
 * per account and other workloads share them); the reference says what they would take off.
 *
 * Prices: US East (N. Virginia), as published on the AWS pricing pages (checked 2025):
 *   Lambda arm64 $0.0000133334 per GB-s, $0.20 per 1M requests · EventBridge custom events $1.00 per 1M ·
 *   EventBridge Scheduler $1.00 per 1M invocations · SQS FIFO $0.50 per 1M requests · S3 Standard GET $0.0004 per
 *   1,000, PUT/LIST $0.005 per 1,000 · CloudFormation drift detection: no charge.
 * Measured: the fan-out's time and calls (bench/drift.ts), and the CPU a drift run spends besides it — fetch, render,
 * state — (bench/drift-run.ts), which at the drift function's memory runs on that share of a vCPU (1,769 MB = 1 vCPU).
 * The SDK's CPU per call runs while the fan-out waits on CloudFormation's rate, so it adds no billed time.
 * Assumed: a month is 730 hours; the safety-net poll runs hourly (the stack's default); no drift and no push in the
 * month (transitions write state and send events; steady state does not); each of the two SQS event source mappings
 * long-polls an idle queue with 5 pollers × 3 ReceiveMessage a minute (20 s waits).
 */
import { FUNCTION_MEMORY_MB } from '../shared/function-env.ts';
import type { DriftCounts } from './drift.ts';
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
const STACKS = 100;
const DRIFT_MEMORY_GB = FUNCTION_MEMORY_MB.drift / 1024;
const SYNC_MEMORY_GB = FUNCTION_MEMORY_MB.sync / 1024;
/** Lambda gives a function one vCPU at 1,769 MB, and a share of it proportional to its memory below that. */
const VCPU_MEMORY_MB = 1769;

export interface CostLine {
  readonly item: string;
  readonly monthly: number;
}

export function monthlyCost(
  counts: DriftCounts,
  run: DriftRunCosts,
): { lines: CostLine[]; total: number; freeTierTotal: number } {
  const driftRuns = HOURS * 4;
  const polls = HOURS;
  // The fan-out's time per stack at the same concurrency, for 100 stacks; plus the run's own fetch, render and state
  // reads, at the drift function's share of a vCPU.
  const ownSeconds =
    (run.cpuSecondsPerStack * STACKS * VCPU_MEMORY_MB) / Math.min(VCPU_MEMORY_MB, FUNCTION_MEMORY_MB.drift);
  const driftSeconds = (counts.seconds / counts.stacks) * STACKS + ownSeconds;
  const driftGbS = driftRuns * driftSeconds * DRIFT_MEMORY_GB;
  const pollSyncGbS = polls * 1 * SYNC_MEMORY_GB; // an hourly poll that finds nothing new: about a second
  const cfnCalls = driftRuns * (counts.calls / counts.stacks) * STACKS;
  // Every drift run and poll sync lists the state prefix once and reads the state index (index/states.json); a state
  // object is read only when its ETag differs from the index's, and in this steady state none changed.
  const s3Lists = (driftRuns + polls) * Math.ceil(STACKS / 1000);
  const s3Gets = driftRuns + polls;
  const sqsPolling = 2 * 5 * 3 * 60 * HOURS;
  const sqsWork = polls * 3; // send, receive, delete of each poll's Sync Requested
  const lines: CostLine[] = [
    {
      item: `Lambda drift ${driftRuns} runs × ${driftSeconds.toFixed(0)} s (${ownSeconds.toFixed(1)} s of it fetch, render, state) × ${FUNCTION_MEMORY_MB.drift} MB`,
      monthly: driftGbS * PRICES.lambdaGbSecondArm,
    },
    {
      item: `Lambda sync ${polls} polls × 1 s × ${FUNCTION_MEMORY_MB.sync} MB`,
      monthly: pollSyncGbS * PRICES.lambdaGbSecondArm,
    },
    { item: 'Lambda requests', monthly: (driftRuns + polls) * PRICES.lambdaRequest },
    { item: `Scheduler ${driftRuns + polls} invocations`, monthly: (driftRuns + polls) * PRICES.schedulerInvocation },
    { item: `EventBridge ${polls} custom events`, monthly: polls * PRICES.eventBridgeCustomEvent },
    {
      item: `SQS FIFO ${(sqsPolling + sqsWork).toLocaleString('en')} requests (idle long polls)`,
      monthly: (sqsPolling + sqsWork) * PRICES.sqsFifoRequest,
    },
    {
      item: `S3 ${s3Gets.toLocaleString('en')} GET + ${s3Lists} LIST`,
      monthly: s3Gets * PRICES.s3Get + s3Lists * PRICES.s3PutOrList,
    },
    {
      item: `CloudFormation ${Math.round(cfnCalls).toLocaleString('en')} drift calls`,
      monthly: cfnCalls * PRICES.cloudFormationDrift,
    },
  ];
  const total = lines.reduce((s, l) => s + l.monthly, 0);
  // Free tiers: Lambda 400,000 GB-s and 1M requests, SQS 1M requests, Scheduler 14M invocations.
  const lambdaBilled = Math.max(0, driftGbS + pollSyncGbS - 400_000) * PRICES.lambdaGbSecondArm;
  const sqsBilled = Math.max(0, sqsPolling + sqsWork - 1_000_000) * PRICES.sqsFifoRequest;
  const freeTierTotal = lambdaBilled + sqsBilled + polls * PRICES.eventBridgeCustomEvent + lines[6]!.monthly;
  return { lines, total, freeTierTotal };
}

export function costFigures(counts: DriftCounts, run: DriftRunCosts): Figure[] {
  const { lines, total, freeTierTotal } = monthlyCost(counts, run);
  return [
    {
      name: `cost ${STACKS} stacks, 15-min drift checks`,
      value: total,
      unit: '$/month',
      reference: `${PRICES.region} list prices, no free tier (with it $${freeTierTotal.toFixed(2)}): ${lines
        .filter((l) => l.monthly >= 0.005)
        .map((l) => `${l.item} $${l.monthly.toFixed(2)}`)
        .join('; ')}; drift concurrency ${counts.concurrency}`,
      goal: '≤ $1/month',
      met: total <= 1,
    },
  ];
}
