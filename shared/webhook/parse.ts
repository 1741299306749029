/**
 * Turns a verified delivery into the one thing the loop cares about: "branch X of repository Y now points at commit Z",
 * or a reason to ignore it. Call only after `verifyDelivery`: nothing here is safe against a forged body, it only has
 * to be safe against a malformed one (every field is checked, nothing is trusted to have a shape).
 *
 * Ignored (answered 200 so the forge does not mark the hook as failing): GitHub `ping`, tag pushes, branch deletions,
 * and every event other than a push.
 *
 * Content type: GitHub can send `application/x-www-form-urlencoded` with the JSON in a `payload` field; that form is
 * supported (the signature covers the form body, and it was verified before this runs). Every other body is parsed
 * as JSON whatever its content type says.
 *
 * Bitbucket may report several refs in one `repo:push`; the first branch update is taken. GitHub and GitLab send one
 * delivery per ref. A missed ref is caught by the scheduled poll that backs up lost webhooks.
 */
import { createHash } from 'node:crypto';
import type { CommitInfo } from '../model.ts';
import {
  clean,
  cloneUrl,
  type Headers,
  invalid,
  isObject,
  type Json,
  optionalObject,
  readPayload,
  requireObject,
  requireSha,
  withGit,
} from './payload.ts';
import type { Provider, PushDelivery } from './types.ts';

export type { Provider, Push, PushDelivery, WebhookRequest } from './types.ts';

const ZERO = /^0+$/;
const ZERO_SHA = '0'.repeat(40);

export function parsePush(provider: Provider, headers: Headers, body: Buffer): PushDelivery {
  const deliveryId = deliveryIdOf(provider, headers, body);
  switch (provider) {
    case 'github':
      return parseGitHub(headers['x-github-event'] ?? '', deliveryId, headers, body);
    case 'gitlab':
      return parseGitLab(headers['x-gitlab-event'] ?? '', deliveryId, headers, body);
    case 'bitbucket':
      return parseBitbucket(headers['x-event-key'] ?? '', deliveryId, headers, body);
  }
}

/**
 * The id a redelivery of the same event repeats. GitHub: `X-GitHub-Delivery` (kept on manual redelivery). GitLab:
 * `X-Gitlab-Event-UUID`, else `Idempotency-Key` (GitLab 17.4+, stable across retries). Bitbucket: `X-Request-UUID`;
 * `X-Hook-UUID` names the webhook, not the delivery, so it is never used alone. Without a header the id is derived
 * from the body's hash, which a redelivery of the same event reproduces.
 */
export function deliveryIdOf(provider: Provider, headers: Headers, body: Buffer): string {
  const candidates =
    provider === 'github'
      ? [headers['x-github-delivery']]
      : provider === 'gitlab'
        ? [headers['x-gitlab-event-uuid'], headers['idempotency-key']]
        : [headers['x-request-uuid']];
  const id = candidates.find((c) => c !== undefined && c.trim() !== '');
  if (id !== undefined) return id.trim().slice(0, 200);
  return `${provider}-${createHash('sha256').update(body).digest('hex').slice(0, 32)}`;
}

// ------------------------------------------------------------------------------------------------ GitHub

