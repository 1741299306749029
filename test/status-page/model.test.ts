import { describe, expect, it } from 'vitest';
import type { Plan } from '../../shared/engine/plan.ts';
import { emptyChanges } from '../../shared/model.ts';
import { html } from '../../shared/runtime/status-page/html.ts';
import {
  changeSummaryText,
  filterQuery,
  graphLayout,
  overview,
  PAGE_SIZE,
  parseFilter,
  parseStackPath,
  planView,
  safeUrl,
} from '../../shared/runtime/status-page/model.ts';
import { renderOverview, rowHtml, shownText } from '../../shared/runtime/status-page/overview-view.ts';
import { applied, state } from './fixtures.ts';

const q = (text: string) => new URLSearchParams(text);

const states = [
  state('prod', 'web', { sync: 'Failed' }),
  state('dev', 'web', { sync: 'OutOfSync' }),
  state('dev', 'db'),
  state('prod', 'db', {
    drift: {
      status: 'Drifted',
      resources: [
        { logicalId: 'Table', type: 'AWS::DynamoDB::Table', status: 'MODIFIED', differences: [] },
        { logicalId: 'Queue', type: 'AWS::SQS::Queue', status: 'DELETED', differences: [] },
      ],
    },
  }),
];

describe('overview', () => {
  it('lists one row per stack and environment, by environment then stack, with counts per status', () => {
    // Act
    const view = overview(states, q(''));
    // Assess
    expect(view.rows.map((r) => r.key)).toEqual(['dev/db', 'dev/web', 'prod/db', 'prod/web']);
    expect(view.environments).toEqual(['dev', 'prod']);
    expect(view.counts).toEqual({ Synced: 2, OutOfSync: 1, Progressing: 0, Failed: 1, Pending: 0 });
    expect(view.total).toBe(4);
  });

  it('filters by environment and status; counts follow the environment so each status link shows its number', () => {
    const view = overview(states, q('env=prod&status=Failed'));
    expect(view.rows.map((r) => r.key)).toEqual(['prod/web']);
    expect(view.counts).toEqual({ Synced: 1, OutOfSync: 0, Progressing: 0, Failed: 1, Pending: 0 });
    expect(view.total).toBe(2);
  });

  it('pages on the server: PAGE_SIZE rows a page, counts over every page, an out-of-range page clamped', () => {
    const many = Array.from({ length: 250 }, (_, i) =>
      state('prod', `svc${String(i).padStart(3, '0')}`, i % 10 === 0 ? { sync: 'Failed' } : {}),
    );
    const first = overview(many, q(''));
    expect(first).toMatchObject({ page: 1, pages: 3, matched: 250, total: 250 });
    expect(first.rows).toHaveLength(PAGE_SIZE);
    expect(first.counts.Failed).toBe(25);
    expect(shownText(first)).toBe('Showing 1–100 of 250 matching, 250 stacks (page 1 of 3)');
    const last = overview(many, q('page=3'));
    expect(last.rows.map((r) => r.key)).toEqual(many.slice(200).map((s) => s.key));
    expect(overview(many, q('page=99')).page).toBe(3);
    expect(overview(many, q('page=-2')).page).toBe(1);
    expect(overview(many, q('page=abc')).page).toBe(1);
    // A filter pages its own matches; its links keep the filter.
    const failed = overview(many, q('status=Failed&page=2'));
    expect(failed).toMatchObject({ page: 1, pages: 1, matched: 25 });
    const html = renderOverview({ mode: 'web' }, overview(many, q('env=prod&page=2')), []).value;
    expect(html).toContain('href="/?env=prod&amp;page=1" rel="prev"');
    expect(html).toContain('href="/?env=prod&amp;page=3" rel="next"');
  });

  it('ignores unknown filter values instead of showing nothing', () => {
    expect(parseFilter(q('env=staging&status=Bogus'), ['dev', 'prod'])).toEqual({});
    expect(overview(states, q('env=staging')).rows).toHaveLength(4);
    // Without a list (the live stream), a well-formed name is kept, a path-like one is not.
    expect(parseFilter(q('env=qa'))).toEqual({ environment: 'qa' });
    expect(parseFilter(q('env=../x'))).toEqual({});
  });

  it('round-trips a filter through its query string', () => {
    expect(filterQuery({ environment: 'prod', status: 'Failed' })).toBe('?env=prod&status=Failed');
    expect(filterQuery({})).toBe('');
    expect(parseFilter(q(filterQuery({ environment: 'dev', status: 'Synced' }).slice(1)), ['dev'])).toEqual({
      environment: 'dev',
      status: 'Synced',
    });
  });

  it('shows drift with the count of drifted resources, a short SHA and only http(s) commit links', () => {
    const sha = '0123456789abcdef0123456789abcdef01234567';
    const view = overview(
      [
        ...states,
        state('qa', 'a', { lastApplied: applied(sha, 'https://github.com/acme/infra/commit/0123456') }),
        state('qa', 'b', { lastApplied: applied(sha, 'javascript:alert(1)') }),
      ],
      q(''),
    );
    const byKey = new Map(view.rows.map((r) => [r.key, r]));
    expect(byKey.get('prod/db')?.driftLabel).toBe('Drifted (2)');
    expect(byKey.get('dev/db')?.driftLabel).toBe('InSync');
    expect(byKey.get('qa/a')?.shortRevision).toBe('0123456');
    expect(byKey.get('qa/a')?.safeCommitUrl).toBe('https://github.com/acme/infra/commit/0123456');
    expect(byKey.get('qa/b')?.safeCommitUrl).toBeUndefined();
    expect(byKey.get('qa/b')?.href).toBe('/stacks/qa/b');
  });

  it('escapes everything from the state when a row is rendered', () => {
    const view = overview(
      [
        state('dev', 'web', {
          lastAttempted: {
            revision: 'abc',
            at: '2024-05-01T10:00:00.000Z',
            result: 'Failed',
            reason: 'ApplyFailed',
            message: '<img src=x onerror=alert(1)> "quoted"',
          },
        }),
      ],
      q(''),
    );
    const text = rowHtml(view.rows[0]!).value;
    expect(text).toContain('&lt;img src=x onerror=alert(1)&gt; &quot;quoted&quot;');
    expect(text).not.toContain('<img');
    expect(html`<p>${'<b>'}${html`<i>ok</i>`}</p>`.value).toBe('<p>&lt;b&gt;<i>ok</i></p>');
  });
});

