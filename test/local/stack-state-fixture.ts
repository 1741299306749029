import type { HistoryRecord, StackState } from '../../shared/model.ts';
import { emptyChanges } from '../../shared/model.ts';

export function stackState(overrides: Partial<StackState> = {}): StackState {
  return {
    key: 'prod/web',
    stack: 'web',
    environment: 'prod',
    stackName: 'web-prod',
    region: 'eu-west-1',
    repo: 'https://example.com/acme/infra.git',
    branch: 'main',
    sync: 'Synced',
    drift: { status: 'NotChecked', resources: [] },
    health: 'Healthy',
    dependsOn: [],
    updatedAt: '2024-05-01T10:00:00.000Z',
    ...overrides,
  };
}

export function historyRecord(startedAt: string, id: string, key = 'prod/web'): HistoryRecord {
  return {
    key,
    id,
    revision: 'abc',
    commit: { sha: 'abc' },
    startedAt,
    finishedAt: startedAt,
    result: 'Succeeded',
    reason: 'Applied',
    message: `attempt ${id}`,
    changes: emptyChanges(),
  };
}
