/**
 * Webhook latency, two ways.
 *
 * in-process: `handleWebhook` (verify the HMAC, parse, dedupe, hand on) over 10,000 signed GitHub push deliveries with
 *             distinct delivery ids; `onPush` does nothing, so PutEvents is not part of it. p50 and p99 per delivery.
 *             No peer exists: these are absolute times on the machine in `latest.json`.
 * runtime:    `gitops dev` (`startDevRuntime` on port 0, state in a temp dir) over a 200-service repository already
 *             synced once: commit a change, POST a signed delivery, time until its `Apply Requested` is in
 *             `runtime.events` (median and worst of the pushes).
 *
 * The runtime part runs in a child process: the local runtime writes every event to stderr, which is dropped there.
 * Alone: `node bin/run-ts.js bench/webhook.ts [--quick]`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { systemClock } from '../shared/clock.ts';
import { DetailType } from '../shared/events/catalog.ts';
import { startDevRuntime } from '../shared/runtime/dev.ts';
import { DeliveryDedupe } from '../shared/webhook/dedupe.ts';
import { handleWebhook } from '../shared/webhook/handle.ts';
import { makeGitEnv } from '../test/helpers/git-repo.ts';
import { figuresFromChild, printFigures } from './lib/child.ts';
import { changeOneTemplate, createDesiredRepo } from './lib/desired-repo.ts';
import { type Figure, formatTable, median } from './lib/figures.ts';
import { githubHeaders, githubPushBody } from './lib/github-push.ts';
import { quietLogger } from './lib/quiet.ts';

const SECRET = 'bench-webhook-secret-0123456789abcdef';

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function benchWebhookInProcess(opts: { quick: boolean }): Promise<Figure[]> {
  const deliveries = 10_000;
  const warmup = opts.quick ? 200 : 1_000;
  // Two keys per delivery: its id and its body digest.
  const dedupe = new DeliveryDedupe({ max: 2 * (deliveries + warmup), clock: systemClock });
  let handed = 0;
  const deps = {
    secret: async () => SECRET,
    dedupe,
    logger: quietLogger,
    onPush: async () => {
      handed++;
    },
  };
  // Bodies and signatures are made up front: the forge's work is not ours.
  const requests = Array.from({ length: deliveries + warmup }, (_, n) => {
    const after = `${n.toString(16).padStart(8, '0')}${'a'.repeat(32)}`;
    const body = githubPushBody(after, n);
    return { method: 'POST', headers: githubHeaders(body, SECRET, randomUUID()), body: Buffer.from(body) };
  });
  const times: number[] = [];
  for (let n = 0; n < requests.length; n++) {
    const t = performance.now();
    const answer = await handleWebhook(requests[n]!, deps);
    const dt = performance.now() - t;
    if (answer.status !== 202) throw new Error(`delivery ${n} answered ${answer.status} ${answer.body}`);
    if (n >= warmup) times.push(dt);
  }
  if (handed !== requests.length) throw new Error(`${handed} of ${requests.length} pushes handed on`);
  const p50 = percentile(times, 50);
  const p99 = percentile(times, 99);
  const size = requests[0]!.body.length;
  return [
    {
      name: 'webhook in-process p50',
      value: p50,
      unit: 'ms',
      reference: `${deliveries} signed GitHub pushes (${(size / 1024).toFixed(1)} KB, distinct ids), after ${warmup} warm-up`,
      goal: '—',
      met: true,
    },
    {
      name: 'webhook in-process p99',
      value: p99,
      unit: 'ms',
      reference: `max ${Math.max(...times).toFixed(2)} ms; verify + parse + dedupe, onPush a no-op (no PutEvents)`,
      goal: '≤ 50 ms',
      met: p99 <= 50,
    },
  ];
}

async function runtimeFigures(quick: boolean): Promise<Figure[]> {
  const stacks = 200;
  const pushes = quick ? 3 : 7;
  const root = mkdtempSync(join(tmpdir(), 'gitops-bench-dev-'));
  const genv = makeGitEnv(join(root, 'home'));
  const repo = join(root, 'repo');
  createDesiredRepo(genv, repo, stacks);
  const runtime = await startDevRuntime({
    repo,
    stateDir: join(root, 'state'),
    port: 0,
    intervalMs: 3_600_000,
    logger: quietLogger,
    out: () => {},
    env: { GITOPS_WEBHOOK_SECRET: SECRET },
  });
  try {
    const times: number[] = [];
    for (let n = 0; n < pushes; n++) {
      await runtime.idle();
      const after = changeOneTemplate(genv, repo, 17 + n * 13, n + 1);
      const body = githubPushBody(after, n);
      const seen = new Promise<number>((ok) => {
        const stop = runtime.events.subscribe((event) => {
          if (event.detailType === DetailType.ApplyRequested && event.detail.revision === after) {
            stop();
            ok(performance.now());
          }
        });
      });
      const t = performance.now();
      const res = await fetch(`${runtime.url}/webhook`, {
        method: 'POST',
        headers: githubHeaders(body, SECRET, randomUUID()),
        body,
      });
      if (res.status !== 202) throw new Error(`the runtime answered ${res.status} ${await res.text()}`);
      times.push((await seen) - t);
    }
    await runtime.idle();
    const m = median(times);
    const worst = Math.max(...times);
    return [
      {
        name: 'webhook runtime push → Apply Requested',
        value: worst,
        unit: 'ms',
        reference: `gitops dev, ${stacks} services × 3 env synced once; worst of ${pushes} pushes, median ${m.toFixed(0)} ms`,
        goal: '≤ 1000 ms',
        met: worst <= 1000,
      },
    ];
  } finally {
    await runtime.close();
    rmSync(root, { recursive: true, force: true });
  }
}

export async function benchWebhook(opts: { quick: boolean }): Promise<Figure[]> {
  const inProcess = await benchWebhookInProcess(opts);
  const runtime = await figuresFromChild('bench/webhook.ts', opts.quick ? ['--quick'] : [], { stderr: 'ignore' });
  return [...inProcess, ...runtime];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick');
  if (process.argv.includes('--child')) printFigures(await runtimeFigures(quick));
  else console.log(formatTable(await benchWebhook({ quick })));
}
