import type { Clock, EventSink } from '../ports.ts';
import { sanitizeDeep } from '../sanitize.ts';
import { type DetailType, defaultSeverity, EVENT_SOURCE, type EventDetail, type GitOpsEvent } from './catalog.ts';

export type DetailInput = Omit<EventDetail, 'severity'> & { readonly severity?: EventDetail['severity'] };

/** Builds an event of the catalog: default severity, sanitized text, the time from the clock. */
export function makeEvent(detailType: DetailType, detail: DetailInput, clock: Pick<Clock, 'now'>): GitOpsEvent {
  return {
    source: EVENT_SOURCE,
    detailType,
    time: clock.now().toISOString(),
    detail: sanitizeDeep({ ...detail, severity: detail.severity ?? defaultSeverity[detailType] }),
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
