import { summarize } from '../engine/apply-stack.ts';
import type { SyncReport } from '../engine/sync.ts';

/** The short report the local runtime prints after each sync: one line per stack that changed, and the diff. */
export function formatSyncSummary(report: SyncReport, style: { color: boolean }): string {
  const c = (code: number, t: string) => (style.color ? `\u001b[${code}m${t}\u001b[0m` : t);
  const { snapshot } = report.plan;
  const lines = [
    `sync of ${snapshot.branch} at ${snapshot.commit.sha.slice(0, 7)} "${firstLine(snapshot.commit.message)}"`,
  ];
  const entries = new Map(report.plan.entries.map((e) => [e.key, e]));
  for (const r of report.results) {
    const entry = entries.get(r.key);
    const what = r.error ? r.error.describe() : r.result ? summarize(r.result.changes) : r.outcome;
    lines.push(
      c(r.outcome === 'Failed' ? 31 : 32, `  ${r.outcome.padEnd(10)} ${r.key} → ${entry?.stackName ?? ''}: ${what}`),
    );
    if (r.outcome !== 'Applied') continue;
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
        lines.push(c(32, `      + ${typeOf(id)} ${id}`));
      }
    } else {
      const diff = entry?.preview?.diffText?.trimEnd();
      if (diff) lines.push(...diff.split('\n').map((l) => `      ${l}`));
    }
  }
  for (const e of report.plan.entries) {
    if (e.action === 'error') lines.push(c(31, `  Failed     ${e.key}: ${e.message}`));
  }
  for (const key of report.pruned) lines.push(c(31, `  Deleted    ${key}`));
  const unchanged = report.plan.entries.filter((e) => e.action === 'noop').length;
  lines.push(
    `  ${report.results.filter((r) => r.outcome === 'Applied').length} applied, ${unchanged} unchanged, ${report.failed.length} failed`,
  );
  return lines.join('\n');
}

const firstLine = (text?: string) => (text ?? '').split('\n')[0] ?? '';
