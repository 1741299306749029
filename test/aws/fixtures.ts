import type { HistoryRecord, RenderedStack, StackState } from '../../shared/model.ts';
import { emptyChanges } from '../../shared/model.ts';
import type { Clock } from '../../shared/ports.ts';

export const SHA = '3f786850e387550fdab836ed7e6dc881de23001b';

export function stackState(overrides: Partial<StackState> = {}): StackState {
  return {
    key: 'prod/web',
    stack: 'web',
    environment: 'prod',
    stackName: 'web-prod',
    region: 'eu-west-1',
    repo: 'https://github.com/acme/infra',
    branch: 'main',
    sync: 'Synced',
    drift: { status: 'InSync', resources: [] },
    health: 'Healthy',
    dependsOn: [],
    updatedAt: '2025-01-02T03:04:05.000Z',
    ...overrides,
  };
}

export function rendered(overrides: Partial<RenderedStack> = {}): RenderedStack {
  return {
    key: 'prod/web',
    stack: 'web',
    environment: 'prod',
    stackName: 'web-prod',
    region: 'eu-west-1',
    template: {
      AWSTemplateFormatVersion: '2010-09-09',
      Resources: { Bucket: { Type: 'AWS::S3::Bucket' } },
    },
    parameters: { Stage: 'prod' },
    tags: { team: 'web' },
    capabilities: [],
    dependsOn: [],
    outputParameters: {},
    syncPolicy: { automated: true, prune: false, selfHeal: false },
    alarms: [],
    recreateOnRollbackComplete: false,
    inputs: { 'web/template.yaml': 'a'.repeat(40) },
    hash: 'b'.repeat(64),
    revision: SHA,
    commit: { sha: SHA, author: 'Ada', message: 'Grow the bucket', url: `https://github.com/acme/infra/commit/${SHA}` },
    repo: 'https://github.com/acme/infra',
    branch: 'main',
    ...overrides,
  };
}

export function history(startedAt: string, id: string): HistoryRecord {
  return {
    key: 'prod/web',
    id,
    revision: SHA,
    commit: { sha: SHA },
    startedAt,
    finishedAt: startedAt,
    result: 'Succeeded',
    reason: 'Applied',
    message: `attempt ${id}`,
    changes: emptyChanges(),
  };
}

/** A clock whose sleeps return at once and move time forward, so deadlines and backoff run in no real time. */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  #t: number;
  constructor(start = Date.parse('2025-01-02T03:04:05.000Z')) {
    this.#t = start;
  }
  now(): Date {
    return new Date(this.#t);
  }
  advance(ms: number): void {
    this.#t += ms;
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
    this.sleeps.push(ms);
    this.#t += ms;
  }
}
