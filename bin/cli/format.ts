import { stringify } from 'yaml';
import type { DriftReport } from '../../shared/engine/drift.ts';
import type { Plan, PlanEntry } from '../../shared/engine/plan.ts';
import type { StatusRow } from '../../shared/engine/status.ts';
import type { SyncReport } from '../../shared/engine/sync.ts';
import type { RenderedStack } from '../../shared/model.ts';
import { describeRisks } from '../../shared/plan/risk.ts';
import { formatResultLines, formatSyncTotals } from '../../shared/runtime/summary.ts';

export interface Style {
  readonly color: boolean;
  /** The command that approves stacks waiting for approval, e.g. `gitops sync examples --approve`. */
  readonly approveCommand?: string;
}

const paint = (style: Style, code: number, text: string) => (style.color ? `\u001b[${code}m${text}\u001b[0m` : text);
const short = (sha?: string) => (sha ? sha.slice(0, 7) : '-');

const symbols: Record<PlanEntry['action'], [string, number]> = {
  create: ['+', 32],
  update: ['~', 33],
  noop: ['=', 2],
  superseded: ['<', 2],
  prune: ['-', 31],
  orphan: ['?', 33],
  error: ['!', 31],
};

/** The JSON shape of a rendered stack (`render --output json`). */
export function renderedJson(r: RenderedStack) {
  return {
    key: r.key,
    stack: r.stack,
    environment: r.environment,
    stackName: r.stackName,
    region: r.region,
    ...(r.role ? { role: r.role } : {}),
    template: r.template,
    parameters: r.parameters,
    tags: r.tags,
    capabilities: r.capabilities,
    dependsOn: r.dependsOn,
    syncPolicy: r.syncPolicy,
    hash: r.hash,
    revision: r.revision,
    commit: r.commit,
    inputs: r.inputs,
    ...(r.artifacts?.length
      ? { artifacts: r.artifacts.map((a) => ({ key: a.key, source: a.source, kind: a.kind, size: a.size })) }
      : {}),
    ...(r.nestedTemplates ? { nestedTemplates: r.nestedTemplates } : {}),
  };
}

export function formatRendered(stacks: readonly RenderedStack[], output: 'human' | 'json' | 'yaml'): string {
  const data = stacks.map(renderedJson);
  if (output === 'json') return `${JSON.stringify(data, null, 2)}\n`;
  if (output === 'yaml') return stringify(data, { aliasDuplicateObjects: false });
  return stacks
    .map((r) =>
      [
        `# ${r.key} → ${r.stackName} (${r.region}) at ${short(r.revision)}`,
        `# hash ${r.hash}`,
        `# capabilities: ${r.capabilities.join(', ') || 'none'}`,
        ...(r.artifacts ?? []).map((a) => `# packaged ${a.source} → ${a.key} (${a.size} bytes)`),
        stringify(
          { parameters: r.parameters, tags: r.tags, template: r.template },
          { aliasDuplicateObjects: false },
        ).trimEnd(),
      ].join('\n'),
    )
    .join('\n---\n')
    .concat('\n');
}

export function planJson(plan: Plan) {
  return {
    repo: plan.snapshot.repo,
    branch: plan.snapshot.branch,
    revision: plan.snapshot.commit.sha,
    entries: plan.entries.map((e) => ({
      key: e.key,
      stack: e.stack,
      environment: e.environment,
      stackName: e.stackName,
      region: e.region,
      action: e.action,
      message: e.message,
      ...(e.rendered ? { capabilities: e.rendered.capabilities } : {}),
      ...(e.rendered && !e.rendered.syncPolicy.automated && changes(e) ? { needsApproval: true } : {}),
      ...(e.risks?.length ? { risks: e.risks } : {}),
      ...(e.preview ? { changes: e.preview.changes, diff: e.preview.diffText } : {}),
      ...(e.error ? { error: { reason: e.error.reason, message: e.error.describe() } } : {}),
    })),
  };
}

const changes = (e: PlanEntry) => e.action === 'create' || e.action === 'update';

