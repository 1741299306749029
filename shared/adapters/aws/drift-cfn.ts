/**
 * Resource drift through CloudFormation: DetectStackDrift → DescribeStackDriftDetectionStatus (first polled after a
 * short wait, then with backoff)
 * → DescribeStackResourceDrifts (MODIFIED and DELETED only, every page). Each SDK call is counted, so the benchmark
 * can report calls per stack.
 */
import {
  type CloudFormationClient,
  DescribeStackDriftDetectionStatusCommand,
  type DescribeStackDriftDetectionStatusCommandOutput,
  DescribeStackResourceDriftsCommand,
  DetectStackDriftCommand,
} from '@aws-sdk/client-cloudformation';
import { systemClock } from '../../clock.ts';
import { ApplyError, GitOpsError, Reason } from '../../errors.ts';
import type { DriftedResource, StackState } from '../../model.ts';
import type { Clock, DriftDetector, DriftResult } from '../../ports.ts';
import { errorMessage, errorName, isAbort, isThrottle, isTransient } from './aws-errors.ts';
import { type BackoffPolicy, delayFor, retryThrottled } from './backoff.ts';
import { AwsClientFactory, type CloudFormationClients, roleSessionName } from './clients.ts';

/** Drift detection works only in these statuses. */
export const DRIFT_CHECKABLE = new Set([
  'CREATE_COMPLETE',
  'UPDATE_COMPLETE',
  'UPDATE_ROLLBACK_COMPLETE',
  'UPDATE_ROLLBACK_FAILED',
]);

export interface CloudFormationDriftDetectorOptions {
  readonly clients?: CloudFormationClients;
  readonly clock?: Clock;
  /** How long detection may run before the stack is reported NotChecked. @default 5 minutes */
  readonly timeoutMs?: number;
  /** @default 2 s doubling to 15 s */
  readonly poll?: BackoffPolicy;
  /**
   * Wait before the first status poll: detection takes seconds, so polling at once only costs a call.
   * @default 3 s
   */
  readonly firstPollMs?: number;
  /** Tries per call while CloudFormation throttles. @default 8 */
  readonly throttleAttempts?: number;
  /**
   * Keep the expected and actual values of drifted properties (the engine redacts secret-like ones before storing
   * them; shared/engine/drift-values.ts). Off, only property paths and difference kinds are kept.
   * @default false (`GITOPS_DRIFT_VALUES=redacted` turns it on)
   */
  readonly values?: boolean;
}

export class CloudFormationDriftDetector implements DriftDetector {
  readonly #clients: CloudFormationClients;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #poll: BackoffPolicy;
  readonly #throttleAttempts: number;
  readonly #firstPollMs: number;
  readonly #values: boolean;
  #calls = 0;
  readonly #callsByStack = new Map<string, number>();

  constructor(options: CloudFormationDriftDetectorOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#clients = options.clients ?? new AwsClientFactory({ clock: this.#clock });
    this.#timeoutMs = options.timeoutMs ?? 5 * 60_000;
    this.#poll = options.poll ?? { baseMs: 2_000, maxMs: 15_000 };
    this.#values = options.values ?? false;
    this.#throttleAttempts = options.throttleAttempts ?? 8;
    this.#firstPollMs = options.firstPollMs ?? 3_000;
  }

  /** CloudFormation API calls made so far, throttled tries included. */
  get calls(): number {
    return this.#calls;
  }

  /** Calls per stack key. */
  callsFor(key: string): number {
    return this.#callsByStack.get(key) ?? 0;
  }

