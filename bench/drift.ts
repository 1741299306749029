/**
 * Drift fan-out: the real CloudFormationDriftDetector over 1,000 stacks, with the engine's concurrency (checkDrift's
 * default, which the drift function uses), against a CloudFormation stand-in behind the client's `send`:
 *
 * - every call takes 20–50 ms; DetectStackDrift finishes 1–4 s after it started (a stack of about ten resources);
 * - a token bucket per account: `RATE` calls/s with a burst of `BURST`; above it, `Throttling` "Rate exceeded" (HTTP 400,
 *   as CloudFormation answers), which the detector must absorb with backoff;
 * - 5 % of the stacks drifted (2 resources), 1 % drifted badly (150 resources: two pages of DescribeStackResourceDrifts).
 *
 * Time is scaled: the detector gets a Clock whose `now` runs `1 / SCALE` times faster than the wall clock and whose
 * `sleep(ms)` sleeps `ms × SCALE`; the stand-in's latencies, detection times and token bucket run on the same clock.
 * Every figure is in CloudFormation's time (real seconds), i.e. the wall time divided by SCALE.
 *
 * Alone: `node bin/run-ts.js bench/drift.ts [--quick]`.
 */

import { pathToFileURL } from 'node:url';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DRIFT_CONCURRENCY } from '../functions/drift.ts';
import type { CloudFormationClients } from '../shared/adapters/aws/clients.ts';
import { CloudFormationDriftDetector } from '../shared/adapters/aws/drift-cfn.ts';
import { eachLimited } from '../shared/engine/drift.ts';
import type { StackState } from '../shared/model.ts';
import type { Clock, DriftResult } from '../shared/ports.ts';
import { type Figure, formatTable } from './lib/figures.ts';

/** The drift function's concurrency: what the scheduled run uses. */
export const ENGINE_CONCURRENCY = DRIFT_CONCURRENCY;
export const WINDOW_S = 15 * 60;
export const RATE = 10;
export const BURST = 20;

export interface DriftCounts {
  readonly stacks: number;
  /** CloudFormation calls the detector made, throttled tries included. */
  readonly calls: number;
  readonly byOperation: Readonly<Record<string, number>>;
  readonly throttled: number;
  readonly errors: number;
  readonly seconds: number;
  readonly concurrency: number;
}

export function scaledClock(scale: number): Clock {
  const start = Date.now();
  return {
    now: () => new Date(start + (Date.now() - start) / scale),
    sleep: (ms, signal) =>
      new Promise<void>((ok, fail) => {
        if (signal?.aborted) return fail(signal.reason);
        setTimeout(ok, Math.max(0, ms * scale));
      }),
  };
}

/** Deterministic per-stack numbers, so runs compare. */
const unit = (i: number, salt: number) => ((Math.imul(i + 1, 2654435761) ^ Math.imul(salt, 40503)) >>> 0) / 2 ** 32;

export class CloudFormationStandIn {
  readonly byOperation: Record<string, number> = {};
  throttled = 0;
  /** One token bucket per account and region, as CloudFormation limits its API. */
  readonly #buckets = new Map<string, { tokens: number; refilled: number }>();
  readonly #detections = new Map<string, { stack: number; doneAt: number }>();
  #next = 0;

  constructor(
    private readonly clock: Clock,
    private readonly indexOf: (stackName: string) => number,
  ) {}

  /** A client of one account-region: its calls pay that account-region's bucket. */
  client(accountRegion: string): CloudFormationClient {
    return { send: (command: never) => this.send(command, accountRegion) } as unknown as CloudFormationClient;
  }

  /** The client's `send`: wait the call's latency, pay a token or throttle, then answer like CloudFormation. */
  async send(
    command: { constructor: { name: string }; input: Record<string, unknown> },
    accountRegion = 'self/eu-west-1',
  ): Promise<unknown> {
    const op = command.constructor.name.replace(/Command$/, '');
    this.byOperation[op] = (this.byOperation[op] ?? 0) + 1;
    const call = this.#next++;
    await this.clock.sleep(20 + 30 * unit(call, 7));
    const now = this.clock.now().getTime();
    let bucket = this.#buckets.get(accountRegion);
    if (!bucket) {
      bucket = { tokens: BURST, refilled: now };
      this.#buckets.set(accountRegion, bucket);
    }
    bucket.tokens = Math.min(BURST, bucket.tokens + ((now - bucket.refilled) / 1000) * RATE);
    bucket.refilled = now;
    if (bucket.tokens < 1) {
      this.throttled++;
      throw Object.assign(new Error('Rate exceeded'), {
        name: 'Throttling',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      });
    }
    bucket.tokens -= 1;
    const input = command.input;
    switch (op) {
      case 'DescribeStacks':
        return { Stacks: [{ StackName: input.StackName, StackStatus: 'UPDATE_COMPLETE' }] };
      case 'DetectStackDrift': {
        const stack = this.indexOf(String(input.StackName));
        const id = `detection-${stack}-${call}`;
        this.#detections.set(id, { stack, doneAt: now + 1_000 + 3_000 * unit(stack, 11) });
        return { StackDriftDetectionId: id };
      }
      case 'DescribeStackDriftDetectionStatus': {
        const d = this.#detections.get(String(input.StackDriftDetectionId));
        if (!d) throw Object.assign(new Error('detection not found'), { name: 'ValidationError' });
        if (now < d.doneAt) return { DetectionStatus: 'DETECTION_IN_PROGRESS' };
        return {
          DetectionStatus: 'DETECTION_COMPLETE',
          StackDriftStatus: driftedResources(d.stack) ? 'DRIFTED' : 'IN_SYNC',
          DriftedStackResourceCount: driftedResources(d.stack),
        };
      }
      case 'DescribeStackResourceDrifts': {
        const stack = this.indexOf(String(input.StackName));
        const total = driftedResources(stack);
        const from = input.NextToken ? Number(input.NextToken) : 0;
        const to = Math.min(total, from + Number(input.MaxResults ?? 100));
        return {
          StackResourceDrifts: Array.from({ length: to - from }, (_, r) => ({
            LogicalResourceId: `Resource${from + r}`,
            PhysicalResourceId: `phys-${stack}-${from + r}`,
            ResourceType: 'AWS::SQS::Queue',
            StackResourceDriftStatus: 'MODIFIED',
            PropertyDifferences: [
              {
                PropertyPath: '/VisibilityTimeout',
                ExpectedValue: '30',
                ActualValue: '60',
                DifferenceType: 'NOT_EQUAL',
              },
            ],
          })),
          ...(to < total ? { NextToken: String(to) } : {}),
        };
      }
      default:
        throw new Error(`the stand-in does not answer ${op}`);
    }
  }
}

