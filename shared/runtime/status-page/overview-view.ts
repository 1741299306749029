/**
 * The overview: counts per sync status, the filter form (a GET form, so it works without JavaScript), one table row
 * per stack and environment, and the recent events. `rowHtml` and `countsHtml` are also what the live stream sends,
 * so a row updated in place looks exactly like one rendered with the page.
 */
import type { GitOpsEvent } from '../../events/catalog.ts';
import { type Html, html } from './html.ts';
import { badge, feedItem, type PageContext, page, revision, time } from './layout.ts';
import {
  filterQuery,
  type Overview,
  type OverviewFilter,
  type OverviewRow,
  PAGE_SIZE,
  SYNC_STATUSES,
} from './model.ts';

export function rowHtml(row: OverviewRow): Html {
  return html`<tr id="row-${row.key}" data-key="${row.key}">
<th scope="row"><a href="${row.href}">${row.stack}</a><span class="sub">${row.stackName}${row.region ? ` · ${row.region}` : ''}</span></th>
<td>${row.environment}</td>
<td>${badge(row.sync)}</td>
<td>${badge(row.drift, row.driftLabel)}</td>
<td>${badge(row.health)}</td>
<td>${revision(row.appliedRevision, row.safeCommitUrl)}</td>
<td>${time(row.lastTime)}${
    row.lastResult
      ? html`<span class="sub">${badge(row.lastResult)} ${row.lastReason ?? ''}</span>${
          row.lastMessage ? html`<span class="sub msg">${row.lastMessage}</span>` : ''
        }`
      : ''
  }</td>
</tr>`;
}

export function countsHtml(view: Pick<Overview, 'counts' | 'total' | 'filter'>): Html {
  const env = view.filter.environment ? { environment: view.filter.environment } : {};
  const link = (filter: OverviewFilter, current: boolean, content: Html) =>
    html`<li><a href="/${filterQuery(filter)}"${current ? html` aria-current="true"` : ''}>${content}</a></li>`;
  return html`<ul>
${link(env, !view.filter.status, html`<span class="count">${view.total}</span> All`)}
${SYNC_STATUSES.map((s) =>
  link({ ...env, status: s }, view.filter.status === s, html`<span class="count">${view.counts[s]}</span> ${badge(s)}`),
)}
</ul>`;
}

export function shownText(
  view: Pick<Overview, 'rows' | 'total'> & Partial<Pick<Overview, 'page' | 'pages' | 'matched'>>,
): string {
  if (!view.pages || view.pages <= 1 || !view.page) return `Showing ${view.rows.length} of ${view.total} stacks`;
  const from = (view.page - 1) * PAGE_SIZE + 1;
  return `Showing ${from}–${from + view.rows.length - 1} of ${view.matched} matching, ${view.total} stacks (page ${view.page} of ${view.pages})`;
}

/** Previous and next page links, keeping the filter; nothing when everything fits one page. */
function pager(view: Overview): Html | '' {
  if (view.pages <= 1) return '';
  const href = (page: number) => {
    const query = filterQuery(view.filter);
    return `/${query}${query ? '&' : '?'}page=${page}`;
  };
  return html`<nav class="pager" aria-label="Pages">
${view.page > 1 ? html`<a href="${href(view.page - 1)}" rel="prev">Previous page</a>` : ''}
<span>Page ${view.page} of ${view.pages}</span>
${view.page < view.pages ? html`<a href="${href(view.page + 1)}" rel="next">Next page</a>` : ''}
</nav>`;
}

function filterForm(view: Overview): Html {
  const option = (value: string, label: string, selected: boolean) =>
    html`<option value="${value}"${selected ? html` selected` : ''}>${label}</option>`;
  return html`<form class="filters" method="get" action="/" role="search" aria-label="Filter stacks">
  <label for="f-env">Environment</label>
  <select id="f-env" name="env">
    ${option('', 'All environments', !view.filter.environment)}
    ${view.environments.map((e) => option(e, e, view.filter.environment === e))}
  </select>
  <label for="f-status">Sync status</label>
  <select id="f-status" name="status">
    ${option('', 'All statuses', !view.filter.status)}
    ${SYNC_STATUSES.map((s) => option(s, s, view.filter.status === s))}
  </select>
  <button type="submit">Filter</button>
  ${view.filter.environment || view.filter.status ? html`<a href="/">Clear filters</a>` : ''}
</form>`;
}

export function renderOverview(
  ctx: PageContext,
  view: Overview,
  events: readonly GitOpsEvent[],
  notice?: string,
): Html {
  const body = html`
<h1>Stacks</h1>
${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
<nav class="counts" id="counts" aria-label="Stack counts">${countsHtml(view)}</nav>
${filterForm(view)}
<p id="shown" aria-live="polite">${shownText(view)}</p>
<div class="table-wrap">
<table class="stacks">
<caption class="visually-hidden">Stacks by environment: sync status, drift, health, applied revision and last sync</caption>
<thead><tr>
<th scope="col">Stack</th><th scope="col">Environment</th><th scope="col">Sync</th><th scope="col">Drift</th>
<th scope="col">Health</th><th scope="col">Revision</th><th scope="col">Last sync</th>
</tr></thead>
<tbody id="rows">
${view.rows.map(rowHtml)}
</tbody>
</table>
</div>
${pager(view)}
${
  view.rows.length === 0
    ? html`<p class="empty">${
        view.total === 0 ? 'No stack has been synced yet.' : 'No stack matches these filters.'
      }</p>`
    : ''
}
<section aria-labelledby="feed-title" class="feed">
<h2 id="feed-title">Recent events</h2>
<ol id="feed" reversed>
${[...events].reverse().map(feedItem)}
</ol>
${events.length === 0 ? html`<p class="muted" id="feed-empty">No events yet.</p>` : ''}
</section>`;
  return page(ctx, 'Stacks', 'stacks', body);
}
