/**
 * The preview as the Markdown body of one pull-request comment (GitHub, GitLab, Bitbucket all render it), and what
 * `gitops plan --base … --output markdown` prints. The first line is a hidden marker: the comment is found by it and
 * edited in place on every push instead of posted again.
 *
 * Everything in it that the pull request wrote (stack names, messages, diffs) is escaped: a stack name cannot inject
 * HTML, close the table or the code fence. The body stays under every forge's comment limit (GitHub 65,536
 * characters, Bitbucket and GitLab more): each diff is cut at DIFF_LINES lines, and diffs are dropped, largest first,
 * until the body fits.
 */
import type { ChangeSummary } from '../model.ts';
import { describeChanges } from '../plan/change-summary.ts';
import { type Preview, type PreviewFailure, type PreviewStack, previewCounts } from './types.ts';

export const PREVIEW_MARKER = '<!-- lambda-gitops preview -->';
const MAX_BODY = 60_000;
const DIFF_LINES = 150;
const DIFF_CHARS = 12_000;

export interface MarkdownOptions {
  /** Link to the pull request's head commit, when the forge gives one. */
  readonly commitUrl?: string;
}

export function previewMarkdown(preview: Preview, options: MarkdownOptions = {}): string {
  const diffs = new Map(
    preview.stacks.filter((s) => s.diffText && s.status !== 'removed').map((s) => [s.key, cutDiff(s.diffText ?? '')]),
  );
  let body = compose(preview, diffs, options);
  // Too long for a comment: drop the largest diffs first; the table and the summaries always stay.
  const bySize = [...diffs.entries()].sort((a, b) => b[1].length - a[1].length).map(([k]) => k);
  while (body.length > MAX_BODY && bySize.length > 0) {
    diffs.set(bySize.shift() as string, '');
    body = compose(preview, diffs, options);
  }
  return body;
}

function compose(preview: Preview, diffs: ReadonlyMap<string, string>, options: MarkdownOptions): string {
  const counts = previewCounts(preview);
  const head = preview.head.sha.slice(0, 7);
  const commit = options.commitUrl ? `[\`${head}\`](${safeUrl(options.commitUrl)})` : `\`${head}\``;
  const lines: string[] = [PREVIEW_MARKER, `### lambda-gitops preview: ${headline(preview)}`, ''];
  lines.push(
    `Commit ${commit} of \`${code(preview.headRef)}\` against \`${code(preview.baseBranch)}\` at ` +
      `\`${preview.base.sha.slice(0, 7)}\`, environments ${preview.environments.map((e) => `\`${code(e)}\``).join(', ')}. ` +
      (preview.mode === 'offline'
        ? 'Offline diff against the applied templates: nothing of this pull request ran in AWS.'
        : 'Preview change sets: CloudFormation computed the changes; nothing was applied.'),
  );
  lines.push('');

  if (preview.configFailure) {
    lines.push('**The configuration of this commit cannot be read; nothing was rendered.**', '');
    lines.push(`- ${failureLine(preview.configFailure)}`, '');
  }

  if (preview.stacks.length > 0) {
    lines.push('| Stack | Stack name | Change | Details |', '|---|---|---|---|');
    for (const s of preview.stacks) {
      lines.push(
        `| \`${code(s.key)}\` | ${cell(s.stackName)}${s.region ? ` (${cell(s.region)})` : ''} | ${statusLabel(s)} | ${cell(detail(s))} |`,
      );
    }
    lines.push('');
  }

  for (const s of preview.stacks) {
    const section = stackSection(s, diffs.get(s.key) ?? '');
    if (section.length) lines.push(...section, '');
  }

  lines.push(
    `${counts.unchanged} stack${counts.unchanged === 1 ? '' : 's'} unchanged. ` +
      'Nothing is applied until the pull request is merged and the base branch syncs.',
  );
  return `${lines.join('\n')}\n`;
}

/** `2 to create, 1 to update (1 replaces resources), 1 removed from Git, 1 failed` or `no changes`. */
export function headline(preview: Preview): string {
  const c = previewCounts(preview);
  const parts: string[] = [];
  if (c.create) parts.push(`${c.create} to create`);
  if (c.update) parts.push(`${c.update} to update${c.replace ? ` (${c.replace} replacing resources)` : ''}`);
  if (c.removed) parts.push(`${c.removed} removed from Git`);
  if (c.failed) parts.push(`${c.failed} failed`);
  return parts.length ? parts.join(', ') : 'no changes';
}

