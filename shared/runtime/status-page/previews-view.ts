/**
 * GET /previews in `gitops dev`: the open pull requests and their newest preview, each stack's change and diff. Every
 * value comes from the pull request (names, messages, diffs) and goes through the escaping `html` template.
 */
import { describeChanges } from '../../plan/change-summary.ts';
import { headline } from '../../preview/markdown.ts';
import type { OpenPreview } from '../../preview/open-previews.ts';
import type { PreviewStack } from '../../preview/types.ts';
import { type Html, html } from './html.ts';
import { badge, type PageContext, page, time } from './layout.ts';
import { safeUrl } from './model.ts';

export function renderPreviews(ctx: PageContext, open: readonly OpenPreview[]): Html {
  const body = open.length
    ? open.map(previewSection)
    : html`<p class="muted">No open pull request yet. Deliveries of pull_request (GitHub), Merge Request Hook (GitLab)
        and pullrequest:created / :updated (Bitbucket) to /webhook show up here.</p>`;
  return page(ctx, 'Pull requests', 'stack', html`<h1>Pull-request previews</h1>${body}`);
}

function previewSection(o: OpenPreview): Html {
  const link = safeUrl(o.pr.url);
  const title = `#${o.pr.number} ${o.pr.title ?? o.pr.headBranch}`;
  const p = o.preview;
  return html`<section class="preview" aria-labelledby="${`pr-${o.key.replace(/[^\w-]/g, '-')}`}">
  <h2 id="${`pr-${o.key.replace(/[^\w-]/g, '-')}`}">${link ? html`<a href="${link}" rel="noopener noreferrer">${title}</a>` : title}</h2>
  <p>${o.pr.repoName}: <code>${o.pr.headBranch}</code> → <code>${o.pr.baseBranch}</code>, newest push
    <code>${o.requested.slice(0, 7)}</code>${o.pr.fromFork ? ' (fork)' : ''}, updated ${time(o.updatedAt)}</p>
  ${
    p
      ? html`<p><strong>${headline(p)}</strong> at <code>${p.head.sha.slice(0, 7)}</code>
          (${p.mode === 'offline' ? 'offline diff' : 'change sets'}), ${p.unchanged} unchanged${
            p.head.sha.startsWith(o.requested) || o.requested.startsWith(p.head.sha)
              ? ''
              : html` <span class="muted">(a newer push is being previewed)</span>`
          }</p>
        ${p.configFailure ? html`<p class="sev-error">${where(p.configFailure)}${p.configFailure.message}</p>` : ''}
        ${p.stacks.length ? html`<ul class="preview-stacks">${p.stacks.map(stackItem)}</ul>` : ''}`
      : html`<p class="muted">${o.note ?? 'Preview in progress…'}</p>`
  }
</section>`;
}

function stackItem(s: PreviewStack): Html {
  const status =
    s.status === 'update' && (s.changes?.replaced.length ?? 0) > 0
      ? 'replace'
      : s.status === 'removed' && s.prune
        ? 'delete'
        : s.status;
  const label = status === 'failed' ? 'Failed' : status === 'removed' ? 'OutOfSync' : 'Progressing';
  const detail = s.failure
    ? html`${where(s.failure)}${s.failure.message}`
    : s.status === 'removed'
      ? s.prune
        ? 'deleted on merge'
        : 'removed from Git, kept (prune off)'
      : s.changes
        ? describeChanges(s.changes)
        : '';
  return html`<li>${badge(label, status)} <code>${s.key}</code> ${s.stackName} ${detail}${
    s.diffText && s.status !== 'removed' ? html`<details><summary>Diff</summary><pre>${s.diffText}</pre></details>` : ''
  }</li>`;
}

function where(f: { file?: string; line?: number }): string {
  return f.file ? `${f.file}${f.line ? `:${f.line}` : ''}: ` : '';
}
