/**
 * Local EventSinks. `ConsoleEventSink` prints one readable line per event and can append JSON lines to a file, which
 * is what `gitops dev` and the CLI show; `MemoryEventSink` keeps events for the local runtime's status page and for
 * tests; `FanoutEventSink` sends to several sinks and reports every one that failed.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GitOpsError, Reason } from '../../errors.ts';
import type { GitOpsEvent, Severity } from '../../events/catalog.ts';
import type { EventSink } from '../../ports.ts';
import { sanitize, sanitizeDeep } from '../../sanitize.ts';
import { terminalLine } from '../../terminal-text.ts';

/** Anything with a `write(text)`: a stream, `process.stderr`, a test's collector. */
export interface TextOut {
  write(chunk: string): unknown;
}

export interface ConsoleEventSinkOptions {
  /** Where readable lines go. @default process.stdout */
  readonly out?: TextOut;
  /** When set, every event is also appended to this file as one JSON line. */
  readonly jsonlPath?: string;
  /** ANSI colours by severity; the caller decides (TTY, NO_COLOR). @default false */
  readonly color?: boolean;
}

const colours: Readonly<Record<Severity, string>> = { info: '\x1b[36m', warning: '\x1b[33m', error: '\x1b[31m' };
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

/** `2024-05-01T10:00:00Z  Sync Succeeded  prod/web  1a2b3c4  applied 3 changes` */
export function formatEventLine(event: GitOpsEvent, color = false): string {
  const d = event.detail;
  const time = event.time.replace(/\.\d{3}Z$/, 'Z');
  // Everything but the time comes from the repository or quotes it: no terminal escapes, one line.
  const where = terminalLine(
    d.environment && d.stack ? `${d.environment}/${d.stack}` : (d.stack ?? d.environment ?? d.repo ?? '-'),
  );
  const revision = terminalLine((d.revision ?? d.commit?.sha)?.slice(0, 7) ?? '-');
  const message = terminalLine(sanitize(d.message));
  if (!color) return `${time}  ${event.detailType}  ${where}  ${revision}  ${message}`;
  const c = colours[d.severity] ?? '';
  return `${DIM}${time}${RESET}  ${c}${event.detailType}${RESET}  ${where}  ${DIM}${revision}${RESET}  ${message}`;
}

export class ConsoleEventSink implements EventSink {
  private readonly out: TextOut;
  private readonly jsonlPath: string | undefined;
  private readonly color: boolean;
  private dirReady = false;

  constructor(options: ConsoleEventSinkOptions = {}) {
    this.out = options.out ?? process.stdout;
    this.jsonlPath = options.jsonlPath;
    this.color = options.color ?? false;
  }

  async publish(events: readonly GitOpsEvent[]): Promise<void> {
    if (events.length === 0) return;
    // Events built by `makeEvent` are sanitized already; sinks also take events from elsewhere, so clean them again.
    const clean = events.map((e) => sanitizeDeep(e));
    for (const event of clean) this.out.write(`${formatEventLine(event, this.color)}\n`);
    if (this.jsonlPath === undefined) return;
    try {
      if (!this.dirReady) {
        await mkdir(dirname(this.jsonlPath), { recursive: true });
        this.dirReady = true;
      }
      // One appendFile call per batch: a single write, so lines of concurrent publishers do not interleave mid-line.
      await appendFile(this.jsonlPath, clean.map((e) => `${JSON.stringify(e)}\n`).join(''));
    } catch (err) {
      throw new GitOpsError(
        Reason.PublishFailed,
        `cannot append ${events.length} event(s) (${events.map((e) => e.detailType).join(', ')}) to ${this.jsonlPath}`,
        { retryable: true, file: this.jsonlPath, cause: err },
      );
    }
  }
}

export type EventListener = (event: GitOpsEvent) => void;

export class MemoryEventSink implements EventSink {
  readonly events: GitOpsEvent[] = [];
  private readonly listeners = new Set<EventListener>();
  private readonly max: number;

  /** @param max events kept (oldest dropped first) so a long `gitops dev` session does not grow without bound. */
  constructor(options: { readonly max?: number } = {}) {
    this.max = options.max ?? 10_000;
  }

  async publish(events: readonly GitOpsEvent[]): Promise<void> {
    for (const event of events) {
      this.events.push(event);
      if (this.events.length > this.max) this.events.splice(0, this.events.length - this.max);
      for (const listener of this.listeners) {
        try {
          listener(event);
        } catch {
          // A broken listener (a closed browser stream) must not fail the publisher or starve the other listeners.
        }
      }
    }
  }

  /** Calls `listener` for every later event; returns the function that unsubscribes it. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  clear(): void {
    this.events.length = 0;
  }
}

export class FanoutEventSink implements EventSink {
  private readonly sinks: readonly EventSink[];

  constructor(...sinks: EventSink[]) {
    this.sinks = sinks;
  }

  /** Publishes to every sink even when one fails, then reports all the failures together. */
  async publish(events: readonly GitOpsEvent[]): Promise<void> {
    const results = await Promise.allSettled(this.sinks.map((s) => s.publish(events)));
    const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [{ index: i, reason: r.reason }] : []));
    if (failures.length === 0) return;
    const first = failures[0]!.reason;
    const text = failures
      .map((f) => `sink ${f.index + 1}: ${f.reason instanceof Error ? f.reason.message : String(f.reason)}`)
      .join('; ');
    throw new GitOpsError(
      Reason.PublishFailed,
      `${failures.length} of ${this.sinks.length} event sinks failed: ${text}`,
      {
        retryable: failures.every((f) => !(f.reason instanceof GitOpsError) || f.reason.retryable),
        cause: first,
      },
    );
  }
}
