/** Turns a described change set into the core's ChangeSummary and the text the CLI and history show. */
import type { Change, Parameter, Tag } from '@aws-sdk/client-cloudformation';
import type { CfnTemplate, ChangeSummary } from '../../model.ts';
import { effectiveParameterValues } from '../../plan/change-summary.ts';

export function summarizeChanges(
  changes: readonly Change[],
  live: { readonly parameters?: readonly Parameter[]; readonly tags?: readonly Tag[] } | undefined,
  desired: {
    readonly template: Pick<CfnTemplate, 'Parameters'>;
    /** Resolved values: `output:` parameters hold the dependency's output, not the reference. */
    readonly parameters: Readonly<Record<string, string>>;
    readonly tags: Readonly<Record<string, string>>;
  },
  /** Parameters whose value is not known yet (a dependency not applied): left out of the comparison. */
  unknownParameters: readonly string[] = [],
): ChangeSummary {
  const added: string[] = [];
  const modified: string[] = [];
  const removed: string[] = [];
  const replaced: string[] = [];
  for (const change of changes) {
    const rc = change.ResourceChange;
    if (change.Type !== 'Resource' || !rc?.LogicalResourceId) continue;
    const id = rc.LogicalResourceId;
    switch (rc.Action) {
      case 'Add':
      case 'Import':
        added.push(id);
        break;
      case 'Remove':
        removed.push(id);
        break;
      default:
        // Modify, Dynamic, SyncWithActual: replacement True or Conditional means the resource may be recreated.
        if (rc.Replacement === 'True' || rc.Replacement === 'Conditional') replaced.push(id);
        else modified.push(id);
    }
  }
  return {
    added,
    modified,
    removed,
    replaced,
    parametersChanged: live
      ? changedKeys(
          pairs(live.parameters, 'ParameterKey', 'ParameterValue'),
          effectiveParameterValues(desired.template, desired.parameters),
        ).filter((k) => !unknownParameters.includes(k))
      : [],
    tagsChanged: live ? changedKeys(pairs(live.tags, 'Key', 'Value'), desired.tags) : [],
  };
}

function pairs<T>(items: readonly T[] | undefined, k: keyof T, v: keyof T): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    const key = item[k];
    if (typeof key === 'string') out[key] = String(item[v] ?? '');
  }
  return out;
}

function changedKeys(live: Record<string, string>, desired: Readonly<Record<string, string>>): string[] {
  const keys = new Set([...Object.keys(live), ...Object.keys(desired)]);
  return [...keys]
    .filter((k) => {
      // NoEcho parameters come back masked; their change cannot be seen from here.
      if (live[k] === '****') return false;
      return live[k] !== desired[k];
    })
    .sort();
}

/** The change as a person reads it: one line per resource, `+` add, `~` modify, `±` replace, `-` remove. */
export function describeChanges(stackName: string, changes: readonly Change[], summary: ChangeSummary): string {
  const lines: string[] = [];
  for (const change of changes) {
    const rc = change.ResourceChange;
    if (change.Type !== 'Resource' || !rc?.LogicalResourceId) continue;
    const type = rc.ResourceType ? ` (${rc.ResourceType})` : '';
    const id = rc.LogicalResourceId;
    if (rc.Action === 'Add' || rc.Action === 'Import') lines.push(`  + ${id}${type}`);
    else if (rc.Action === 'Remove') lines.push(`  - ${id}${type}`);
    else if (rc.Replacement === 'True') lines.push(`  ± ${id}${type} replaced`);
    else if (rc.Replacement === 'Conditional') lines.push(`  ± ${id}${type} may be replaced`);
    else {
      const props = (rc.Details ?? [])
        .map((d) => d.Target?.Name ?? d.Target?.Attribute)
        .filter((p): p is string => Boolean(p));
      const what = props.length ? `: ${[...new Set(props)].join(', ')}` : '';
      lines.push(`  ~ ${id}${type}${what}`);
    }
  }
  if (summary.parametersChanged.length) lines.push(`  parameters: ${summary.parametersChanged.join(', ')}`);
  if (summary.tagsChanged.length) lines.push(`  tags: ${summary.tagsChanged.join(', ')}`);
  return lines.length ? `${stackName}\n${lines.join('\n')}` : `${stackName}: no changes`;
}

export const hasChanges = (s: ChangeSummary): boolean =>
  s.added.length +
    s.modified.length +
    s.removed.length +
    s.replaced.length +
    s.parametersChanged.length +
    s.tagsChanged.length >
  0;
