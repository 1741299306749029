/**
 * The EventSink on EventBridge. PutEvents takes at most 10 entries and 256 KB a call; a call can succeed while some
 * of its entries fail (FailedEntryCount), so only those are sent again, with backoff, and the ones that never get
 * through are named in a PublishFailed error.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { systemClock } from '../../clock.ts';
import { GitOpsError, Reason } from '../../errors.ts';
import type { GitOpsEvent } from '../../events/catalog.ts';
import type { Clock, EventSink } from '../../ports.ts';
import { errorMessage, errorName, isTransient } from './aws-errors.ts';
import { type BackoffPolicy, delayFor } from './backoff.ts';

/** EventBridge's entry limit, 256 KB, as it counts it (Time 14 bytes, Source, DetailType, Detail, Resources). */
export const MAX_ENTRY_BYTES = 256 * 1024;
const MAX_BATCH = 10;

export interface EventBridgeSinkOptions {
  /** Bus name or ARN. @default `default` */
  readonly eventBusName?: string;
  readonly client?: EventBridgeClient;
  readonly clock?: Clock;
  /** Tries per entry, the first included. @default 4 */
  readonly attempts?: number;
  /** @default 200 ms doubling to 5 s */
  readonly backoff?: BackoffPolicy;
}

interface Pending {
  readonly event: GitOpsEvent;
  readonly entry: PutEventsRequestEntry;
  readonly size: number;
  lastError?: string;
}

export class EventBridgeSink implements EventSink {
  readonly #client: EventBridgeClient;
  readonly #bus: string;
  readonly #clock: Clock;
  readonly #attempts: number;
  readonly #backoff: BackoffPolicy;

  constructor(options: EventBridgeSinkOptions = {}) {
    this.#client = options.client ?? new EventBridgeClient({});
    this.#bus = options.eventBusName ?? 'default';
    this.#clock = options.clock ?? systemClock;
    this.#attempts = options.attempts ?? 4;
    this.#backoff = options.backoff ?? { baseMs: 200, maxMs: 5_000 };
  }

  async publish(events: readonly GitOpsEvent[]): Promise<void> {
    const refused: string[] = [];
    let pending: Pending[] = [];
    for (const event of events) {
      const entry = this.#fit(event);
      if (typeof entry === 'string') refused.push(entry);
      else pending.push(entry);
    }
    for (let attempt = 0; pending.length && attempt < this.#attempts; attempt++) {
      if (attempt > 0) await this.#clock.sleep(delayFor(this.#backoff, attempt - 1));
      const failed: Pending[] = [];
      for (const batch of batches(pending)) failed.push(...(await this.#send(batch)));
      pending = failed;
    }
    const lost = [...refused, ...pending.map((p) => `${label(p.event)} (${p.lastError ?? 'unknown error'})`)];
    if (lost.length) {
      throw new GitOpsError(
        Reason.PublishFailed,
        `${lost.length} of ${events.length} event(s) not published to EventBridge bus ${this.#bus}: ${lost.join('; ')}`,
        { retryable: pending.length > 0, notify: false },
      );
    }
  }

  /** Sends one batch; returns the entries that failed, each with its error. */
  async #send(batch: Pending[]): Promise<Pending[]> {
    try {
      const out = await this.#client.send(new PutEventsCommand({ Entries: batch.map((p) => p.entry) }));
      if (!out.FailedEntryCount) return [];
      // Result entries are in request order; a failed one has ErrorCode instead of EventId.
      return batch.filter((p, i) => {
        const result = out.Entries?.[i];
        if (result?.EventId && !result.ErrorCode) return false;
        p.lastError = `${result?.ErrorCode ?? 'Failed'}: ${result?.ErrorMessage ?? 'no message'}`;
        return true;
      });
    } catch (err) {
      const message = `${errorName(err) || 'Error'}: ${errorMessage(err)}`;
      for (const p of batch) p.lastError = message;
      if (!isTransient(err)) {
        // A refused request (validation, access) will not get better by retrying.
        throw new GitOpsError(
          Reason.PublishFailed,
          `EventBridge refused ${batch.length} event(s) on bus ${this.#bus}: ${batch.map((p) => label(p.event)).join(', ')}: ${message}`,
          { cause: err, notify: false },
        );
      }
      return batch;
    }
  }

  /** The entry for an event, trimmed under 256 KB, or the reason it cannot be sent. */
  #fit(event: GitOpsEvent): Pending | string {
    let detail = event.detail;
    let entry = this.#entry(event, detail);
    let size = entrySize(entry);
    if (size <= MAX_ENTRY_BYTES) return { event, entry, size };
    // Too big: keep the first items of the long lists and say how many there were.
    const resources = detail.resources ?? [];
    const changes = detail.changes;
    const total = resources.length + (changes ? Object.values(changes).reduce((n, l) => n + l.length, 0) : 0);
    for (let keep = Math.min(50, total); keep >= 0; keep = keep === 0 ? -1 : Math.floor(keep / 2)) {
      const trimmedChanges = changes && {
        added: changes.added.slice(0, keep),
        modified: changes.modified.slice(0, keep),
        removed: changes.removed.slice(0, keep),
        replaced: changes.replaced.slice(0, keep),
        parametersChanged: changes.parametersChanged.slice(0, keep),
        tagsChanged: changes.tagsChanged.slice(0, keep),
      };
      detail = {
        ...event.detail,
        ...(event.detail.resources ? { resources: resources.slice(0, keep) } : {}),
        ...(trimmedChanges ? { changes: trimmedChanges } : {}),
        data: {
          ...event.detail.data,
          truncated: `resources and changes cut to ${keep} item(s) per list to stay under 256 KB; the full lists are in the state store`,
        },
      };
      entry = this.#entry(event, detail);
      size = entrySize(entry);
      if (size <= MAX_ENTRY_BYTES) return { event, entry, size };
    }
    return `${label(event)} (${size} bytes, over the 256 KB entry limit even with its lists trimmed)`;
  }

  #entry(event: GitOpsEvent, detail: GitOpsEvent['detail']): PutEventsRequestEntry {
    return {
      Source: event.source,
      DetailType: event.detailType,
      Detail: JSON.stringify(detail),
      EventBusName: this.#bus,
      Time: new Date(event.time),
    };
  }
}

export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time ? 14 : 0;
  size += Buffer.byteLength(entry.Source ?? '', 'utf8');
  size += Buffer.byteLength(entry.DetailType ?? '', 'utf8');
  size += Buffer.byteLength(entry.Detail ?? '', 'utf8');
  for (const r of entry.Resources ?? []) size += Buffer.byteLength(r, 'utf8');
  return size;
}

/** ≤ 10 entries and ≤ 256 KB per call. */
function* batches(items: Pending[]): Generator<Pending[]> {
  let batch: Pending[] = [];
  let bytes = 0;
  for (const item of items) {
    if (batch.length && (batch.length >= MAX_BATCH || bytes + item.size > MAX_ENTRY_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += item.size;
  }
  if (batch.length) yield batch;
}

function label(event: GitOpsEvent): string {
  const d = event.detail;
  const where = d.environment && d.stack ? ` ${d.environment}/${d.stack}` : d.stack ? ` ${d.stack}` : '';
  return `${event.detailType}${where}${d.revision ? ` @${d.revision.slice(0, 7)}` : ''}`;
}
