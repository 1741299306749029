/**
 * The status page's model: pure functions from stored state to what the page shows (rows, counts, filters, the
 * dependency graph's layout). No I/O and no HTML here, so every rule of the page can be tested without a server.
 */

import type { Plan } from '../../engine/plan.ts';
import { type StatusRow, statusRows } from '../../engine/status.ts';
import type { ChangeSummary, StackKey, StackState, SyncStatus } from '../../model.ts';

export const SYNC_STATUSES: readonly SyncStatus[] = ['Synced', 'OutOfSync', 'Progressing', 'Failed', 'Pending'];

/** The same segment rule as stack keys in the state store: no separators, no dot segments. */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** What the overview shows: one environment or all, one sync status or all. */
export interface OverviewFilter {
  readonly environment?: string;
  readonly status?: SyncStatus;
}

/**
 * Reads the filter from the query (`?env=prod&status=Failed`), so a filtered view is a plain link that works without
 * JavaScript. Unknown values are dropped rather than matching nothing: a stale bookmark still shows the stacks.
 */
export function parseFilter(params: URLSearchParams, environments?: readonly string[]): OverviewFilter {
  const env = params.get('env') ?? '';
  const status = params.get('status') ?? '';
  // Without a list of environments (the live stream), any well-formed name is kept.
  const knownEnv = environments ? environments.includes(env) : SEGMENT.test(env);
  return {
    ...(knownEnv ? { environment: env } : {}),
    ...((SYNC_STATUSES as readonly string[]).includes(status) ? { status: status as SyncStatus } : {}),
  };
}

/** The query string of a filter (`?env=prod&status=Failed`, or '' for everything). */
export function filterQuery(filter: OverviewFilter): string {
  const params = new URLSearchParams();
  if (filter.environment) params.set('env', filter.environment);
  if (filter.status) params.set('status', filter.status);
  const text = params.toString();
  return text ? `?${text}` : '';
}

export const matches = (row: Pick<StatusRow, 'environment' | 'sync'>, filter: OverviewFilter): boolean =>
  (!filter.environment || row.environment === filter.environment) && (!filter.status || row.sync === filter.status);

export interface OverviewRow extends StatusRow {
  /** The stack page: `/stacks/<env>/<stack>`. */
  readonly href: string;
  /** `Drifted (2)`, `InSync`, `NotChecked`. */
  readonly driftLabel: string;
  readonly shortRevision?: string;
  /** The commit link, only when it is an http(s) URL (a `javascript:` URL in state must never become a link). */
  readonly safeCommitUrl?: string;
}

/** Rows per page of the overview: the page is paged, filtered and counted on the server, whatever the stack count. */
export const PAGE_SIZE = 100;

export interface Overview {
  readonly filter: OverviewFilter;
  /** 1-based, within 1..pages. */
  readonly page: number;
  readonly pages: number;
  /** Rows the filter keeps over every page. */
  readonly matched: number;
  readonly environments: readonly string[];
  /** Rows of this page the filter keeps, by environment then stack. */
  readonly rows: readonly OverviewRow[];
  /** Per sync status, over the environment the filter selects (not its status): what each status link would show. */
  readonly counts: Readonly<Record<SyncStatus, number>>;
  /** Stacks in the selected environment (all environments when none is selected). */
  readonly total: number;
}

export function overview(states: readonly StackState[], params: URLSearchParams): Overview {
  const environments = [...new Set(states.map((s) => s.environment))].sort();
  const filter = parseFilter(params, environments);
  const inEnvironment = statusRows(states).filter((r) =>
    matches(r, { ...(filter.environment ? { environment: filter.environment } : {}) }),
  );
  const matching = inEnvironment.filter((r) => matches(r, filter));
  const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
  const asked = Number.parseInt(params.get('page') ?? '1', 10);
  const page = Number.isFinite(asked) ? Math.min(pages, Math.max(1, asked)) : 1;
  return {
    filter,
    environments,
    page,
    pages,
    matched: matching.length,
    // Only the page's rows become view rows (links, labels, safe URLs): the cost of a page does not grow with stacks.
    rows: matching.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE).map(toOverviewRow),
    counts: countStatuses(inEnvironment),
    total: inEnvironment.length,
  };
}

export function countStatuses(rows: readonly Pick<StatusRow, 'sync'>[]): Record<SyncStatus, number> {
  const counts = Object.fromEntries(SYNC_STATUSES.map((s) => [s, 0])) as Record<SyncStatus, number>;
  for (const row of rows) counts[row.sync] = (counts[row.sync] ?? 0) + 1;
  return counts;
}

