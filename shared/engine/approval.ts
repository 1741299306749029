/**
 * Approvals. A Sync Requested that names a `revision` asks the installation to apply a commit someone chose instead
 * of a branch head, and a commit can be named that no branch the installation follows has ever held (a pull request
 * head, `refs/pull/7/head`). So a requested revision is applied to a stack only when it is
 *
 *   1. the revision Plan Ready recorded for that stack (its `lastAttempted` is PlanReady at this revision and rendered
 *      hash): what the reviewer saw is what is applied, even after the branch moved on; or
 *   2. reachable from the stack's environment's bound branch (the environment's `branch` in the configuration at the
 *      head of the installation's branch, else that branch): it has been on that branch, so a push could have applied
 *      it anyway.
 *
 * Anything else is refused with Sync Failed `ApprovalRefused`, naming the revision and why; nothing of that stack is
 * stored, applied or recorded in its state.
 */
import { loadRepoConfig } from '../config/load.ts';
import { GitOpsError, toGitOpsError } from '../errors.ts';
import type { RepoConfig, StackState } from '../model.ts';
import type { RepoSnapshot, Source } from '../ports.ts';

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
 * Decides per stack, fetching each branch head once per request. The environment's bound branch is read from the
 * configuration at the head of the installation's branch, never from the requested commit: a commit that rebinds an
 * environment to a branch its author can push would otherwise make itself "reachable". Ancestry comes from the
 * source; a shallow store that cannot tell refuses, since refusing is the safe answer. Faults that may pass (network,
 * throttling) are thrown, so the queue retries instead of refusing.
 */
export class RevisionAuthorizer {
  private readonly heads = new Map<string, Promise<RepoSnapshot | GitOpsError>>();
  private boundConfig: Promise<RepoConfig | GitOpsError> | undefined;

  constructor(
    private readonly source: Pick<Source, 'fetch' | 'isAncestor'>,
    private readonly request: RevisionRequest,
    private readonly options: { readonly defaultRegion: string; readonly signal?: AbortSignal },
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
    const notPlanned =
      planned?.result === 'PlanReady'
        ? `Plan Ready recorded ${planned.revision.slice(0, 7)}${planned.revision === stack.revision ? ' with another rendered stack' : ''}, not this`
        : 'no Plan Ready is pending for this stack';
    const branch = await this.boundBranch(stack.environment);
    if (branch instanceof GitOpsError) {
      return { allowed: false, why: `${notPlanned}, and ${unreadable(this.request.branch, branch)}` };
    }
    const head = await this.head(branch);
    if (head instanceof GitOpsError) return { allowed: false, why: `${notPlanned}, and ${unreadable(branch, head)}` };
    const headSha = head.commit.sha;
    if (headSha === stack.revision) return { allowed: true, how: 'Reachable' };
    const reachable = this.source.isAncestor
      ? await this.source.isAncestor(stack.revision, headSha, this.options.signal).catch(() => undefined)
      : undefined;
    if (reachable === true) return { allowed: true, how: 'Reachable' };
    const onBranch =
      reachable === false
        ? `it is not on branch '${branch}' (head ${headSha.slice(0, 7)})`
        : `whether it is on branch '${branch}' (head ${headSha.slice(0, 7)}) cannot be told from the fetched history`;
    return { allowed: false, why: `${notPlanned}, and ${onBranch}` };
  }

  /** The environment's `branch` at the head of the installation's branch, else that branch itself. */
  private async boundBranch(environment: string): Promise<string | GitOpsError> {
    this.boundConfig ??= this.head(this.request.branch).then((head) =>
      head instanceof GitOpsError
        ? head
        : loadRepoConfig(head, { defaultRegion: this.options.defaultRegion }).catch((err) => toGitOpsError(err)),
    );
    const config = await this.boundConfig;
    if (config instanceof GitOpsError) {
      if (config.retryable) throw config;
      return config;
    }
    return config.environments.find((e) => e.name === environment)?.branch ?? this.request.branch;
  }

  private async head(branch: string): Promise<RepoSnapshot | GitOpsError> {
    let head = this.heads.get(branch);
    if (!head) {
      head = this.source
        .fetch({ ref: branch, ...(this.options.signal ? { signal: this.options.signal } : {}) })
        .catch((err) => toGitOpsError(err));
      this.heads.set(branch, head);
    }
    const result = await head;
    if (result instanceof GitOpsError && result.retryable) throw result;
    return result;
  }
}

const unreadable = (branch: string, error: GitOpsError) =>
  `branch '${branch}' could not be read to check it: ${error.describe()}`;