function statusLabel(s: PreviewStack): string {
  switch (s.status) {
    case 'create':
      return 'create';
    case 'update':
      return (s.changes?.replaced.length ?? 0) > 0 ? '**replace**' : 'update';
    case 'removed':
      return s.prune ? '**delete**' : 'removed from Git (kept)';
    case 'failed':
      return '**failed**';
  }
}

function detail(s: PreviewStack): string {
  if (s.status === 'failed') return s.failure?.reason ?? '';
  if (s.status === 'removed') {
    return s.prune ? 'deleted on merge (syncPolicy.prune)' : 'kept: syncPolicy.prune is off';
  }
  return s.changes ? describeChanges(s.changes) : '';
}

function stackSection(s: PreviewStack, diff: string): string[] {
  if (s.status === 'removed') return [];
  const out: string[] = [`<details><summary><code>${html(s.key)}</code>: ${html(sectionTitle(s))}</summary>`, ''];
  if (s.failure) out.push(`- ${failureLine(s.failure)}`);
  if (s.changes) out.push(...changeLines(s.changes));
  if (s.capabilities.length) {
    out.push(
      `- Capabilities: ${s.capabilities
        .map((c) => `\`${c}\`${s.newCapabilities.includes(c) ? ' (new)' : ''}`)
        .join(', ')}`,
    );
  }
  if (diff) out.push('', fence(diff));
  else if (s.diffText) out.push('', '_The diff is too long for a comment; run `gitops plan` to see it._');
  out.push('', '</details>');
  return out;
}

function sectionTitle(s: PreviewStack): string {
  if (s.status === 'failed') return 'failed';
  const verb = s.status === 'create' ? 'create' : (s.changes?.replaced.length ?? 0) > 0 ? 'replace' : 'update';
  return s.changes ? `${verb}, ${describeChanges(s.changes)}` : verb;
}

function changeLines(changes: ChangeSummary): string[] {
  const list = (label: string, items: readonly string[]): string[] =>
    items.length ? [`- ${label}: ${items.map((i) => `\`${code(i)}\``).join(', ')}`] : [];
  return [
    ...list('**Replaced** (new physical resource, the old one is deleted)', changes.replaced),
    ...list('Added', changes.added),
    ...list('Modified', changes.modified),
    ...list('Removed', changes.removed),
    ...list('Parameters changed', changes.parametersChanged),
    ...list('Tags changed', changes.tagsChanged),
  ];
}

function failureLine(f: PreviewFailure): string {
  const where = f.file ? `\`${code(f.file)}${f.line ? `:${f.line}` : ''}\`: ` : '';
  return `${where}${inline(f.message)} (${inline(f.reason)})`;
}

function cutDiff(text: string): string {
  const lines = text.trimEnd().split('\n');
  let out = lines.slice(0, DIFF_LINES).join('\n');
  if (out.length > DIFF_CHARS) out = out.slice(0, DIFF_CHARS);
  const cut = lines.length > DIFF_LINES || out.length < lines.slice(0, DIFF_LINES).join('\n').length;
  return cut ? `${out}\n… (cut; run \`gitops plan\` for the whole diff)` : out;
}

/** A code fence longer than any run of backticks in the text, so the text cannot close it. */
function fence(text: string): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  const marks = '`'.repeat(longest + 1);
  return `${marks}diff\n${text}\n${marks}`;
}

/** Text inside inline code: backticks would end it and a newline would break the table. */
function code(text: string): string {
  return text
    .replace(/`/g, "'")
    .replace(/[\r\n|]/g, ' ')
    .slice(0, 200);
}

function cell(text: string): string {
  return inline(text).replace(/\|/g, '\\|');
}

/** Plain text from the pull request: no HTML, no line breaks, Markdown punctuation escaped. */
function inline(text: string): string {
  return html(text)
    .replace(/[\r\n]+/g, ' ')
    .replace(/([\\`*_[\]#!|])/g, '\\$1')
    .slice(0, 500);
}

function html(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function safeUrl(url: string): string {
  return /^https?:\/\/[^\s()<>]+$/.test(url) ? url : '#';
}
