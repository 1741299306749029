/** Links a commit on the forge that hosts the repository, for events and notifications. */

/**
 * The web page of `sha` for github.com, gitlab.com and bitbucket.org style remotes (also self-hosted hosts named
 * `github.*`, `gitlab.*`, `bitbucket.*`); undefined for anything else, including local paths.
 */
export function commitUrl(repoUrl: string, sha: string): string | undefined {
  let url: URL;
  try {
    url = new URL(repoUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  const path = url.pathname.replace(/\/+$/, '').replace(/\.git$/, '');
  if (path.split('/').filter(Boolean).length < 2) return undefined;
  const base = `https://${url.host}${path}`;
  const host = url.hostname.toLowerCase();
  const is = (name: string) => host === `${name}.com` || host === `${name}.org` || host.startsWith(`${name}.`);
  if (is('github')) return `${base}/commit/${sha}`;
  if (is('gitlab')) return `${base}/-/commit/${sha}`;
  if (is('bitbucket')) return `${base}/commits/${sha}`;
  return undefined;
}

/** The URL without user info, query or fragment: how the repository is shown in events and errors. */
export function displayUrl(repoUrl: string): string {
  const url = new URL(repoUrl);
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  return url.toString().replace(/\/+$/, '');
}
