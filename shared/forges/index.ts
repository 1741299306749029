/**
 * The forge a pull request came from, with its token read from Secrets (SSM on AWS, the environment locally):
 *   github-token (comments, commit statuses), github-app-token (optional: check runs instead of statuses),
 *   gitlab-token, bitbucket-token.
 * API base URLs default to the public services; GitHub Enterprise, self-managed GitLab and tests pass their own.
 */
import { GitOpsError, Reason } from '../errors.ts';
import type { Secrets } from '../ports.ts';
import { registerSecret } from '../sanitize.ts';
import type { Provider } from '../webhook/types.ts';
import { BitbucketForge } from './bitbucket.ts';
import { GitHubForge } from './github.ts';
import { GitLabForge } from './gitlab.ts';
import type { Fetch, Forge } from './types.ts';

export { BitbucketForge } from './bitbucket.ts';
export { GitHubForge } from './github.ts';
export { GitLabForge } from './gitlab.ts';
export * from './types.ts';

export interface ForgeOptions {
  readonly secrets: Secrets;
  readonly apiBaseUrls?: Partial<Record<Provider, string>>;
  readonly fetch?: Fetch;
}

export const FORGE_TOKENS: Readonly<Record<Provider, string>> = {
  github: 'github-token',
  gitlab: 'gitlab-token',
  bitbucket: 'bitbucket-token',
};

/** The forge client, or undefined when its token is not configured (the preview is then only logged and emitted). */
export async function forgeFor(provider: Provider, options: ForgeOptions): Promise<Forge | undefined> {
  const token = await secret(options.secrets, FORGE_TOKENS[provider]);
  if (!token) return undefined;
  const apiBaseUrl = options.apiBaseUrls?.[provider];
  const common = { token, ...(apiBaseUrl ? { apiBaseUrl } : {}), ...(options.fetch ? { fetch: options.fetch } : {}) };
  switch (provider) {
    case 'github': {
      const appToken = await secret(options.secrets, 'github-app-token');
      return new GitHubForge({ ...common, ...(appToken ? { appToken } : {}) });
    }
    case 'gitlab':
      return new GitLabForge(common);
    case 'bitbucket':
      return new BitbucketForge(common);
  }
}

async function secret(secrets: Secrets, name: string): Promise<string | undefined> {
  let value: string | undefined;
  try {
    value = await secrets.get(name);
  } catch (err) {
    throw new GitOpsError(Reason.PublishFailed, `secret ${name} could not be read`, { retryable: true, cause: err });
  }
  if (value) registerSecret(value);
  return value || undefined;
}
