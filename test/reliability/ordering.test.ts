/**
 * Ordering under randomized concurrency (seeded: set RELIABILITY_SEED to replay a run; the seed is printed).
 *
 * 1. The local runtime's loop: pushes move the branch while syncs (behind the runtime's CoalescingQueue) and drift
 *    checks are in flight. An older commit is never applied after a newer one, and the final state is the newest.
 * 2. The apply function's side: Apply Requested for every commit arrive out of order and some twice, with and without
 *    the repository's history to order them. The same two properties hold.
 */
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FolderStateStore, LocalDriftDetector, MemoryEventSink } from '../../shared/adapters/local/index.ts';
import { type ApplyStackRequest, applyStack } from '../../shared/engine/apply-stack.ts';
import type { EngineDeps } from '../../shared/engine/deps.ts';
import { checkDrift } from '../../shared/engine/drift.ts';
import { requestApplies, sync } from '../../shared/engine/sync.ts';
import { toGitOpsError } from '../../shared/errors.ts';
import type { RenderedArtifact } from '../../shared/ports.ts';
import { CoalescingQueue } from '../../shared/runtime/keyed-queue.ts';
import { LocalSource } from '../../shared/source/index.ts';
import { commitFiles, createWorkRepo, type GitEnv, makeGitEnv } from '../helpers/git-repo.ts';
import { BASE_FILES, silent, steppingClock, TERMINAL } from './fixture.ts';

const SEED = Number(process.env['RELIABILITY_SEED'] ?? Date.now() % 2 ** 31);
const RUNS = 200;
const CHAIN = 6;

/** mulberry32: small, fast, good enough to shuffle. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)) };
}

let genv: GitEnv;
let dir: string;
/** c0 … c5, each a child of the one before, one minute apart; c_i sets the app queue's timeout to 30 + i. */
const chain: string[] = [];
const indexOf = new Map<string, number>();

beforeAll(() => {
  genv = makeGitEnv();
  dir = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-rel-order-')));
  for (let i = 0; i < CHAIN; i++) {
    const date = `2026-03-01T10:${String(i).padStart(2, '0')}:00Z`;
    const files = {
      ...BASE_FILES,
      'templates/app.yaml': BASE_FILES['templates/app.yaml']!.replace('30', String(30 + i)),
    };
    const sha = commitFiles({ ...genv, env: { ...genv.env, GIT_COMMITTER_DATE: date } }, dir, files, `Change ${i}`);
    chain.push(sha);
    indexOf.set(sha, i);
  }
  console.log(`reliability ordering seed: ${SEED} (RELIABILITY_SEED=${SEED} replays it)`);
});

/** Records the revisions the applier was asked to apply, in order. */
function recordingApplier(applied: string[]) {
  const changes = { added: [], modified: [], removed: [], replaced: [], parametersChanged: [], tagsChanged: [] };
  return {
    preview: async () => ({ changes, diffText: '', hasChanges: true }),
    apply: async ({ rendered }: { rendered: { key: string; revision: string } }) => {
      if (rendered.key === 'dev/app') applied.push(rendered.revision);
      await new Promise((r) => setImmediate(r));
      return { status: 'Applied' as const, changes, outputs: { QueueUrl: `https://sqs/${rendered.revision}` } };
    },
    delete: async () => {},
  };
}

function deps(state: FolderStateStore, applied: string[], withHistory = true): EngineDeps {
  return {
    source: withHistory ? new LocalSource(dir) : { fetch: new LocalSource(dir).fetch.bind(new LocalSource(dir)) },
    state,
    applier: recordingApplier(applied),
    drift: new LocalDriftDetector(),
    events: new MemoryEventSink(),
    clock: steppingClock(),
    logger: silent,
    defaultRegion: 'eu-west-1',
  };
}

/** A push: the branch ref moves atomically (a temporary file renamed over it, as git does). */
function moveBranch(sha: string) {
  const ref = join(dir, '.git', 'refs', 'heads', 'main');
  writeFileSync(`${ref}.lock`, `${sha}\n`);
  renameSync(`${ref}.lock`, ref);
}

/** Never an older commit after a newer one. */
function expectMonotonic(applied: readonly string[], context: string) {
  const order = applied.map((sha) => indexOf.get(sha) ?? -1);
  for (let i = 1; i < order.length; i++) {
    if (order[i]! < order[i - 1]!) throw new Error(`${context}: applied ${order.join(' → ')} (seed ${SEED})`);
  }
}

