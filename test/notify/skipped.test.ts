/**
 * A commit that is not applied is something a person must hear about: `Sync Skipped` goes through the stack's rule to
 * the notify function and out to the alert channels, with the severity of a failure, like `Sync Failed`.
 */
import { describe, expect, it } from 'vitest';
import { makeNotifyHandler } from '../../functions/notify.ts';
import { sync } from '../../shared/engine/sync.ts';
import type { GitOpsEvent } from '../../shared/events/catalog.ts';
import { shouldNotify } from '../../shared/events/routing.ts';
import { NOTIFY_DETAIL_TYPES } from '../../shared/function-env.ts';
import { MemoryDedupeStore, NotificationDeduper } from '../../shared/notify/dedupe.ts';
import { formatPlainText } from '../../shared/notify/format-plain.ts';
import { exampleRepo, silent } from '../engine/engine-fixture.ts';

describe('Sync Skipped', () => {
  it('reaches the alert channels and sets an error commit status, like a failure', async () => {
    const repo = exampleRepo();
    const older = repo.head();
    repo.edit('templates/queue.yaml', 'VisibilityTimeout: 30', 'VisibilityTimeout: 50', 'Newer');
    await sync(repo.deps, { environments: ['dev'] });
    repo.clearEvents();
    // An older commit asked for after the newer one is applied: skipped.
    await sync(repo.deps, { ref: older, environments: ['dev'] });
    const skipped = repo.events.events.filter((e) => e.detailType === 'Sync Skipped');
    expect(skipped.map((e) => [e.detail.stack, e.detail.reason, e.detail.severity])).toEqual([
      ['queue', 'Superseded', 'error'],
    ]);

    const alerts: GitOpsEvent[] = [];
    const statuses: string[] = [];
    const notify = makeNotifyHandler(() => ({
      alerts: [{ send: async (e) => void alerts.push(e) }],
      commitStatus: { send: async (e) => void statuses.push(e.detailType) },
      deduper: new NotificationDeduper({ store: new MemoryDedupeStore(), clock: repo.deps.clock }),
      logger: silent,
    }));
    // What the stack's rule sends the notify function: exactly these detail-types.
    for (const event of repo.events.events.filter((e) => NOTIFY_DETAIL_TYPES.includes(e.detailType))) {
      await notify({
        version: '0',
        id: 'x',
        source: event.source,
        account: '123456789012',
        time: event.time,
        region: 'eu-west-1',
        resources: [],
        'detail-type': event.detailType,
        detail: event.detail,
      });
    }

    expect(alerts.map((e) => e.detailType)).toEqual(['Sync Skipped']);
    expect(statuses).toEqual(['Sync Skipped']);
    const text = formatPlainText(alerts[0]!);
    expect(text.subject).toContain('dev/queue: sync skipped (Superseded)');
    expect(text.body).toContain('push it on top of the branch');
    // Routes that send failures to people send it too.
    expect(shouldNotify([{ events: ['*'], severity: 'error' }], 'Sync Skipped', skipped[0]!.detail)).toBe(true);
  });
});
