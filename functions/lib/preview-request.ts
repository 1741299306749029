/**
 * `Preview Requested`: the webhook function's hand-off of a verified pull-request delivery to the sync function,
 * through the bus and the sync FIFO queue. The pull request travels in `detail.data.pullRequest`; it is checked
 * again here, field by field, because anything that may put events on the bus could have sent it.
 */
import { ConfigError, Reason } from '../../shared/errors.ts';
import type { RepositoryEnv } from '../../shared/function-env.ts';
import type { PullRequest } from '../../shared/webhook/pull-request.ts';
import { findRepository } from './env-config.ts';

export interface PreviewRequest {
  readonly repository: RepositoryEnv;
  readonly pr: PullRequest;
}

const SHA = /^[0-9a-f]{7,64}$/;
const BRANCH = /^[^\s~^:?*[\\]{1,250}$/;

/** The request, or undefined when its repository is not one this installation follows. */
export function previewRequestFrom(
  detail: Record<string, unknown>,
  repositories: readonly RepositoryEnv[],
): PreviewRequest | undefined {
  const data = detail['data'] as Record<string, unknown> | undefined;
  const raw = (data?.['pullRequest'] ?? undefined) as Record<string, unknown> | undefined;
  const bad = (field: string) =>
    new ConfigError(Reason.PayloadInvalid, `Preview Requested: ${field} is missing or malformed`, {
      field,
      notify: false,
    });
  if (!raw || typeof raw !== 'object') throw bad('detail.data.pullRequest');
  const str = (key: string, re?: RegExp): string => {
    const v = raw[key];
    if (typeof v !== 'string' || v === '' || v.length > 1000 || (re && !re.test(v))) throw bad(`pullRequest.${key}`);
    return v;
  };
  const provider = str('provider');
  if (provider !== 'github' && provider !== 'gitlab' && provider !== 'bitbucket') throw bad('pullRequest.provider');
  const number = raw['number'];
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0) throw bad('pullRequest.number');
  const repoName = str('repoName');
  const repoUrl = str('repoUrl');
  const repository = findRepository(repositories, { url: repoUrl, name: repoName });
  if (!repository) return undefined;
  const projectId = raw['projectId'];
  const pr: PullRequest = {
    kind: 'pull-request',
    action: 'update',
    provider,
    deliveryId: str('deliveryId'),
    repoUrl,
    repoName,
    number,
    ...(typeof projectId === 'number' && Number.isSafeInteger(projectId) ? { projectId } : {}),
    ...(typeof raw['title'] === 'string' ? { title: raw['title'].slice(0, 300) } : {}),
    ...(typeof raw['url'] === 'string' && /^https:\/\//.test(raw['url']) ? { url: raw['url'] } : {}),
    baseBranch: str('baseBranch', BRANCH),
    headBranch: str('headBranch', BRANCH),
    headSha: str('headSha', SHA),
    // Anything but an explicit `false` is a fork: the safe side.
    fromFork: raw['fromFork'] !== false,
    draft: raw['draft'] === true,
  };
  return { repository, pr };
}
