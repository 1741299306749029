import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../shared/events/publish.ts';
import { shouldNotify } from '../../shared/events/routing.ts';
import type { NotificationRoute } from '../../shared/model.ts';

const clock = { now: () => new Date('2026-11-26T10:00:00Z') };

describe('notification routes', () => {
  const routes: NotificationRoute[] = [
    { events: ['Sync Failed', 'Drift Detected'], environments: ['prod'] },
    { events: ['*'], severity: 'error' },
  ];

  it.each([
    ['Sync Failed', 'error', 'prod', true],
    ['Drift Detected', 'warning', 'prod', true],
    ['Drift Detected', 'warning', 'dev', false],
    ['Sync Failed', 'error', 'dev', true],
    ['Sync Succeeded', 'info', 'prod', false],
    ['Health Degraded', 'error', 'staging', true],
  ] as const)('%s (%s) in %s: notify %s', (type, severity, environment, expected) => {
    expect(shouldNotify(routes, type, { severity, environment })).toBe(expected);
  });

  it('notifies everything when the repository routes nothing', () => {
    expect(shouldNotify([], 'Sync Succeeded', { severity: 'info', environment: 'dev' })).toBe(true);
    expect(makeEvent('Sync Succeeded', { reason: 'Applied', message: 'm' }, clock).detail.notify).toBeUndefined();
  });

  it('marks the event and leaves the routes out of it', () => {
    const event = makeEvent(
      'Drift Detected',
      { environment: 'dev', stack: 'api', reason: 'ResourceDrift', message: 'm', routes },
      clock,
    );
    expect(event.detail.notify).toBe(false);
    expect(event.detail.severity).toBe('warning');
    expect(JSON.stringify(event)).not.toContain('routes');
  });
});
