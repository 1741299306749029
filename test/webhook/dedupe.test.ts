import { describe, expect, it } from 'vitest';
import { DeliveryDedupe } from '../../shared/webhook/dedupe.ts';

function manualClock(start = 0) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

describe('DeliveryDedupe', () => {
  it('reports an id as seen only after the first time', () => {
    // Prepare
    const dedupe = new DeliveryDedupe({ clock: manualClock() });

    // Act / Assess
    expect(dedupe.seen('a')).toBe(false);
    expect(dedupe.seen('a')).toBe(true);
    expect(dedupe.seen('b')).toBe(false);
  });

  it('forgets ids after the TTL', () => {
    // Prepare
    const clock = manualClock();
    const dedupe = new DeliveryDedupe({ ttlMs: 1_000, clock });
    dedupe.seen('a');

    // Act
    clock.advance(999);
    const within = dedupe.seen('a');
    clock.advance(2);
    const after = dedupe.seen('a');

    // Assess
    expect(within).toBe(true);
    expect(after).toBe(false);
  });

  it('keeps at most max ids, dropping the oldest', () => {
    // Prepare
    const dedupe = new DeliveryDedupe({ max: 2, clock: manualClock() });
    dedupe.seen('a');
    dedupe.seen('b');
    dedupe.seen('c');

    // Act / Assess
    expect(dedupe.size).toBe(2);
    expect(dedupe.seen('a')).toBe(false);
    expect(dedupe.seen('c')).toBe(true);
  });

  it('forgets an id on request', () => {
    // Prepare
    const dedupe = new DeliveryDedupe({ clock: manualClock() });
    dedupe.seen('a');

    // Act
    dedupe.forget('a');

    // Assess
    expect(dedupe.seen('a')).toBe(false);
  });
});
