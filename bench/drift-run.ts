/**
 * One scheduled drift run without the CloudFormation waits: what the drift function spends besides them, for the cost
 * (bench/cost.ts) and for its memory size. bench/drift.ts measures the waits and the calls.
 *
 * The parent commits a desired-state repository of `services` × 3 environments, serves it with `git http-backend` on
 * loopback, and syncs it once with the local adapters so every stack has applied state. A fresh child process then
 * runs `checkDrift` the way the drift function does: a remote fetch into an empty cache, every stack rendered and its
 * state read, each stack handed to a detector that answers at once. Figures: the child's CPU time for the run, and its
 * peak memory (maxRSS: Node, the TypeScript loader, every module and the run; a bundle in Lambda carries less).
 *
 * The SDK's own work per CloudFormation call (signing, serializing, parsing the XML answer) is measured apart: real
 * CloudFormationClient calls against a loopback HTTP server that answers with canned CloudFormation XML, CPU time per
 * call, the server's share included.
 *
 * Alone: `node bin/run-ts.js bench/drift-run.ts [--quick]`.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CloudFormationClient, DescribeStackDriftDetectionStatusCommand } from '@aws-sdk/client-cloudformation';
import { MemoryEventSink } from '../shared/adapters/local/index.ts';
import { checkDrift } from '../shared/engine/drift.ts';
import { sync } from '../shared/engine/sync.ts';
import { FUNCTION_MEMORY_MB } from '../shared/function-env.ts';
import { createBareRepo, makeGitEnv, push } from '../test/helpers/git-repo.ts';
import { startGitServer } from '../test/helpers/git-server.ts';
import { figuresFromChild, printFigures } from './lib/child.ts';
import { createDesiredRepo, ENVIRONMENTS } from './lib/desired-repo.ts';
import { type Figure, formatTable, median } from './lib/figures.ts';
import { localEngine } from './lib/local-engine.ts';

/** What bench/cost.ts needs from a drift run. */
export interface DriftRunCosts {
  /** CPU seconds per stack of a run of about 100 stacks, besides the CloudFormation fan-out. */
  readonly cpuSecondsPerStack: number;
}

/** The child: one drift run against the served repository and the seeded state, measured. */
async function runOnce(url: string, stateDir: string, cacheDir: string): Promise<{ cpu: number; peakMb: number }> {
  // Its drift detector answers at once: the waits are bench/drift.ts's, the SDK's work per call is measured apart.
  const deps = localEngine(url, stateDir, new MemoryEventSink({ max: 100_000 }), { cacheDir });
  const before = process.cpuUsage();
  const report = await checkDrift(deps, {});
  const used = process.cpuUsage(before);
  if (report.errors.length || report.outOfSync.length) {
    throw new Error(
      `drift run: ${report.errors.length} errors, ${report.outOfSync.length} out of sync; first: ${JSON.stringify(report.errors[0] ?? report.outOfSync[0])}`,
    );
  }
  return { cpu: (used.user + used.system) / 1e6, peakMb: process.resourceUsage().maxRSS / 1024 };
}

/** CPU time of the SDK per CloudFormation call, against canned XML on loopback (median of 3 rounds). */
async function sdkCpuPerCall(calls: number): Promise<number> {
  const body =
    '<DescribeStackDriftDetectionStatusResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">' +
    '<DescribeStackDriftDetectionStatusResult><StackId>arn:aws:cloudformation:eu-west-1:123456789012:stack/gitops-dev-svc0001/' +
    '4f1a3b2c-1111-2222-3333-444455556666</StackId><StackDriftDetectionId>b78ac9b0-dec1-11e7-a451-50d5cd24f6a6' +
    '</StackDriftDetectionId><StackDriftStatus>IN_SYNC</StackDriftStatus><DetectionStatus>DETECTION_COMPLETE' +
    '</DetectionStatus><DriftedStackResourceCount>0</DriftedStackResourceCount><Timestamp>2026-11-26T09:00:00.000Z' +
    '</Timestamp></DescribeStackDriftDetectionStatusResult><ResponseMetadata><RequestId>' +
    'c1a2b3d4-0000-1111-2222-333344445555</RequestId></ResponseMetadata></DescribeStackDriftDetectionStatusResponse>';
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/xml' }).end(body));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  const client = new CloudFormationClient({
    region: 'eu-west-1',
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'example-secret-key' },
  });
  const command = () => new DescribeStackDriftDetectionStatusCommand({ StackDriftDetectionId: 'b78ac9b0' });
  try {
    for (let i = 0; i < 50; i++) await client.send(command()); // warm-up: connection, JIT
    const rounds: number[] = [];
    for (let r = 0; r < 3; r++) {
      const before = process.cpuUsage();
      for (let i = 0; i < calls; i++) await client.send(command());
      const used = process.cpuUsage(before);
      rounds.push((used.user + used.system) / 1e6 / calls);
    }
    return median(rounds);
  } finally {
    client.destroy();
    server.close();
  }
}

