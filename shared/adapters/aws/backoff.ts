/**
 * Backoff for polling and for throttled calls. Every wait goes through the injected Clock (tests resolve sleeps at
 * once) and honours the caller's AbortSignal, so the Lambda deadline ends a wait instead of the Lambda timing out.
 */
import type { Clock } from '../../ports.ts';
import { isThrottle } from './aws-errors.ts';

export interface BackoffPolicy {
  /** First delay. */
  readonly baseMs: number;
  /** Largest delay. */
  readonly maxMs: number;
  /** Multiplier per attempt. @default 2 */
  readonly factor?: number;
  /** Adds up to this fraction of random jitter, so parallel stacks do not poll in step. @default 0.2 */
  readonly jitter?: number;
}

export function delayFor(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const raw = Math.min(policy.maxMs, policy.baseMs * (policy.factor ?? 2) ** attempt);
  const jitter = policy.jitter ?? 0.2;
  return Math.round(raw * (1 - jitter + jitter * random()));
}

export interface ThrottleRetryOptions {
  readonly clock: Clock;
  readonly signal?: AbortSignal;
  /** Tries in all, the first included. @default 6 */
  readonly attempts?: number;
  readonly policy?: BackoffPolicy;
  /** Raised when every try was throttled. */
  readonly onExhausted: (err: unknown) => Error;
  /** Also retry these errors (transient faults), besides throttling. */
  readonly retryIf?: (err: unknown) => boolean;
}

export const throttlePolicy: BackoffPolicy = { baseMs: 1_000, maxMs: 20_000 };

/** Runs `fn`, retrying with backoff while AWS throttles it; other errors go straight to the caller. */
export async function retryThrottled<T>(fn: () => Promise<T>, options: ThrottleRetryOptions): Promise<T> {
  const attempts = options.attempts ?? 6;
  const policy = options.policy ?? throttlePolicy;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const retry = isThrottle(err) || (options.retryIf?.(err) ?? false);
      if (!retry) throw err;
      if (attempt + 1 >= attempts) throw options.onExhausted(err);
      await options.clock.sleep(delayFor(policy, attempt), options.signal);
    }
  }
}
