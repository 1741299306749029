/** The shapes of a pull-request preview: what merging the head into the base would do to each bound environment. */
import type { Capability, ChangeSummary, CommitInfo } from '../model.ts';

/** Where a stack's change came from: the offline template diff (the default) or a real preview change set (opt-in). */
export type PreviewMode = 'offline' | 'change-set';

export interface PreviewFailure {
  readonly reason: string;
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
}

export interface PreviewStack {
  readonly key: string;
  readonly stack: string;
  readonly environment: string;
  readonly stackName: string;
  readonly region: string;
  /**
   * create: never applied; update: differs from the applied template; removed: applied, gone from the head;
   * failed: could not be rendered or diffed (validation, secret guard, policy).
   */
  readonly status: 'create' | 'update' | 'removed' | 'failed';
  readonly changes?: ChangeSummary;
  /** The diff as text (the `cdk diff` form), already sanitized. */
  readonly diffText?: string;
  /** What the head needs acknowledged; `newCapabilities` are those the applied stack did not need. */
  readonly capabilities: readonly Capability[];
  readonly newCapabilities: readonly Capability[];
  /** removed: whether the base environment prunes (the stack would be deleted) or keeps it. */
  readonly prune?: boolean;
  readonly failure?: PreviewFailure;
}

export interface Preview {
  readonly repo: string;
  readonly baseBranch: string;
  /** The base commit whose configuration chose the environments and roles. */
  readonly base: CommitInfo;
  readonly headRef: string;
  /** The commit the preview describes. */
  readonly head: CommitInfo;
  /** Environments bound to the base branch, in configuration order. */
  readonly environments: readonly string[];
  readonly mode: PreviewMode;
  /** Stacks with something to show, sorted by key. Unchanged stacks are only counted. */
  readonly stacks: readonly PreviewStack[];
  readonly unchanged: number;
  /** The head's own configuration could not be read: nothing of it was rendered. */
  readonly configFailure?: PreviewFailure;
}

export interface PreviewCounts {
  readonly create: number;
  readonly update: number;
  readonly replace: number;
  readonly removed: number;
  readonly failed: number;
  readonly unchanged: number;
}

export function previewCounts(preview: Preview): PreviewCounts {
  const count = (status: PreviewStack['status']) => preview.stacks.filter((s) => s.status === status).length;
  return {
    create: count('create'),
    update: count('update'),
    replace: preview.stacks.filter((s) => (s.changes?.replaced.length ?? 0) > 0).length,
    removed: count('removed'),
    failed: count('failed') + (preview.configFailure ? 1 : 0),
    unchanged: preview.unchanged,
  };
}

/** Something would change if merged (the CLI's exit 1). */
export const previewHasChanges = (preview: Preview): boolean => preview.stacks.some((s) => s.status !== 'failed');

/** The head cannot be rendered as it is (the CLI's exit 2, a failing status). */
export const previewHasFailures = (preview: Preview): boolean =>
  preview.configFailure !== undefined || preview.stacks.some((s) => s.status === 'failed');
