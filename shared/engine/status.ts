import type { StackState } from '../model.ts';

/** One row of `gitops status` and of the status page's overview. */
export interface StatusRow {
  readonly key: string;
  readonly stack: string;
  readonly environment: string;
  readonly stackName: string;
  readonly region: string;
  readonly sync: StackState['sync'];
  readonly drift: StackState['drift']['status'];
  readonly driftedResources: number;
  readonly health: StackState['health'];
  readonly appliedRevision?: string;
  readonly commitUrl?: string;
  readonly lastResult?: string;
  readonly lastReason?: string;
  readonly lastMessage?: string;
  readonly lastTime?: string;
}

export function statusRows(states: readonly StackState[]): StatusRow[] {
  return [...states]
    .sort((a, b) => a.environment.localeCompare(b.environment) || a.stack.localeCompare(b.stack))
    .map((s) => ({
      key: s.key,
      stack: s.stack,
      environment: s.environment,
      stackName: s.stackName,
      region: s.region,
      sync: s.sync,
      drift: s.drift.status,
      driftedResources: s.drift.resources.length,
      health: s.health,
      ...(s.lastApplied ? { appliedRevision: s.lastApplied.revision } : {}),
      ...(s.lastApplied?.commit.url ? { commitUrl: s.lastApplied.commit.url } : {}),
      ...(s.lastAttempted
        ? {
            lastResult: s.lastAttempted.result,
            lastReason: s.lastAttempted.reason,
            lastMessage: s.lastAttempted.message,
            lastTime: s.lastAttempted.at,
          }
        : {}),
    }));
}
