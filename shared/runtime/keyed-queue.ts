/**
 * Serializes work per key and coalesces what waits: while a run for a key is in progress, any number of new requests
 * collapse into ONE follow-up run, which starts from the newest state (a newer commit supersedes a waiting older
 * one; the repository is fetched again when the follow-up starts).
 */
export class CoalescingQueue {
  private readonly running = new Map<string, Promise<void>>();
  private readonly pending = new Map<string, () => Promise<void>>();
  /** With `exclusive`, the tail of the runs of every key: a run starts when the one before it ended. */
  private turn: Promise<void> = Promise.resolve();

  /**
   * @param options.exclusive runs of different keys never overlap either (they share one state store: a drift check
   *   writing a stack's state while a sync applies it makes the sync's conditional write fail). @default false
   */
  constructor(private readonly options: { readonly exclusive?: boolean } = {}) {}

  /** Schedules `work` for `key`; resolves when the run that covers this request has finished. */
  run(key: string, work: () => Promise<void>): Promise<void> {
    const current = this.running.get(key);
    if (!current) return this.start(key, work);
    // Replaces a request that was already waiting: only the newest one runs.
    this.pending.set(key, work);
    return this.followUp(key, current);
  }

  /** Resolves when nothing runs or waits any more. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  private followUp(key: string, current: Promise<void>): Promise<void> {
    return current.then(() => this.running.get(key) ?? Promise.resolve());
  }

  private start(key: string, work: () => Promise<void>): Promise<void> {
    const done = (async () => {
      try {
        if (this.options.exclusive) {
          const mine = this.turn.then(work);
          this.turn = mine.catch(() => undefined);
          await mine;
        } else {
          await work();
        }
      } finally {
        const next = this.pending.get(key);
        this.pending.delete(key);
        this.running.delete(key);
        if (next) void this.start(key, next);
      }
    })();
    this.running.set(key, done);
    return done.catch(() => undefined);
  }
}
