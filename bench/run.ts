/**
 * `npm run bench [-- --quick]`: every benchmark in bench/, one table, and bench/results/latest.json as
 * `{ machine, figures: [{ name, value, unit, reference, goal, met }] }`. Benchmarks are not tests: a missed goal is
 * printed and recorded, and never fails the run (the exit code is 0 unless a benchmark itself breaks).
 * `--only <part>` runs one of fetch, sync, webhook, init, drift (drift includes the fan-out, the drift run and cost),
 * cli, and replaces only that part's figures in latest.json (the others stay as they were);
 * `--node <path>` imports the bundles of the init figures with another `node` binary.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { benchCliStart } from './cli-start.ts';
import { benchColdStart } from './cold-start.ts';
import { costFigures } from './cost.ts';
import { benchDrift } from './drift.ts';
import { benchDriftFanOut } from './drift-fanout.ts';
import { measureDriftRun } from './drift-run.ts';
import { benchFetch } from './fetch.ts';
import { type Figure, formatTable } from './lib/figures.ts';
import { benchSync } from './sync.ts';
import { benchWebhook } from './webhook.ts';

export function describeMachine(): string {
  const cpu = cpus();
  return `${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, ${platform()} ${release()} ${arch()}, Node ${process.version}`;
}

const quick = process.argv.includes('--quick');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;
const nodeAt = process.argv.indexOf('--node');
/** Another `node` binary for the init figures (Lambda runs Node 22); the rest always runs on this process's Node. */
const node = nodeAt >= 0 ? process.argv[nodeAt + 1] : undefined;
const parts: [string, () => Promise<Figure[]>][] = [
  ['fetch', () => benchFetch({ quick })],
  ['sync', () => benchSync({ quick })],
  ['webhook', () => benchWebhook({ quick })],
  ['init', () => benchColdStart({ quick, node })],
  [
    'drift',
    async () => {
      const { figures } = await benchDrift({ quick });
      const fanOut = await benchDriftFanOut({ quick });
      const run = await measureDriftRun({ quick });
      return [...figures, ...fanOut.figures, ...run.figures, ...costFigures(fanOut.costs, run.costs)];
    },
  ],
  ['cli', () => benchCliStart({ quick })],
];

const machine = describeMachine();
console.log(`lambda-gitops benchmarks${quick ? ' (--quick)' : ''} on ${machine}\n`);
const figures: Figure[] = [];
const started = performance.now();
for (const [name, run] of parts) {
  if (only && only !== name) continue;
  const t = performance.now();
  process.stderr.write(`bench ${name}…`);
  figures.push(...(await run()));
  process.stderr.write(` ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
}
console.log(formatTable(figures));
const missed = figures.filter((f) => !f.met).length;
console.log(
  `\n${figures.length} figures, ${missed ? `${missed} goal(s) not met` : 'every goal met'} (${((performance.now() - started) / 1000).toFixed(0)} s${quick ? ', --quick' : ''})`,
);
const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
// `--only`: the other parts' figures stay (a re-measured figure keeps its place), so one part can be measured again
// without running everything.
const before =
  only && existsSync(`${dir}latest.json`)
    ? (JSON.parse(readFileSync(`${dir}latest.json`, 'utf8')) as { machine: string; figures: Figure[] })
    : undefined;
const previous = before?.figures ?? [];
const merged = [
  ...previous.map((f) => figures.find((n) => n.name === f.name) ?? f),
  ...figures.filter((n) => !previous.some((f) => f.name === n.name)),
];
writeFileSync(
  `${dir}latest.json`,
  `${JSON.stringify({ machine: before?.machine ?? machine, figures: merged }, null, 2)}\n`,
);
console.log(`written to bench/results/latest.json`);
