import { ApplyError, type GitOpsError, Reason, StateError, toGitOpsError } from '../errors.ts';
import { DetailType } from '../events/catalog.ts';
import { emit } from '../events/publish.ts';
import type { AppliedRecord, emptyChanges, FormerStack, RenderedStack, StackKey, StackState } from '../model.ts';
import { checkStoredStack } from '../policy/check.ts';
import { identityOf, OwnershipError, sameRepo } from '../policy/ownership.ts';
import type { ApplyResult, Source } from '../ports.ts';
import type { EngineDeps } from './deps.ts';
import { isSuperseded } from './newest-wins.ts';
import { resolveOutputParameters, splitOutputRef } from './output-parameters.ts';
import { attempt, historyRecord, stackDetail, stateFor } from './record.ts';

/** One Apply Requested: everything the apply function (or the local sync) needs to apply one stack. */
export interface ApplyStackRequest {
  readonly key: StackKey;
  readonly renderedHash: string;
  /**
   * The commit this request was rendered at. Two commits can render the same hash (a revert): the artifact of this
   * commit is applied and recorded, not the one that first produced the content. Absent only in requests from before.
   */
  readonly revision?: string;
  /** The installation's receive stamp of the sync that made this request (newest wins on the apply side). */
  readonly received?: number;
  /** Dependencies and the hash each must have been applied with. */
  readonly dependencies?: Readonly<Record<StackKey, string>>;
  /** Apply even when the environment's policy is manual (`--approve`, a Sync Requested naming the stack). */
  readonly approve?: boolean;
  /** Re-apply to revert resource drift (selfHeal). */
  readonly revertDrift?: boolean;
  /**
   * No one will redeliver this request (the CLI, the last SQS receive): a retryable failure is recorded and reported
   * as final instead of being thrown for a retry.
   */
  readonly finalAttempt?: boolean;
  readonly signal?: AbortSignal;
  /** The change set the plan's preview kept for this stack (a CLI sync): executed when it still matches. */
  readonly changeSetId?: string;
}

export type ApplyOutcome = 'Applied' | 'NoChanges' | 'Superseded' | 'PlanReady' | 'Failed';

export interface ApplyStackResult {
  readonly key: StackKey;
  readonly outcome: ApplyOutcome;
  readonly rendered?: RenderedStack;
  readonly result?: ApplyResult;
  readonly error?: GitOpsError;
}

type ApplyDeps = Omit<EngineDeps, 'source' | 'drift' | 'defaultRegion'> & {
  readonly source?: Pick<Source, 'isAncestor'>;
};

/**
 * Applies one rendered stack, Flux style: a fixed list of checks, then the change, then the state and the event
 * written once at the end whatever happened. Retryable failures (a busy stack, throttling, a dependency not yet
 * applied) are thrown after the state is written, so a queue can redeliver the request; everything else is recorded
 * and returned.
 */
