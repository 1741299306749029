/** The GitHub commit status an event sets on its commit: one context per stack and environment. */
import type { GitOpsEvent } from '../events/catalog.ts';
import { sanitize } from '../sanitize.ts';
import { consoleUrl, truncate } from './describe.ts';

export interface CommitStatus {
  readonly sha: string;
  readonly state: 'success' | 'failure' | 'pending' | 'error';
  /** `lambda-gitops/<env>/<stack>` */
  readonly context: string;
  /** At most 140 characters (GitHub's limit). */
  readonly description: string;
  readonly target_url?: string;
}

/** Reasons where lambda-gitops, not the commit, is the problem: GitHub's `error` rather than `failure`. */
const ERROR_REASONS = new Set([
  'Throttled',
  'DeadlineExceeded',
  'StateUnavailable',
  'Internal',
  'AuthFailed',
  'Superseded',
]);

/** The status for an event, or undefined for events that say nothing about one commit of one stack. */
export function commitStatusFor(event: GitOpsEvent): CommitStatus | undefined {
  const d = event.detail;
  const sha = d.revision ?? d.commit?.sha;
  if (!sha || !d.stack || !d.environment) return undefined;
  let state: CommitStatus['state'];
  switch (event.detailType) {
    case 'Sync Requested':
    case 'Apply Requested':
    case 'Plan Ready':
      state = 'pending';
      break;
    case 'Sync Succeeded':
    case 'Health Restored':
      state = 'success';
      break;
    case 'Sync Skipped':
      state = d.reason === 'Superseded' ? 'error' : 'success';
      break;
    case 'Sync Failed':
      state = ERROR_REASONS.has(d.reason) ? 'error' : 'failure';
      break;
    case 'Health Degraded':
      state = 'failure';
      break;
    default:
      return undefined;
  }
  const url = consoleUrl(event);
  return {
    sha,
    state,
    context: `lambda-gitops/${d.environment}/${d.stack}`,
    description: truncate(sanitize(d.message.replace(/\s+/g, ' ').trim() || event.detailType), 140),
    ...(url ? { target_url: url } : {}),
  };
}
