/**
 * Pull-request deliveries: "pull request N of repository Y now proposes commit Z of branch H onto base branch B", or
 * "pull request N is closed". Called only after `verifyDelivery` (the same verification as a push): nothing here is
 * safe against a forged body, only against a malformed one.
 *
 *   GitHub     `pull_request`: opened, synchronize, reopened, ready_for_review → update; closed → close.
 *   GitLab     `Merge Request Hook`: open, update, reopen → update; close, merge → close.
 *   Bitbucket  `pullrequest:created`, `pullrequest:updated` → update; `:fulfilled`, `:rejected` → close.
 *
 * Every other action (labeled, assigned, approved, a GitLab `update` that changed only the title…) is ignored: a
 * preview is about the proposed commit. A GitLab `update` without `oldrev` changed no code and is ignored too.
 *
 * Bitbucket sends the head commit abbreviated (12 hex digits); the preview fetches the source branch and checks the
 * fetched commit starts with it.
 */
import { deliveryIdOf } from './parse.ts';
import {
  clean,
  cloneUrl,
  type Headers,
  invalid,
  type Json,
  optionalObject,
  readPayload,
  requireObject,
  requireSha,
  withGit,
} from './payload.ts';
import type { Provider } from './types.ts';

export interface PullRequest {
  readonly kind: 'pull-request';
  /** `update`: (re)compute the preview of the head; `close`: the pull request ended, drop its preview. */
  readonly action: 'update' | 'close';
  readonly provider: Provider;
  readonly deliveryId: string;
  /** The base repository (the one the installation follows): clone URL without credentials, and its name. */
  readonly repoUrl: string;
  readonly repoName: string;
  /** GitHub and Bitbucket: the pull request number; GitLab: the merge request's iid. */
  readonly number: number;
  /** GitLab: the project id the notes and statuses API take. */
  readonly projectId?: number;
  readonly title?: string;
  /** The pull request's page, when the payload gives it. */
  readonly url?: string;
  readonly baseBranch: string;
  readonly headBranch: string;
  /** Full SHA (GitHub, GitLab) or a 12-digit prefix (Bitbucket). */
  readonly headSha: string;
  /** The head comes from another repository (a fork): never a change set, never anything with the installation's rights. */
  readonly fromFork: boolean;
  readonly draft: boolean;
}

export type PullRequestDelivery =
  | PullRequest
  | { readonly kind: 'ignored'; readonly provider: Provider; readonly deliveryId: string; readonly reason: string };

/** Whether the delivery's event header names a pull-request event this module parses. */
export function isPullRequestEvent(provider: Provider, headers: Headers): boolean {
  switch (provider) {
    case 'github':
      return headers['x-github-event'] === 'pull_request';
    case 'gitlab':
      return headers['x-gitlab-event'] === 'Merge Request Hook';
    case 'bitbucket':
      return (headers['x-event-key'] ?? '').startsWith('pullrequest:');
  }
}

export function parsePullRequest(provider: Provider, headers: Headers, body: Buffer): PullRequestDelivery {
  const deliveryId = deliveryIdOf(provider, headers, body);
  const payload = readPayload(headers, body);
  switch (provider) {
    case 'github':
      return parseGitHub(deliveryId, payload);
    case 'gitlab':
      return parseGitLab(deliveryId, payload);
    case 'bitbucket':
      return parseBitbucket(headers['x-event-key'] ?? '', deliveryId, payload);
  }
}

const GITHUB_UPDATE = new Set(['opened', 'synchronize', 'reopened', 'ready_for_review']);

function parseGitHub(deliveryId: string, payload: Json): PullRequestDelivery {
  const provider = 'github';
  const action = requireString(payload, 'action', 'action');
  if (action !== 'closed' && !GITHUB_UPDATE.has(action)) {
    return { kind: 'ignored', provider, deliveryId, reason: `pull_request ${clean(action)}` };
  }
  const pr = requireObject(payload, 'pull_request', 'pull_request');
  const base = requireObject(pr, 'base', 'pull_request.base');
  const head = requireObject(pr, 'head', 'pull_request.head');
  const repository = requireObject(payload, 'repository', 'repository');
  const repoName = requireString(repository, 'full_name', 'repository.full_name');
  const headRepo = optionalObject(head, 'repo');
  // A deleted fork has `head.repo: null`: treated as a fork, which is the safe side.
  const headRepoName = headRepo ? optionalString(headRepo, 'full_name') : undefined;
  return {
    kind: 'pull-request',
    action: action === 'closed' ? 'close' : 'update',
    provider,
    deliveryId,
    repoUrl: cloneUrl(
      optionalString(repository, 'clone_url') ?? `https://github.com/${repoName}.git`,
      'repository.clone_url',
    ),
    repoName,
    number: requireNumber(pr, 'number', 'pull_request.number'),
    ...optional('title', optionalString(pr, 'title')),
    ...optional('url', optionalString(pr, 'html_url')),
    baseBranch: requireString(base, 'ref', 'pull_request.base.ref'),
    headBranch: requireString(head, 'ref', 'pull_request.head.ref'),
    headSha: requireSha(head, 'sha', 'pull_request.head.sha'),
    fromFork: headRepoName === undefined || headRepoName.toLowerCase() !== repoName.toLowerCase(),
    draft: pr['draft'] === true,
  };
}

const GITLAB_UPDATE = new Set(['open', 'update', 'reopen']);
const GITLAB_CLOSE = new Set(['close', 'merge']);

