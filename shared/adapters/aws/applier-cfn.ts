/**
 * The Applier on CloudFormation: the whole change-set lifecycle for one stack. Every wait has a deadline and backs
 * off through the injected Clock; throttling is absorbed and then reported as retryable; every failure names the
 * resources CloudFormation said failed.
 */

import { createHash } from 'node:crypto';
import {
  type Change,
  type CloudFormationClient,
  CreateChangeSetCommand,
  type CreateChangeSetCommandInput,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  type DescribeChangeSetCommandOutput,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { systemClock } from '../../clock.ts';
import { ApplyError, GitOpsError, Reason } from '../../errors.ts';
import type { ChangeSummary, RenderedStack, StackState } from '../../model.ts';
import { emptyChanges } from '../../model.ts';
import { assertTaggedFor, OwnershipError, REPOSITORY_TAG, sameRepo } from '../../policy/ownership.ts';
import type { Applier, ApplyRequest, ApplyResult, Clock, DeleteRequest, Logger, PreviewResult } from '../../ports.ts';
import { errorMessage, errorName, isAbort, isThrottle, isTransient } from './aws-errors.ts';
import { type BackoffPolicy, delayFor, retryThrottled } from './backoff.ts';
import { describeChanges, hasChanges, summarizeChanges } from './change-summary.ts';
import { AwsClientFactory, type AwsTarget, type CloudFormationClients, roleSessionName } from './clients.ts';
import { describeFailures, failedResources } from './stack-events.ts';
import type { TemplateUploader } from './template-uploader.ts';

/** CloudFormation's TemplateBody limit; larger templates go through S3 as TemplateURL. */
export const TEMPLATE_BODY_LIMIT = 51_200;
/** CloudFormation's TemplateURL limit. */
export const TEMPLATE_URL_LIMIT = 1_000_000;

/** The two texts CloudFormation puts in a FAILED change set that simply has nothing to do. */
const NO_CHANGES = [/The submitted information didn't contain changes/i, /No updates are to be performed/i];

export interface CloudFormationApplierOptions {
  /** @default a new AwsClientFactory (default credentials; roles assumed per stack) */
  readonly clients?: CloudFormationClients;
  /** Needed for templates over 51,200 bytes. */
  readonly uploader?: TemplateUploader;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** How long a change set may take to be computed. @default 5 minutes */
  readonly changeSetTimeoutMs?: number;
  /** How long a stack operation (execute, delete) is waited for. @default 30 minutes */
  readonly stackTimeoutMs?: number;
  /** How long alarms may take to reach OK after an apply. @default 5 minutes */
  readonly healthTimeoutMs?: number;
  /** Tries per call while CloudFormation throttles. @default 6 */
  readonly throttleAttempts?: number;
  /** Polling backoff for change sets. @default 1 s doubling to 10 s */
  readonly changeSetPoll?: BackoffPolicy;
  /** Polling backoff for stack operations. @default 2 s doubling to 20 s */
  readonly stackPoll?: BackoffPolicy;
}

type Plan =
  | { readonly kind: 'create'; readonly stack?: Stack }
  | { readonly kind: 'update'; readonly stack: Stack }
  | { readonly kind: 'recreate'; readonly stack: Stack };

interface Ctx {
  readonly cfn: CloudFormationClient;
  readonly stackName: string;
  readonly region: string;
  readonly signal?: AbortSignal;
}

const SUCCESS = new Set([
  'CREATE_COMPLETE',
  'UPDATE_COMPLETE',
  'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
  'IMPORT_COMPLETE',
]);
/**
 * UPDATE_COMPLETE_CLEANUP_IN_PROGRESS is healthy: the update succeeded and CloudFormation is deleting the resources
 * it replaced. apply() returns as soon as it is reached, so health() usually sees it right after a replacement.
 */
const HEALTHY = new Set([
  'CREATE_COMPLETE',
  'UPDATE_COMPLETE',
  'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
  'IMPORT_COMPLETE',
]);
/** Statuses where the operation's outcome is known even though CloudFormation still tidies up. */
const SETTLED_FAILURE = new Set(['UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS']);

/** A change set a kept preview left for apply. */
interface KeptChangeSet {
  readonly stackName: string;
  readonly fingerprint: string;
  readonly stackId?: string;
  /** CloudFormation found nothing to change (the change set is already deleted). */
  readonly noChanges: boolean;
  /** The REVIEW_IN_PROGRESS stack the preview's CREATE change set made, removed again if no apply uses it. */
  readonly reviewStackId?: string;
}

export class CloudFormationApplier implements Applier {
  readonly #clients: CloudFormationClients;
  /** Change set id → what it was made from; only previews with `keep` add here, apply and discard take out. */
  readonly #kept = new Map<string, KeptChangeSet>();
  readonly #uploader: TemplateUploader | undefined;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #changeSetTimeoutMs: number;
  readonly #stackTimeoutMs: number;
  readonly #healthTimeoutMs: number;
  readonly #throttleAttempts: number;
  readonly #changeSetPoll: BackoffPolicy;
  readonly #stackPoll: BackoffPolicy;

  constructor(options: CloudFormationApplierOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#clients = options.clients ?? new AwsClientFactory({ clock: this.#clock });
    this.#uploader = options.uploader;
    this.#logger = options.logger;
    this.#changeSetTimeoutMs = options.changeSetTimeoutMs ?? 5 * 60_000;
    this.#stackTimeoutMs = options.stackTimeoutMs ?? 30 * 60_000;
    this.#healthTimeoutMs = options.healthTimeoutMs ?? 5 * 60_000;
    this.#throttleAttempts = options.throttleAttempts ?? 6;
    this.#changeSetPoll = options.changeSetPoll ?? { baseMs: 1_000, maxMs: 10_000 };
    this.#stackPoll = options.stackPoll ?? { baseMs: 2_000, maxMs: 20_000 };
  }

  async preview(request: ApplyRequest): Promise<PreviewResult> {
    const { rendered } = request;
    const ctx = this.#ctx(rendered, request.signal);
    return this.#guard(ctx, async () => {
      const plan = this.#plan(rendered, await this.#describeStack(ctx, rendered.stackName));
      if (plan.kind === 'recreate') {
        // A stack in ROLLBACK_COMPLETE takes no change set; what will happen is a delete and a fresh create.
        const added = Object.keys(rendered.template.Resources ?? {}).sort();
        const changes: ChangeSummary = { ...emptyChanges(), added };
        return {
          changes,
          hasChanges: true,
          diffText: `${rendered.stackName}: in ROLLBACK_COMPLETE, will be deleted and created again\n${added.map((id) => `  + ${id}`).join('\n')}`,
        };
      }
      const keep = request.keep === true;
      const created = await this.#createChangeSet(ctx, rendered, plan, request, keep ? 'sync' : 'plan');
      const reviewStackId = plan.kind === 'create' && !plan.stack ? created.stackId : undefined;
      let kept = false;
      try {
        const described = await this.#waitForChangeSet(ctx, created.id);
        const fingerprint = fingerprintOf(rendered, plan.kind === 'update' ? 'UPDATE' : 'CREATE', false);
        const keepAs = (noChanges: boolean) => {
          kept = true;
          this.#kept.set(created.id, {
            stackName: rendered.stackName,
            fingerprint,
            noChanges,
            ...(created.stackId ? { stackId: created.stackId } : {}),
            ...(reviewStackId ? { reviewStackId } : {}),
          });
        };
        if (described === 'NoChanges') {
          if (keep) {
            await this.#deleteChangeSet(ctx, created.id);
            keepAs(true);
          }
          return {
            changes: emptyChanges(),
            hasChanges: false,
            diffText: `${rendered.stackName}: no changes`,
            ...(keep ? { changeSetId: created.id } : {}),
          };
        }
        const changes = await this.#allChanges(ctx, created.id, described);
        const summary = summarizeChanges(changes, liveOf(plan), rendered);
        if (keep) keepAs(false);
        return {
          changes: summary,
          hasChanges: hasChanges(summary),
          diffText: describeChanges(rendered.stackName, changes, summary),
          ...(keep ? { changeSetId: created.id } : {}),
        };
      } finally {
        if (!kept) {
          await this.#deleteChangeSet(ctx, created.id);
          // A CREATE change set made a REVIEW_IN_PROGRESS stack that did not exist before: remove it again.
          if (reviewStackId) await this.#deleteReviewStack(ctx, reviewStackId);
        }
      }
    });
  }

  async apply(request: ApplyRequest): Promise<ApplyResult> {
    const { rendered } = request;
    const ctx = this.#ctx(rendered, request.signal);
    return this.#guard(ctx, async () => {
      const live = await this.#describeStack(ctx, rendered.stackName);
      // A live stack tagged for another repository is never changed (a stack without the tag gets it now).
      const owner = live?.Tags?.find((t) => t.Key === REPOSITORY_TAG)?.Value;
      if (owner !== undefined && !sameRepo(owner, rendered.repo)) {
        throw new OwnershipError(
          `stack ${rendered.stackName} (${rendered.region}) is tagged ${REPOSITORY_TAG}=${owner}, not ${rendered.repo}; nothing applied`,
        );
      }
      let plan = this.#plan(rendered, live);
      if (plan.kind === 'recreate') {
        this.#logger?.warn('deleting a stack in ROLLBACK_COMPLETE to create it again', { stack: rendered.stackName });
        await this.#deleteAndWait(ctx, plan.stack);
        plan = { kind: 'create' };
      }
      const type = plan.kind === 'update' ? 'UPDATE' : 'CREATE';
      const reused = await this.#reuseKept(ctx, request, fingerprintOf(rendered, type, request.revertDrift === true));
      const created = reused?.created ?? (await this.#createChangeSet(ctx, rendered, plan, request, 'apply'));
      const described = reused ? reused.described : await this.#waitForChangeSet(ctx, created.id);
      if (described === 'NoChanges') {
        if (!reused) await this.#deleteChangeSet(ctx, created.id);
        return {
          status: 'NoChanges',
          changes: emptyChanges(),
          outputs: outputsOf(plan.stack),
          ...(plan.stack?.StackId ? { stackId: plan.stack.StackId } : {}),
          diffText: `${rendered.stackName}: no changes`,
        };
      }
      const changes = await this.#allChanges(ctx, created.id, described);
      const summary = summarizeChanges(changes, liveOf(plan), rendered);
      const diffText = describeChanges(rendered.stackName, changes, summary);
      const stackId = created.stackId ?? described.StackId ?? plan.stack?.StackId;
      const token = requestToken(rendered.revision, this.#clock);
      await this.#call(ctx, 'ExecuteChangeSet', (s) =>
        ctx.cfn.send(
          new ExecuteChangeSetCommand({
            ChangeSetName: created.id,
            StackName: stackId ?? rendered.stackName,
            ClientRequestToken: token,
          }),
          s,
        ),
      ).catch((err) => {
        throw this.#mapChangeSetError(ctx, err, 'execute');
      });
      const final = await this.#waitForStack(
        ctx,
        stackId ?? rendered.stackName,
        token,
        plan.kind === 'create' ? 'create' : 'update',
      );
      return {
        status: 'Applied',
        changes: summary,
        outputs: outputsOf(final),
        changeSetId: created.id,
        ...(final.StackId ? { stackId: final.StackId } : stackId ? { stackId } : {}),
        diffText,
      };
    });
  }

  async discard(preview: PreviewResult, rendered: RenderedStack): Promise<void> {
    const id = preview.changeSetId;
    const kept = id ? this.#kept.get(id) : undefined;
    if (!id || !kept) return;
    this.#kept.delete(id);
    const ctx = this.#ctx(rendered);
    if (!kept.noChanges) await this.#deleteChangeSet(ctx, id);
    if (kept.reviewStackId) await this.#deleteReviewStack(ctx, kept.reviewStackId);
  }

  async delete(request: DeleteRequest): Promise<void> {
    const { state } = request;
    const ctx = this.#ctxFor(state, request.signal);
    return this.#guard(ctx, async () => {
      const stack = await this.#describeStack(ctx, state.stackName);
      if (!stack) return;
      if (stack.EnableTerminationProtection) {
        throw new ApplyError(
          Reason.TerminationProtected,
          `stack ${state.stackName} (${state.region}) is gone from Git but has termination protection on; turn it off (UpdateTerminationProtection) to let prune delete it, or delete it yourself`,
        );
      }
      if (stack.StackStatus?.endsWith('_IN_PROGRESS') && stack.StackStatus !== 'REVIEW_IN_PROGRESS') {
        throw busy(state.stackName, state.region, stack.StackStatus);
      }
      // Only a stack whose live tag names the repository being synced is deleted: the state alone is not enough.
      assertTaggedFor(
        state,
        request.repo ?? state.repo,
        Object.fromEntries((stack.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
      );
      await this.#deleteAndWait(ctx, stack);
    });
  }

  async health(rendered: RenderedStack, signal?: AbortSignal): Promise<{ healthy: boolean; message: string }> {
    const ctx = this.#ctx(rendered, signal);
    return this.#guard(ctx, async () => {
      const stack = await this.#describeStack(ctx, rendered.stackName);
      if (!stack)
        return { healthy: false, message: `stack ${rendered.stackName} does not exist in ${rendered.region}` };
      if (!HEALTHY.has(stack.StackStatus ?? '')) {
        return { healthy: false, message: `stack ${rendered.stackName} is ${stack.StackStatus}` };
      }
      if (!rendered.alarms.length)
        return { healthy: true, message: `stack ${rendered.stackName} is ${stack.StackStatus}` };
      const cw = this.#clients.cloudWatch(this.#target(rendered));
      const until = this.#clock.now().getTime() + this.#healthTimeoutMs;
      for (let attempt = 0; ; attempt++) {
        const states = new Map<string, { value: string; reason: string }>();
        for (let i = 0; i < rendered.alarms.length; i += 100) {
          let token: string | undefined;
          do {
            const out = await this.#call(ctx, 'DescribeAlarms', (s) =>
              cw.send(
                new DescribeAlarmsCommand({
                  AlarmNames: rendered.alarms.slice(i, i + 100),
                  AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
                  ...(token ? { NextToken: token } : {}),
                }),
                s,
              ),
            );
            for (const a of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])]) {
              if (a.AlarmName)
                states.set(a.AlarmName, { value: a.StateValue ?? 'UNKNOWN', reason: a.StateReason ?? '' });
            }
            token = out.NextToken;
          } while (token);
        }
        const missing = rendered.alarms.filter((n) => !states.has(n));
        if (missing.length) return { healthy: false, message: `alarm not found: ${missing.join(', ')}` };
        const firing = rendered.alarms.filter((n) => states.get(n)?.value === 'ALARM');
        if (firing.length) {
          return {
            healthy: false,
            message: `in ALARM: ${firing.map((n) => `${n} (${states.get(n)?.reason})`).join('; ')}`,
          };
        }
        const notOk = rendered.alarms.filter((n) => states.get(n)?.value !== 'OK');
        if (!notOk.length) return { healthy: true, message: `${rendered.alarms.length} alarm(s) OK` };
        const now = this.#clock.now().getTime();
        if (now >= until) {
          return {
            healthy: false,
            message: `not OK within ${Math.round(this.#healthTimeoutMs / 1000)} s: ${notOk.map((n) => `${n} (${states.get(n)?.value})`).join(', ')}`,
          };
        }
        await this.#clock.sleep(Math.min(delayFor(this.#stackPoll, attempt), until - now), signal);
      }
    });
  }

  // ------------------------------------------------------------------ steps

  /**
   * The kept preview's change set, when `apply` names one and it still matches what would be sent: computed and still
   * executable. Anything else is deleted (and undefined returned), so a new change set is made.
   */
  async #reuseKept(
    ctx: Ctx,
    request: ApplyRequest,
    fingerprint: string,
  ): Promise<
    { created: { id: string; stackId?: string }; described: DescribeChangeSetCommandOutput | 'NoChanges' } | undefined
  > {
    const id = request.changeSetId;
    const kept = id ? this.#kept.get(id) : undefined;
    if (!id || !kept) return undefined;
    this.#kept.delete(id);
    const created = { id, ...(kept.stackId ? { stackId: kept.stackId } : {}) };
    if (kept.fingerprint === fingerprint && kept.stackName === ctx.stackName) {
      if (kept.noChanges) return { created, described: 'NoChanges' };
      try {
        const described = await this.#waitForChangeSet(ctx, id);
        if (described === 'NoChanges') return { created, described };
        if (!described.ExecutionStatus || described.ExecutionStatus === 'AVAILABLE') return { created, described };
        this.#logger?.info('the previewed change set is no longer executable; making a new one', {
          changeSet: id,
          executionStatus: described.ExecutionStatus,
        });
      } catch (err) {
        if (errorName(err) !== 'ChangeSetNotFoundException') throw err;
        return undefined;
      }
    }
    // Something changed since the preview (a dependency's outputs, drift reverting): this change set is stale.
    if (!kept.noChanges) await this.#deleteChangeSet(ctx, id);
    return undefined;
  }

  #plan(rendered: RenderedStack, stack: Stack | undefined): Plan {
    const status = stack?.StackStatus;
    if (!stack || !status || status === 'REVIEW_IN_PROGRESS' || status === 'DELETE_COMPLETE') {
      return stack && status === 'REVIEW_IN_PROGRESS' ? { kind: 'create', stack } : { kind: 'create' };
    }
    const where = `${rendered.stackName} (${rendered.region})`;
    if (status === 'ROLLBACK_COMPLETE') {
      if (rendered.recreateOnRollbackComplete) return { kind: 'recreate', stack };
      throw new ApplyError(
        Reason.StackRollbackComplete,
        `stack ${where} is in ROLLBACK_COMPLETE after a failed create; it must be deleted before it can be created again (set recreateOnRollbackComplete to let lambda-gitops do it)`,
      );
    }
    if (status === 'UPDATE_ROLLBACK_FAILED') {
      throw new ApplyError(
        Reason.UpdateRollbackFailed,
        `stack ${where} is in UPDATE_ROLLBACK_FAILED: fix the cause (${stack.StackStatusReason ?? 'see the stack events'}) and run ContinueUpdateRollback (aws cloudformation continue-update-rollback --stack-name ${rendered.stackName}), then sync again`,
      );
    }
    if (status.endsWith('_IN_PROGRESS')) throw busy(rendered.stackName, rendered.region, status);
    if (status === 'ROLLBACK_FAILED' || status === 'DELETE_FAILED' || status === 'IMPORT_ROLLBACK_FAILED') {
      throw new ApplyError(
        Reason.ApplyFailed,
        `stack ${where} is in ${status} (${stack.StackStatusReason ?? 'see the stack events'}) and cannot be updated; delete it and sync again`,
      );
    }
    return { kind: 'update', stack };
  }

  async #createChangeSet(
    ctx: Ctx,
    rendered: RenderedStack,
    plan: Plan,
    request: ApplyRequest,
    purpose: 'plan' | 'apply' | 'sync',
  ): Promise<{ id: string; stackId?: string }> {
    const body = JSON.stringify(rendered.template);
    const size = Buffer.byteLength(body, 'utf8');
    let template: Pick<CreateChangeSetCommandInput, 'TemplateBody' | 'TemplateURL'>;
    if (size <= TEMPLATE_BODY_LIMIT) {
      template = { TemplateBody: body };
    } else if (size > TEMPLATE_URL_LIMIT) {
      throw new ApplyError(
        Reason.LimitExceeded,
        `template of ${rendered.stackName} is ${size} bytes; CloudFormation accepts at most ${TEMPLATE_URL_LIMIT} bytes through S3`,
      );
    } else if (!this.#uploader) {
      throw new ApplyError(
        Reason.LimitExceeded,
        `template of ${rendered.stackName} is ${size} bytes, over the ${TEMPLATE_BODY_LIMIT}-byte TemplateBody limit, and no template bucket is configured`,
      );
    } else {
      template = { TemplateURL: await this.#uploader.upload(rendered, body, ctx.signal) };
    }
    const name = changeSetName(purpose, rendered.revision, this.#clock);
    const type = plan.kind === 'update' ? 'UPDATE' : 'CREATE';
    const input: CreateChangeSetCommandInput = {
      StackName: rendered.stackName,
      ChangeSetName: name,
      ChangeSetType: type,
      ClientToken: name,
      Description: `lambda-gitops ${purpose} of ${rendered.key} at ${rendered.revision}`.slice(0, 1024),
      ...template,
      Parameters: Object.entries(rendered.parameters).map(([ParameterKey, ParameterValue]) => ({
        ParameterKey,
        ParameterValue,
      })),
      Tags: Object.entries(rendered.tags).map(([Key, Value]) => ({ Key, Value })),
      ...(rendered.capabilities.length ? { Capabilities: [...rendered.capabilities] } : {}),
      ...(rendered.serviceRole ? { RoleARN: rendered.serviceRole } : {}),
      // Drift-aware change sets exist only for updates: a new stack has no drift to revert.
      ...(request.revertDrift && type === 'UPDATE' ? { DeploymentMode: 'REVERT_DRIFT' as const } : {}),
    };
    try {
      const out = await this.#call(ctx, 'CreateChangeSet', (s) => ctx.cfn.send(new CreateChangeSetCommand(input), s));
      if (!out.Id)
        throw new ApplyError(Reason.ChangeSetFailed, `CreateChangeSet for ${rendered.stackName} returned no id`);
      return { id: out.Id, ...(out.StackId ? { stackId: out.StackId } : {}) };
    } catch (err) {
      throw this.#mapChangeSetError(ctx, err, 'create a change set for');
    }
  }

  /** Polls the change set until it is computed: its first page, or `NoChanges` (then it has been left for deletion). */
  async #waitForChangeSet(ctx: Ctx, id: string): Promise<DescribeChangeSetCommandOutput | 'NoChanges'> {
    const started = this.#clock.now().getTime();
    const until = started + this.#changeSetTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      const out = await this.#call(ctx, 'DescribeChangeSet', (s) =>
        ctx.cfn.send(new DescribeChangeSetCommand({ ChangeSetName: id, StackName: ctx.stackName }), s),
      );
      if (out.Status === 'CREATE_COMPLETE') return out;
      if (out.Status === 'FAILED' || out.Status?.startsWith('DELETE')) {
        const reason = out.StatusReason ?? 'no reason given';
        if (NO_CHANGES.some((re) => re.test(reason))) return 'NoChanges';
        await this.#deleteChangeSet(ctx, id);
        if (/Requires capabilities/i.test(reason)) {
          throw new ApplyError(
            Reason.InsufficientCapabilities,
            `${ctx.stackName}: ${reason}; ${capabilityAdvice(reason)}`,
          );
        }
        throw new ApplyError(
          Reason.ChangeSetFailed,
          `change set for ${ctx.stackName} (${ctx.region}) failed: ${reason}`,
        );
      }
      if (this.#clock.now().getTime() >= until) {
        await this.#deleteChangeSet(ctx, id);
        throw new ApplyError(
          Reason.DeadlineExceeded,
          `change set for ${ctx.stackName} still ${out.Status} after ${Math.round(this.#changeSetTimeoutMs / 1000)} s`,
          { retryable: true },
        );
      }
      await this.#pause(ctx, this.#changeSetPoll, attempt, until, () => `change set for ${ctx.stackName} timed out`);
    }
  }

  async #allChanges(ctx: Ctx, id: string, first: DescribeChangeSetCommandOutput): Promise<Change[]> {
    const changes = [...(first.Changes ?? [])];
    let token = first.NextToken;
    while (token) {
      const page = token;
      const out = await this.#call(ctx, 'DescribeChangeSet', (s) =>
        ctx.cfn.send(new DescribeChangeSetCommand({ ChangeSetName: id, StackName: ctx.stackName, NextToken: page }), s),
      );
      changes.push(...(out.Changes ?? []));
      token = out.NextToken;
    }
    return changes;
  }

  async #waitForStack(ctx: Ctx, stackId: string, token: string, operation: 'create' | 'update'): Promise<Stack> {
    const until = this.#clock.now().getTime() + this.#stackTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      const stack = await this.#describeStack(ctx, stackId);
      const status = stack?.StackStatus ?? 'DELETE_COMPLETE';
      if (stack && SUCCESS.has(status)) return stack;
      if (!status.endsWith('_IN_PROGRESS') || SETTLED_FAILURE.has(status)) {
        const failed = await failedResources((c) => this.#call(ctx, 'DescribeStackEvents', (s) => ctx.cfn.send(c, s)), {
          stackName: ctx.stackName,
          stackId,
          clientRequestToken: token,
        });
        const where = `${ctx.stackName} (${ctx.region})`;
        if (status === 'UPDATE_ROLLBACK_FAILED') {
          throw new ApplyError(
            Reason.UpdateRollbackFailed,
            `${operation} of ${where} failed and its rollback failed too (UPDATE_ROLLBACK_FAILED): ${describeFailures(failed)}; fix the cause and run ContinueUpdateRollback, then sync again`,
          );
        }
        throw new ApplyError(
          Reason.ChangeSetFailed,
          `${operation} of ${where} failed, stack is ${status}: ${describeFailures(failed)}`,
        );
      }
      await this.#pause(
        ctx,
        this.#stackPoll,
        attempt,
        until,
        () =>
          `${ctx.stackName} still ${status} after ${Math.round(this.#stackTimeoutMs / 60_000)} min; CloudFormation carries on and the next sync sees the result`,
      );
    }
  }

  async #deleteAndWait(ctx: Ctx, stack: Stack): Promise<void> {
    const id = stack.StackId ?? stack.StackName ?? ctx.stackName;
    const token = requestToken(`delete-${ctx.stackName}`, this.#clock);
    await this.#call(ctx, 'DeleteStack', (s) =>
      ctx.cfn.send(new DeleteStackCommand({ StackName: id, ClientRequestToken: token }), s),
    );
    const until = this.#clock.now().getTime() + this.#stackTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      const now = await this.#describeStack(ctx, id);
      const status = now?.StackStatus ?? 'DELETE_COMPLETE';
      if (status === 'DELETE_COMPLETE') return;
      if (status === 'DELETE_FAILED') {
        const failed = await failedResources((c) => this.#call(ctx, 'DescribeStackEvents', (s) => ctx.cfn.send(c, s)), {
          stackName: ctx.stackName,
          stackId: id,
          clientRequestToken: token,
        });
        throw new ApplyError(
          Reason.ApplyFailed,
          `delete of ${ctx.stackName} (${ctx.region}) failed: ${describeFailures(failed)}`,
        );
      }
      await this.#pause(
        ctx,
        this.#stackPoll,
        attempt,
        until,
        () => `${ctx.stackName} still ${status} after ${Math.round(this.#stackTimeoutMs / 60_000)} min`,
      );
    }
  }

  async #deleteChangeSet(ctx: Ctx, id: string): Promise<void> {
    try {
      await this.#call(ctx, 'DeleteChangeSet', (s) =>
        ctx.cfn.send(new DeleteChangeSetCommand({ ChangeSetName: id, StackName: ctx.stackName }), s),
      );
    } catch (err) {
      // Leaving a change set behind is untidy, not a failed sync (about 1,000 fit on a stack).
      this.#logger?.warn('could not delete change set', { changeSet: id, error: errorMessage(err) });
    }
  }

  async #deleteReviewStack(ctx: Ctx, stackId: string): Promise<void> {
    try {
      await this.#call(ctx, 'DeleteStack', (s) => ctx.cfn.send(new DeleteStackCommand({ StackName: stackId }), s));
    } catch (err) {
      this.#logger?.warn('could not delete the REVIEW_IN_PROGRESS stack left by a preview', {
        stackId,
        error: errorMessage(err),
      });
    }
  }

  async #describeStack(ctx: Ctx, nameOrId: string): Promise<Stack | undefined> {
    try {
      const out = await this.#call(ctx, 'DescribeStacks', (s) =>
        ctx.cfn.send(new DescribeStacksCommand({ StackName: nameOrId }), s),
      );
      return out.Stacks?.[0];
    } catch (err) {
      if (errorName(err) === 'ValidationError' && /does not exist/i.test(errorMessage(err))) return undefined;
      throw err;
    }
  }

  // ------------------------------------------------------------------ plumbing

  /** One SDK call: throttling retried with backoff, then `Throttled` (retryable). */
  #call<T>(ctx: Ctx, operation: string, fn: (options: { abortSignal?: AbortSignal }) => Promise<T>): Promise<T> {
    return retryThrottled(
      async () => {
        // The SDK only checks the signal while a request is in flight; check it between calls too.
        ctx.signal?.throwIfAborted();
        return fn(ctx.signal ? { abortSignal: ctx.signal } : {});
      },
      {
        clock: this.#clock,
        attempts: this.#throttleAttempts,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        // The clients make one attempt each (clients.ts): transient faults are retried here, with the throttles.
        retryIf: (err) => !isAbort(err) && isTransient(err),
        onExhausted: (err) =>
          isThrottle(err)
            ? new ApplyError(
                Reason.Throttled,
                `CloudFormation kept throttling ${operation} on ${ctx.stackName} (${ctx.region}) after ${this.#throttleAttempts} tries: ${errorMessage(err)}`,
                { retryable: true, cause: err },
              )
            : new ApplyError(
                Reason.ApplyFailed,
                `${operation} on ${ctx.stackName} (${ctx.region}) kept failing after ${this.#throttleAttempts} tries: ${errorName(err) || 'Error'}: ${errorMessage(err)}`,
                { retryable: true, cause: err },
              ),
      },
    );
  }

  async #pause(
    ctx: Ctx,
    policy: BackoffPolicy,
    attempt: number,
    until: number,
    onDeadline: () => string,
  ): Promise<void> {
    const now = this.#clock.now().getTime();
    if (now >= until) throw new ApplyError(Reason.DeadlineExceeded, onDeadline(), { retryable: true });
    await this.#clock.sleep(Math.max(1, Math.min(delayFor(policy, attempt), until - now)), ctx.signal);
  }

  /** Every public operation ends in a GitOpsError with a reason: aborts are deadlines, the rest keep their cause. */
  async #guard<T>(ctx: Ctx, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof GitOpsError) throw err;
      if (isAbort(err) || ctx.signal?.aborted) {
        throw new ApplyError(
          Reason.DeadlineExceeded,
          `deadline reached while working on ${ctx.stackName} (${ctx.region})`,
          {
            retryable: true,
            cause: err,
          },
        );
      }
      throw new ApplyError(
        Reason.ApplyFailed,
        `${ctx.stackName} (${ctx.region}): ${errorName(err) || 'Error'}: ${errorMessage(err)}`,
        {
          retryable: isTransient(err),
          cause: err,
        },
      );
    }
  }

  #mapChangeSetError(ctx: Ctx, err: unknown, what: string): unknown {
    if (err instanceof GitOpsError) return err;
    const name = errorName(err);
    const message = errorMessage(err);
    if (name === 'InsufficientCapabilitiesException' || /Requires capabilities/i.test(message)) {
      return new ApplyError(
        Reason.InsufficientCapabilities,
        `${ctx.stackName}: ${message}; ${capabilityAdvice(message)}`,
        {
          cause: err,
        },
      );
    }
    if (
      /_IN_PROGRESS state/i.test(message) ||
      name === 'InvalidChangeSetStatusException' ||
      name === 'OperationInProgressException'
    ) {
      return new ApplyError(Reason.StackBusy, `${ctx.stackName} (${ctx.region}) is busy: ${message}; retrying later`, {
        retryable: true,
        notify: false,
        cause: err,
      });
    }
    if (name === 'LimitExceededException') {
      return new ApplyError(Reason.LimitExceeded, `cannot ${what} ${ctx.stackName}: ${message}`, { cause: err });
    }
    if (name === 'ValidationError') {
      return new ApplyError(Reason.InvalidTemplate, `CloudFormation refused ${ctx.stackName}: ${message}`, {
        cause: err,
      });
    }
    return err;
  }

  #target(rendered: Pick<RenderedStack, 'region' | 'role' | 'externalId' | 'stack' | 'revision'>): AwsTarget {
    return {
      region: rendered.region,
      ...(rendered.role ? { role: rendered.role } : {}),
      ...(rendered.externalId ? { externalId: rendered.externalId } : {}),
      sessionName: roleSessionName(rendered.stack, rendered.revision),
    };
  }

  #ctx(rendered: RenderedStack, signal?: AbortSignal): Ctx {
    return {
      cfn: this.#clients.cloudFormation(this.#target(rendered)),
      stackName: rendered.stackName,
      region: rendered.region,
      ...(signal ? { signal } : {}),
    };
  }

  #ctxFor(state: StackState, signal?: AbortSignal): Ctx {
    const target: AwsTarget = {
      region: state.region,
      ...(state.role ? { role: state.role } : {}),
      sessionName: roleSessionName(state.stack, 'prune'),
    };
    return {
      cfn: this.#clients.cloudFormation(target),
      stackName: state.stackName,
      region: state.region,
      ...(signal ? { signal } : {}),
    };
  }
}

