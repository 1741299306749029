/**
 * Sync and status at scale: `stacks` services in one environment (one stack key each; 10,000 in the full run) in a
 * real Git repository, synced through the engine with the local adapters (FolderStateStore in a temp dir,
 * LocalApplier, a MemoryEventSink); then `gitops status` and the status page over the state it wrote.
 *
 * full:        the first sync of every stack: time, and peak memory of the process that ran it (maxRSS, plus the
 *              largest heap sampled while it ran), against the sync function's timeout and memory.
 * incremental: a commit that changes one service's template, then a sync: exactly that stack rendered and one
 *              `Apply Requested`; the time is a fraction of the full sync in the same process (median of 3).
 * status:      `node bin/gitops.js status --state <dir>` in a fresh process, wall time to exit (median of 3); the
 *              status page: `gitops status --web` in a fresh process, GET / of its first page to the last byte
 *              (median of 3).
 *
 * Runs in a child process of its own (peak memory belongs to this benchmark). Alone:
 * `node bin/run-ts.js bench/sync.ts [--quick]`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MemoryEventSink } from '../shared/adapters/local/index.ts';
import { sync } from '../shared/engine/sync.ts';
import { DetailType } from '../shared/events/catalog.ts';
import { FUNCTION_MEMORY_MB } from '../shared/function-env.ts';
import { PAGE_SIZE } from '../shared/runtime/status-page/model.ts';
import { makeGitEnv } from '../test/helpers/git-repo.ts';
import { figuresFromChild, printFigures } from './lib/child.ts';
import { changeOneTemplate, createDesiredRepo, stackName } from './lib/desired-repo.ts';
import { type Figure, formatTable, median } from './lib/figures.ts';
import { localEngine } from './lib/local-engine.ts';

const GITOPS_BIN = fileURLToPath(new URL('../bin/gitops.js', import.meta.url));
const STATUS_CLI_GOAL_S = 5;
const STATUS_PAGE_GOAL_MS = 1000;

const SYNC_MEMORY_MB = FUNCTION_MEMORY_MB.sync;
/** The sync function's timeout in the stack (stack/parts/functions.ts FUNCTION_SPECS). */
const SYNC_TIMEOUT_S = 300;

