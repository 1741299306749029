/**
 * The real clock. `sleep` takes the caller's AbortSignal so a Lambda deadline or a Ctrl-C ends a wait at once, and it
 * rejects with the platform's AbortError, which `toGitOpsError` turns into `DeadlineExceeded`.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from './ports.ts';

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: async (ms: number, signal?: AbortSignal): Promise<void> => {
    await delay(Math.max(0, ms), undefined, signal ? { signal } : undefined);
  },
};
