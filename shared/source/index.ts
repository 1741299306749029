/** The Source port: a commit's tree from a Git remote (smart HTTP(S)) or a local repository path. */
import { Reason, SourceError } from '../errors.ts';
import type { Source } from '../ports.ts';
import { LocalSource } from './local.ts';
import type { SourceOptions } from './options.ts';
import { RemoteSource } from './remote.ts';

export { clearMemoryCache } from './cache.ts';
export { commitUrl } from './commit-url.ts';
export { LocalSource } from './local.ts';
export { historyDepthFrom, type SourceOptions } from './options.ts';
export { RemoteSource } from './remote.ts';

/**
 * The https URL of an SSH (or git://) remote: `ssh://git@host[:port]/org/repo.git`, `git+ssh://…`, `git://host/…` and
 * git's scp-like `user@host:org/repo.git`; undefined for anything else. A local path never has a colon before its
 * first slash, except a Windows drive (`C:\…`), which is a single letter.
 */
export function sshToHttps(repo: string): string | undefined {
  const url = /^(?:ssh|git\+ssh|ssh\+git|git):\/\/(?:[^@/]+@)?([^/:]+)(?::\d*)?\/(.+)$/i.exec(repo);
  if (url) return `https://${url[1]}/${url[2]}`;
  const scp = /^(?:[^@/:]+@)?([^/:]{2,}):(?!\/\/)(.+)$/.exec(repo);
  if (scp && !repo.includes('\\')) return `https://${scp[1]}/${scp[2]!.replace(/^\/+/, '')}`;
  return undefined;
}

/**
 * `repo` is an http(s) URL (read with RemoteSource) or a local path (read with LocalSource). An SSH URL is refused
 * with the https URL to use instead: fetching speaks smart HTTP only, with the token from GITOPS_GIT_TOKEN.
 */
export function openSource(repo: string, options: SourceOptions = {}): Source {
  if (/^https?:\/\//i.test(repo)) return new RemoteSource(repo, options);
  const https = sshToHttps(repo);
  if (https) {
    throw new SourceError(
      Reason.RepositoryNotFound,
      `${repo} is an SSH URL, which lambda-gitops does not fetch: use the https URL (${https}) and put a token ` +
        'in GITOPS_GIT_TOKEN (in AWS, the git-token parameter) if the repository is private',
      { field: 'repo' },
    );
  }
  return new LocalSource(repo.startsWith('file://') ? new URL(repo).pathname : repo, options.limits);
}
