import type { CommitInfo } from '../model.ts';
import type { Source } from '../ports.ts';

/**
 * Newest wins, decided by what the installation knows, never by the dates a commit claims (a commit dated 2099 must
 * neither freeze a stack nor jump ahead of a later push).
 *
 * The sync side has the repository: a commit is older when it is an ancestor of the applied one. The usual case (the
 * applied commit is in the incoming one's history) is asked first, since it needs only the incoming commit's history,
 * which a remote source deepens as far as needed (bounded). When ancestry cannot tell (a force-push that rewrote
 * history, history beyond the bound), the commit is applied: the branch head is the desired state.
 */
export async function isAncestorOfApplied(
  incoming: CommitInfo,
  applied: CommitInfo | undefined,
  source?: Pick<Source, 'isAncestor'>,
  signal?: AbortSignal,
): Promise<boolean> {
  if (!applied || applied.sha === incoming.sha || !source?.isAncestor) return false;
  const newer = await source.isAncestor(applied.sha, incoming.sha, signal).catch(() => undefined);
  if (newer === true) return false;
  const older = await source.isAncestor(incoming.sha, applied.sha, signal).catch(() => undefined);
  return older === true;
}

/** What the apply side compares: the commit and the installation's receive stamp of the sync that rendered it. */
export interface Received {
  readonly commit: CommitInfo;
  readonly received?: number;
}

/**
 * The apply side (the apply function has no repository): a request is older when the installation received its sync
 * before the one that produced the applied state. Requests and states from before receive stamps existed fall back to
 * ancestry when a source is at hand, and are applied otherwise.
 */
export async function isSuperseded(
  incoming: Received,
  applied: Received | undefined,
  source?: Pick<Source, 'isAncestor'>,
  signal?: AbortSignal,
): Promise<boolean> {
  if (!applied || applied.commit.sha === incoming.commit.sha) return false;
  if (incoming.received !== undefined && applied.received !== undefined) return incoming.received < applied.received;
  return isAncestorOfApplied(incoming.commit, applied.commit, source, signal);
}

let lastStamp = 0;

/**
 * The installation's receive stamp for a sync starting now: the clock, made strictly increasing within this process
 * and above what a stack already applied was stamped with (another container's clock may run a little ahead). Syncs
 * of one repository and branch run one at a time (a FIFO message group, the dev runtime's queue), so the order of
 * the stamps is the order in which the installation read the branch.
 */
export function receiveStamp(now: Date, appliedStamps: Iterable<number | undefined> = []): number {
  let stamp = Math.max(now.getTime(), lastStamp + 1);
  for (const applied of appliedStamps) if (applied !== undefined && applied >= stamp) stamp = applied + 1;
  lastStamp = stamp;
  return stamp;
}
