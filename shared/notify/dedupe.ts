/**
 * Sends each alert once: the same stack, detail-type, reason and revision within a window go out the first time only,
 * so a failing stack does not alert every five minutes. Recoveries (Sync Succeeded after Sync Failed, Drift Resolved,
 * Health Restored) always go out: users miss them most. The state is one small JSON document behind `DedupeStore`, so
 * the Lambda keeps it in S3 and tests in memory.
 */
import type { GitOpsEvent } from '../events/catalog.ts';
import type { Clock } from '../ports.ts';

export interface DedupeState {
  /** Fingerprint → ISO time it was last sent. */
  readonly sent: Readonly<Record<string, string>>;
  /** Stack keys whose last sync outcome was a failure. */
  readonly failing: readonly string[];
}

export interface DedupeStore {
  load(): Promise<DedupeState | undefined>;
  save(state: DedupeState): Promise<void>;
}

export class MemoryDedupeStore implements DedupeStore {
  state: DedupeState | undefined;
  async load(): Promise<DedupeState | undefined> {
    return this.state;
  }
  async save(state: DedupeState): Promise<void> {
    this.state = state;
  }
}

const RECOVERIES = new Set(['Drift Resolved', 'Health Restored']);
/** The alert each recovery ends. */
const ENDS: Readonly<Record<string, string>> = {
  'Sync Succeeded': 'Sync Failed',
  'Drift Resolved': 'Drift Detected',
  'Health Restored': 'Health Degraded',
};

export interface NotificationDeduperOptions {
  readonly store: DedupeStore;
  readonly clock: Pick<Clock, 'now'>;
  /** @default 6 hours */
  readonly windowMs?: number;
}

export class NotificationDeduper {
  readonly #store: DedupeStore;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #windowMs: number;

  constructor(options: NotificationDeduperOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#windowMs = options.windowMs ?? 6 * 3_600_000;
  }

  /** The events to send, in order; records them (one load and one save per call). */
  async filter(events: readonly GitOpsEvent[]): Promise<GitOpsEvent[]> {
    const loaded = await this.#store.load();
    const now = this.#clock.now().getTime();
    const sent: Record<string, string> = {};
    // Forget what has left the window, so the document stays small.
    for (const [k, at] of Object.entries(loaded?.sent ?? {})) {
      if (now - Date.parse(at) < this.#windowMs) sent[k] = at;
    }
    const failing = new Set(loaded?.failing ?? []);
    const out: GitOpsEvent[] = [];
    for (const event of events) {
      const stack = stackOf(event);
      const recovery =
        RECOVERIES.has(event.detailType) || (event.detailType === 'Sync Succeeded' && failing.has(stack));
      if (event.detailType === 'Sync Failed') failing.add(stack);
      if (event.detailType === 'Sync Succeeded') failing.delete(stack);
      const key = fingerprint(event);
      if (recovery) {
        // A recovery also re-arms the alerts it ends: a new failure after it is news again.
        const ended = `${stack}|${ENDS[event.detailType]}|`;
        for (const k of Object.keys(sent)) if (k.startsWith(ended)) delete sent[k];
        sent[key] = new Date(now).toISOString();
        out.push(event);
        continue;
      }
      if (sent[key]) continue;
      sent[key] = new Date(now).toISOString();
      out.push(event);
    }
    await this.#store.save({ sent, failing: [...failing].sort() });
    return out;
  }

  async shouldSend(event: GitOpsEvent): Promise<boolean> {
    return (await this.filter([event])).length === 1;
  }
}

function stackOf(event: GitOpsEvent): string {
  const d = event.detail;
  return d.environment && d.stack ? `${d.environment}/${d.stack}` : (d.stack ?? d.repo ?? '');
}

/** Same stack, type, reason and revision. */
export function fingerprint(event: GitOpsEvent): string {
  const d = event.detail;
  return [stackOf(event), event.detailType, d.reason, d.revision ?? d.commit?.sha ?? ''].join('|');
}