export function formatPlan(plan: Plan, style: Style): string {
  const lines = [`Plan for ${plan.snapshot.repo} at ${short(plan.snapshot.commit.sha)} (${plan.snapshot.branch})`];
  for (const e of plan.entries) {
    const [symbol, code] = symbols[e.action];
    const notes = [
      e.rendered?.capabilities.length && changes(e) ? `capabilities: ${e.rendered.capabilities.join(', ')}` : '',
      e.rendered && !e.rendered.syncPolicy.automated && changes(e) ? 'waits for approval (sync --approve)' : '',
    ].filter(Boolean);
    lines.push(
      paint(
        style,
        code,
        `  ${symbol} ${e.key}  ${e.stackName}${e.region ? ` (${e.region})` : ''}  ${e.message}` +
          (notes.length ? ` [${notes.join('; ')}]` : ''),
      ),
    );
    if (e.preview?.diffText) {
      lines.push(
        ...e.preview.diffText
          .trimEnd()
          .split('\n')
          .map((l) => `      ${l}`),
      );
    }
  }
  const count = (a: PlanEntry['action']) => plan.entries.filter((e) => e.action === a).length;
  const risks = describeRisks(plan.entries.flatMap((e) => e.risks ?? []));
  lines.push(
    `Plan: ${count('create')} to create, ${count('update')} to update, ${count('prune')} to delete, ` +
      `${count('orphan')} removed from Git (kept), ${count('noop')} unchanged` +
      (count('superseded') ? `, ${count('superseded')} superseded` : '') +
      (count('error') ? `, ${count('error')} with errors` : '') +
      (risks ? paint(style, 31, ` — WARNING: ${risks}`) : ''),
  );
  const waiting = plan.entries.filter((e) => changes(e) && e.rendered && !e.rendered.syncPolicy.automated).length;
  if (waiting && style.approveCommand) {
    lines.push(`${waiting} stack(s) wait for approval: ${style.approveCommand}`);
  }
  return `${lines.join('\n')}\n`;
}

export function syncJson(report: SyncReport) {
  return {
    ...planJson(report.plan),
    results: report.results.map((r) => ({
      key: r.key,
      outcome: r.outcome,
      ...(r.result ? { changes: r.result.changes, outputs: r.result.outputs } : {}),
      ...(r.error ? { error: { reason: r.error.reason, message: r.error.describe() } } : {}),
    })),
    pruned: report.pruned,
    failed: report.failed,
  };
}

export function formatSync(report: SyncReport, style: Style): string {
  const lines = [
    formatPlan(report.plan, { color: style.color }).trimEnd(),
    ...formatResultLines(report, style),
    formatSyncTotals(report, style),
  ];
  return `${lines.join('\n')}\n`;
}

export function formatStatus(rows: readonly StatusRow[], style: Style): string {
  if (rows.length === 0) return 'No stacks in the state store yet: run `gitops sync <repo>` first.\n';
  const header = ['ENVIRONMENT', 'STACK', 'STACK NAME', 'SYNC', 'DRIFT', 'HEALTH', 'REVISION', 'LAST RESULT', 'TIME'];
  const table = rows.map((r) => [
    r.environment,
    r.stack,
    r.stackName,
    r.sync,
    r.drift === 'Drifted' ? `Drifted(${r.driftedResources})` : r.drift,
    r.health,
    short(r.appliedRevision),
    r.lastResult ? `${r.lastResult}${r.lastReason ? ` (${r.lastReason})` : ''}` : '-',
    r.lastTime ?? '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const colored = (row: string[], r: StatusRow) => {
    const text = line(row);
    if (r.sync === 'Failed') return paint(style, 31, text);
    if (r.sync === 'OutOfSync' || r.drift === 'Drifted') return paint(style, 33, text);
    return text;
  };
  return `${[line(header), ...table.map((row, i) => colored(row, rows[i] as StatusRow))].join('\n')}\n`;
}

export function formatDrift(report: DriftReport, style: Style): string {
  const lines = [`Drift check at ${short(report.revision)}`];
  for (const o of report.outOfSync) lines.push(paint(style, 33, `  OutOfSync  ${o.key}  ${o.reason}`));
  for (const d of report.drifted) {
    lines.push(paint(style, 33, `  Drifted    ${d.key}  ${d.resources.length} resource(s)`));
    for (const r of d.resources) {
      lines.push(`      ${r.logicalId} (${r.type}) ${r.status}`);
      for (const diff of r.differences) {
        // Values only when the installation opted in (GITOPS_DRIFT_VALUES=redacted); otherwise the kind of difference.
        lines.push(
          diff.expected !== undefined || diff.actual !== undefined
            ? `        ${diff.path}: expected ${diff.expected ?? '-'}, actual ${diff.actual ?? '-'}`
            : `        ${diff.path}: ${diff.kind}`,
        );
      }
    }
  }
  for (const key of report.healed) lines.push(`  Healed     ${key}`);
  for (const e of report.errors) lines.push(paint(style, 31, `  Error      ${e.key}  ${e.message}`));
  if (report.notChecked.length) {
    lines.push(`  ${report.notChecked.length} stack(s) without resource drift detection on this target`);
  }
  if (!report.outOfSync.length && !report.drifted.length && !report.errors.length) lines.push('  everything in sync');
  return `${lines.join('\n')}\n`;
}
