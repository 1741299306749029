/**
 * GitHub: the preview comment is an issue comment on the pull request (listed, then PATCHed in place); the result is
 * a check run when an app installation token is configured (checks need an app), else a commit status.
 *   GET   /repos/{owner}/{repo}/issues/{number}/comments?per_page=100&page=N
 *   POST  /repos/{owner}/{repo}/issues/{number}/comments          {body}
 *   PATCH /repos/{owner}/{repo}/issues/comments/{id}               {body}
 *   POST  /repos/{owner}/{repo}/check-runs                          {name, head_sha, status, conclusion, output}
 *   POST  /repos/{owner}/{repo}/statuses/{sha}                      {state, context, description}
 */
import { forgeRequest, MAX_COMMENT_PAGES } from './http.ts';
import { type Fetch, type Forge, PREVIEW_CONTEXT, type PreviewStatus, type PullRequestRef } from './types.ts';

export interface GitHubForgeOptions {
  /** A token that may write issue comments and commit statuses. */
  readonly token: string;
  /** A GitHub App installation token: when given, the result is a check run. */
  readonly appToken?: string;
  /** @default https://api.github.com (GitHub Enterprise Server: https://HOST/api/v3) */
  readonly apiBaseUrl?: string;
  readonly fetch?: Fetch;
}

export class GitHubForge implements Forge {
  readonly #base: string;
  constructor(private readonly options: GitHubForgeOptions) {
    this.#base = (options.apiBaseUrl ?? 'https://api.github.com').replace(/\/+$/, '');
  }

  async upsertComment(pr: PullRequestRef, marker: string, body: string): Promise<'created' | 'edited'> {
    const repo = this.#repo(pr);
    for (let page = 1; page <= MAX_COMMENT_PAGES; page++) {
      const comments = await this.#call<{ id: number; body?: string }[]>(
        this.options.token,
        'GET',
        `${repo}/issues/${pr.number}/comments?per_page=100&page=${page}`,
      );
      const ours = comments.find((c) => c.body?.startsWith(marker));
      if (ours) {
        await this.#call(this.options.token, 'PATCH', `${repo}/issues/comments/${ours.id}`, { body });
        return 'edited';
      }
      if (comments.length < 100) break;
    }
    await this.#call(this.options.token, 'POST', `${repo}/issues/${pr.number}/comments`, { body });
    return 'created';
  }

  async setStatus(pr: PullRequestRef, status: PreviewStatus): Promise<void> {
    const repo = this.#repo(pr);
    if (this.options.appToken) {
      await this.#call(this.options.appToken, 'POST', `${repo}/check-runs`, {
        name: PREVIEW_CONTEXT,
        head_sha: status.sha,
        ...(status.state === 'pending'
          ? { status: 'in_progress' }
          : { status: 'completed', conclusion: status.state === 'success' ? 'success' : 'failure' }),
        output: {
          title: status.description.slice(0, 255),
          summary: (status.summary ?? status.description).slice(0, 65_000),
        },
      });
      return;
    }
    await this.#call(this.options.token, 'POST', `${repo}/statuses/${status.sha}`, {
      state: status.state,
      context: PREVIEW_CONTEXT,
      description: status.description.slice(0, 140),
    });
  }

  #repo(pr: PullRequestRef): string {
    const [owner, name] = pr.repoName.split('/');
    return `${this.#base}/repos/${encodeURIComponent(owner ?? '')}/${encodeURIComponent(name ?? '')}`;
  }

  #call<T>(token: string, method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown): Promise<T> {
    return forgeRequest<T>(
      {
        forge: 'GitHub',
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${token}`,
          'x-github-api-version': '2022-11-28',
        },
        ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
      },
      method,
      url,
      body,
    );
  }
}
