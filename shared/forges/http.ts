/**
 * The one HTTP call the forge clients make: JSON in and out, a deadline, the token in a header (never in the URL), and
 * errors that name the forge, the method and the status but never the token or the response in full.
 */
import { GitOpsError, Reason } from '../errors.ts';
import type { Fetch } from './types.ts';

export interface ForgeHttpOptions {
  readonly forge: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly fetch?: Fetch;
  /** @default 10 s */
  readonly timeoutMs?: number;
}

export async function forgeRequest<T>(
  options: ForgeHttpOptions,
  method: 'GET' | 'POST' | 'PATCH' | 'PUT',
  url: string,
  body?: unknown,
): Promise<T> {
  const doFetch = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(url, {
      method,
      headers: {
        accept: 'application/json',
        'user-agent': 'lambda-gitops',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (err) {
    throw new GitOpsError(Reason.PublishFailed, `${options.forge} API unreachable: ${(err as Error).message}`, {
      retryable: true,
      notify: false,
      cause: err,
    });
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) {
    throw new GitOpsError(
      Reason.PublishFailed,
      `${options.forge} refused ${method} ${new URL(url).pathname}: ${response.status} ${text.slice(0, 200)}`,
      { retryable: response.status === 429 || response.status >= 500, notify: false },
    );
  }
  if (text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new GitOpsError(Reason.PublishFailed, `${options.forge} answered ${method} with a body that is not JSON`, {
      notify: false,
    });
  }
}

/** Pages the forges return at most, when looking for our comment: enough for 1,000 comments. */
export const MAX_COMMENT_PAGES = 10;
