/**
 * The open pull requests of one runtime and their newest preview, with the newest-wins rule for bursts of pushes:
 *
 * - Runs are serialized per pull request by a coalescing queue: while one runs, any number of newer deliveries
 *   collapse into ONE follow-up run of the newest (the ones in between never run).
 * - The run in flight when a newer delivery arrives is overtaken: `isCurrent` says so once it has computed, and it
 *   publishes nothing (no comment edit, no status, no event). So the comment always ends on the newest commit.
 * - A closed pull request is forgotten; a run still in flight for it publishes nothing.
 *
 * `gitops dev` keeps this in memory. On AWS there is no memory between invocations: the sync queue's FIFO group
 * serializes the previews of a repository, and a run whose delivery's head is no longer the head ref it fetched
 * publishes nothing (functions/sync.ts), the newer delivery being behind it in the queue.
 */
import { CoalescingQueue } from '../runtime/keyed-queue.ts';
import type { PullRequest } from '../webhook/pull-request.ts';
import { type PreviewRun, type PreviewRunDeps, pullRequestKey, runPreview } from './run.ts';
import type { Preview } from './types.ts';

export interface OpenPreview {
  readonly key: string;
  readonly pr: PullRequest;
  /** The newest head a delivery named. */
  readonly requested: string;
  /** The newest preview published for it (absent until the first run finished). */
  readonly preview?: Preview;
  readonly markdown?: string;
  /** Why there is no preview (no bound environment, an error). */
  readonly note?: string;
  readonly updatedAt: string;
}

export interface OpenPreviewsOptions {
  readonly deps: Omit<PreviewRunDeps, 'isCurrent'>;
  /** The branch the runtime follows, when known only later (after the first sync). */
  readonly followedBranch?: () => string | undefined;
  /** Told about every finished run (the dev runtime prints it). */
  readonly onRun?: (pr: PullRequest, run: PreviewRun) => void;
  readonly onError?: (pr: PullRequest, error: unknown) => void;
  /** Open pull requests kept at most; the least recently updated is dropped. @default 200 */
  readonly max?: number;
}

export class OpenPreviews {
  readonly #open = new Map<string, OpenPreview>();
  readonly #queue = new CoalescingQueue();
  constructor(private readonly options: OpenPreviewsOptions) {}

  /** Schedules the preview of `pr` (or ends it, for a close). Resolves when the run covering it has finished. */
  schedule(pr: PullRequest): Promise<void> {
    const key = pullRequestKey(pr);
    if (pr.action === 'close') {
      this.#open.delete(key);
      return Promise.resolve();
    }
    const previous = this.#open.get(key);
    this.#open.delete(key);
    this.#open.set(key, {
      ...(previous ?? {}),
      key,
      pr,
      requested: pr.headSha,
      updatedAt: this.options.deps.clock.now().toISOString(),
    });
    this.#trim();
    return this.#queue.run(key, async () => {
      // The newest delivery at the time the run starts (a waiting older one was replaced by the queue).
      const current = this.#open.get(key)?.pr ?? pr;
      try {
        const followed = this.options.followedBranch?.() ?? this.options.deps.followedBranch;
        const run = await runPreview(
          {
            ...this.options.deps,
            ...(followed ? { followedBranch: followed } : {}),
            isCurrent: (k, sha) => this.isCurrent(k, sha),
          },
          current,
        );
        this.#recordRun(key, current, run);
        this.options.onRun?.(current, run);
      } catch (err) {
        this.options.onError?.(current, err);
        const entry = this.#open.get(key);
        if (entry && entry.requested === current.headSha) {
          this.#open.set(key, { ...entry, note: 'the preview failed; see the log' });
        }
      }
    });
  }

  /** Still the newest head requested for this open pull request. */
  isCurrent(key: string, sha: string): boolean {
    return this.#open.get(key)?.requested === sha;
  }

  list(): readonly OpenPreview[] {
    return [...this.#open.values()].reverse();
  }

  idle(): Promise<void> {
    return this.#queue.idle();
  }

  #recordRun(key: string, pr: PullRequest, run: PreviewRun): void {
    const entry = this.#open.get(key);
    if (!entry || entry.requested !== pr.headSha) return;
    const updatedAt = this.options.deps.clock.now().toISOString();
    if (run.kind === 'published') {
      const { note: _old, ...rest } = entry;
      this.#open.set(key, { ...rest, preview: run.preview, markdown: run.markdown, updatedAt });
    } else if (run.kind === 'not-bound' || run.kind === 'unreachable') {
      this.#open.set(key, { ...entry, note: run.reason, updatedAt });
    }
  }

  #trim(): void {
    const max = this.options.max ?? 200;
    while (this.#open.size > max) {
      const oldest = this.#open.keys().next().value;
      if (oldest === undefined) break;
      this.#open.delete(oldest);
    }
  }
}