function parseGitLab(deliveryId: string, payload: Json): PullRequestDelivery {
  const provider = 'gitlab';
  const attributes = requireObject(payload, 'object_attributes', 'object_attributes');
  const action = requireString(attributes, 'action', 'object_attributes.action');
  if (!GITLAB_UPDATE.has(action) && !GITLAB_CLOSE.has(action)) {
    return { kind: 'ignored', provider, deliveryId, reason: `merge request ${clean(action)}` };
  }
  // `update` also reports title, label and assignee edits; only a new commit (`oldrev` present) changes the preview.
  if (action === 'update' && attributes['oldrev'] === undefined) {
    return { kind: 'ignored', provider, deliveryId, reason: 'merge request update without new commits' };
  }
  const project = requireObject(payload, 'project', 'project');
  const repoName = requireString(project, 'path_with_namespace', 'project.path_with_namespace');
  const url =
    optionalString(project, 'git_http_url') ??
    optionalString(project, 'http_url') ??
    withGit(optionalString(project, 'web_url'));
  if (url === undefined) throw invalid('project.git_http_url is missing', 'project.git_http_url');
  const lastCommit = requireObject(attributes, 'last_commit', 'object_attributes.last_commit');
  const sourceProject = attributes['source_project_id'];
  const targetProject = attributes['target_project_id'];
  const projectId = typeof project['id'] === 'number' ? project['id'] : undefined;
  return {
    kind: 'pull-request',
    action: GITLAB_CLOSE.has(action) ? 'close' : 'update',
    provider,
    deliveryId,
    repoUrl: cloneUrl(url, 'project.git_http_url'),
    repoName,
    number: requireNumber(attributes, 'iid', 'object_attributes.iid'),
    ...optional('projectId', projectId),
    ...optional('title', optionalString(attributes, 'title')),
    ...optional('url', optionalString(attributes, 'url')),
    baseBranch: requireString(attributes, 'target_branch', 'object_attributes.target_branch'),
    headBranch: requireString(attributes, 'source_branch', 'object_attributes.source_branch'),
    headSha: requireSha(lastCommit, 'id', 'object_attributes.last_commit.id'),
    fromFork: typeof sourceProject !== 'number' || sourceProject !== targetProject,
    draft: attributes['draft'] === true || attributes['work_in_progress'] === true,
  };
}

const BITBUCKET_UPDATE = new Set(['pullrequest:created', 'pullrequest:updated']);
const BITBUCKET_CLOSE = new Set(['pullrequest:fulfilled', 'pullrequest:rejected']);

function parseBitbucket(event: string, deliveryId: string, payload: Json): PullRequestDelivery {
  const provider = 'bitbucket';
  if (!BITBUCKET_UPDATE.has(event) && !BITBUCKET_CLOSE.has(event)) {
    return { kind: 'ignored', provider, deliveryId, reason: `${clean(event)}` };
  }
  const repository = requireObject(payload, 'repository', 'repository');
  const repoName = requireString(repository, 'full_name', 'repository.full_name');
  const pr = requireObject(payload, 'pullrequest', 'pullrequest');
  const source = requireObject(pr, 'source', 'pullrequest.source');
  const destination = requireObject(pr, 'destination', 'pullrequest.destination');
  const sourceRepo = optionalObject(source, 'repository');
  const sourceName = sourceRepo ? optionalString(sourceRepo, 'full_name') : undefined;
  const repoLinks = optionalObject(repository, 'links');
  const repoHtml = repoLinks ? optionalObject(repoLinks, 'html') : undefined;
  const links = optionalObject(pr, 'links');
  const html = links ? optionalObject(links, 'html') : undefined;
  return {
    kind: 'pull-request',
    action: BITBUCKET_CLOSE.has(event) ? 'close' : 'update',
    provider,
    deliveryId,
    repoUrl: cloneUrl(
      withGit(repoHtml ? optionalString(repoHtml, 'href') : undefined) ?? `https://bitbucket.org/${repoName}.git`,
      'repository.links.html.href',
    ),
    repoName,
    number: requireNumber(pr, 'id', 'pullrequest.id'),
    ...optional('title', optionalString(pr, 'title')),
    ...optional('url', html ? optionalString(html, 'href') : undefined),
    baseBranch: requireString(
      requireObject(destination, 'branch', 'pullrequest.destination.branch'),
      'name',
      'pullrequest.destination.branch.name',
    ),
    headBranch: requireString(
      requireObject(source, 'branch', 'pullrequest.source.branch'),
      'name',
      'pullrequest.source.branch.name',
    ),
    headSha: requireSha(
      requireObject(source, 'commit', 'pullrequest.source.commit'),
      'hash',
      'pullrequest.source.commit.hash',
      true,
    ),
    fromFork: sourceName === undefined || sourceName.toLowerCase() !== repoName.toLowerCase(),
    draft: pr['draft'] === true,
  };
}

// ------------------------------------------------------------------------------------------------ helpers

function requireString(obj: Json, key: string, field: string): string {
  const value = obj[key];
  if (typeof value !== 'string' || value === '' || value.length > 1000) {
    throw invalid(`${field} is missing or not a string`, field);
  }
  return value;
}

function optionalString(obj: Json, key: string): string | undefined {
  const value = obj[key];
  return typeof value === 'string' && value !== '' ? value.slice(0, 1000) : undefined;
}

function requireNumber(obj: Json, key: string, field: string): number {
  const value = obj[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${field} is missing or not a whole number`, field);
  }
  return value;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
