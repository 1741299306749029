/** What a preview publishes on a forge: one comment per pull request, edited in place, and a commit status. */
import type { Provider } from '../webhook/types.ts';

/** The pull request a preview belongs to, as each forge's API addresses it. */
export interface PullRequestRef {
  readonly provider: Provider;
  /** `owner/name` (GitLab: the full namespace path). */
  readonly repoName: string;
  /** GitHub and Bitbucket: the pull request number; GitLab: the merge request iid. */
  readonly number: number;
  /** GitLab: the numeric project id; the encoded path is used when absent. */
  readonly projectId?: number;
  /** The pull request's page: Bitbucket requires a link on a build status. */
  readonly url?: string;
}

export type PreviewStatusState = 'pending' | 'success' | 'failure';

export interface PreviewStatus {
  /** The full commit SHA the status is set on. */
  readonly sha: string;
  readonly state: PreviewStatusState;
  /** One line (forges cut it: GitHub at 140 characters). */
  readonly description: string;
  /** The long form (a check run's summary). */
  readonly summary?: string;
}

export interface Forge {
  /** Creates the preview comment, or edits the one that carries `marker`. */
  upsertComment(pr: PullRequestRef, marker: string, body: string): Promise<'created' | 'edited'>;
  setStatus(pr: PullRequestRef, status: PreviewStatus): Promise<void>;
}

/** `fetch` as the forge clients use it, injectable for tests and proxies. */
export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/** The status context / check name reviewers see on the pull request. */
export const PREVIEW_CONTEXT = 'lambda-gitops/preview';
