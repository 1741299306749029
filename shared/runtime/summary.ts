import { summarize } from '../engine/apply-stack.ts';
import type { PlanEntry } from '../engine/plan.ts';
import type { SyncReport } from '../engine/sync.ts';

/**
 * The result of a sync as people read it, one format for `gitops sync` and the local runtime (`gitops dev`, `npm
 * start`): one line per stack that was applied, waits for approval or failed, and a totals line.
 */
export interface SummaryStyle {
  readonly color: boolean;
  /** The command that approves waiting stacks, e.g. `gitops sync examples --approve`. */
  readonly approveCommand?: string;
}

const paint = (style: SummaryStyle, code: number, t: string) => (style.color ? `\u001b[${code}m${t}\u001b[0m` : t);

/** `  Applied    dev/queue → dev-queue: 1 modified`; a new stack says what it creates, not "parameters changed". */
export function formatResultLines(report: SyncReport, style: SummaryStyle): string[] {
  const entries = new Map(report.plan.entries.map((e) => [e.key, e]));
  const lines: string[] = [];
  for (const r of report.results) {
    const entry = entries.get(r.key);
    const code = r.outcome === 'Failed' ? 31 : r.outcome === 'PlanReady' ? 33 : r.outcome === 'Applied' ? 32 : 2;
    lines.push(
      paint(
        style,
        code,
        `  ${r.outcome.padEnd(10)} ${r.key} → ${entry?.stackName ?? r.key}: ${detail(r, entry, style)}`,
      ),
    );
  }
  for (const e of report.plan.entries) {
    if (e.action === 'error')
      lines.push(paint(style, 31, `  Failed     ${e.key}: ${e.error?.describe() ?? e.message}`));
  }
  for (const key of report.pruned) {
    lines.push(paint(style, 31, `  Deleted    ${key} → ${entries.get(key)?.stackName ?? key}`));
  }
  return lines;
}

function detail(r: SyncReport['results'][number], entry: PlanEntry | undefined, style: SummaryStyle): string {
  if (r.error) return r.error.describe();
  if (r.outcome === 'PlanReady') {
    return `waiting for approval (syncPolicy.automated is false)${style.approveCommand ? `: ${approveFor(style, entry)}` : ''}`;
  }
  if (!r.result)
    return r.outcome === 'Superseded' ? 'an older commit than the applied one (newest wins)' : 'no changes';
  if (entry?.action === 'create') {
    const n = r.result.changes.added.length;
    return `created with ${n} resource${n === 1 ? '' : 's'}`;
  }
  const risks = entry?.risks?.length
    ? ` — WARNING: ${entry.risks.map((k) => `${k.kind === 'replace' ? 'replaced' : 'deleted'} ${k.logicalId} ${k.type}`).join(', ')}`
    : '';
  return `${summarize(r.result.changes)}${risks}`;
}

const approveFor = (style: SummaryStyle, entry: PlanEntry | undefined) =>
  `${style.approveCommand}${entry ? ` --env ${entry.environment} --stack ${entry.stack}` : ''}`;

/** `Sync complete: 3 applied, 12 unchanged, 0 deleted` (and what waits for approval), or which stacks failed. */
export function formatSyncTotals(report: SyncReport, style: SummaryStyle): string {
  const count = (outcome: string) => report.results.filter((r) => r.outcome === outcome).length;
  const unchanged = report.plan.entries.filter((e) => e.action === 'noop').length + count('NoChanges');
  const waiting = count('PlanReady');
  const totals =
    `${count('Applied')} applied, ${unchanged} unchanged, ${report.pruned.length} deleted` +
    (waiting
      ? `, ${waiting} waiting for approval${style.approveCommand ? ` (approve with: ${style.approveCommand})` : ''}`
      : '');
  return report.failed.length
    ? paint(style, 31, `Sync failed for ${report.failed.length} stack(s): ${report.failed.join(', ')}; ${totals}`)
    : `Sync complete: ${totals}`;
}

/** The short report the local runtime prints after each sync: the result lines with each change's diff, and totals. */
export function formatSyncSummary(report: SyncReport, style: SummaryStyle): string {
  const { snapshot } = report.plan;
  const lines = [
    `sync of ${snapshot.branch} at ${snapshot.commit.sha.slice(0, 7)} "${firstLine(snapshot.commit.message)}"`,
  ];
  const entries = new Map(report.plan.entries.map((e) => [e.key, e]));
  const results = formatResultLines(report, style);
  report.results.forEach((r, i) => {
    lines.push(results[i] as string);
    if (r.outcome !== 'Applied') return;
    const entry = entries.get(r.key);
    if (entry?.action === 'create') {
      // A new stack's diff is its whole template: list what it creates; `gitops plan` shows the full diff.
      const resources = entry.rendered?.template.Resources ?? {};
      // `Roles/FunctionRole`: a resource of the nested stack `Roles`, typed from the nested template.
      const typeOf = (id: string): string => {
        const slash = id.lastIndexOf('/');
        if (slash < 0) return resources[id]?.Type ?? '';
        const nested = entry.rendered?.nestedTemplates?.[id.slice(0, slash)];
        return nested?.Resources?.[id.slice(slash + 1)]?.Type ?? '';
      };
      for (const id of r.result?.changes.added ?? []) {
        lines.push(paint(style, 32, `      + ${typeOf(id)} ${id}`));
      }
    } else {
      const diff = entry?.preview?.diffText?.trimEnd();
      if (diff) lines.push(...diff.split('\n').map((l) => `      ${l}`));
    }
  });
  lines.push(...results.slice(report.results.length), formatSyncTotals(report, style));
  return lines.join('\n');
}

const firstLine = (text?: string) => (text ?? '').split('\n')[0] ?? '';
