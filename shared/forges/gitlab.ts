/**
 * GitLab: the preview is one merge-request note, edited in place, and a commit status.
 *   GET  /api/v4/projects/{id}/merge_requests/{iid}/notes?per_page=100&page=N&sort=asc
 *   POST /api/v4/projects/{id}/merge_requests/{iid}/notes            {body}
 *   PUT  /api/v4/projects/{id}/merge_requests/{iid}/notes/{note_id}  {body}
 *   POST /api/v4/projects/{id}/statuses/{sha}                         {state, name, description}
 * `{id}` is the numeric project id, or the URL-encoded namespace path.
 */
import { forgeRequest, MAX_COMMENT_PAGES } from './http.ts';
import { type Fetch, type Forge, PREVIEW_CONTEXT, type PreviewStatus, type PullRequestRef } from './types.ts';

export interface GitLabForgeOptions {
  /** A project, group or personal access token with the `api` scope. */
  readonly token: string;
  /** @default https://gitlab.com/api/v4 */
  readonly apiBaseUrl?: string;
  readonly fetch?: Fetch;
}

const STATE = { pending: 'running', success: 'success', failure: 'failed' } as const;

export class GitLabForge implements Forge {
  readonly #base: string;
  constructor(private readonly options: GitLabForgeOptions) {
    this.#base = (options.apiBaseUrl ?? 'https://gitlab.com/api/v4').replace(/\/+$/, '');
  }

  async upsertComment(pr: PullRequestRef, marker: string, body: string): Promise<'created' | 'edited'> {
    const notes = `${this.#project(pr)}/merge_requests/${pr.number}/notes`;
    for (let page = 1; page <= MAX_COMMENT_PAGES; page++) {
      const list = await this.#call<{ id: number; body?: string; system?: boolean }[]>(
        'GET',
        `${notes}?per_page=100&page=${page}&sort=asc`,
      );
      const ours = list.find((n) => !n.system && n.body?.startsWith(marker));
      if (ours) {
        await this.#call('PUT', `${notes}/${ours.id}`, { body });
        return 'edited';
      }
      if (list.length < 100) break;
    }
    await this.#call('POST', notes, { body });
    return 'created';
  }

  async setStatus(pr: PullRequestRef, status: PreviewStatus): Promise<void> {
    await this.#call('POST', `${this.#project(pr)}/statuses/${status.sha}`, {
      state: STATE[status.state],
      name: PREVIEW_CONTEXT,
      description: status.description.slice(0, 255),
      ...(pr.url ? { target_url: pr.url } : {}),
    });
  }

  #project(pr: PullRequestRef): string {
    return `${this.#base}/projects/${pr.projectId ?? encodeURIComponent(pr.repoName)}`;
  }

  #call<T>(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<T> {
    return forgeRequest<T>(
      {
        forge: 'GitLab',
        headers: { 'private-token': this.options.token },
        ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
      },
      method,
      url,
      body,
    );
  }
}
