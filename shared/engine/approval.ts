/**
 * Approvals. A Sync Requested that names a `revision` asks the installation to apply a commit someone chose instead
 * of a branch head, and a commit can be named that no branch the installation follows has ever held (a pull request
 * head, `refs/pull/7/head`). So a requested revision is applied to a stack only when it is
 *
 *   1. the revision Plan Ready recorded for that stack (its `lastAttempted` is PlanReady at this revision and rendered
 *      hash): what the reviewer saw is what is applied, even after the branch moved on; or
 *   2. reachable from the stack's environment's bound branch (the environment's `branch`, else the branch the
 *      installation follows for the repository): it has been on that branch, so a push could have applied it anyway.
 *
 * Anything else is refused with Sync Failed `ApprovalRefused`, naming the revision and why; nothing of that stack is
 * stored, applied or recorded in its state.
 */
import { type GitOpsError, toGitOpsError } from '../errors.ts';
import type { RepoConfig, StackState } from '../model.ts';
import type { Source } from '../ports.ts';

export interface RevisionRequest {
  /** The branch the installation follows for this repository (the Sync Requested's route). */
  readonly branch: string;
}

export type Authorization =
  | { readonly allowed: true; readonly how: 'PlanReady' | 'Reachable' }
  | { readonly allowed: false; readonly why: string };

/** One stack of the requested revision, as the plan has it. */
export interface RequestedStack {
  readonly environment: string;
  readonly revision: string;
  /** The rendered hash, when the stack rendered. */
  readonly hash?: string;
  readonly previous?: StackState;
}

/**
 * Decides per stack, fetching each bound branch's head once per request. Ancestry comes from the source: a shallow
 * store that cannot tell ("history not available") refuses, since refusing is the safe answer.
 */
export class RevisionAuthorizer {
  private readonly heads = new Map<string, Promise<{ sha: string } | { error: GitOpsError }>>();

  constructor(
    private readonly source: Pick<Source, 'fetch' | 'isAncestor'>,
    private readonly config: RepoConfig,
    private readonly request: RevisionRequest,
    private readonly signal?: AbortSignal,
  ) {}

  async authorize(stack: RequestedStack): Promise<Authorization> {
    const planned = stack.previous?.lastAttempted;
    if (
      planned?.result === 'PlanReady' &&
      planned.revision === stack.revision &&
      stack.hash !== undefined &&
      planned.hash === stack.hash
    ) {
      return { allowed: true, how: 'PlanReady' };
    }
    const branch = this.config.environments.find((e) => e.name === stack.environment)?.branch ?? this.request.branch;
    const head = await this.head(branch);
    const notPlanned =
      planned?.result === 'PlanReady'
        ? `Plan Ready recorded ${planned.revision.slice(0, 7)}${planned.revision === stack.revision ? ' with another rendered stack' : ''}, not this`
        : 'no Plan Ready is pending for this stack';
    if ('error' in head) {
      // A fault that may pass (network, throttling) is retried by the queue rather than turned into a refusal.
      if (head.error.retryable) throw head.error;
      return {
        allowed: false,
        why: `${notPlanned}, and branch '${branch}' could not be read: ${head.error.describe()}`,
      };
    }
    if (head.sha === stack.revision) return { allowed: true, how: 'Reachable' };
    const reachable = this.source.isAncestor
      ? await this.source.isAncestor(stack.revision, head.sha, this.signal).catch(() => undefined)
      : undefined;
    if (reachable === true) return { allowed: true, how: 'Reachable' };
    const onBranch =
      reachable === false
        ? `it is not on branch '${branch}' (head ${head.sha.slice(0, 7)})`
        : `whether it is on branch '${branch}' (head ${head.sha.slice(0, 7)}) cannot be told from the fetched history`;
    return { allowed: false, why: `${notPlanned}, and ${onBranch}` };
  }

  private head(branch: string): Promise<{ sha: string } | { error: GitOpsError }> {
    let head = this.heads.get(branch);
    if (!head) {
      head = this.source
        .fetch({ ref: branch, ...(this.signal ? { signal: this.signal } : {}) })
        .then((s) => ({ sha: s.commit.sha }))
        .catch((err) => ({ error: toGitOpsError(err) }));
      this.heads.set(branch, head);
    }
    return head;
  }
}
