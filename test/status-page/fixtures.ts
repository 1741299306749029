import type { HistoryRecord, StackState } from '../../shared/model.ts';
import { emptyChanges } from '../../shared/model.ts';

/** A stored stack state with sensible defaults; `key` follows environment and stack. */
export function state(environment: string, stack: string, overrides: Partial<StackState> = {}): StackState {
  return {
    key: `${environment}/${stack}`,
    stack,
    environment,
    stackName: `${environment}-${stack}`,
    region: 'eu-west-1',
    repo: 'https://example.com/acme/infra.git',
    branch: 'main',
    sync: 'Synced',
    drift: { status: 'InSync', resources: [] },
    health: 'Healthy',
    dependsOn: [],
    updatedAt: '2024-05-01T10:00:00.000Z',
    ...overrides,
  };
}

export function applied(sha: string, url?: string, outputs: Record<string, string> = {}): StackState['lastApplied'] {
  return {
    revision: sha,
    commit: { sha, message: `commit ${sha.slice(0, 7)}`, ...(url ? { url } : {}) },
    hash: 'f'.repeat(64),
    inputs: {},
    at: '2024-05-01T10:00:00.000Z',
    outputs,
    changes: emptyChanges(),
  };
}

export function history(key: string, finishedAt: string, overrides: Partial<HistoryRecord> = {}): HistoryRecord {
  return {
    key,
    id: `${key.replace('/', '-')}-${finishedAt}`,
    revision: 'a'.repeat(40),
    commit: { sha: 'a'.repeat(40) },
    startedAt: finishedAt,
    finishedAt,
    result: 'Succeeded',
    reason: 'Applied',
    message: 'applied',
    changes: emptyChanges(),
    ...overrides,
  };
}
