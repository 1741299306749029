/**
 * Revisions: what is applied is the branch head's content, recorded under the commit actually synced; commits are
 * ordered by ancestry and by the order the installation received them, never by the dates a commit claims.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyStack } from '../../shared/engine/apply-stack.ts';
import { requestApplies, sync } from '../../shared/engine/sync.ts';
import { DetailType } from '../../shared/events/catalog.ts';
import { git, gitText } from '../helpers/git-repo.ts';
import { exampleRepo } from './engine-fixture.ts';

describe('a revert', () => {
  it('is applied and recorded under its own SHA, and its dependent stack applies too', async () => {
    const repo = exampleRepo();
    await sync(repo.deps, { environments: ['dev'] });
    const at30 = (await repo.state.getStack('dev/queue'))?.state.lastApplied;
    expect(at30?.revision).toBe(repo.head());

    // One commit changes the queue (30 → 45) and its dependent api (MemorySize); the next reverts both.
    repo.edit('templates/queue.yaml', 'VisibilityTimeout: 30', 'VisibilityTimeout: 45', 'Longer visibility');
    const c45 = repo.edit('gitops.yaml', 'MemorySize: "256"', 'MemorySize: "512"', 'More memory');
    await sync(repo.deps, { environments: ['dev'] });
    expect((await repo.state.getStack('dev/queue'))?.state.lastApplied?.revision).toBe(c45);
    git(repo.genv, repo.dir, ['revert', '--no-edit', 'HEAD']);
    git(repo.genv, repo.dir, ['revert', '--no-edit', 'HEAD~2']);
    const revert = repo.head();
    repo.clearEvents();

    const report = await sync(repo.deps, { environments: ['dev'] });

    expect(report.failed).toEqual([]);
    expect(report.results.map((r) => [r.key, r.outcome])).toEqual([
      ['dev/queue', 'Applied'],
      ['dev/api', 'Applied'],
    ]);
    const queue = (await repo.state.getStack('dev/queue'))?.state;
    // The content of the first sync, under the revert's own commit.
    expect(queue?.lastApplied?.hash).toBe(at30?.hash);
    expect(queue?.lastApplied?.revision).toBe(revert);
    expect(queue?.lastApplied?.commit.message).toMatch(/^Revert "Longer visibility"/);
    expect(queue?.sync).toBe('Synced');
    const [latest] = await repo.state.listHistory('dev/queue', 1);
    expect(latest).toMatchObject({ revision: revert, result: 'Succeeded', hash: at30?.hash });
    const api = (await repo.state.getStack('dev/api'))?.state;
    expect(api?.lastApplied?.revision).toBe(revert);
    expect(api?.sync).toBe('Synced');
    const succeeded = repo.events.events.filter((e) => e.detailType === DetailType.SyncSucceeded);
    expect(succeeded.map((e) => [e.detail.stack, e.detail.revision])).toEqual([
      ['queue', revert],
      ['api', revert],
    ]);
    expect(repo.types()).not.toContain(DetailType.SyncSkipped);
    expect(repo.types()).not.toContain(DetailType.SyncFailed);

    // Nothing changed since: no apply.
    repo.clearEvents();
    const again = await sync(repo.deps, { environments: ['dev'] });
    expect(again.results).toEqual([]);
    expect(repo.types()).toEqual([]);
  });
});

describe('a commit dated 2099', () => {
  it('neither freezes the stack nor jumps ahead: the later push applies, through the engine and the apply side', async () => {
    const repo = exampleRepo();
    await sync(repo.deps, { environments: ['dev'] });
    const future = {
      ...repo.genv.env,
      GIT_COMMITTER_DATE: '2099-01-01T00:00:00Z',
      GIT_AUTHOR_DATE: '2099-01-01T00:00:00Z',
    };
    // The 2099 commit, then a normal one on top of it.
    const path = join(repo.dir, 'templates/queue.yaml');
    writeFileSync(path, readFileSync(path, 'utf8').replace('VisibilityTimeout: 30', 'VisibilityTimeout: 99'));
    git({ ...repo.genv, env: future }, repo.dir, ['commit', '-q', '-am', 'Dated in the future']);
    const dated2099 = repo.head();
    expect(gitText(repo.genv, repo.dir, ['show', '-s', '--format=%cI', 'HEAD'])).toMatch(/^2099-/);
    const later = repo.edit('templates/queue.yaml', 'VisibilityTimeout: 99', 'VisibilityTimeout: 40', 'Normal commit');

    // Through the engine with the repository's history: ancestry decides.
    await sync(repo.deps, { ref: dated2099, environments: ['dev'] });
    expect((await repo.state.getStack('dev/queue'))?.state.lastApplied?.revision).toBe(dated2099);
    repo.clearEvents();
    await sync(repo.deps, { environments: ['dev'] });
    expect((await repo.state.getStack('dev/queue'))?.state.lastApplied?.revision).toBe(later);
    expect(repo.types()).not.toContain(DetailType.SyncSkipped);

    // The apply side without a repository (the apply function): the order the installation received them.
    const fresh = exampleRepo();
    const ports = { ...fresh.deps, source: undefined };
    const viaApplyFunction = { ...fresh.deps, source: repo.deps.source, state: fresh.state };
    const first = await requestApplies(viaApplyFunction, { ref: dated2099, environments: ['dev'], preview: false });
    const second = await requestApplies(viaApplyFunction, { ref: later, environments: ['dev'], preview: false });
    const queueOf = (r: typeof first) => r.requests.find((q) => q.key === 'dev/queue')!;
    await applyStack(ports, { ...queueOf(first), finalAttempt: true, approve: true });
    const out = await applyStack(ports, { ...queueOf(second), finalAttempt: true, approve: true });
    expect(out.outcome).toBe('Applied');
    expect((await fresh.state.getStack('dev/queue'))?.state.lastApplied?.revision).toBe(later);
    // And the older request, redelivered late, does not roll it back.
    const late = await applyStack(ports, { ...queueOf(first), finalAttempt: true, approve: true });
    expect(late.outcome).toBe('Superseded');
    expect((await fresh.state.getStack('dev/queue'))?.state.lastApplied?.revision).toBe(later);
  });
});