  async detect(state: StackState, signal?: AbortSignal): Promise<DriftResult> {
    const cfn = this.#clients.cloudFormation({
      region: state.region,
      ...(state.role ? { role: state.role } : {}),
      sessionName: roleSessionName(state.stack, 'drift'),
    });
    const call = <T>(fn: (o: { abortSignal?: AbortSignal }) => Promise<T>) => this.#call(state, fn, signal);
    try {
      // No DescribeStacks first: DetectStackDrift itself refuses a stack that is gone or in a status where drift
      // cannot be detected (a ValidationError naming why), which saves one call per stack on every scheduled run.
      let started: { StackDriftDetectionId?: string };
      try {
        started = await call((o) => cfn.send(new DetectStackDriftCommand({ StackName: state.stackName }), o));
      } catch (err) {
        if (errorName(err) === 'ValidationError') {
          return {
            status: 'NotChecked',
            resources: [],
            message: /does not exist/i.test(errorMessage(err))
              ? `stack ${state.stackName} does not exist in ${state.region}`
              : `drift of ${state.stackName} cannot be detected now (it is detected only in ${[...DRIFT_CHECKABLE].join(', ')}): ${errorMessage(err)}`,
          };
        }
        throw err;
      }
      const id = started.StackDriftDetectionId;
      if (!id) throw new ApplyError(Reason.Internal, `DetectStackDrift on ${state.stackName} returned no id`);
      const detection = await this.#waitForDetection(state, cfn, id, signal);
      if (detection === 'timeout') {
        return {
          status: 'NotChecked',
          resources: [],
          message: `drift detection on ${state.stackName} did not finish within ${Math.round(this.#timeoutMs / 1000)} s`,
        };
      }
      const failed = detection.DetectionStatus === 'DETECTION_FAILED';
      const reason = detection.DetectionStatusReason ?? 'no reason given';
      if (!failed && detection.StackDriftStatus === 'IN_SYNC') return { status: 'InSync', resources: [] };
      const resources = await this.#drifts(state, cfn, signal);
      if (resources.length) {
        return {
          status: 'Drifted',
          resources,
          message: `${resources.length} resource(s) of ${state.stackName} drifted: ${resources.map((r) => `${r.logicalId} ${r.status}`).join(', ')}${failed ? `; detection failed for others: ${reason}` : ''}`,
        };
      }
      if (failed)
        return {
          status: 'NotChecked',
          resources: [],
          message: `drift detection on ${state.stackName} failed: ${reason}`,
        };
      return { status: detection.StackDriftStatus === 'DRIFTED' ? 'Drifted' : 'InSync', resources: [] };
    } catch (err) {
      if (err instanceof GitOpsError) throw err;
      if (isAbort(err) || signal?.aborted) {
        throw new ApplyError(Reason.DeadlineExceeded, `deadline reached detecting drift on ${state.stackName}`, {
          retryable: true,
          cause: err,
        });
      }
      throw new ApplyError(
        Reason.ApplyFailed,
        `drift detection on ${state.stackName} (${state.region}): ${errorName(err)}: ${errorMessage(err)}`,
        {
          retryable: isTransient(err),
          cause: err,
        },
      );
    }
  }

  async #waitForDetection(
    state: StackState,
    cfn: CloudFormationClient,
    id: string,
    signal?: AbortSignal,
  ): Promise<DescribeStackDriftDetectionStatusCommandOutput | 'timeout'> {
    const until = this.#clock.now().getTime() + this.#timeoutMs;
    await this.#clock.sleep(Math.min(this.#firstPollMs, this.#timeoutMs), signal);
    for (let attempt = 0; ; attempt++) {
      const out = await this.#call(
        state,
        (o) => cfn.send(new DescribeStackDriftDetectionStatusCommand({ StackDriftDetectionId: id }), o),
        signal,
      );
      if (out.DetectionStatus !== 'DETECTION_IN_PROGRESS') return out;
      const now = this.#clock.now().getTime();
      if (now >= until) return 'timeout';
      await this.#clock.sleep(Math.max(1, Math.min(delayFor(this.#poll, attempt), until - now)), signal);
    }
  }

  async #drifts(state: StackState, cfn: CloudFormationClient, signal?: AbortSignal): Promise<DriftedResource[]> {
    const resources: DriftedResource[] = [];
    let token: string | undefined;
    do {
      const page = token;
      const out = await this.#call(
        state,
        (o) =>
          cfn.send(
            new DescribeStackResourceDriftsCommand({
              StackName: state.stackName,
              StackResourceDriftStatusFilters: ['MODIFIED', 'DELETED'],
              MaxResults: 100,
              ...(page ? { NextToken: page } : {}),
            }),
            o,
          ),
        signal,
      );
      for (const d of out.StackResourceDrifts ?? []) {
        const status = d.StackResourceDriftStatus;
        if (status !== 'MODIFIED' && status !== 'DELETED') continue;
        resources.push({
          logicalId: d.LogicalResourceId ?? '?',
          ...(d.PhysicalResourceId ? { physicalId: d.PhysicalResourceId } : {}),
          type: d.ResourceType ?? 'unknown',
          status,
          differences: (d.PropertyDifferences ?? []).map((p) => ({
            path: p.PropertyPath ?? '',
            ...(this.#values && p.ExpectedValue !== undefined ? { expected: p.ExpectedValue } : {}),
            ...(this.#values && p.ActualValue !== undefined ? { actual: p.ActualValue } : {}),
            kind: p.DifferenceType ?? 'NOT_EQUAL',
          })),
        });
      }
      token = out.NextToken;
    } while (token);
    return resources;
  }

  #call<T>(state: StackState, fn: (o: { abortSignal?: AbortSignal }) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return retryThrottled(
      () => {
        signal?.throwIfAborted();
        this.#calls++;
        this.#callsByStack.set(state.key, (this.#callsByStack.get(state.key) ?? 0) + 1);
        return fn(signal ? { abortSignal: signal } : {});
      },
      {
        clock: this.#clock,
        attempts: this.#throttleAttempts,
        ...(signal ? { signal } : {}),
        // The clients make one attempt each (clients.ts): transient faults are retried here, with the throttles.
        retryIf: (err) => !isAbort(err) && isTransient(err),
        onExhausted: (err) =>
          new ApplyError(
            isThrottle(err) ? Reason.Throttled : Reason.ApplyFailed,
            isThrottle(err)
              ? `CloudFormation kept throttling drift detection on ${state.stackName}: ${errorMessage(err)}`
              : `drift detection on ${state.stackName} kept failing: ${errorName(err) || 'Error'}: ${errorMessage(err)}`,
            {
              retryable: true,
              notify: false,
              cause: err,
            },
          ),
      },
    );
  }
}
