/** A preview as terminal text (`gitops plan --base`, `gitops dev`): one line per stack with something to show, then the counts. */
import { describeChanges } from '../plan/change-summary.ts';
import { headline } from './markdown.ts';
import type { Preview } from './types.ts';

export function formatPreview(preview: Preview): string {
  const lines = [
    `Preview of ${preview.headRef} at ${preview.head.sha.slice(0, 7)} into ${preview.baseBranch} ` +
      `(${preview.environments.join(', ')}; ${preview.mode === 'offline' ? 'offline diff' : 'change sets'})`,
  ];
  if (preview.configFailure) {
    const f = preview.configFailure;
    lines.push(`  ! configuration: ${f.file ? `${f.file}${f.line ? `:${f.line}` : ''}: ` : ''}${f.message}`);
  }
  for (const s of preview.stacks) {
    const what =
      s.status === 'failed'
        ? `failed: ${s.failure?.file ? `${s.failure.file}${s.failure.line ? `:${s.failure.line}` : ''}: ` : ''}${s.failure?.message ?? ''}`
        : s.status === 'removed'
          ? s.prune
            ? 'removed from Git: deleted on merge'
            : 'removed from Git: kept (prune off)'
          : `${s.status}: ${s.changes ? describeChanges(s.changes) : ''}`;
    lines.push(`  ${s.key}  ${s.stackName}${s.region ? ` (${s.region})` : ''}  ${what}`);
    if (s.diffText && s.status !== 'removed') {
      lines.push(
        ...s.diffText
          .trimEnd()
          .split('\n')
          .map((l) => `      ${l}`),
      );
    }
  }
  lines.push(`Preview: ${headline(preview)}, ${preview.unchanged} unchanged`);
  return `${lines.join('\n')}\n`;
}