function busy(stackName: string, region: string, status: string): ApplyError {
  return new ApplyError(
    Reason.StackBusy,
    `stack ${stackName} (${region}) is ${status}; the sync will be retried when it settles`,
    {
      retryable: true,
      notify: false,
    },
  );
}

function liveOf(plan: Plan): { parameters?: Stack['Parameters']; tags?: Stack['Tags'] } | undefined {
  if (plan.kind !== 'update') return undefined;
  return {
    ...(plan.stack.Parameters ? { parameters: plan.stack.Parameters } : {}),
    ...(plan.stack.Tags ? { tags: plan.stack.Tags } : {}),
  };
}

function outputsOf(stack: Stack | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of stack?.Outputs ?? []) if (o.OutputKey) out[o.OutputKey] = o.OutputValue ?? '';
  return out;
}

/**
 * What to do about "Requires capabilities : [CAPABILITY_IAM]": the gitops.yaml field that exists for it, with the
 * capabilities CloudFormation named.
 */
export function capabilityAdvice(message: string): string {
  const named = message.match(/CAPABILITY_[A-Z_]+/g);
  const list = named ? [...new Set(named)].join(', ') : 'CAPABILITY_…';
  return `declare them in gitops.yaml with "capabilities: [${list}]" on the stack (stacks[].capabilities), on overrides.<env>, or on the environment (environments[].capabilities); lambda-gitops infers them only from IAM resources, transforms and nested templates it can read in the repository`;
}

