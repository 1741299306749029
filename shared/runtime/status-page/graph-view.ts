/**
 * The `dependsOn` graph as inline SVG, one figure per environment: columns by dependency depth, nodes coloured and
 * labelled by sync status, each a link to its stack page. A list says the same for screen readers and text browsers.
 */
import { type Html, html } from './html.ts';
import { badge, type PageContext, page } from './layout.ts';
import { type EnvironmentGraph, GRAPH } from './model.ts';

const SYMBOL: Readonly<Record<string, string>> = {
  Synced: '✓',
  OutOfSync: '≠',
  Progressing: '↻',
  Failed: '✗',
  Pending: '…',
};

function svg(graph: EnvironmentGraph, index: number): Html {
  const { nodeWidth, nodeHeight } = GRAPH;
  const arrow = `arrow-${index}`;
  const titleId = `graph-title-${index}`;
  const edges = graph.edges.map((e) => html`<path class="edge" d="${e.d}" marker-end="url(#${arrow})"/>`);
  const nodes = graph.nodes.map(
    (n) =>
      html`<a href="${n.href}" class="node n-${n.sync}"><title>${n.stack}: ${n.sync}${
        n.dependsOn.length ? `, depends on ${n.dependsOn.join(', ')}` : ''
      }</title><rect x="${n.x}" y="${n.y}" width="${nodeWidth}" height="${nodeHeight}" rx="6"/><text x="${n.x + 10}" y="${
        n.y + 17
      }" class="name">${truncate(n.stack, 22)}</text><text x="${n.x + 10}" y="${n.y + 32}" class="state">${SYMBOL[n.sync] ?? ''} ${n.sync}</text></a>`,
  );
  return html`<svg role="group" aria-labelledby="${titleId}" width="${graph.width}" height="${graph.height}" viewBox="0 0 ${graph.width} ${graph.height}" xmlns="http://www.w3.org/2000/svg">
<title id="${titleId}">Dependency graph of ${graph.environment}: ${graph.nodes.length} stacks, ${graph.edges.length} dependencies</title>
<defs><marker id="${arrow}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" class="arrowhead"/></marker></defs>
${edges}
${nodes}
</svg>`;
}

function textAlternative(graph: EnvironmentGraph): Html {
  return html`<details class="graph-text"><summary>The ${graph.environment} graph as a list</summary><ul>${graph.nodes.map(
    (n) =>
      html`<li><a href="${n.href}">${n.stack}</a> ${badge(n.sync)} — ${
        n.dependsOn.length ? `depends on ${n.dependsOn.join(', ')}` : 'depends on nothing'
      }</li>`,
  )}${graph.missing.map(
    (m) => html`<li>${m.key} depends on ${m.dependency}, which has no state yet</li>`,
  )}</ul></details>`;
}

export function renderGraph(ctx: PageContext, graphs: readonly EnvironmentGraph[], selected?: string): Html {
  const shown = selected ? graphs.filter((g) => g.environment === selected) : graphs;
  const body = html`<h1>Dependencies</h1>
<p>Each column is one level of <code>dependsOn</code>: stacks on the left are applied first. Select a stack to open it.</p>
${
  graphs.length > 1
    ? html`<nav aria-label="Environments" class="envs"><ul><li><a href="/graph"${selected ? '' : html` aria-current="true"`}>All</a></li>${graphs.map(
        (g) =>
          html`<li><a href="/graph?env=${encodeURIComponent(g.environment)}"${
            selected === g.environment ? html` aria-current="true"` : ''
          }>${g.environment}</a></li>`,
      )}</ul></nav>`
    : ''
}
${shown.length === 0 ? html`<p class="empty">No stack has been synced yet.</p>` : ''}
${shown.map(
  (g, i) => html`<section aria-labelledby="env-${i}" class="graph"><h2 id="env-${i}">${g.environment}</h2>
<div class="graph-wrap">${svg(g, i)}</div>
${textAlternative(g)}
</section>`,
)}`;
  return page(ctx, 'Dependencies', 'graph', body);
}

const truncate = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
