/**
 * The `local` target: nothing is deployed. `preview` computes offline the change CloudFormation would make (see
 * plan/template-diff.ts), `apply` reports that change with locally computed outputs (see outputs-local.ts), and the
 * engine records the result in the state store as it would after a real apply. This is how `gitops dev` and the CLI
 * work with no AWS account, and how the engine's whole loop is tested.
 */
import { ApplyError, Reason } from '../../errors.ts';
import type { RenderedStack } from '../../model.ts';
import { diffTemplates } from '../../plan/template-diff.ts';
import { assertTaggedFor } from '../../policy/ownership.ts';
import type { Applier, ApplyRequest, ApplyResult, DeleteRequest, PreviewResult, StateStore } from '../../ports.ts';
import { localOutputs } from './outputs-local.ts';

/** The stack tag that protects a local stack from prune, as termination protection does on AWS. */
export const TERMINATION_PROTECTION_TAG = 'gitops:termination-protection';

export interface LocalApplierOptions {
  /** ANSI colours in diff texts. @default false */
  readonly color?: boolean;
  /**
   * Where `delete` looks up the tags a stack was last applied with (StackState does not carry tags). Without it,
   * protection is only seen on the stacks this applier applied itself in this process.
   */
  readonly store?: Pick<StateStore, 'getRendered'>;
}

export class LocalApplier implements Applier {
  private readonly color: boolean;
  private readonly store: Pick<StateStore, 'getRendered'> | undefined;
  /** Tags of stacks applied by this instance, by key: enough for `delete` in one `gitops dev` session. */
  private readonly appliedTags = new Map<string, Readonly<Record<string, string>>>();

  constructor(options: LocalApplierOptions = {}) {
    this.color = options.color ?? false;
    this.store = options.store;
  }

  async preview(request: ApplyRequest): Promise<PreviewResult> {
    request.signal?.throwIfAborted();
    return diffTemplates(request.previous, request.rendered, { color: this.color });
  }

  async apply(request: ApplyRequest): Promise<ApplyResult> {
    const preview = await this.preview(request);
    request.signal?.throwIfAborted();
    this.appliedTags.set(request.rendered.key, request.rendered.tags);
    return {
      status: preview.hasChanges ? 'Applied' : 'NoChanges',
      changes: preview.changes,
      outputs: localOutputs(request.rendered),
      diffText: preview.diffText,
    };
  }

  async delete(request: DeleteRequest): Promise<void> {
    request.signal?.throwIfAborted();
    const { state } = request;
    const tags = await this.tagsOf(state.key, state.lastApplied?.hash, state.lastApplied?.revision);
    if (tags?.[TERMINATION_PROTECTION_TAG]?.toLowerCase() === 'true') {
      throw new ApplyError(
        Reason.TerminationProtected,
        `${state.stackName} (${state.key}) is tagged ${TERMINATION_PROTECTION_TAG}=true; remove the tag before pruning it`,
        { field: 'tags' },
      );
    }
    // The record of the last apply must name the repository being synced, as the live tag must on AWS.
    assertTaggedFor(state, request.repo ?? state.repo, tags);
    this.appliedTags.delete(state.key);
  }

  async health(rendered: RenderedStack): Promise<{ healthy: boolean; message: string }> {
    return { healthy: true, message: `${rendered.stackName} is local: no live resources or alarms to check` };
  }

  private async tagsOf(
    key: string,
    hash: string | undefined,
    revision: string | undefined,
  ): Promise<Readonly<Record<string, string>> | undefined> {
    if (hash && this.store) {
      const artifact = await this.store.getRendered(hash, revision);
      if (artifact) return artifact.rendered.tags;
    }
    return this.appliedTags.get(key);
  }
}