export function toOverviewRow(row: StatusRow): OverviewRow {
  const url = safeUrl(row.commitUrl);
  return {
    ...row,
    href: stackHref(row.environment, row.stack),
    driftLabel: row.drift === 'Drifted' ? `Drifted (${row.driftedResources})` : row.drift,
    ...(row.appliedRevision ? { shortRevision: row.appliedRevision.slice(0, 7) } : {}),
    ...(url ? { safeCommitUrl: url } : {}),
  };
}

export const stackHref = (environment: string, stack: string): string =>
  `/stacks/${encodeURIComponent(environment)}/${encodeURIComponent(stack)}`;

/** `/stacks/<env>/<stack>` → its key, or undefined for any other path (including encoded separators). */
export function parseStackPath(pathname: string): { environment: string; stack: string; key: StackKey } | undefined {
  const match = /^\/stacks\/([^/]+)\/([^/]+)\/?$/.exec(pathname);
  if (!match) return undefined;
  let environment: string;
  let stack: string;
  try {
    environment = decodeURIComponent(match[1]!);
    stack = decodeURIComponent(match[2]!);
  } catch {
    return undefined;
  }
  if (!SEGMENT.test(environment) || !SEGMENT.test(stack)) return undefined;
  return { environment, stack, key: `${environment}/${stack}` };
}

/** Only absolute http(s) URLs become links. */
export function safeUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** One line for a history record: `2 added (Queue, Topic), 1 modified (Table)`, or `no resource changes`. */
export function changeSummaryText(changes: ChangeSummary | undefined): string {
  if (!changes) return 'no resource changes';
  const parts: string[] = [];
  const list = (ids: readonly string[]) => (ids.length <= 5 ? ids.join(', ') : `${ids.slice(0, 5).join(', ')}, …`);
  for (const [label, ids] of [
    ['added', changes.added],
    ['modified', changes.modified],
    ['removed', changes.removed],
    ['replaced', changes.replaced],
  ] as const) {
    if (ids.length) parts.push(`${ids.length} ${label} (${list(ids)})`);
  }
  if (changes.parametersChanged.length) parts.push(`parameters: ${list(changes.parametersChanged)}`);
  if (changes.tagsChanged.length) parts.push(`tags: ${list(changes.tagsChanged)}`);
  return parts.length ? parts.join(', ') : 'no resource changes';
}

// ---------------------------------------------------------------- dependency graph

export interface GraphNode {
  readonly key: StackKey;
  readonly stack: string;
  readonly sync: SyncStatus;
  readonly href: string;
  /** Longest chain of dependencies below this stack: 0 for a stack that depends on nothing. */
  readonly depth: number;
  readonly x: number;
  readonly y: number;
  /** Stacks of this environment it depends on (only those that exist in the state). */
  readonly dependsOn: readonly string[];
}

export interface GraphEdge {
  readonly from: StackKey;
  readonly to: StackKey;
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
  /** The SVG path: an S-curve to the next column; an edge that skips columns bows below the row it would cross. */
  readonly d: string;
}

export interface EnvironmentGraph {
  readonly environment: string;
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly GraphNode[];
  /** From a dependency to its dependent (left to right). */
  readonly edges: readonly GraphEdge[];
  /** `dependsOn` entries naming a stack that has no state (yet): listed in the text alternative. */
  readonly missing: readonly { readonly key: StackKey; readonly dependency: StackKey }[];
}

export const GRAPH = { nodeWidth: 180, nodeHeight: 40, columnGap: 60, rowGap: 16, padding: 12, bend: 60 } as const;

/**
 * A layered layout per environment: a stack's column is its dependency depth, so every edge points right, and
 * stacks of one column are sorted by name. Cycles (which the renderer rejects, but state may be old) are cut where
 * they are found instead of looping.
 */
export function graphLayout(states: readonly StackState[]): EnvironmentGraph[] {
  const byEnvironment = new Map<string, StackState[]>();
  for (const s of states) byEnvironment.set(s.environment, [...(byEnvironment.get(s.environment) ?? []), s]);
  return [...byEnvironment.keys()].sort().map((env) => layoutEnvironment(env, byEnvironment.get(env)!));
}

