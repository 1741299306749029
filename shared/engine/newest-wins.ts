import type { CommitInfo } from '../model.ts';
import type { Source } from '../ports.ts';

/**
 * Newest wins: is `incoming` older than `applied`, so that applying it would roll the stack back? Ancestry decides
 * when the history is there; otherwise committer time does (a shallow fetch or the apply function, which has no
 * repository). A commit that is neither older nor an ancestor (a force-push that rewrote history) is applied: the
 * branch head is the desired state.
 */
export async function isSuperseded(
  incoming: CommitInfo,
  applied: CommitInfo | undefined,
  source?: Pick<Source, 'isAncestor'>,
  signal?: AbortSignal,
): Promise<boolean> {
  if (!applied || applied.sha === incoming.sha) return false;
  if (source?.isAncestor) {
    const ancestor = await source.isAncestor(incoming.sha, applied.sha, signal).catch(() => undefined);
    if (ancestor !== undefined) return ancestor;
  }
  if (incoming.committedAt && applied.committedAt) {
    return Date.parse(incoming.committedAt) < Date.parse(applied.committedAt);
  }
  return false;
}