describe(`ordering under concurrency (seed ${SEED})`, () => {
  it(`${RUNS} runs of 2–5 pushes through the local runtime's queue: never older after newer, newest at the end`, async () => {
    const rng = random(SEED);
    let syncs = 0;
    for (let run = 0; run < RUNS; run++) {
      const pushes = rng.int(2, 5);
      const start = rng.int(0, CHAIN - 1 - pushes);
      const state = new FolderStateStore(mkdtempSync(join(tmpdir(), 'gitops-rel-ord-')));
      const applied: string[] = [];
      const d = deps(state, applied);
      // As gitops dev builds it.
      const queue = new CoalescingQueue({ exclusive: true });
      moveBranch(chain[start]!);
      await sync(d, {});
      const inFlight: Promise<void>[] = [];
      for (let p = 1; p <= pushes; p++) {
        moveBranch(chain[start + p]!);
        const delay = rng.int(0, 2);
        inFlight.push(
          new Promise<void>((resolve) => setTimeout(resolve, delay)).then(() =>
            queue.run('sync', async () => {
              syncs += 1;
              await sync(d, {}).catch((err) => {
                throw toGitOpsError(err);
              });
            }),
          ),
        );
        if (rng.next() < 0.3) inFlight.push(queue.run('check', async () => void (await checkDrift(d, {}))));
        if (rng.next() < 0.5) await new Promise((r) => setTimeout(r, rng.int(0, 1)));
      }
      await Promise.all(inFlight);
      await queue.idle();

      expectMonotonic(applied, `run ${run}`);
      const app = (await state.getStack('dev/app'))?.state;
      expect(app?.lastApplied?.revision, `run ${run} (seed ${SEED})`).toBe(chain[start + pushes]);
      expect(app?.sync).toBe('Synced');
    }
    expect(syncs).toBeGreaterThanOrEqual(RUNS);
  });

  it(`${RUNS} runs of Apply Requested out of order and redelivered: never older after newer, newest at the end`, async () => {
    // Every commit's Apply Requested for the app stack, rendered once, in the order the installation received them.
    const requests: { request: ApplyStackRequest; artifact: RenderedArtifact }[] = [];
    for (const sha of chain) {
      const scratch = new FolderStateStore(mkdtempSync(join(tmpdir(), 'gitops-rel-ord-scratch-')));
      const { requests: made } = await requestApplies(deps(scratch, []), { ref: sha });
      const request = made.find((r) => r.key === 'dev/app')!;
      requests.push({ request, artifact: (await scratch.getRendered(request.renderedHash, request.revision))! });
    }

    const rng = random(SEED ^ 0x5bd1e995);
    for (let run = 0; run < RUNS; run++) {
      const count = rng.int(2, 5);
      const first = rng.int(0, CHAIN - count);
      const window = requests.slice(first, first + count);
      // Out of order, with redeliveries.
      const deliveries = [...window];
      for (const r of window) if (rng.next() < 0.3) deliveries.push(r);
      for (let i = deliveries.length - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
      }
      const state = new FolderStateStore(mkdtempSync(join(tmpdir(), 'gitops-rel-ord-apply-')));
      for (const { artifact } of window) await state.putRendered(artifact);
      const applied: string[] = [];
      // Odd runs: the apply function, which has no repository: the order the installation received the syncs in.
      const d = deps(state, applied, run % 2 === 0);
      const ports = run % 2 === 0 ? d : { ...d, source: undefined };
      for (const { request } of deliveries) {
        const out = await applyStack(ports, { ...request, finalAttempt: true });
        expect(out.outcome).not.toBe('Failed');
      }

      expectMonotonic(applied, `apply run ${run}`);
      const app = (await state.getStack('dev/app'))?.state;
      expect(app?.lastApplied?.revision, `apply run ${run} (seed ${SEED})`).toBe(chain[first + count - 1]);
      // Every delivery ended in a terminal event.
      const terminal = (d.events as MemoryEventSink).events.filter((e) => TERMINAL.has(e.detailType));
      expect(terminal.length).toBeGreaterThanOrEqual(new Set(deliveries).size);
    }
  });
});
