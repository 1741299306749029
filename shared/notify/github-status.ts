/**
 * Sets GitHub commit statuses: POST {apiBase}/repos/{owner}/{repo}/statuses/{sha}. `apiBaseUrl` points at GitHub
 * Enterprise Server (`https://ghe.example.com/api/v3`). The token comes from Secrets and is never logged.
 */

import { GitOpsError, Reason } from '../errors.ts';
import type { GitOpsEvent } from '../events/catalog.ts';
import type { Secrets } from '../ports.ts';
import { registerSecret } from '../sanitize.ts';
import { commitStatusFor } from './commit-status.ts';
import { shortRepo } from './describe.ts';
import type { Fetch, Notifier } from './types.ts';

export interface GitHubStatusNotifierOptions {
  readonly secrets: Secrets;
  /** @default `github-token` */
  readonly secretName?: string;
  /** @default `https://api.github.com` */
  readonly apiBaseUrl?: string;
  /** `owner/repo`; @default taken from the event's repository URL */
  readonly repository?: string;
  readonly fetch?: Fetch;
  /** @default 5 s */
  readonly timeoutMs?: number;
}

export class GitHubStatusNotifier implements Notifier {
  readonly #options: GitHubStatusNotifierOptions;

  constructor(options: GitHubStatusNotifierOptions) {
    this.#options = options;
  }

  /** Sets the status the event implies; events that imply none are ignored. */
  async send(event: GitOpsEvent): Promise<void> {
    const status = commitStatusFor(event);
    if (!status) return;
    const repository = this.#options.repository ?? (event.detail.repo ? shortRepo(event.detail.repo) : undefined);
    if (!repository || !/^[\w.-]+\/[\w.-]+$/.test(repository)) {
      throw new GitOpsError(
        Reason.PublishFailed,
        `cannot tell the GitHub repository of ${event.detail.repo ?? 'this event'}`,
        {
          notify: false,
        },
      );
    }
    const name = this.#options.secretName ?? 'github-token';
    const token = await this.#options.secrets.get(name);
    if (!token)
      throw new GitOpsError(Reason.SecretMissing, `secret ${name} is not set: cannot set commit status`, {
        notify: false,
      });
    registerSecret(token);
    const base = (this.#options.apiBaseUrl ?? 'https://api.github.com').replace(/\/+$/, '');
    const [owner, repo] = repository.split('/') as [string, string];
    const url = `${base}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/statuses/${encodeURIComponent(status.sha)}`;
    const { sha: _sha, ...body } = status;
    const doFetch = this.#options.fetch ?? fetch;
    let response: Response;
    try {
      response = await doFetch(url, {
        method: 'POST',
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'user-agent': 'lambda-gitops',
          'x-github-api-version': '2022-11-28',
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 5_000),
      });
    } catch (err) {
      throw new GitOpsError(Reason.PublishFailed, `GitHub API ${base} unreachable: ${(err as Error).message}`, {
        retryable: true,
        notify: false,
        cause: err,
      });
    }
    if (response.status !== 201 && !response.ok) {
      const text = (await response.text().catch(() => '')).slice(0, 300);
      throw new GitOpsError(
        Reason.PublishFailed,
        `GitHub refused the ${status.state} status for ${repository}@${status.sha.slice(0, 7)} (${status.context}): ${response.status} ${text}`,
        { retryable: response.status === 429 || response.status >= 500, notify: false },
      );
    }
  }
}
