/**
 * The change CloudFormation would compute between what was applied and what Git now says, worked out offline with
 * `@aws-cdk/cloudformation-diff` (the library behind `cdk diff`, which knows from the resource specification which
 * property changes replace a resource). The local applier's preview is exactly this; the engine also uses it to show a
 * plan before an AWS change set exists.
 *
 * The library is loaded on first use: measured on Node 20 here, importing it takes 65-80 ms and the first diff another
 * 350-420 ms (it loads the resource specification), later diffs about 1 ms. The webhook Lambda, which never diffs,
 * must not pay that on a cold start, so nothing imports the library at module load.
 */
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import type { TemplateDiff } from '@aws-cdk/cloudformation-diff';
import type { CfnTemplate, ChangeSummary, RenderedStack } from '../model.ts';
import type { PreviewResult } from '../ports.ts';
import { sanitize } from '../sanitize.ts';
import { changedKeys, effectiveParameterValues } from './change-summary.ts';

type DiffLibrary = typeof import('@aws-cdk/cloudformation-diff');

let library: Promise<DiffLibrary> | undefined;

/** The diff library, imported once per process. */
export function loadDiffLibrary(): Promise<DiffLibrary> {
  library ??= import('@aws-cdk/cloudformation-diff');
  return library;
}

export interface DiffOptions {
  /** ANSI colours in `diffText`. @default false */
  readonly color?: boolean;
}

/**
 * What applying `next` over `previous` would change. A stack never applied (`previous` undefined) is all additions:
 * every resource, parameter and tag is new.
 */
export async function diffTemplates(
  previous: RenderedStack | undefined,
  next: RenderedStack,
  options: DiffOptions = {},
): Promise<PreviewResult> {
  const lib = await loadDiffLibrary();
  const diff = lib.fullDiff(previous?.template ?? {}, next.template);

  const added: string[] = [];
  const modified: string[] = [];
  const removed: string[] = [];
  const replaced: string[] = [];
  const collect = (d: TemplateDiff, prefix: string) =>
    d.resources.forEachDifference((id, change) => {
      const logicalId = `${prefix}${id}`;
      if (change.isAddition) added.push(logicalId);
      else if (change.isRemoval) removed.push(logicalId);
      // WILL_REPLACE only: CloudFormation's "Conditional" replacement (MAY_REPLACE) is an in-place update in most
      // cases; it stays under `modified` and the diff text says "may be replaced".
      else if (change.changeImpact === lib.ResourceImpact.WILL_REPLACE) replaced.push(logicalId);
      else if (change.isDifferent) modified.push(logicalId);
    });
  collect(diff, '');
  // Nested templates of the repository, diffed the same way: their resources are named `Network/Vpc`.
  const nestedTexts: string[] = [];
  const nestedPaths = [
    ...new Set([...Object.keys(previous?.nestedTemplates ?? {}), ...Object.keys(next.nestedTemplates ?? {})]),
  ].sort();
  for (const path of nestedPaths) {
    const nestedDiff = lib.fullDiff(previous?.nestedTemplates?.[path] ?? {}, next.nestedTemplates?.[path] ?? {});
    if (nestedDiff.isEmpty) continue;
    collect(nestedDiff, `${path}/`);
    nestedTexts.push(`Nested stack ${path}\n${formatTemplateDiff(lib, nestedDiff, options.color ?? false)}`);
  }

  const previousValues = previous ? effectiveParameters(previous) : {};
  const nextValues = effectiveParameters(next);
  const changes: ChangeSummary = {
    added: added.sort(),
    modified: modified.sort(),
    removed: removed.sort(),
    replaced: replaced.sort(),
    parametersChanged: changedKeys(previousValues, nextValues),
    tagsChanged: changedKeys(previous?.tags, next.tags),
  };

  const hasChanges =
    previous === undefined || !diff.isEmpty || changes.parametersChanged.length > 0 || changes.tagsChanged.length > 0;

  const text = [
    formatTemplateDiff(lib, diff, options.color ?? false),
    ...nestedTexts,
    formatValueChanges(
      'Parameter values',
      changes.parametersChanged,
      previousValues,
      nextValues,
      secretParameters(next, previous),
    ),
    formatValueChanges('Tags', changes.tagsChanged, previous?.tags ?? {}, next.tags, new Set()),
    next.unexpanded?.length ? `Not expanded locally: ${next.unexpanded.join('; ')}\n` : '',
  ]
    .filter((s) => s.length > 0)
    .join('\n');
  const diffText = sanitize(hasChanges ? text || 'no template changes\n' : 'no changes\n');
  return { changes, diffText: options.color ? diffText : stripVTControlCharacters(diffText), hasChanges };
}

/**
 * The value each declared parameter will have: the one sent, else the template default. Comparing these (rather than
 * only what was sent) catches a changed Default, which CloudFormation applies too.
 */
function effectiveParameters(stack: RenderedStack): Record<string, string> {
  return effectiveParameterValues(stack.template as CfnTemplate, stack.parameters);
}

function secretParameters(...stacks: (RenderedStack | undefined)[]): Set<string> {
  const names = new Set<string>();
  for (const stack of stacks) {
    for (const [name, spec] of Object.entries(stack?.template.Parameters ?? {})) {
      if (spec.NoEcho === true || spec.NoEcho === 'true') names.add(name);
    }
  }
  return names;
}

/**
 * Renders the library's diff. The library colours through chalk's shared instance, whose level it guesses from the
 * process's own stdout; the caller knows better (the text may go to a file, an event or a terminal), so the level is
 * set for the duration of this synchronous call and put back.
 */
function formatTemplateDiff(lib: DiffLibrary, diff: TemplateDiff, color: boolean): string {
  if (diff.isEmpty) return '';
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  }) as Writable & { columns?: number };
  stream.columns = 120;
  const chalk = diffChalk();
  const saved = chalk?.level;
  if (chalk) chalk.level = color ? 1 : 0;
  try {
    lib.formatDifferences(stream, diff);
  } finally {
    if (chalk && saved !== undefined) chalk.level = saved;
  }
  return text;
}

let chalkInstance: { level: number } | null | undefined;

/** The chalk instance the diff library itself resolves (its own dependency, not one of ours). */
function diffChalk(): { level: number } | undefined {
  if (chalkInstance === undefined) {
    try {
      const here = createRequire(import.meta.url);
      const fromLibrary = createRequire(here.resolve('@aws-cdk/cloudformation-diff'));
      chalkInstance = fromLibrary('chalk') as { level: number };
    } catch {
      // Without it colours follow chalk's own detection; `color: false` output is still stripped of ANSI codes.
      chalkInstance = null;
    }
  }
  return chalkInstance ?? undefined;
}

function formatValueChanges(
  title: string,
  keys: readonly string[],
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
  masked: ReadonlySet<string>,
): string {
  if (keys.length === 0) return '';
  const show = (key: string, value: string | undefined): string =>
    value === undefined ? '(none)' : masked.has(key) ? '****' : JSON.stringify(value);
  const lines = keys.map((key) => {
    const tag = before[key] === undefined ? '[+]' : after[key] === undefined ? '[-]' : '[~]';
    return ` ${tag} ${key}: ${show(key, before[key])} → ${show(key, after[key])}`;
  });
  return `${title}\n${lines.join('\n')}\n`;
}
