/**
 * One preview run for one pull-request delivery: compute, then publish where reviewers look (the forge's comment,
 * edited in place, and a status), then put `Preview Ready` on the bus. Shared by `gitops dev` and the AWS function.
 *
 * Newest wins: a burst of pushes to one pull request must leave the newest preview on it. The caller's keyed queue
 * (`gitops dev`) or FIFO message group (AWS) serializes the runs; `isCurrent` is asked after the preview was
 * computed and before anything is published, so a run overtaken by a newer push publishes nothing.
 */
import { GitOpsError, Reason } from '../errors.ts';
import { DetailType } from '../events/catalog.ts';
import { emit } from '../events/publish.ts';
import type { Forge, PullRequestRef } from '../forges/types.ts';
import type { Clock, EventSink } from '../ports.ts';
import type { PullRequest } from '../webhook/pull-request.ts';
import { computePreview, type PreviewDeps } from './compute.ts';
import { headline, PREVIEW_MARKER, previewMarkdown } from './markdown.ts';
import { type Preview, previewCounts, previewHasFailures } from './types.ts';

export interface PreviewRunDeps extends PreviewDeps {
  readonly events: EventSink;
  readonly clock: Pick<Clock, 'now'>;
  /** The forge client for the pull request's provider; undefined (no token): the preview is only emitted. */
  readonly forge?: (pr: PullRequest) => Promise<Forge | undefined>;
  /** The branch the installation follows (environments without `branch:`). */
  readonly followedBranch?: string;
  /** Real preview change sets for same-repository heads (the installation's opt-in). @default false */
  readonly changeSets?: boolean;
  /**
   * Whether the delivery's head `requested` is still the newest for the pull request `key`, given the commit the
   * preview rendered (`rendered`: the head ref fetched now). @default always
   */
  readonly isCurrent?: (key: string, requested: string, rendered: string) => boolean | Promise<boolean>;
}

export type PreviewRun =
  | {
      readonly kind: 'published';
      readonly preview: Preview;
      readonly markdown: string;
      readonly comment?: 'created' | 'edited';
    }
  | { readonly kind: 'not-bound'; readonly reason: string }
  | { readonly kind: 'superseded'; readonly sha: string }
  | { readonly kind: 'unreachable'; readonly reason: string };

/** The key of a pull request across deliveries: what the keyed queue and the FIFO group use. */
export const pullRequestKey = (pr: Pick<PullRequest, 'provider' | 'repoName' | 'number'>): string =>
  `${pr.provider}:${pr.repoName}#${pr.number}`;

export function pullRequestRef(pr: PullRequest): PullRequestRef {
  return {
    provider: pr.provider,
    repoName: pr.repoName,
    number: pr.number,
    ...(pr.projectId !== undefined ? { projectId: pr.projectId } : {}),
    ...(pr.url ? { url: pr.url } : {}),
  };
}

/**
 * The ref to render. A same-repository head is its branch. A fork's head is not a branch of the base repository:
 * GitHub and GitLab publish it under a read-only ref of the base (`refs/pull/N/head`, `refs/merge-requests/N/head`);
 * Bitbucket Cloud does not, so a fork's pull request there cannot be previewed by the installation.
 */
export function headRefOf(pr: PullRequest): string | undefined {
  if (!pr.fromFork) return pr.headBranch;
  if (pr.provider === 'github') return `refs/pull/${pr.number}/head`;
  if (pr.provider === 'gitlab') return `refs/merge-requests/${pr.number}/head`;
  return undefined;
}

export async function runPreview(deps: PreviewRunDeps, pr: PullRequest, signal?: AbortSignal): Promise<PreviewRun> {
  if (pr.action !== 'update') {
    throw new GitOpsError(Reason.Internal, `runPreview was given a ${pr.action} delivery`, { notify: false });
  }
  const key = pullRequestKey(pr);
  const headRef = headRefOf(pr);
  if (headRef === undefined) {
    return { kind: 'unreachable', reason: `the head of ${key} is in a fork that ${pr.provider} does not publish` };
  }
  const outcome = await computePreview(deps, {
    baseBranch: pr.baseBranch,
    headRef,
    ...(deps.followedBranch ? { followedBranch: deps.followedBranch } : {}),
    changeSets: deps.changeSets === true,
    fromFork: pr.fromFork,
    ...(signal ? { signal } : {}),
  });
  if (outcome.kind === 'not-bound') return { kind: 'not-bound', reason: outcome.reason };
  const preview = outcome.preview;
  // The branch may have moved on since the delivery; what was rendered is what the comment describes.
  if (deps.isCurrent && !(await deps.isCurrent(key, pr.headSha, preview.head.sha)))
    return { kind: 'superseded', sha: pr.headSha };

  const markdown = previewMarkdown(preview);
  const forge = deps.forge ? await deps.forge(pr) : undefined;
  let comment: 'created' | 'edited' | undefined;
  if (forge) {
    const ref = pullRequestRef(pr);
    comment = await forge.upsertComment(ref, PREVIEW_MARKER, markdown);
    await forge.setStatus(ref, {
      sha: preview.head.sha,
      state: previewHasFailures(preview) ? 'failure' : 'success',
      description: `Preview: ${headline(preview)}`,
      summary: markdown,
    });
  }
  const counts = previewCounts(preview);
  await emit(deps.events, deps.clock, DetailType.PreviewReady, {
    repo: preview.repo,
    branch: preview.baseBranch,
    revision: preview.head.sha,
    commit: preview.head,
    provider: pr.provider,
    deliveryId: pr.deliveryId,
    reason: previewHasFailures(preview) ? 'PreviewFailed' : 'PreviewReady',
    severity: previewHasFailures(preview) ? 'warning' : 'info',
    message: `preview of #${pr.number} ${pr.headBranch} at ${preview.head.sha.slice(0, 7)} into ${pr.baseBranch}: ${headline(preview)}`,
    data: {
      pullRequest: pr.number,
      ...(pr.url ? { url: pr.url } : {}),
      headBranch: pr.headBranch,
      fromFork: pr.fromFork,
      mode: preview.mode,
      counts,
    },
  });
  return { kind: 'published', preview, markdown, ...(comment ? { comment } : {}) };
}