function parseGitHub(event: string, deliveryId: string, headers: Headers, body: Buffer): PushDelivery {
  const provider = 'github';
  if (event === 'ping') return { kind: 'ignored', provider, deliveryId, reason: 'ping' };
  if (event !== 'push') return unsupported(provider, deliveryId, event, 'x-github-event');
  const payload = readPayload(headers, body);
  const ref = requireString(payload, 'ref');
  if (ref.startsWith('refs/tags/'))
    return { kind: 'ignored', provider, deliveryId, reason: `tag push ${ref.slice(10)}` };
  const after = requireSha(payload, 'after');
  if (payload['deleted'] === true || ZERO.test(after)) {
    return { kind: 'ignored', provider, deliveryId, reason: `branch deleted ${branchOf(ref)}` };
  }
  const repository = requireObject(payload, 'repository');
  const repoName = requireString(repository, 'full_name', 'repository.full_name');
  const repoUrl = cloneUrl(
    optionalString(repository, 'clone_url') ??
      withGit(optionalString(repository, 'html_url')) ??
      `https://github.com/${repoName}.git`,
    'repository.clone_url',
  );
  const head = optionalObject(payload, 'head_commit');
  const author = head ? optionalObject(head, 'author') : undefined;
  const commit: CommitInfo = compact({
    sha: after,
    author: author ? (optionalString(author, 'name') ?? optionalString(author, 'username')) : undefined,
    message: head ? optionalString(head, 'message') : undefined,
    url: head ? optionalString(head, 'url') : undefined,
    committedAt: head ? optionalString(head, 'timestamp') : undefined,
  });
  return {
    kind: 'push',
    provider,
    deliveryId,
    repoUrl,
    repoName,
    branch: branchOf(ref),
    before: optionalSha(payload, 'before') ?? ZERO_SHA,
    after,
    commit,
  };
}

// ------------------------------------------------------------------------------------------------ GitLab

function parseGitLab(event: string, deliveryId: string, headers: Headers, body: Buffer): PushDelivery {
  const provider = 'gitlab';
  if (event === 'Tag Push Hook') return { kind: 'ignored', provider, deliveryId, reason: 'tag push' };
  if (event !== 'Push Hook') return unsupported(provider, deliveryId, event, 'x-gitlab-event');
  const payload = readPayload(headers, body);
  const ref = requireString(payload, 'ref');
  if (ref.startsWith('refs/tags/'))
    return { kind: 'ignored', provider, deliveryId, reason: `tag push ${ref.slice(10)}` };
  const after = requireSha(payload, 'after');
  if (ZERO.test(after)) return { kind: 'ignored', provider, deliveryId, reason: `branch deleted ${branchOf(ref)}` };
  const project = optionalObject(payload, 'project');
  const repository = optionalObject(payload, 'repository');
  const repoName = project && optionalString(project, 'path_with_namespace');
  if (repoName === undefined) throw invalid('project.path_with_namespace is missing', 'project.path_with_namespace');
  const url =
    (project && optionalString(project, 'git_http_url')) ??
    (repository && optionalString(repository, 'git_http_url')) ??
    withGit((project && optionalString(project, 'web_url')) ?? (repository && optionalString(repository, 'homepage')));
  if (url === undefined) throw invalid('project.git_http_url is missing', 'project.git_http_url');
  const commits = Array.isArray(payload['commits']) ? (payload['commits'] as unknown[]).filter(isObject) : [];
  const head = commits.find((c) => c['id'] === after) ?? commits.at(-1);
  const author = head ? optionalObject(head, 'author') : undefined;
  const commit: CommitInfo = compact({
    sha: after,
    author: author ? optionalString(author, 'name') : optionalString(payload, 'user_name'),
    message: head ? optionalString(head, 'message') : undefined,
    url: head ? optionalString(head, 'url') : undefined,
    committedAt: head ? optionalString(head, 'timestamp') : undefined,
  });
  return {
    kind: 'push',
    provider,
    deliveryId,
    repoUrl: cloneUrl(url, 'project.git_http_url'),
    repoName,
    branch: branchOf(ref),
    before: optionalSha(payload, 'before') ?? ZERO_SHA,
    after,
    commit,
  };
}

// ------------------------------------------------------------------------------------------------ Bitbucket Cloud

