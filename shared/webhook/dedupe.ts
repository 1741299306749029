/**
 * Remembers delivery ids so a redelivered webhook does not start a second sync. In memory and bounded: a warm Lambda
 * container or a `gitops dev` process catches the common case (a forge retrying within minutes); the per-stack FIFO
 * queues and the "nothing changed" short-circuit make a duplicate that slips through harmless anyway.
 */
import type { Clock } from '../ports.ts';

export interface DeliveryDedupeOptions {
  /** Ids kept at most; the oldest are forgotten first. @default 10_000 */
  readonly max?: number;
  /** How long an id is remembered. @default 24 hours */
  readonly ttlMs?: number;
  readonly clock: Pick<Clock, 'now'>;
}

export class DeliveryDedupe {
  private readonly max: number;
  private readonly ttlMs: number;
  private readonly clock: Pick<Clock, 'now'>;
  /** id → time first seen (ms); Map iteration order is insertion order, so the first entry is the oldest. */
  private readonly seenAt = new Map<string, number>();

  constructor(options: DeliveryDedupeOptions) {
    this.max = Math.max(1, options.max ?? 10_000);
    this.ttlMs = options.ttlMs ?? 24 * 3_600_000;
    this.clock = options.clock;
  }

  /** True when `id` was seen within the TTL; otherwise records it and answers false. */
  seen(id: string): boolean {
    const now = this.clock.now().getTime();
    this.expire(now);
    if (this.seenAt.has(id)) return true;
    this.seenAt.set(id, now);
    while (this.seenAt.size > this.max) {
      const oldest = this.seenAt.keys().next().value as string;
      this.seenAt.delete(oldest);
    }
    return false;
  }

  /** Forgets `id`, so that a redelivery after a failed hand-off is accepted again. */
  forget(id: string): void {
    this.seenAt.delete(id);
  }

  get size(): number {
    return this.seenAt.size;
  }

  private expire(now: number): void {
    for (const [id, at] of this.seenAt) {
      if (now - at < this.ttlMs) break;
      this.seenAt.delete(id);
    }
  }
}
