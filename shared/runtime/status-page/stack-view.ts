/**
 * One stack in one environment: its status, the plan against the branch head, drifted resources with their property
 * differences, outputs, sync history and recent events.
 */
import type { GitOpsEvent } from '../../events/catalog.ts';
import type { HistoryRecord, StackState } from '../../model.ts';
import { type Html, html } from './html.ts';
import { badge, feedItem, type PageContext, page, revision, time } from './layout.ts';
import { changeSummaryText, type PlanView, stackHref } from './model.ts';

export interface StackPageData {
  readonly state: StackState;
  readonly history: readonly HistoryRecord[];
  readonly plan: PlanView;
  /** Newest last. */
  readonly events: readonly GitOpsEvent[];
}

function summary(s: StackState): Html {
  const applied = s.lastApplied;
  const attempted = s.lastAttempted;
  const dependency = (key: string) => {
    const [env, stack] = key.split('/');
    return env && stack ? html`<a href="${stackHref(env, stack)}">${stack}</a>` : html`${key}`;
  };
  return html`<dl class="facts">
<div><dt>Sync</dt><dd>${badge(s.sync)}</dd></div>
<div><dt>Drift</dt><dd>${badge(s.drift.status, s.drift.status === 'Drifted' ? `Drifted (${s.drift.resources.length})` : s.drift.status)}${
    s.drift.checkedAt ? html` <span class="sub">checked ${time(s.drift.checkedAt)}</span>` : ''
  }</dd></div>
<div><dt>Health</dt><dd>${badge(s.health)}</dd></div>
<div><dt>Applied revision</dt><dd>${revision(applied?.revision, applied?.commit.url)}${
    applied?.commit.message ? html` <span class="msg">${firstLine(applied.commit.message)}</span>` : ''
  }${applied ? html` <span class="sub">at ${time(applied.at)}</span>` : ''}</dd></div>
<div><dt>Last attempt</dt><dd>${
    attempted
      ? html`${badge(attempted.result)} ${attempted.reason} ${time(attempted.at)} <span class="sub msg">${attempted.message}</span>`
      : html`<span class="muted">none</span>`
  }</dd></div>
<div><dt>CloudFormation stack</dt><dd><code>${s.stackName}</code> in ${s.region}</dd></div>
<div><dt>Source</dt><dd>${s.repo} <span class="muted">branch</span> ${s.branch}${
    s.headRevision ? html` <span class="muted">head</span> <code>${s.headRevision.slice(0, 7)}</code>` : ''
  }</dd></div>
<div><dt>Depends on</dt><dd>${
    s.dependsOn.length
      ? s.dependsOn.map((k, i) => html`${i ? ', ' : ''}${dependency(k)}`)
      : html`<span class="muted">nothing</span>`
  }</dd></div>
</dl>`;
}

function planSection(plan: PlanView): Html {
  let content: Html;
  if (plan.kind === 'unavailable') content = html`<p class="muted">${plan.message}</p>`;
  else if (plan.kind === 'error') content = html`<p class="error">The plan could not be computed: ${plan.message}</p>`;
  else {
    const head = html`<p>Against <strong>${plan.branch}</strong> at ${revision(plan.revision, plan.commitUrl)} of <code>${plan.repo}</code>.</p>`;
    const e = plan.entry;
    content = e
      ? html`${head}<p><span class="action a-${e.action}">${e.action}</span> ${e.message}</p>${
          e.changes ? html`<p>${changeSummaryText(e.changes)}</p>` : ''
        }${e.diffText ? html`<pre class="diff" tabindex="0" aria-label="Template diff">${e.diffText.trimEnd()}</pre>` : ''}`
      : html`${head}<p>The branch head no longer declares this stack.</p>`;
  }
  return html`<section aria-labelledby="plan-title" id="plan"><h2 id="plan-title">Plan against the branch head</h2>${content}</section>`;
}