export async function applyStack(deps: ApplyDeps, request: ApplyStackRequest): Promise<ApplyStackResult> {
  const artifact = await deps.state.getRendered(request.renderedHash, request.revision);
  if (!artifact) {
    throw new StateError(
      Reason.StateUnavailable,
      `rendered stack ${request.renderedHash.slice(0, 12)}${request.revision ? ` at ${request.revision.slice(0, 7)}` : ''} for ${request.key} is not in the state store`,
    );
  }
  const rendered = artifact.rendered;
  const startedAt = deps.clock.now().toISOString();
  const stored = await deps.state.getStack(rendered.key);
  const previous = stored?.state;
  const applied = previous?.lastApplied;

  // 0. Ownership: the key is another repository's. Its state stays exactly as it is; only the event says why.
  if (previous && !sameRepo(previous.repo, rendered.repo)) {
    const error = new OwnershipError(
      `${rendered.stack} (${rendered.environment}): ${rendered.key} belongs to repository ${previous.repo}; nothing applied`,
    );
    await emit(deps.events, deps.clock, DetailType.SyncFailed, {
      ...stackDetail(rendered),
      reason: error.reason,
      message: error.message,
    });
    return { key: rendered.key, outcome: 'Failed', rendered, error };
  }

  // 1. Newest wins: a request from an older sync arriving late never rolls a stack back.
  if (
    applied &&
    applied.hash !== rendered.hash &&
    (await isSuperseded(
      { commit: rendered.commit, ...(request.received !== undefined ? { received: request.received } : {}) },
      applied,
      deps.source,
      request.signal,
    ))
  ) {
    const message = `${rendered.stack} (${rendered.environment}): ${rendered.revision.slice(0, 7)} was received before the applied ${applied.revision.slice(0, 7)}, not applied`;
    await deps.state.appendHistory(
      historyRecord(rendered, startedAt, startedAt, 'Skipped', Reason.Superseded, message),
    );
    await emit(deps.events, deps.clock, DetailType.SyncSkipped, {
      ...stackDetail(rendered),
      reason: Reason.Superseded,
      message,
      previousRevision: applied.revision,
    });
    return { key: rendered.key, outcome: 'Superseded', rendered };
  }

  // 2. Already there: nothing to send to CloudFormation.
  if (applied?.hash === rendered.hash && !request.revertDrift) {
    // A redelivery of the apply that recorded this (its event or history write failed after the state write): say
    // it again, so the request still ends in a terminal event. Events are at least once; notifications dedupe.
    const last = previous?.lastAttempted;
    if (last?.hash === rendered.hash && last.result === 'Succeeded') {
      await emit(deps.events, deps.clock, DetailType.SyncSucceeded, {
        ...stackDetail(rendered),
        reason: last.reason,
        message: last.message,
        changes: applied.changes,
      });
    }
    return { key: rendered.key, outcome: 'NoChanges', rendered };
  }

  // 3. Manual policy: stop at Plan Ready until someone approves.
  if (!rendered.syncPolicy.automated && !request.approve) {
    const message = `${rendered.stack} (${rendered.environment}): changes at ${rendered.revision.slice(0, 7)} wait for approval (syncPolicy.automated is false)`;
    const at = deps.clock.now().toISOString();
    await deps.state.putStack(
      {
        ...stateFor(rendered, previous, at),
        sync: 'OutOfSync',
        lastAttempted: attempt(rendered, 'PlanReady', Reason.ApprovalRequired, message, at),
      },
      { ifVersion: stored?.version ?? null },
    );
    await emit(deps.events, deps.clock, DetailType.PlanReady, {
      ...stackDetail(rendered),
      reason: Reason.ApprovalRequired,
      message,
      renderedHash: rendered.hash,
    });
    return { key: rendered.key, outcome: 'PlanReady', rendered };
  }

  let result: ApplyResult | undefined;
  let failure: GitOpsError | undefined;
  let health: StackState['health'] = previous?.health ?? 'Unknown';
  let healthMessage = '';
  try {
    // 4. The installation's policy again, on what is about to be applied (the sync checked it when it rendered).
    if (deps.policy) await checkStoredStack(rendered, deps.policy, deps.account, deps.stackNamePrefix);
    // 5. Dependencies applied at the expected hash; their outputs feed this stack's parameters.
    const { resolved, outputsOf } = await withDependencyOutputs(deps, rendered, request.dependencies ?? {});
    const moved =
      previous !== undefined &&
      applied !== undefined &&
      identityOf(previous, deps.account) !== identityOf(rendered, deps.account);
    const storedPrevious =
      applied && !moved ? (await deps.state.getRendered(applied.hash, applied.revision))?.rendered : undefined;
    // The stored previous stack holds references, not values: fill it from the same outputs, so the local diff does
    // not call every output parameter changed.
    const previousRendered = storedPrevious ? resolveOutputParameters(storedPrevious, outputsOf).rendered : undefined;
    // 6. The change itself.
    result = await deps.applier.apply({
      rendered: resolved,
      ...(previousRendered ? { previous: previousRendered } : {}),
      ...(request.changeSetId ? { changeSetId: request.changeSetId } : {}),
      ...(request.revertDrift ? { revertDrift: true } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    // 7. Health: stack status and the stack's alarms.
    if (deps.applier.health) {
      const checked = await deps.applier.health(resolved, request.signal);
      health = checked.healthy ? 'Healthy' : 'Degraded';
      healthMessage = checked.message;
    } else {
      health = 'Healthy';
    }
  } catch (err) {
    failure = toGitOpsError(err, Reason.ApplyFailed);
  }

  // 8. State, history and events, once, whatever happened.
  const finishedAt = deps.clock.now().toISOString();
  const base = stateFor(rendered, previous, finishedAt);
  let next: StackState;
  if (result) {
    const lastApplied: AppliedRecord = {
      revision: rendered.revision,
      commit: rendered.commit,
      hash: rendered.hash,
      inputs: rendered.inputs,
      at: finishedAt,
      outputs: result.outputs,
      changes: result.changes,
      ...(result.changeSetId ? { changeSetId: result.changeSetId } : {}),
      ...(result.stackId ? { stackId: result.stackId } : {}),
      ...(request.received !== undefined ? { received: request.received } : {}),
    };
    const message =
      result.status === 'NoChanges'
        ? `${rendered.stack} (${rendered.environment}) at ${rendered.revision.slice(0, 7)}: CloudFormation found nothing to change`
        : `${rendered.stack} (${rendered.environment}) applied ${rendered.revision.slice(0, 7)}: ${
            // A new stack: every parameter and tag is "changed"; what it creates is what a reader wants.
            applied ? summarize(result.changes) : `created with ${result.changes.added.length} resource(s)`
          }`;
    const former = await handleFormerStacks(deps, rendered, previous, finishedAt, request.signal);
    next = {
      ...base,
      sync: 'Synced',
      health,
      lastApplied,
      ...(former.length ? { formerStacks: former } : { formerStacks: undefined }),
      lastAttempted: attempt(
        rendered,
        'Succeeded',
        result.status === 'NoChanges' ? 'NoChanges' : 'Applied',
        message,
        finishedAt,
      ),
      ...(request.revertDrift ? { drift: { status: 'InSync', resources: [], checkedAt: finishedAt } } : {}),
    };
    await writeState(deps, next, stored?.version);
    await deps.state.appendHistory(
      historyRecord(rendered, startedAt, finishedAt, 'Succeeded', next.lastAttempted!.reason, message, {
        changes: result.changes,
        ...(result.changeSetId ? { changeSetId: result.changeSetId } : {}),
      }),
    );
    await emit(deps.events, deps.clock, DetailType.SyncSucceeded, {
      ...stackDetail(rendered),
      reason: next.lastAttempted!.reason,
      message,
      changes: result.changes,
      ...(previous?.sync === 'Failed' ? { data: { recovered: true } } : {}),
    });
    if (health === 'Degraded' && previous?.health !== 'Degraded') {
      await emit(deps.events, deps.clock, DetailType.HealthDegraded, {
        ...stackDetail(rendered),
        reason: Reason.HealthCheckFailed,
        message: `${rendered.stack} (${rendered.environment}) is unhealthy after ${rendered.revision.slice(0, 7)}: ${healthMessage}`,
      });
    } else if (health === 'Healthy' && previous?.health === 'Degraded') {
      await emit(deps.events, deps.clock, DetailType.HealthRestored, {
        ...stackDetail(rendered),
        reason: 'Healthy',
        message: `${rendered.stack} (${rendered.environment}) is healthy again at ${rendered.revision.slice(0, 7)}`,
      });
    }
    return { key: rendered.key, outcome: result.status === 'NoChanges' ? 'NoChanges' : 'Applied', rendered, result };
  }

  const error = failure ?? new ApplyError(Reason.ApplyFailed, 'apply returned no result');
  const message = `${rendered.stack} (${rendered.environment}) failed at ${rendered.revision.slice(0, 7)}: ${error.describe()}`;
  next = {
    ...base,
    // A retryable failure leaves the stack as it was (Progressing until the retry); the applied record stays.
    sync: error.retryable && !request.finalAttempt ? 'Progressing' : 'Failed',
    lastAttempted: attempt(rendered, 'Failed', error.reason, message, finishedAt),
  };
  await writeState(deps, next, stored?.version);
  await deps.state.appendHistory(historyRecord(rendered, startedAt, finishedAt, 'Failed', error.reason, message));
  if (!error.retryable || request.finalAttempt) {
    await emit(deps.events, deps.clock, DetailType.SyncFailed, {
      ...stackDetail(rendered),
      reason: error.reason,
      message,
    });
    return { key: rendered.key, outcome: 'Failed', rendered, error };
  }
  throw error;
}

/**
 * After a key's account, region or name changed and the new stack is applied: the stacks it was before are handled
 * like stacks removed from Git — deleted with prune on (Stack Pruned), otherwise kept in `formerStacks` and reported
 * Out Of Sync once. Returns the former stacks still live.
 */
async function handleFormerStacks(
  deps: ApplyDeps,
  rendered: RenderedStack,
  previous: StackState | undefined,
  at: string,
  signal?: AbortSignal,
): Promise<FormerStack[]> {
  if (!previous) return [];
  const former: FormerStack[] = [...(previous.formerStacks ?? [])];
  let leftNow: FormerStack | undefined;
  if (previous.lastApplied && identityOf(previous, deps.account) !== identityOf(rendered, deps.account)) {
    leftNow = {
      stackName: previous.stackName,
      region: previous.region,
      ...(previous.role ? { role: previous.role } : {}),
      revision: previous.lastApplied.revision,
      at,
    };
    former.push(leftNow);
  }
  const live = former.filter((f) => identityOf(f, deps.account) !== identityOf(rendered, deps.account));
  if (!rendered.syncPolicy.prune) {
    if (leftNow) {
      await emit(deps.events, deps.clock, DetailType.OutOfSync, {
        ...stackDetail(rendered),
        stackName: leftNow.stackName,
        region: leftNow.region,
        reason: 'RemovedFromGit',
        message: `${rendered.stack} (${rendered.environment}): stack ${leftNow.stackName} (${leftNow.region}) is left behind: the stack is now ${rendered.stackName} (${rendered.region}); not deleted because syncPolicy.prune is off`,
      });
    }
    return live;
  }
  const remaining: FormerStack[] = [];
  for (const f of live) {
    const state: StackState = {
      ...previous,
      stackName: f.stackName,
      region: f.region,
      repo: rendered.repo,
      ...(f.role ? { role: f.role } : { role: undefined }),
    };
    try {
      await deps.applier.delete({ state, repo: rendered.repo, ...(signal ? { signal } : {}) });
      await emit(deps.events, deps.clock, DetailType.StackPruned, {
        ...stackDetail(rendered),
        stackName: f.stackName,
        region: f.region,
        reason: 'Pruned',
        message: `${rendered.stack} (${rendered.environment}): stack ${f.stackName} (${f.region}) deleted, the stack is now ${rendered.stackName} (${rendered.region})`,
      });
    } catch (err) {
      const error = toGitOpsError(err, Reason.ApplyFailed);
      remaining.push(f);
      await emit(deps.events, deps.clock, DetailType.OutOfSync, {
        ...stackDetail(rendered),
        stackName: f.stackName,
        region: f.region,
        reason: error.reason,
        message: `${rendered.stack} (${rendered.environment}): could not delete the former stack ${f.stackName} (${f.region}): ${error.describe()}`,
      });
    }
  }
  return remaining;
}

async function writeState(deps: Pick<ApplyDeps, 'state'>, next: StackState, version: string | undefined) {
  await deps.state.putStack(next, { ifVersion: version ?? null });
}

async function withDependencyOutputs(
  deps: Pick<ApplyDeps, 'state'>,
  rendered: RenderedStack,
  expected: Readonly<Record<StackKey, string>>,
): Promise<{
  resolved: RenderedStack;
  outputsOf: (key: StackKey) => Readonly<Record<string, string>> | undefined;
}> {
  const outputs = new Map<StackKey, Readonly<Record<string, string>>>();
  for (const dependency of rendered.dependsOn) {
    const state = (await deps.state.getStack(dependency))?.state;
    const want = expected[dependency];
    const ready = state?.lastApplied && (want === undefined || state.lastApplied.hash === want);
    if (!ready) {
      throw new ApplyError(
        Reason.DependencyNotReady,
        `dependency ${dependency} is not applied at this revision yet${state?.sync === 'Failed' ? ' (its last sync failed)' : ''}`,
        { retryable: state?.sync !== 'Failed', field: 'dependsOn' },
      );
    }
    outputs.set(dependency, state!.lastApplied!.outputs);
  }
  const outputsOf = (key: StackKey) => outputs.get(key);
  const { rendered: resolved, pending } = resolveOutputParameters(rendered, outputsOf);
  const [parameter, ref] = Object.entries(pending)[0] ?? [];
  if (parameter && ref) {
    const { stack, output } = splitOutputRef(ref);
    throw new ApplyError(
      Reason.DependencyNotReady,
      `parameter ${parameter}: output ${output} of stack ${stack} (${rendered.environment}) does not exist`,
      { field: `parameters.${parameter}` },
    );
  }
  return { resolved, outputsOf };
}

export function summarize(changes: ReturnType<typeof emptyChanges>): string {
  const parts = [
    changes.added.length && `${changes.added.length} added`,
    changes.modified.length && `${changes.modified.length} modified`,
    changes.replaced.length && `${changes.replaced.length} replaced`,
    changes.removed.length && `${changes.removed.length} removed`,
    changes.parametersChanged.length && `${changes.parametersChanged.length} parameters changed`,
    changes.tagsChanged.length && `${changes.tagsChanged.length} tags changed`,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'no resource changes';
}