function layoutEnvironment(environment: string, states: readonly StackState[]): EnvironmentGraph {
  const byKey = new Map(states.map((s) => [s.key, s]));
  const depth = new Map<StackKey, number>();
  const visiting = new Set<StackKey>();
  const depthOf = (key: StackKey): number => {
    const known = depth.get(key);
    if (known !== undefined) return known;
    if (visiting.has(key)) return -1;
    visiting.add(key);
    let d = 0;
    for (const dep of byKey.get(key)?.dependsOn ?? []) {
      if (byKey.has(dep)) d = Math.max(d, depthOf(dep) + 1);
    }
    visiting.delete(key);
    depth.set(key, d);
    return d;
  };

  const columns = new Map<number, StackState[]>();
  for (const s of [...states].sort((a, b) => a.stack.localeCompare(b.stack))) {
    const d = depthOf(s.key);
    columns.set(d, [...(columns.get(d) ?? []), s]);
  }
  const { nodeWidth, nodeHeight, columnGap, rowGap, padding } = GRAPH;
  const nodes: GraphNode[] = [];
  for (const [d, column] of columns) {
    column.forEach((s, i) => {
      nodes.push({
        key: s.key,
        stack: s.stack,
        sync: s.sync,
        href: stackHref(s.environment, s.stack),
        depth: d,
        x: padding + d * (nodeWidth + columnGap),
        y: padding + i * (nodeHeight + rowGap),
        dependsOn: s.dependsOn.filter((k) => byKey.has(k)).map((k) => byKey.get(k)!.stack),
      });
    });
  }
  nodes.sort((a, b) => a.depth - b.depth || a.stack.localeCompare(b.stack));
  const position = new Map(nodes.map((n) => [n.key, n]));
  const edges: GraphEdge[] = [];
  const missing: { key: StackKey; dependency: StackKey }[] = [];
  let bows = false;
  for (const s of states) {
    const to = position.get(s.key)!;
    for (const dep of s.dependsOn) {
      const from = position.get(dep);
      if (!from) {
        missing.push({ key: s.key, dependency: dep });
        continue;
      }
      const [x1, y1, x2, y2] = [from.x + nodeWidth, from.y + nodeHeight / 2, to.x, to.y + nodeHeight / 2];
      const skips = to.depth - from.depth > 1;
      const mid = (x1 + x2) / 2;
      const d = skips
        ? `M${x1} ${y1} C${x1 + GRAPH.bend} ${y1 + GRAPH.bend} ${x2 - GRAPH.bend} ${y2 + GRAPH.bend} ${x2} ${y2}`
        : `M${x1} ${y1} C${mid} ${y1} ${mid} ${y2} ${x2} ${y2}`;
      edges.push({ from: dep, to: s.key, x1, y1, x2, y2, d });
      if (skips) bows = true;
    }
  }
  const deepest = Math.max(0, ...nodes.map((n) => n.depth));
  const tallest = Math.max(0, ...[...columns.values()].map((c) => c.length));
  return {
    environment,
    width: 2 * padding + (deepest + 1) * nodeWidth + deepest * columnGap,
    // A bowed edge dips about 3/4 of `bend` below its row's centre: room for it under the last row.
    height:
      2 * padding +
      tallest * nodeHeight +
      Math.max(0, tallest - 1) * rowGap +
      (bows ? Math.ceil(0.75 * GRAPH.bend - nodeHeight / 2) : 0),
    nodes,
    edges: edges.sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to)),
    missing,
  };
}

// ---------------------------------------------------------------- plan

/** The stack page's plan section: the same entry `gitops plan --env E --stack S` prints, or why there is none. */
export type PlanView =
  | { readonly kind: 'unavailable'; readonly message: string }
  | { readonly kind: 'error'; readonly message: string }
  | {
      readonly kind: 'plan';
      readonly repo: string;
      readonly branch: string;
      readonly revision: string;
      readonly commitUrl?: string;
      /** Absent when the branch head no longer declares the stack. */
      readonly entry?: {
        readonly action: string;
        readonly message: string;
        readonly diffText?: string;
        readonly changes?: ChangeSummary;
      };
    };

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** Picks the stack's entry out of a plan; colour codes are removed (the runtime may colour diffs for its terminal). */
export function planView(plan: Plan, key: StackKey): PlanView {
  const entry = plan.entries.find((e) => e.key === key);
  const url = safeUrl(plan.snapshot.commit.url);
  return {
    kind: 'plan',
    repo: plan.snapshot.repo,
    branch: plan.snapshot.branch,
    revision: plan.snapshot.commit.sha,
    ...(url ? { commitUrl: url } : {}),
    ...(entry
      ? {
          entry: {
            action: entry.action,
            message: entry.message,
            ...(entry.preview?.diffText ? { diffText: entry.preview.diffText.replace(ANSI, '') } : {}),
            ...(entry.preview ? { changes: entry.preview.changes } : {}),
          },
        }
      : {}),
  };
}
