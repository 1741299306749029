/**
 * Small pure helpers over ChangeSummary, shared by the template diff, the appliers and the CLI: which keys of two maps
 * differ, whether a summary says anything, and the one-line count people read ("1 added, 2 modified, 1 replaced").
 */
import type { CfnTemplate, ChangeSummary } from '../model.ts';

/**
 * The value each declared parameter will have: the one sent, else the template default. Comparing these (rather than
 * only what was sent) catches a changed Default, which CloudFormation applies too, and does not call a parameter left
 * at its default "changed" because DescribeStacks lists it.
 */
export function effectiveParameterValues(
  template: Pick<CfnTemplate, 'Parameters'>,
  parameters: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(template.Parameters ?? {})) {
    if (spec.Default !== undefined) out[name] = stringifyDefault(spec.Default);
  }
  for (const [name, value] of Object.entries(parameters)) out[name] = value;
  return out;
}

function stringifyDefault(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(stringifyDefault).join(',');
  return JSON.stringify(value);
}

/** Keys that were added, removed, or whose value changed between two string maps; sorted. */
export function changedKeys(
  previous: Readonly<Record<string, string>> | undefined,
  next: Readonly<Record<string, string>> | undefined,
): string[] {
  const a = previous ?? {};
  const b = next ?? {};
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => a[k] !== b[k]).sort();
}

export function hasChanges(changes: ChangeSummary): boolean {
  return (
    changes.added.length +
      changes.modified.length +
      changes.removed.length +
      changes.replaced.length +
      changes.parametersChanged.length +
      changes.tagsChanged.length >
    0
  );
}

/** `1 added, 2 modified, 1 replaced, 1 parameter changed`, or `no changes`. */
export function describeChanges(changes: ChangeSummary): string {
  const parts: string[] = [];
  const count = (n: number, label: string): void => {
    if (n > 0) parts.push(`${n} ${label}`);
  };
  count(changes.added.length, 'added');
  count(changes.modified.length, 'modified');
  count(changes.replaced.length, 'replaced');
  count(changes.removed.length, 'removed');
  count(
    changes.parametersChanged.length,
    changes.parametersChanged.length === 1 ? 'parameter changed' : 'parameters changed',
  );
  count(changes.tagsChanged.length, changes.tagsChanged.length === 1 ? 'tag changed' : 'tags changed');
  return parts.length ? parts.join(', ') : 'no changes';
}