function parseBitbucket(event: string, deliveryId: string, headers: Headers, body: Buffer): PushDelivery {
  const provider = 'bitbucket';
  if (event === 'diagnostics:ping') return { kind: 'ignored', provider, deliveryId, reason: 'ping' };
  if (event !== 'repo:push') return unsupported(provider, deliveryId, event, 'x-event-key');
  const payload = readPayload(headers, body);
  const repository = requireObject(payload, 'repository');
  const repoName = requireString(repository, 'full_name', 'repository.full_name');
  const push = requireObject(payload, 'push');
  const changes = push['changes'];
  if (!Array.isArray(changes) || !changes.every(isObject)) throw invalid('push.changes is not a list', 'push.changes');
  const branchChange = (changes as Json[]).find((c) => isObject(c['new']) && c['new']['type'] === 'branch');
  if (!branchChange) {
    const anyTag = (changes as Json[]).some(
      (c) => (isObject(c['new']) && c['new']['type'] === 'tag') || (isObject(c['old']) && c['old']['type'] === 'tag'),
    );
    if (anyTag) return { kind: 'ignored', provider, deliveryId, reason: 'tag push' };
    const deleted = (changes as Json[]).find((c) => c['new'] === null && isObject(c['old']));
    if (deleted) {
      const name = optionalString(deleted['old'] as Json, 'name') ?? '';
      return { kind: 'ignored', provider, deliveryId, reason: `branch deleted ${name}`.trim() };
    }
    throw invalid('push.changes has no branch update', 'push.changes');
  }
  const next = branchChange['new'] as Json;
  const branch = requireString(next, 'name', 'push.changes[].new.name');
  const target = requireObject(next, 'target', 'push.changes[].new.target');
  const after = requireSha(target, 'hash', 'push.changes[].new.target.hash');
  const old = optionalObject(branchChange, 'old');
  const oldTarget = old ? optionalObject(old, 'target') : undefined;
  const author = optionalObject(target, 'author');
  const user = author ? optionalObject(author, 'user') : undefined;
  const links = optionalObject(target, 'links');
  const html = links ? optionalObject(links, 'html') : undefined;
  const repoLinks = optionalObject(repository, 'links');
  const repoHtml = repoLinks ? optionalObject(repoLinks, 'html') : undefined;
  const commit: CommitInfo = compact({
    sha: after,
    author:
      (user && optionalString(user, 'display_name')) ?? (author ? rawName(optionalString(author, 'raw')) : undefined),
    message: optionalString(target, 'message'),
    url: html ? optionalString(html, 'href') : undefined,
    committedAt: optionalString(target, 'date'),
  });
  return {
    kind: 'push',
    provider,
    deliveryId,
    repoUrl: cloneUrl(
      withGit(repoHtml ? optionalString(repoHtml, 'href') : undefined) ?? `https://bitbucket.org/${repoName}.git`,
      'repository.links.html.href',
    ),
    repoName,
    branch,
    before: (oldTarget && optionalSha(oldTarget, 'hash', 'push.changes[].old.target.hash')) ?? ZERO_SHA,
    after,
    commit,
  };
}

/** `Jane Doe <jane@example.com>` → `Jane Doe`: the address is personal data the events do not need. */
function rawName(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const name = raw.replace(/<[^>]*>/, '').trim();
  return name || undefined;
}

// ------------------------------------------------------------------------------------------------ helpers

function unsupported(provider: Provider, deliveryId: string, event: string, header: string): PushDelivery {
  return { kind: 'ignored', provider, deliveryId, reason: `unsupported event ${clean(event)} (${header})` };
}

function branchOf(ref: string): string {
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
}

function requireString(obj: Json, key: string, field = key): string {
  const value = obj[key];
  if (typeof value !== 'string' || value === '') throw invalid(`${field} is missing or not a string`, field);
  return value;
}

function optionalString(obj: Json, key: string): string | undefined {
  const value = obj[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function optionalSha(obj: Json, key: string, field = key): string | undefined {
  return obj[key] === undefined || obj[key] === null ? undefined : requireSha(obj, key, field);
}

function compact(commit: { [K in keyof CommitInfo]: CommitInfo[K] | undefined }): CommitInfo {
  return Object.fromEntries(Object.entries(commit).filter(([, v]) => v !== undefined)) as unknown as CommitInfo;
}
