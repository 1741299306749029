/**
 * The frame every view shares: landmarks, the navigation, the "Sync now" form when a sync can be started, and the
 * small pieces (badges, times, revision links) the views repeat. Status is always written out next to its colour.
 */
import type { GitOpsEvent } from '../../events/catalog.ts';
import { type Html, html } from './html.ts';
import { safeUrl, stackHref } from './model.ts';

export interface PageContext {
  /** `dev`: `gitops dev` (live events, Sync now); `web`: `gitops status --web` (state only). */
  readonly mode: 'dev' | 'web';
  /** The session token for POST /sync; present only where a sync can be started. */
  readonly token?: string;
}

/**
 * A status as text; its symbol (✓ ≠ ↻ ✗ …) and colour come from the stylesheet, keyed on the class. The symbol is
 * generated content with empty alternative text, so screen readers read the word once; one element per badge keeps
 * a page of 1,000 rows light.
 */
export function badge(status: string, label = status): Html {
  const cls = status.replace(/[^A-Za-z]/g, '');
  return html`<span class="badge b-${cls}">${label}</span>`;
}

/** `2024-05-01 10:00:00 UTC`, in a `<time>` element with the machine-readable value. */
export function time(iso: string | undefined): Html {
  if (!iso) return html`<span class="muted">never</span>`;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return html`${iso}`;
  const text = `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  return html`<time datetime="${date.toISOString()}">${text}</time>`;
}

/** The short SHA, linking to the commit when its URL is a safe one. */
export function revision(sha: string | undefined, url: string | undefined): Html {
  if (!sha) return html`<span class="muted">none</span>`;
  const short = sha.slice(0, 7);
  const href = safeUrl(url);
  return href
    ? html`<a class="sha" href="${href}" rel="noopener noreferrer" title="commit ${sha}">${short}</a>`
    : html`<code class="sha" title="${sha}">${short}</code>`;
}

/** One event of the feed: when, what, where, and the message. */
export function feedItem(event: GitOpsEvent): Html {
  const d = event.detail;
  const where = d.environment && d.stack ? `${d.environment}/${d.stack}` : (d.stack ?? d.environment ?? d.repo ?? '');
  const link =
    d.environment && d.stack ? html`<a href="${stackHref(d.environment, d.stack)}">${where}</a>` : html`${where}`;
  const rev = d.revision ?? d.commit?.sha;
  return html`<li class="sev-${d.severity}">${time(event.time)} <strong>${event.detailType}</strong> ${link} ${
    rev ? html`<code>${rev.slice(0, 7)}</code>` : ''
  } <span class="msg">${d.message}</span></li>`;
}

export function page(ctx: PageContext, title: string, current: 'stacks' | 'graph' | 'stack', body: Html): Html {
  const here = (name: string) => (current === name ? html` aria-current="page"` : '');
  const syncForm = ctx.token
    ? html`<form class="sync" method="post" action="/sync" id="sync-form">
        <input type="hidden" name="token" value="${ctx.token}">
        <button type="submit">Sync now</button>
        <span id="sync-status" role="status" aria-live="polite"></span>
      </form>`
    : html`<p class="sync muted">Read-only view of the state store</p>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · lambda-gitops</title>
<link rel="stylesheet" href="/assets/status.css">
<script src="/assets/status.js" defer></script>
</head>
<body data-mode="${ctx.mode}">
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <p class="brand"><a href="/">lambda-gitops</a> <span class="muted">${ctx.mode === 'dev' ? 'gitops dev' : 'status'}</span></p>
  <nav aria-label="Pages"><ul>
    <li><a href="/"${here('stacks')}>Stacks</a></li>
    <li><a href="/graph"${here('graph')}>Dependencies</a></li>
    ${ctx.mode === 'dev' ? html`<li><a href="/previews">Pull requests</a></li>` : ''}
  </ul></nav>
  ${ctx.mode === 'dev' ? html`<p id="live" class="muted">Live updates need JavaScript</p>` : ''}
  ${syncForm}
</header>
<main id="main" tabindex="-1">
${body}
</main>
<footer class="bottom"><p class="muted">${
    ctx.mode === 'dev'
      ? 'Live: the page updates as events arrive while gitops dev runs.'
      : 'Snapshot of the state store: reload for newer state. Live updates and Sync now need gitops dev.'
  }</p></footer>
</body>
</html>
`;
}
