import type { NotificationRoute } from '../model.ts';
import type { Clock, EventSink } from '../ports.ts';
import { sanitizeDeep } from '../sanitize.ts';
import { boundedDetail } from './bounded.ts';
import { type DetailType, defaultSeverity, EVENT_SOURCE, type EventDetail, type GitOpsEvent } from './catalog.ts';
import { shouldNotify } from './routing.ts';

export type DetailInput = Omit<EventDetail, 'severity' | 'notify'> & {
  readonly severity?: EventDetail['severity'];
  /** The repository's notification routes: they decide `notify`, and are not part of the event. */
  readonly routes?: readonly NotificationRoute[];
};

/**
 * Builds an event of the catalog: default severity, sanitized text, the time from the clock, and free text bounded so
 * the event always fits EventBridge's 256 KB (bounded.ts: the commit message becomes its first line, at most 1 KB).
 */
export function makeEvent(detailType: DetailType, detail: DetailInput, clock: Pick<Clock, 'now'>): GitOpsEvent {
  const { routes, ...fields } = detail;
  const severity = fields.severity ?? defaultSeverity[detailType];
  return {
    source: EVENT_SOURCE,
    detailType,
    time: clock.now().toISOString(),
    detail: boundedDetail(
      sanitizeDeep({
        ...fields,
        severity,
        ...(routes?.length ? { notify: shouldNotify(routes, detailType, { ...fields, severity }) } : {}),
      }),
    ),
  };
}

/** The one publish helper: every event the engine emits goes through here. */
export async function emit(
  sink: EventSink,
  clock: Pick<Clock, 'now'>,
  detailType: DetailType,
  detail: DetailInput,
): Promise<GitOpsEvent> {
  const event = makeEvent(detailType, detail, clock);
  await sink.publish([event]);
  return event;
}
