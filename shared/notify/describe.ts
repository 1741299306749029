/** The words every notification format shares: what happened to which stack, and what a person should do. */
import type { GitOpsEvent } from '../events/catalog.ts';
import type { ChangeSummary } from '../model.ts';

const HAPPENED: Readonly<Record<string, string>> = {
  'Push Received': 'push received',
  'Sync Requested': 'sync requested',
  'Apply Requested': 'apply requested',
  'Plan Ready': 'plan ready for approval',
  'Sync Succeeded': 'synced',
  'Sync Failed': 'sync failed',
  'Sync Skipped': 'sync skipped',
  'Stack Pruned': 'pruned',
  'Out Of Sync': 'out of sync',
  'Drift Detected': 'drift detected',
  'Drift Resolved': 'drift resolved',
  'Health Degraded': 'health degraded',
  'Health Restored': 'healthy again',
  'Preview Ready': 'pull-request preview ready',
  'Preview Requested': 'pull-request preview requested',
};

export const happened = (event: GitOpsEvent): string => HAPPENED[event.detailType] ?? event.detailType.toLowerCase();

/** `prod/web` (or the repository for repository-wide events). */
export function where(event: GitOpsEvent): string {
  const d = event.detail;
  if (d.stack) return d.environment ? `${d.environment}/${d.stack}` : d.stack;
  return d.repo ? shortRepo(d.repo) : 'lambda-gitops';
}

export function shortRepo(repo: string): string {
  const m = /[/:]([^/:]+\/[^/]+?)(?:\.git)?\/?$/.exec(repo);
  return m?.[1] ?? repo;
}

export const shortSha = (sha: string | undefined): string | undefined => sha?.slice(0, 7);

/** What a person should do about it, by reason (the same advice in mail, chat and Slack). */
export function advice(event: GitOpsEvent): string | undefined {
  const d = event.detail;
  const stackName = d.stackName ?? d.stack ?? 'the stack';
  switch (d.reason) {
    case 'ChangeSetFailed':
    case 'ApplyFailed':
      return `Fix the failing resource(s) named above in the template or its parameters and push a new commit; CloudFormation rolled ${stackName} back to its last working state.`;
    case 'StackRollbackComplete':
      return `${stackName} failed on create and is in ROLLBACK_COMPLETE: delete it, or set recreateOnRollbackComplete, then sync again.`;
    case 'UpdateRollbackFailed':
      return `Fix the cause, then run: aws cloudformation continue-update-rollback --stack-name ${stackName}; then sync again.`;
    case 'InsufficientCapabilities':
      return 'Declare the capability named above in gitops.yaml — capabilities: [CAPABILITY_…] on the stack, its overrides.<env>, or the environment — and push.';
    case 'TerminationProtected':
      return `Turn off termination protection on ${stackName} to let prune delete it, or delete it yourself.`;
    case 'StackBusy':
    case 'Throttled':
    case 'DeadlineExceeded':
    case 'StateUnavailable':
      return 'Nothing to do yet: lambda-gitops retries on its own.';
    case 'InvalidConfig':
    case 'InvalidTemplate':
    case 'InvalidParameter':
    case 'MissingFile':
    case 'PathEscape':
    case 'PlaintextSecret':
    case 'LimitExceeded':
    case 'DependencyCycle':
    case 'UnknownDependency':
    case 'DuplicateStack':
      return 'Fix the file named above and push a new commit.';
    case 'AuthFailed':
      return 'Check the git token or the role lambda-gitops assumes.';
    case 'ApprovalRequired':
      return 'Approve the plan with `gitops sync --approve` once it looks right.';
    case 'Superseded':
      return `A newer revision is applied to ${stackName}; this one was not. If it should be, push it on top of the branch (a revert is a new commit) and it applies.`;
  }
  switch (event.detailType) {
    case 'Drift Detected':
      return 'Someone changed these resources outside Git: revert the change, put it in Git, or turn on selfHeal.';
    case 'Health Degraded':
      return 'Look at the alarms named above and at the last change applied.';
    case 'Out Of Sync':
      return 'Approve or wait for the next sync to apply the new revision.';
    case 'Sync Failed':
      return `See the events of ${stackName} in the CloudFormation console.`;
  }
  return undefined;
}

/** The failing resources an event names: drifted resources, or `data.failedResources` from a failed apply. */
export function failingResources(event: GitOpsEvent): string[] {
  const d = event.detail;
  const out: string[] = [];
  const failed = d.data?.['failedResources'];
  if (Array.isArray(failed)) {
    for (const f of failed) {
      if (typeof f === 'string') out.push(f);
      else if (f && typeof f === 'object') {
        const r = f as { logicalId?: unknown; type?: unknown; reason?: unknown };
        out.push(
          `${String(r.logicalId ?? '?')}${r.type ? ` (${String(r.type)})` : ''}${r.reason ? `: ${String(r.reason)}` : ''}`,
        );
      }
    }
  }
  for (const r of d.resources ?? []) {
    // Property paths and kinds only: a live value can be a secret set in the console, and an alert reaches a
    // channel and a mailbox. Values stay in the installation (see drift values in the README), never in an alert.
    const diffs = r.differences.slice(0, 5).map((x) => `${x.path} ${x.kind}`);
    out.push(`${r.logicalId} (${r.type}) ${r.status}${diffs.length ? `: ${diffs.join('; ')}` : ''}`);
  }
  return out;
}

export function changeLines(changes: ChangeSummary | undefined): string[] {
  if (!changes) return [];
  const lines: string[] = [];
  const add = (label: string, items: readonly string[]) => {
    if (items.length) lines.push(`${label}: ${items.join(', ')}`);
  };
  add('added', changes.added);
  add('modified', changes.modified);
  add('replaced', changes.replaced);
  add('removed', changes.removed);
  add('parameters changed', changes.parametersChanged);
  add('tags changed', changes.tagsChanged);
  return lines;
}

/** A commit URL fit to be a link target in an alert: http(s), no spaces or characters that end a link early. */
export function linkableUrl(url: string | undefined): string | undefined {
  return url && /^https?:\/\/[^\s<>|()[\]`"]+$/.test(url) && url.length <= 2048 ? url : undefined;
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** The CloudFormation console page of the stack, when the event says where it is. */
export function consoleUrl(event: GitOpsEvent): string | undefined {
  const { region, stackName } = event.detail;
  if (!region || !stackName) return undefined;
  return `https://${region}.console.aws.amazon.com/cloudformation/home?region=${region}#/stacks?filteringText=${encodeURIComponent(stackName)}`;
}

/** The emoji shortcode both chat formats (Slack, Amazon Q chat) lead a message with, by severity. */
export const SEVERITY_ICON = { error: ':x:', warning: ':warning:', info: ':white_check_mark:' } as const;

/**
 * HTML entities for `&`, `<` and `>`: Slack and the Amazon Q chat apps parse `<!channel>`, `<https://…>` and
 * `<url|text>` in text they format, so repository text must reach them with these three escaped.
 */
export const escapeAngles = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