function driftSection(s: StackState): Html {
  const drifted = s.drift.resources.filter((r) => r.status === 'MODIFIED' || r.status === 'DELETED');
  if (!drifted.length) {
    const text =
      s.drift.status === 'NotChecked' ? 'Drift has not been checked yet.' : 'No resource differs from its template.';
    return html`<section aria-labelledby="drift-title" id="drift"><h2 id="drift-title">Drifted resources</h2><p class="muted">${text}</p></section>`;
  }
  return html`<section aria-labelledby="drift-title" id="drift"><h2 id="drift-title">Drifted resources</h2>
<div class="table-wrap"><table>
<caption class="visually-hidden">Drifted resources and their property differences</caption>
<thead><tr><th scope="col">Resource</th><th scope="col">Status</th><th scope="col">Property</th><th scope="col">Expected</th><th scope="col">Actual</th><th scope="col">Difference</th></tr></thead>
<tbody>${drifted.map((r) => {
    const diffs = r.differences.length ? r.differences : [{ path: '', kind: r.status === 'DELETED' ? 'deleted' : '' }];
    return diffs.map(
      (d, i) =>
        html`<tr>${
          i === 0
            ? html`<th scope="row" rowspan="${diffs.length}">${r.logicalId}<span class="sub">${r.type}${r.physicalId ? ` · ${r.physicalId}` : ''}</span></th><td rowspan="${diffs.length}">${r.status}</td>`
            : ''
        }<td><code>${d.path}</code></td><td><code>${'expected' in d ? (d.expected ?? '') : ''}</code></td><td><code>${
          'actual' in d ? (d.actual ?? '') : ''
        }</code></td><td>${d.kind}</td></tr>`,
    );
  })}</tbody></table></div></section>`;
}

function outputsSection(s: StackState): Html {
  const outputs = Object.entries(s.lastApplied?.outputs ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return html`<section aria-labelledby="outputs-title" id="outputs"><h2 id="outputs-title">Outputs</h2>${
    outputs.length
      ? html`<div class="table-wrap"><table><caption class="visually-hidden">Stack outputs</caption>
<thead><tr><th scope="col">Output</th><th scope="col">Value</th></tr></thead>
<tbody>${outputs.map(([k, v]) => html`<tr><th scope="row">${k}</th><td><code>${v}</code></td></tr>`)}</tbody></table></div>`
      : html`<p class="muted">No outputs recorded.</p>`
  }</section>`;
}

function historySection(history: readonly HistoryRecord[]): Html {
  return html`<section aria-labelledby="history-title" id="history"><h2 id="history-title">Sync history</h2>${
    history.length
      ? html`<div class="table-wrap"><table><caption class="visually-hidden">The last ${history.length} sync attempts, newest first</caption>
<thead><tr><th scope="col">Finished</th><th scope="col">Result</th><th scope="col">Revision</th><th scope="col">Changes</th><th scope="col">Message</th></tr></thead>
<tbody>${history.map(
          (h) =>
            html`<tr><td>${time(h.finishedAt)}</td><td>${badge(h.result)} <span class="sub">${h.reason}</span></td><td>${revision(
              h.revision,
              h.commit.url,
            )}${h.commit.message ? html`<span class="sub">${firstLine(h.commit.message)}</span>` : ''}</td><td>${changeSummaryText(
              h.changes,
            )}</td><td class="msg">${h.message}</td></tr>`,
        )}</tbody></table></div>`
      : html`<p class="muted">No sync recorded yet.</p>`
  }</section>`;
}

export function renderStackPage(ctx: PageContext, data: StackPageData): Html {
  const s = data.state;
  const body = html`
<nav aria-label="Breadcrumb" class="crumbs"><ol><li><a href="/">Stacks</a></li><li><a href="/?env=${encodeURIComponent(s.environment)}">${s.environment}</a></li><li><a href="${stackHref(s.environment, s.stack)}" aria-current="page">${s.stack}</a></li></ol></nav>
<h1>${s.stack} <span class="muted">in ${s.environment}</span></h1>
<div id="stack" data-key="${s.key}">
${summary(s)}
${planSection(data.plan)}
${driftSection(s)}
${outputsSection(s)}
${historySection(data.history)}
<section aria-labelledby="feed-title" class="feed"><h2 id="feed-title">Recent events</h2>
<ol id="feed" reversed>${[...data.events].reverse().map(feedItem)}</ol>
${data.events.length === 0 ? html`<p class="muted" id="feed-empty">No events for this stack.</p>` : ''}
</section>
</div>`;
  return page(ctx, `${s.stack} (${s.environment})`, 'stack', body);
}

export function renderNotFound(ctx: PageContext, what: string): Html {
  return page(
    ctx,
    'Not found',
    'stack',
    html`<h1>Not found</h1><p>${what}</p><p><a href="/">Back to all stacks</a></p>`,
  );
}

const firstLine = (text: string) => text.split('\n')[0] ?? '';
