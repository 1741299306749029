import type { AttemptRecord, ChangeSummary, HistoryRecord, RenderedStack, StackState } from '../model.ts';
import { emptyChanges } from '../model.ts';
import type { RepoSnapshot } from '../ports.ts';
import { sanitize } from '../sanitize.ts';

/** A state record for a rendered stack, keeping everything the previous record knew that still holds. */
export function stateFor(rendered: RenderedStack, previous: StackState | undefined, at: string): StackState {
  return {
    key: rendered.key,
    stack: rendered.stack,
    environment: rendered.environment,
    stackName: rendered.stackName,
    region: rendered.region,
    repo: rendered.repo,
    branch: rendered.branch,
    sync: previous?.sync ?? 'Pending',
    drift: previous?.drift ?? { status: 'NotChecked', resources: [] },
    health: previous?.health ?? 'Unknown',
    dependsOn: rendered.dependsOn,
    syncPolicy: rendered.syncPolicy,
    ...(rendered.role ? { role: rendered.role } : {}),
    ...(rendered.notifications?.length ? { notifications: rendered.notifications } : {}),
    ...(previous?.lastApplied ? { lastApplied: previous.lastApplied } : {}),
    ...(previous?.lastAttempted ? { lastAttempted: previous.lastAttempted } : {}),
    ...(previous?.headRevision ? { headRevision: previous.headRevision } : {}),
    ...(previous?.formerStacks?.length ? { formerStacks: previous.formerStacks } : {}),
    updatedAt: at,
  };
}

export function attempt(
  rendered: Pick<RenderedStack, 'revision' | 'hash'>,
  result: AttemptRecord['result'],
  reason: string,
  message: string,
  at: string,
): AttemptRecord {
  return { revision: rendered.revision, hash: rendered.hash, at, result, reason, message: sanitize(message) };
}

export function historyRecord(
  rendered: Pick<RenderedStack, 'key' | 'revision' | 'commit' | 'hash'>,
  startedAt: string,
  finishedAt: string,
  result: AttemptRecord['result'],
  reason: string,
  message: string,
  extra: { changes?: ChangeSummary; changeSetId?: string } = {},
): HistoryRecord {
  return {
    key: rendered.key,
    id: `${rendered.revision.slice(0, 12)}-${rendered.hash.slice(0, 12)}-${Date.parse(startedAt).toString(36)}`,
    revision: rendered.revision,
    commit: rendered.commit,
    startedAt,
    finishedAt,
    result,
    reason,
    message: sanitize(message),
    changes: extra.changes ?? emptyChanges(),
    hash: rendered.hash,
    ...(extra.changeSetId ? { changeSetId: extra.changeSetId } : {}),
  };
}

/** The detail fields every event about a rendered stack carries. */
export function stackDetail(rendered: RenderedStack) {
  return {
    repo: rendered.repo,
    branch: rendered.branch,
    stack: rendered.stack,
    environment: rendered.environment,
    stackName: rendered.stackName,
    region: rendered.region,
    revision: rendered.revision,
    commit: rendered.commit,
    ...(rendered.notifications?.length ? { routes: rendered.notifications } : {}),
  };
}

/**
 * The same fields for a plan entry that has no rendered stack (its render failed, or it was refused before one was
 * needed): the commit and repository come from the snapshot, the stack's identity from the entry.
 */
export function entryDetail(
  snapshot: Pick<RepoSnapshot, 'repo' | 'branch' | 'commit'>,
  entry: { readonly stack: string; readonly environment: string; readonly stackName: string; readonly region: string },
) {
  return {
    repo: snapshot.repo,
    branch: snapshot.branch,
    stack: entry.stack,
    environment: entry.environment,
    stackName: entry.stackName,
    region: entry.region,
    revision: snapshot.commit.sha,
    commit: snapshot.commit,
  };
}

/** The same fields from a state record, for events that have no rendered stack (drift, prune). */
export function stateDetail(state: StackState) {
  return {
    repo: state.repo,
    branch: state.branch,
    stack: state.stack,
    environment: state.environment,
    stackName: state.stackName,
    region: state.region,
    ...(state.lastApplied ? { revision: state.lastApplied.revision, commit: state.lastApplied.commit } : {}),
    ...(state.notifications?.length ? { routes: state.notifications } : {}),
  };
}
