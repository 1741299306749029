/**
 * Remembers deliveries so that a redelivered webhook, or a captured signed body replayed under a new delivery id,
 * does not start a second sync. A delivery is known by two keys: its delivery id, and the sha256 of its signed body.
 * The id catches a forge's retry; the digest catches a replay, since anyone who captured a signed body can send it
 * again with any delivery id header (the id is not covered by the signature, the body is).
 *
 * `DeliveryDedupe` keeps the keys in memory, bounded (`gitops dev`, tests); the webhook function keeps them in the
 * state bucket (adapters/aws/delivery-ledger-s3.ts), so a replay that lands on another container is still caught.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../ports.ts';

/** What a delivery is remembered by. */
export interface DeliveryKeys {
  /** The forge's delivery id (`X-GitHub-Delivery`, …). */
  readonly id: string;
  /** sha256 (hex) of the raw, signed body. */
  readonly digest: string;
}

/** `new`: first time seen (now recorded); otherwise which key was already known. */
export type Claim = 'new' | 'duplicate-id' | 'duplicate-body';

export interface DeliveryLedger {
  /** Records the delivery when neither its id nor its body digest was seen within the TTL. */
  claim(keys: DeliveryKeys): Promise<Claim>;
  /** Forgets it, so that a redelivery after a failed hand-off is accepted again. */
  release(keys: DeliveryKeys): Promise<void>;
}

export const bodyDigest = (body: Uint8Array): string => createHash('sha256').update(body).digest('hex');

export interface DeliveryDedupeOptions {
  /** Keys kept at most; the oldest are forgotten first. @default 10_000 */
  readonly max?: number;
  /** How long a key is remembered. @default 24 hours */
  readonly ttlMs?: number;
  readonly clock: Pick<Clock, 'now'>;
}

export class DeliveryDedupe implements DeliveryLedger {
  private readonly max: number;
  private readonly ttlMs: number;
  private readonly clock: Pick<Clock, 'now'>;
  /** key → time first seen (ms); Map iteration order is insertion order, so the first entry is the oldest. */
  private readonly seenAt = new Map<string, number>();

  constructor(options: DeliveryDedupeOptions) {
    this.max = Math.max(1, options.max ?? 10_000);
    this.ttlMs = options.ttlMs ?? 24 * 3_600_000;
    this.clock = options.clock;
  }

  async claim(keys: DeliveryKeys): Promise<Claim> {
    const id = `id:${keys.id}`;
    const body = `body:${keys.digest}`;
    this.expire(this.clock.now().getTime());
    if (this.seenAt.has(id)) return 'duplicate-id';
    if (this.seenAt.has(body)) return 'duplicate-body';
    this.seen(id);
    this.seen(body);
    return 'new';
  }

  async release(keys: DeliveryKeys): Promise<void> {
    this.forget(`id:${keys.id}`);
    this.forget(`body:${keys.digest}`);
  }

  /** True when `key` was seen within the TTL; otherwise records it and answers false. */
  seen(key: string): boolean {
    const now = this.clock.now().getTime();
    this.expire(now);
    if (this.seenAt.has(key)) return true;
    this.seenAt.set(key, now);
    while (this.seenAt.size > this.max) {
      const oldest = this.seenAt.keys().next().value as string;
      this.seenAt.delete(oldest);
    }
    return false;
  }

  /** Forgets `key`. */
  forget(key: string): void {
    this.seenAt.delete(key);
  }

  get size(): number {
    return this.seenAt.size;
  }

  private expire(now: number): void {
    for (const [key, at] of this.seenAt) {
      if (now - at < this.ttlMs) break;
      this.seenAt.delete(key);
    }
  }
}
