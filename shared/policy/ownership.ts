/**
 * A stack belongs to one repository. The state records it (`repo`), and every CloudFormation stack carries the
 * {@link REPOSITORY_TAG} tag, which the renderer sets and no repository can override. Another repository declaring
 * the same key or the same stack is refused, and prune deletes only what both the state and the live tag give to the
 * repository being synced.
 */
import { GitOpsError, Reason } from '../errors.ts';
import type { RenderedStack, StackState } from '../model.ts';
import { normalizeRepo } from './repo-name.ts';

/** The stack tag naming the repository a stack belongs to. */
export const REPOSITORY_TAG = 'lambda-gitops:repository';
/** Tag keys with this prefix are the installation's; a repository may not set them. */
export const RESERVED_TAG_PREFIX = 'lambda-gitops:';

export class OwnershipError extends GitOpsError {
  constructor(message: string, field = 'stack') {
    super(Reason.StackOwnedElsewhere, message, { field });
    this.name = 'OwnershipError';
  }
}

export const sameRepo = (a: string | undefined, b: string | undefined): boolean =>
  a !== undefined && b !== undefined && normalizeRepo(a) === normalizeRepo(b);

/** The identity of a stack: account (its role's, when it has one), region and name. */
export function identityOf(
  stack: { readonly stackName: string; readonly region: string; readonly role?: string },
  installationAccount?: string,
) {
  const account = stack.role ? /^arn:aws[a-z-]*:iam::(\d{12}):/.exec(stack.role)?.[1] : undefined;
  return `${account ?? installationAccount ?? 'installation'}/${stack.region}/${stack.stackName}`;
}

/**
 * Throws {@link OwnershipError} when the stack's key, or the CloudFormation stack it names, is recorded as another
 * repository's. `states` is every stack the state store knows.
 */
export function checkOwnership(
  rendered: RenderedStack,
  states: Iterable<StackState>,
  installationAccount?: string,
): void {
  const identity = identityOf(rendered, installationAccount);
  for (const state of states) {
    if (sameRepo(state.repo, rendered.repo)) continue;
    if (state.key === rendered.key) {
      throw new OwnershipError(
        `${rendered.stack} (${rendered.environment}): ${rendered.key} belongs to repository ${state.repo}; nothing applied (rename the stack or the environment in this repository)`,
      );
    }
    if (identityOf(state, installationAccount) === identity) {
      throw new OwnershipError(
        `${rendered.stack} (${rendered.environment}): stack ${rendered.stackName} (${rendered.region}) belongs to repository ${state.repo} as ${state.key}; nothing applied (choose another stackName)`,
        'stackName',
      );
    }
  }
}

/** For the appliers' delete: the stack's live tags must name the repository being synced. */
export function assertTaggedFor(
  state: StackState,
  repo: string,
  tags: Readonly<Record<string, string>> | undefined,
): void {
  const tagged = tags?.[REPOSITORY_TAG];
  if (!sameRepo(tagged, repo) || !sameRepo(state.repo, repo)) {
    throw new OwnershipError(
      tagged === undefined
        ? `${state.stackName} (${state.region}) carries no ${REPOSITORY_TAG} tag, so it is not known to belong to ${repo}; not deleted (delete it yourself, or apply it once from ${repo})`
        : `${state.stackName} (${state.region}) is tagged ${REPOSITORY_TAG}=${tagged}, not ${repo}; not deleted`,
    );
  }
}
