import { describe, expect, it } from 'vitest';
import { DetailType } from '../../shared/events/catalog.ts';
import { MemoryDedupeStore, NotificationDeduper } from '../../shared/notify/dedupe.ts';
import { event, failed } from './events.ts';

function setup(windowMs = 3_600_000) {
  let t = Date.parse('2025-01-02T03:04:05.000Z');
  const store = new MemoryDedupeStore();
  const deduper = new NotificationDeduper({ store, clock: { now: () => new Date(t) }, windowMs });
  return { store, deduper, advance: (ms: number) => (t += ms) };
}

describe('NotificationDeduper', () => {
  it('sends an identical alert once within the window, and again after it', async () => {
    const { deduper, advance } = setup();
    expect(await deduper.shouldSend(failed())).toBe(true);
    advance(5 * 60_000);
    expect(await deduper.shouldSend(failed())).toBe(false);
    advance(60 * 60_000);
    expect(await deduper.shouldSend(failed())).toBe(true);
  });

  it.each([
    { name: 'another revision', other: failed({ revision: 'a'.repeat(40) }) },
    { name: 'another reason', other: failed({ reason: 'InsufficientCapabilities' }) },
    { name: 'another stack', other: failed({ stack: 'api' }) },
    { name: 'another environment', other: failed({ environment: 'dev' }) },
  ])('sends an alert that differs by $name', async ({ other }) => {
    const { deduper } = setup();
    expect(await deduper.filter([failed(), other])).toHaveLength(2);
  });

  it('always sends a recovery: Sync Succeeded after Sync Failed, and a new failure after it', async () => {
    const { deduper, store } = setup();
    const ok = event(DetailType.SyncSucceeded);
    expect(await deduper.shouldSend(ok)).toBe(true);
    expect(await deduper.shouldSend(ok)).toBe(false);
    expect(await deduper.shouldSend(failed())).toBe(true);
    expect(store.state?.failing).toEqual(['prod/web']);
    expect(await deduper.shouldSend(ok)).toBe(true);
    expect(store.state?.failing).toEqual([]);
    expect(await deduper.shouldSend(failed())).toBe(true);
  });

  it.each([
    { recovery: DetailType.DriftResolved, alert: DetailType.DriftDetected },
    { recovery: DetailType.HealthRestored, alert: DetailType.HealthDegraded },
  ])('always sends $recovery and re-arms $alert', async ({ recovery, alert }) => {
    const { deduper } = setup();
    const sent = await deduper.filter([
      event(alert, { reason: 'x' }),
      event(alert, { reason: 'x' }),
      event(recovery, { reason: 'y' }),
      event(recovery, { reason: 'y' }),
      event(alert, { reason: 'x' }),
    ]);
    expect(sent.map((e) => e.detailType)).toEqual([alert, recovery, recovery, alert]);
  });

  it('keeps the stored document small by forgetting entries older than the window', async () => {
    const { deduper, store, advance } = setup(60_000);
    await deduper.filter([failed({ revision: 'a'.repeat(40) }), failed({ revision: 'b'.repeat(40) })]);
    expect(Object.keys(store.state?.sent ?? {})).toHaveLength(2);
    advance(120_000);
    await deduper.filter([failed({ revision: 'c'.repeat(40) })]);
    expect(Object.keys(store.state?.sent ?? {})).toHaveLength(1);
  });
});