describe('parseStackPath', () => {
  it('reads the environment and stack of /stacks/<env>/<stack>', () => {
    expect(parseStackPath('/stacks/prod/web')).toEqual({ environment: 'prod', stack: 'web', key: 'prod/web' });
  });

  it('refuses anything that could name another file: encoded separators, dot segments, extra segments', () => {
    expect(parseStackPath('/stacks/prod/..')).toBeUndefined();
    expect(parseStackPath('/stacks/prod/a%2Fb')).toBeUndefined();
    expect(parseStackPath('/stacks/prod/web/extra')).toBeUndefined();
    expect(parseStackPath('/stacks/%E0%A4%A/web')).toBeUndefined();
    expect(parseStackPath('/graph')).toBeUndefined();
  });
});

describe('graphLayout', () => {
  const graph = graphLayout([
    state('dev', 'api', { dependsOn: ['dev/network', 'dev/data'] }),
    state('dev', 'data', { dependsOn: ['dev/network'], sync: 'Failed' }),
    state('dev', 'network'),
    state('dev', 'monitoring', { dependsOn: ['dev/api', 'dev/alerts'] }),
    state('prod', 'network'),
  ]);

  it('draws one graph per environment with columns by dependency depth', () => {
    expect(graph.map((g) => g.environment)).toEqual(['dev', 'prod']);
    const dev = graph[0]!;
    const depth = Object.fromEntries(dev.nodes.map((n) => [n.stack, n.depth]));
    expect(depth).toEqual({ network: 0, data: 1, api: 2, monitoring: 3 });
    const x = Object.fromEntries(dev.nodes.map((n) => [n.stack, n.x]));
    expect(x.network).toBeLessThan(x.data!);
    expect(x.data).toBeLessThan(x.api!);
    expect(dev.nodes.find((n) => n.stack === 'data')?.sync).toBe('Failed');
  });

  it('points every edge from a dependency to its dependent, left to right, and lists unknown dependencies', () => {
    const dev = graph[0]!;
    expect(dev.edges.map((e) => `${e.from}->${e.to}`)).toEqual([
      'dev/api->dev/monitoring',
      'dev/data->dev/api',
      'dev/network->dev/api',
      'dev/network->dev/data',
    ]);
    for (const e of dev.edges) expect(e.x1).toBeLessThan(e.x2);
    expect(dev.missing).toEqual([{ key: 'dev/monitoring', dependency: 'dev/alerts' }]);
    // network -> api skips the data column: it bows below the row instead of running through the data node.
    const skip = dev.edges.find((e) => e.from === 'dev/network' && e.to === 'dev/api')!;
    const lowest = Math.max(
      ...skip.d
        .match(/-?\d+(\.\d+)?/g)!
        .map(Number)
        .filter((_, i) => i % 2 === 1),
    );
    expect(lowest).toBeGreaterThan(skip.y1 + 20);
    expect(dev.width).toBeGreaterThan(Math.max(...dev.nodes.map((n) => n.x)));
  });

  it('stops on a dependency cycle in old state instead of looping', () => {
    const [cyclic] = graphLayout([
      state('dev', 'a', { dependsOn: ['dev/b'] }),
      state('dev', 'b', { dependsOn: ['dev/a'] }),
    ]);
    expect(cyclic?.nodes).toHaveLength(2);
    expect(cyclic?.edges).toHaveLength(2);
  });
});

describe('change summaries and plans', () => {
  it('summarises added, modified, removed and replaced resources', () => {
    expect(changeSummaryText(emptyChanges())).toBe('no resource changes');
    expect(
      changeSummaryText({
        ...emptyChanges(),
        added: ['Queue', 'Topic'],
        modified: ['Table'],
        removed: ['Old'],
        replaced: ['Bucket'],
        parametersChanged: ['Size'],
      }),
    ).toBe('2 added (Queue, Topic), 1 modified (Table), 1 removed (Old), 1 replaced (Bucket), parameters: Size');
  });

  it("takes the stack's entry of a plan and removes terminal colours from its diff", () => {
    const plan = {
      snapshot: { repo: '/repo', branch: 'main', commit: { sha: 'b'.repeat(40), url: 'javascript:x' } },
      prepared: {},
      entries: [
        {
          key: 'dev/web',
          stack: 'web',
          environment: 'dev',
          action: 'update',
          stackName: 'dev-web',
          region: 'eu-west-1',
          message: 'update to bbbbbbb',
          preview: {
            changes: { ...emptyChanges(), modified: ['Queue'] },
            diffText: '\u001b[33m~ Queue\u001b[0m',
            hasChanges: true,
          },
        },
      ],
    } as unknown as Plan;
    const view = planView(plan, 'dev/web');
    expect(view).toMatchObject({ kind: 'plan', branch: 'main', entry: { action: 'update', diffText: '~ Queue' } });
    expect(view).not.toHaveProperty('commitUrl');
    expect(planView(plan, 'dev/other')).toMatchObject({ kind: 'plan', revision: 'b'.repeat(40) });
    expect(safeUrl('http://example.com/x')).toBe('http://example.com/x');
  });
});
