import type { HistoryRecord, StackState } from '../../shared/model.ts';
import { emptyChanges } from '../../shared/model.ts';
import { stackState as awsStackState } from '../aws/fixtures.ts';

/** The AWS fixture's state, as the local tests know it: another repository, drift not checked, an older update. */
export function stackState(overrides: Partial<StackState> = {}): StackState {
  return awsStackState({
    repo: 'https://example.com/acme/infra.git',
    drift: { status: 'NotChecked', resources: [] },
    updatedAt: '2024-05-01T10:00:00.000Z',
    ...overrides,
  });
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
