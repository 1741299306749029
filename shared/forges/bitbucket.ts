/**
 * Bitbucket Cloud: one pull-request comment, edited in place, and a build status.
 *   GET  /2.0/repositories/{workspace}/{repo}/pullrequests/{id}/comments?pagelen=100&page=N
 *   POST /2.0/repositories/{workspace}/{repo}/pullrequests/{id}/comments               {content: {raw}}
 *   PUT  /2.0/repositories/{workspace}/{repo}/pullrequests/{id}/comments/{comment_id}  {content: {raw}}
 *   POST /2.0/repositories/{workspace}/{repo}/commit/{sha}/statuses/build              {key, state, name, description, url}
 */
import { forgeRequest, MAX_COMMENT_PAGES } from './http.ts';
import { type Fetch, type Forge, PREVIEW_CONTEXT, type PreviewStatus, type PullRequestRef } from './types.ts';

export interface BitbucketForgeOptions {
  /** A repository or workspace access token (Bearer) with pull-request write and repository read. */
  readonly token: string;
  /** @default https://api.bitbucket.org/2.0 */
  readonly apiBaseUrl?: string;
  readonly fetch?: Fetch;
}

const STATE = { pending: 'INPROGRESS', success: 'SUCCESSFUL', failure: 'FAILED' } as const;

export class BitbucketForge implements Forge {
  readonly #base: string;
  constructor(private readonly options: BitbucketForgeOptions) {
    this.#base = (options.apiBaseUrl ?? 'https://api.bitbucket.org/2.0').replace(/\/+$/, '');
  }

  async upsertComment(pr: PullRequestRef, marker: string, body: string): Promise<'created' | 'edited'> {
    const comments = `${this.#repo(pr)}/pullrequests/${pr.number}/comments`;
    for (let page = 1; page <= MAX_COMMENT_PAGES; page++) {
      const list = await this.#call<{
        values?: { id: number; content?: { raw?: string }; deleted?: boolean }[];
        next?: string;
      }>('GET', `${comments}?pagelen=100&page=${page}`);
      const ours = (list.values ?? []).find((c) => !c.deleted && c.content?.raw?.startsWith(marker));
      if (ours) {
        await this.#call('PUT', `${comments}/${ours.id}`, { content: { raw: body } });
        return 'edited';
      }
      if (!list.next) break;
    }
    await this.#call('POST', comments, { content: { raw: body } });
    return 'created';
  }

  async setStatus(pr: PullRequestRef, status: PreviewStatus): Promise<void> {
    await this.#call('POST', `${this.#repo(pr)}/commit/${status.sha}/statuses/build`, {
      key: PREVIEW_CONTEXT.replace('/', '-'),
      state: STATE[status.state],
      name: PREVIEW_CONTEXT,
      description: status.description.slice(0, 255),
      // Required by Bitbucket; the pull request is where the preview is read.
      url: pr.url ?? `https://bitbucket.org/${pr.repoName}/pull-requests/${pr.number}`,
    });
  }

  #repo(pr: PullRequestRef): string {
    const [workspace, name] = pr.repoName.split('/');
    return `${this.#base}/repositories/${encodeURIComponent(workspace ?? '')}/${encodeURIComponent(name ?? '')}`;
  }

  #call<T>(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<T> {
    return forgeRequest<T>(
      {
        forge: 'Bitbucket',
        headers: { authorization: `Bearer ${this.options.token}` },
        ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
      },
      method,
      url,
      body,
    );
  }
}