interface RunCase {
  readonly stacks: number;
  readonly runs: number;
  /** Median CPU seconds of the runs. */
  readonly cpu: number;
  /** Largest maxRSS of the runs, MB. */
  readonly peakMb: number;
}

/** Commits and serves `services` × 3 environments, seeds their state, then runs the drift check in fresh children. */
async function runCase(services: number, runs: number): Promise<RunCase> {
  const root = mkdtempSync(join(tmpdir(), 'gitops-bench-drift-run-'));
  const genv = makeGitEnv(join(root, 'home'));
  const server = await startGitServer({ root, env: genv.env });
  try {
    const work = join(root, 'work');
    createDesiredRepo(genv, work, services);
    push(genv, work, createBareRepo(genv, root, 'desired'));
    const stateDir = join(root, 'state');
    // Seeded through the served URL: the stacks belong to that repository (a local path would be another one).
    const first = await sync(
      localEngine(server.url('desired'), stateDir, new MemoryEventSink({ max: 100_000 }), {
        cacheDir: join(root, 'cache-seed'),
      }),
      {},
    );
    if (first.failed.length) throw new Error(`seeding sync: ${first.failed.length} stacks failed`);
    const cpu: number[] = [];
    const peak: number[] = [];
    for (let i = 0; i < runs; i++) {
      const measured = await figuresFromChild('bench/drift-run.ts', [
        server.url('desired'),
        stateDir,
        join(root, `cache-${i}`),
      ]);
      const value = (name: string) => {
        const figure = measured.find((f) => f.name === name);
        if (!figure) throw new Error(`drift run child printed no ${name}`);
        return figure.value;
      };
      cpu.push(value('cpu'));
      peak.push(value('peak memory'));
    }
    return { stacks: services * ENVIRONMENTS.length, runs, cpu: median(cpu), peakMb: Math.max(...peak) };
  } finally {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * CPU at about 100 stacks (what bench/cost.ts prices); peak memory at about 1,000 stacks (bench/drift.ts's fan-out),
 * or at 100 with `quick`.
 */
export async function measureDriftRun(opts: { quick: boolean }): Promise<{ figures: Figure[]; costs: DriftRunCosts }> {
  const small = await runCase(34, opts.quick ? 3 : 5);
  const large = opts.quick ? small : await runCase(334, 3);
  const sdk = await sdkCpuPerCall(opts.quick ? 200 : 1000);
  const costs: DriftRunCosts = { cpuSecondsPerStack: small.cpu / small.stacks };
  const figures: Figure[] = [
    {
      name: `drift run ${small.stacks} stacks: CPU besides CloudFormation`,
      value: small.cpu,
      unit: 's',
      reference: `fetch into an empty cache, render, read state, hand each stack on (median of ${small.runs} fresh processes, ${((small.cpu / small.stacks) * 1000).toFixed(2)} ms per stack); the SDK adds ${(sdk * 1000).toFixed(2)} ms CPU per CloudFormation call`,
      goal: '—',
      met: true,
    },
    {
      name: `drift run ${large.stacks} stacks: peak memory`,
      value: large.peakMb,
      unit: 'MB',
      reference: `maxRSS of the process that ran it, TypeScript loader included (largest of ${large.runs}); CPU ${large.cpu.toFixed(2)} s`,
      goal: `≤ ${FUNCTION_MEMORY_MB.drift} MB (drift fn memory)`,
      met: large.peakMb <= FUNCTION_MEMORY_MB.drift,
    },
  ];
  return { figures, costs };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv.includes('--child')) {
    const [url, stateDir, cacheDir] = process.argv.slice(process.argv.indexOf('--child') + 1);
    const { cpu, peakMb } = await runOnce(url!, stateDir!, cacheDir!);
    printFigures([
      { name: 'cpu', value: cpu, unit: 's', reference: 'checkDrift, user + system', goal: '—', met: true },
      { name: 'peak memory', value: peakMb, unit: 'MB', reference: 'maxRSS', goal: '—', met: true },
    ]);
  } else {
    console.log(formatTable((await measureDriftRun({ quick: process.argv.includes('--quick') })).figures));
  }
}