async function measure(stacks: number): Promise<Figure[]> {
  const root = mkdtempSync(join(tmpdir(), 'gitops-bench-sync-'));
  try {
    const genv = makeGitEnv(join(root, 'home'));
    const repo = join(root, 'repo');
    createDesiredRepo(genv, repo, stacks, ['prod']);
    const events = new MemoryEventSink({ max: 1_000_000 });
    const stateDir = join(root, 'state');
    const deps = localEngine(repo, stateDir, events);
    const keys = stacks;

    let peakHeap = 0;
    let peakRss = 0;
    const sample = () => {
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakRss = Math.max(peakRss, m.rss);
    };
    const sampler = setInterval(sample, 10);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const first = await sync(deps, {});
    const full = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const fullCpuS = (cpu.user + cpu.system) / 1e6;
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
      const expected = [`prod/${stackName(changed)}`];
      exact &&=
        JSON.stringify([...renderedKeys].sort()) === JSON.stringify(expected) &&
        JSON.stringify([...requestedKeys].sort()) === JSON.stringify(expected);
    }
    const inc = median(times);
    const label = `${stacks} stacks`;
    const cli = await statusCliSeconds(stateDir);
    const pageMs = await statusPageFirstPageMs(stateDir, stacks);
    return [
      {
        name: `sync full ${label}: time`,
        value: fullCpuS,
        unit: 's CPU',
        reference: `${keys} stacks (services in one environment) rendered, stored, applied with the local applier and recorded: CPU time of the process (the sync function's ${SYNC_MEMORY_MB} MB is one vCPU of its own; it hands the applies to the apply function, so this is an upper bound); ${(full / 1000).toFixed(0)} s wall on this shared machine at load average ${loadavg()[0]?.toFixed(1)}`,
        goal: `≤ ${SYNC_TIMEOUT_S} s (sync fn timeout)`,
        met: fullCpuS <= SYNC_TIMEOUT_S,
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
        unit: 'stacks',
        reference: `one template changed, 3 commits: rendered ${rendered.join('/')}; only the changed stack: ${exact}`,
        goal: '= 1',
        met: exact && rendered.every((r) => r === 1),
      },
      {
        name: `incremental sync ${label}: Apply Requested`,
        value: Math.max(...requested),
        unit: 'events',
        reference: `Apply Requested per commit ${requested.join('/')}, all for the changed stack: ${exact}`,
        goal: '= 1',
        met: exact && requested.every((r) => r === 1),
      },
      {
        name: `incremental sync ${label}: time vs full`,
        value: (inc / full) * 100,
        unit: '%',
        reference: `incremental ${inc.toFixed(0)} ms (median of 3) vs full ${full.toFixed(0)} ms, same process`,
        goal: '≤ 5 %',
        met: inc / full <= 0.05,
      },
      {
        name: `status ${label}: cli time`,
        value: cli.seconds,
        unit: 's',
        reference: `\`gitops status --state <dir>\` in a fresh process to exit, median of 3 (Node start and the TypeScript loader included); ${cli.lines} lines printed`,
        goal: `≤ ${STATUS_CLI_GOAL_S} s`,
        met: cli.seconds <= STATUS_CLI_GOAL_S,
      },
      {
        name: `status page ${label}: first page`,
        value: pageMs.ms,
        unit: 'ms',
        reference: `\`gitops status --web\` in a fresh process, GET / to the last byte, median of 3: ${PAGE_SIZE} rows of ${stacks}, counts over all; ${Math.round(pageMs.bytes / 1024)} KiB`,
        goal: `≤ ${STATUS_PAGE_GOAL_MS} ms`,
        met: pageMs.ms <= STATUS_PAGE_GOAL_MS,
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** `gitops status` as a user runs it: a fresh process over the state folder, wall time to exit (median of 3). */
async function statusCliSeconds(stateDir: string): Promise<{ seconds: number; lines: number }> {
  const times: number[] = [];
  let lines = 0;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const out = await new Promise<string>((ok, fail) => {
      const child = spawn(process.execPath, [GITOPS_BIN, 'status', '--state', stateDir], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        text += c;
      });
      child.once('close', (code) => (code === 0 ? ok(text) : fail(new Error(`gitops status exited with ${code}`))));
    });
    times.push((performance.now() - t) / 1000);
    lines = out.split('\n').length;
  }
  return { seconds: median(times), lines };
}

/**
 * The overview's first page as a user gets it: `gitops status --web --state <dir> --port <free port>` started in a fresh process
 * (nothing cached), then GET / to the last byte; median of 3 processes. The server's start is not counted: the page is
 * what the user waits for once it is up.
 */
/** A TCP port free on 127.0.0.1 right now (the OS picks it; the server is closed before the port is used). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  await new Promise((ok) => server.close(ok));
  return port;
}

async function statusPageFirstPageMs(stateDir: string, stacks: number): Promise<{ ms: number; bytes: number }> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 3; i++) {
    // The CLI takes ports 1-65535 only, so a free one is found first.
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [GITOPS_BIN, 'status', '--web', '--state', stateDir, '--port', String(port)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const url = await new Promise<string>((ok, fail) => {
        let text = '';
        child.stdout.setEncoding('utf8').on('data', (c: string) => {
          text += c;
          const found = /status page: (http:\/\/127\.0\.0\.1:\d+)\//.exec(text);
          if (found) ok(found[1]!);
        });
        child.once('close', (code) => fail(new Error(`gitops status --web exited with ${code}: ${text}`)));
      });
      const t = performance.now();
      const res = await fetch(`${url}/`);
      const body = await res.text();
      times.push(performance.now() - t);
      bytes = Buffer.byteLength(body);
      if (!res.ok || !body.includes(`${stacks} stacks`)) throw new Error(`status page answered ${res.status}`);
    } finally {
      child.kill('SIGINT');
      await new Promise((ok) => (child.exitCode === null ? child.once('close', ok) : ok(undefined)));
    }
  }
  return { ms: median(times), bytes };
}

const stacksFor = (quick: boolean) => (quick ? 1000 : 10_000);

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