/** 5 % of the stacks drifted with 2 resources, 1 % with 150 (two pages). */
export function driftedResources(stack: number): number {
  if (stack % 100 === 7) return 150;
  return stack % 20 === 3 ? 2 : 0;
}

export async function runDriftFanOut(opts: {
  stacks: number;
  scale: number;
  concurrency?: number;
}): Promise<DriftCounts & { results: DriftResult[] }> {
  const clock = scaledClock(opts.scale);
  const names = Array.from({ length: opts.stacks }, (_, i) => `prod-svc${String(i).padStart(4, '0')}`);
  const index = new Map(names.map((n, i) => [n, i]));
  const standIn = new CloudFormationStandIn(clock, (name) => index.get(name) ?? -1);
  const clients: CloudFormationClients = {
    cloudFormation: () => standIn as unknown as CloudFormationClient,
    cloudWatch: () => {
      throw new Error('not used by drift detection');
    },
  };
  const detector = new CloudFormationDriftDetector({ clients, clock });
  const states = names.map(
    (stackName, i) =>
      ({
        key: `prod/svc${String(i).padStart(4, '0')}`,
        stack: `svc${String(i).padStart(4, '0')}`,
        environment: 'prod',
        stackName,
        region: 'eu-west-1',
      }) as StackState,
  );
  const results: DriftResult[] = [];
  let errors = 0;
  const concurrency = opts.concurrency ?? ENGINE_CONCURRENCY;
  const t0 = clock.now().getTime();
  // The resource pass of checkDrift: the same eachLimited, the same concurrency; state writes are not CloudFormation's.
  await eachLimited(states, concurrency, async (state) => {
    try {
      results.push(await detector.detect(state));
    } catch {
      errors++;
    }
  });
  const seconds = (clock.now().getTime() - t0) / 1000;
  return {
    stacks: opts.stacks,
    calls: detector.calls,
    byOperation: { ...standIn.byOperation },
    throttled: standIn.throttled,
    errors,
    seconds,
    concurrency,
    results,
  };
}

export async function benchDrift(opts: { quick: boolean }): Promise<{ figures: Figure[]; counts: DriftCounts }> {
  const stacks = 1000;
  const scale = opts.quick ? 0.01 : 0.05;
  const run = await runDriftFanOut({ stacks, scale });
  const ops = run.byOperation;
  const pages = ops.DescribeStackResourceDrifts ?? 0;
  const driftedStacks = run.results.filter((r) => r.status === 'Drifted').length;
  const extraPages = pages - driftedStacks;
  const successful = run.calls - run.throttled;
  const perStack = (successful - extraPages) / stacks;
  const polls = ops.DescribeStackDriftDetectionStatus ?? 0;
  const notChecked = run.results.filter((r) => r.status === 'NotChecked').length;
  const breakdown = Object.entries(ops)
    .map(([op, n]) => `${op} ${n}`)
    .join(', ');
  return {
    counts: run,
    figures: [
      {
        name: `drift ${stacks} stacks: total time`,
        value: run.seconds / 60,
        unit: 'min',
        reference: `concurrency ${run.concurrency} (the drift function's), 20–50 ms per call, detection 1–4 s, bucket ${RATE}/s burst ${BURST}; time scale ${scale}`,
        goal: `fits ${WINDOW_S / 60} min`,
        met: run.seconds <= WINDOW_S,
      },
      {
        name: `drift ${stacks} stacks: calls per stack`,
        value: perStack,
        unit: 'calls',
        reference: `${run.calls} calls (${breakdown}); ${polls} status polls; paging beyond page 1: ${extraPages}; throttled tries excluded`,
        goal: '≤ 3 + paging',
        met: perStack <= 3,
      },
      {
        name: `drift ${stacks} stacks: throttles unhandled`,
        value: run.errors + notChecked,
        unit: 'stacks',
        reference: `${run.throttled} Throttling "Rate exceeded" answers absorbed with backoff; ${driftedStacks} drifted found of ${stacks}`,
        goal: '0',
        met: run.errors + notChecked === 0,
      },
    ],
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick');
  const { figures } = await benchDrift({ quick });
  console.log(formatTable(figures));
}