/** What a change set is made from, so a kept one is executed only for the same input. */
function fingerprintOf(rendered: RenderedStack, type: 'CREATE' | 'UPDATE', revertDrift: boolean): string {
  const sorted = (r: Readonly<Record<string, string>>) => Object.entries(r).sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256')
    .update(
      JSON.stringify([
        JSON.stringify(rendered.template),
        sorted(rendered.parameters),
        sorted(rendered.tags),
        [...rendered.capabilities].sort(),
        rendered.serviceRole ?? '',
        type,
        revertDrift && type === 'UPDATE',
      ]),
    )
    .digest('hex');
}

const safe = (s: string) => s.replace(/[^a-zA-Z0-9-]/g, '-');

/** `gitops-<purpose>-<commit 12>-<time>`: names must match `[a-zA-Z][-a-zA-Z0-9]*` and be unique on the stack. */
function changeSetName(purpose: string, revision: string, clock: Clock): string {
  return `gitops-${purpose}-${safe(revision.slice(0, 12))}-${clock.now().getTime().toString(36)}`.slice(0, 128);
}

/** The execute token carries the full commit: it comes back in CloudFormation's own events for correlation. */
function requestToken(revision: string, clock: Clock): string {
  return `gitops-${safe(revision)}-${clock.now().getTime().toString(36)}`.slice(0, 128);
}
