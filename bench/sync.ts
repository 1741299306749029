/**
 * Render and incremental sync: 1,000 services × 3 environments (3,000 stack keys) in a real Git repository, synced
 * through the engine with the local adapters (FolderStateStore in a temp dir, LocalApplier, a MemoryEventSink).
 *
 * full:        the first sync of every stack: time, and peak memory of the process that ran it (maxRSS, plus the
 *              largest heap sampled while it ran).
 * incremental: a commit that changes one service's template, then a sync. Decision on "exactly 1": the unit of change
 *              is one service, and a service's template is shared by its environments, so the goal is exactly that
 *              service's 3 stack keys (dev, staging, prod) rendered and 3 `Apply Requested` — no other stack key. The
 *              time is a fraction of the full sync measured in the same process (median of 3 increments).
 *
 * Runs in a child process of its own (peak memory belongs to this benchmark). Alone:
 * `node bin/run-ts.js bench/sync.ts [--quick]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MemoryEventSink } from '../shared/adapters/local/index.ts';
import { sync } from '../shared/engine/sync.ts';
import { DetailType } from '../shared/events/catalog.ts';
import { FUNCTION_MEMORY_MB } from '../shared/function-env.ts';
import { makeGitEnv } from '../test/helpers/git-repo.ts';
import { figuresFromChild, printFigures } from './lib/child.ts';
import { changeOneTemplate, createDesiredRepo, ENVIRONMENTS, stackName } from './lib/desired-repo.ts';
import { type Figure, formatTable, median } from './lib/figures.ts';
import { localEngine } from './lib/local-engine.ts';

const SYNC_MEMORY_MB = FUNCTION_MEMORY_MB.sync;
/** The sync function's timeout in the stack (stack/parts/functions.ts FUNCTION_SPECS). */
const SYNC_TIMEOUT_S = 300;

async function measure(stacks: number): Promise<Figure[]> {
  const root = mkdtempSync(join(tmpdir(), 'gitops-bench-sync-'));
  try {
    const genv = makeGitEnv(join(root, 'home'));
    const repo = join(root, 'repo');
    createDesiredRepo(genv, repo, stacks);
    const events = new MemoryEventSink({ max: 1_000_000 });
    const deps = localEngine(repo, join(root, 'state'), events);
    const keys = stacks * ENVIRONMENTS.length;

    let peakHeap = 0;
    let peakRss = 0;
    const sample = () => {
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakRss = Math.max(peakRss, m.rss);
    };
    const sampler = setInterval(sample, 10);
    const t0 = performance.now();
    const first = await sync(deps, {});
    const full = performance.now() - t0;
    clearInterval(sampler);
    sample();
    const maxRssMb = Math.max(process.resourceUsage().maxRSS / 1024, peakRss / 2 ** 20);
    const applied = first.results.filter((r) => r.outcome !== 'Failed').length;
    if (applied !== keys || first.failed.length) {
      throw new Error(`full sync applied ${applied} of ${keys} stacks (${first.failed.length} failed)`);
    }

    const times: number[] = [];
    const rendered: number[] = [];
    const requested: number[] = [];
    let exact = true;
    for (let n = 0; n < 3; n++) {
      const changed = Math.floor((stacks * (n + 1)) / 4);
      changeOneTemplate(genv, repo, changed, n + 1);
      events.clear();
      const t = performance.now();
      const report = await sync(deps, {});
      times.push(performance.now() - t);
      const renderedKeys = report.plan.prepared.outcome.rendered.map((r) => r.key);
      const requestedKeys = events.events
        .filter((e) => e.detailType === DetailType.ApplyRequested)
        .map((e) => `${e.detail.environment}/${e.detail.stack}`);
      rendered.push(renderedKeys.length);
      requested.push(requestedKeys.length);
      const expected = ENVIRONMENTS.map((env) => `${env}/${stackName(changed)}`).sort();
      exact &&=
        JSON.stringify([...renderedKeys].sort()) === JSON.stringify(expected) &&
        JSON.stringify([...requestedKeys].sort()) === JSON.stringify(expected);
    }
    const inc = median(times);
    const label = `${stacks} stacks × ${ENVIRONMENTS.length} env`;
    const perStack = `1 stack × ${ENVIRONMENTS.length} env = ${ENVIRONMENTS.length} keys`;
    return [
      {
        name: `sync full ${label}: time`,
        value: full / 1000,
        unit: 's',
        reference: `${keys} stack keys rendered, applied (local) and recorded: ${(full / keys).toFixed(1)} ms per key`,
        goal: `≤ ${SYNC_TIMEOUT_S} s (sync fn timeout)`,
        met: full / 1000 <= SYNC_TIMEOUT_S,
      },
      {
        name: `sync full ${label}: peak memory`,
        value: maxRssMb,
        unit: 'MB',
        reference: `maxRSS of the process; peak heap sampled ${(peakHeap / 2 ** 20).toFixed(0)} MB`,
        goal: `≤ ${SYNC_MEMORY_MB} MB (sync fn memory)`,
        met: maxRssMb <= SYNC_MEMORY_MB,
      },
      {
        name: `incremental sync ${label}: stacks rendered`,
        value: Math.max(...rendered),
        unit: 'keys',
        reference: `one template changed, 3 commits: rendered ${rendered.join('/')}; only the changed stack: ${exact}`,
        goal: `= ${perStack}`,
        met: exact && rendered.every((r) => r === ENVIRONMENTS.length),
      },
      {
        name: `incremental sync ${label}: Apply Requested`,
        value: Math.max(...requested),
        unit: 'events',
        reference: `Apply Requested per commit ${requested.join('/')}, all for the changed stack: ${exact}`,
        goal: `= ${perStack}`,
        met: exact && requested.every((r) => r === ENVIRONMENTS.length),
      },
      {
        name: `incremental sync ${label}: time vs full`,
        value: (inc / full) * 100,
        unit: '%',
        reference: `incremental ${inc.toFixed(0)} ms (median of 3) vs full ${full.toFixed(0)} ms, same process`,
        goal: '≤ 5 %',
        met: inc / full <= 0.05,
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const stacksFor = (quick: boolean) => (quick ? 200 : 1000);

/** Runs in a child process so its peak memory is its own. */
export function benchSync(opts: { quick: boolean }): Promise<Figure[]> {
  return figuresFromChild('bench/sync.ts', opts.quick ? ['--quick'] : []);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick');
  const figures = await measure(stacksFor(quick));
  if (process.argv.includes('--child')) printFigures(figures);
  else console.log(formatTable(figures));
}
