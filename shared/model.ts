/**
 * The data the engine passes between its steps: the repository's desired state, what was rendered from it, what the
 * state store remembers, and what a sync produced. Plain JSON-compatible types, so every one of them can be stored,
 * sent in an event and read back unchanged.
 */

/** A commit as events and state show it. `url` links to the commit on the forge when it is known. */
export interface CommitInfo {
  readonly sha: string;
  readonly author?: string;
  readonly message?: string;
  readonly url?: string;
  /** Committer time, ISO 8601, as the commit claims it: shown, never used to order commits. */
  readonly committedAt?: string;
}

export interface SyncPolicy {
  /** Apply on every new revision; when false, sync stops at `Plan Ready` until approved. @default true */
  readonly automated: boolean;
  /** Delete stacks that were applied before and are gone from Git. @default false */
  readonly prune: boolean;
  /** Revert resource drift with a drift-reverting change set. @default false */
  readonly selfHeal: boolean;
}

export interface EnvironmentSpec {
  readonly name: string;
  readonly region: string;
  /** IAM role assumed for every call on this environment's stacks (another account). */
  readonly role?: string;
  readonly externalId?: string;
  /** The branch this environment follows. @default the repository's default branch */
  readonly branch?: string;
  readonly syncPolicy: SyncPolicy;
  readonly parameters: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
  /** The region is no one's choice: neither the environment nor `defaults.region` names one (zero configuration too). */
  readonly regionDefaulted?: boolean;
  /** Capabilities acknowledged for every stack of the environment (added to the inferred ones). */
  readonly capabilities?: readonly Capability[];
}

/** One stack of the repository, before it is placed in an environment. */
export interface StackSpec {
  /** The stack's name in the repository (unique); `stack` in events. */
  readonly name: string;
  /** The file that declared it (a Git sync deployment file or `gitops.yaml`), for error messages. */
  readonly declaredIn: string;
  readonly templatePath: string;
  readonly parameters: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
  /** Names of stacks (same environment) applied before this one. */
  readonly dependsOn: readonly string[];
  /** Environments this stack is deployed to. */
  readonly environments: readonly string[];
  /** Per-environment overrides. */
  readonly overrides: Readonly<
    Record<
      string,
      {
        readonly stackName?: string;
        readonly region?: string;
        readonly parameters?: Readonly<Record<string, string>>;
        readonly tags?: Readonly<Record<string, string>>;
        readonly capabilities?: readonly Capability[];
      }
    >
  >;
  /** CloudFormation stack name; `{stack}` and `{env}` are replaced. @default `{stack}-{env}` (or `{stack}` with one environment named `default`) */
  readonly stackNamePattern?: string;
  /** CloudWatch alarm names that must be OK after an apply for the stack to be Healthy. */
  readonly alarms: readonly string[];
  /** Allow deleting a stack in ROLLBACK_COMPLETE so it can be created again. @default true */
  readonly recreateOnRollbackComplete: boolean;
  /** CloudFormation service role ARN for this stack's operations. */
  readonly serviceRole?: string;
  /** Paths the secret guard skips (`parameters.X`, `tags.X`, `Parameters.X.Default`, `Resources.R.Properties.…`). */
  readonly notSecrets?: readonly string[];
  /** Capabilities acknowledged in gitops.yaml for this stack (added to the inferred ones). */
  readonly capabilities?: readonly Capability[];
}

export interface NotificationRoute {
  readonly events: readonly string[];
  readonly severity?: 'info' | 'warning' | 'error';
  readonly environments?: readonly string[];
}

/** The repository's desired state: what `gitops.yaml` (or the deployment files alone) declare. */
export interface RepoConfig {
  /** `gitops.yaml` when the repository has one, else `deployment-files` (zero configuration). */
  readonly mode: 'gitops.yaml' | 'deployment-files';
  readonly environments: readonly EnvironmentSpec[];
  readonly stacks: readonly StackSpec[];
  readonly notifications: readonly NotificationRoute[];
  /** When set, only commits signed by one of these OpenPGP keys are applied. */
  readonly signing?: {
    readonly required: boolean;
    readonly keys: readonly string[];
    readonly ssmKeys: readonly string[];
  };
}

export type Capability = 'CAPABILITY_IAM' | 'CAPABILITY_NAMED_IAM' | 'CAPABILITY_AUTO_EXPAND';

/** A CloudFormation template in its long (JSON) form. */
export type CfnTemplate = {
  readonly AWSTemplateFormatVersion?: string;
  readonly Description?: string;
  readonly Transform?: unknown;
  readonly Parameters?: Readonly<Record<string, CfnParameter>>;
  readonly Resources?: Readonly<
    Record<string, { readonly Type: string; readonly Properties?: unknown } & Record<string, unknown>>
  >;
  readonly Outputs?: Readonly<Record<string, unknown>>;
} & Readonly<Record<string, unknown>>;

export interface CfnParameter {
  readonly Type: string;
  readonly Default?: unknown;
  readonly AllowedValues?: readonly unknown[];
  readonly AllowedPattern?: string;
  readonly MinLength?: number;
  readonly MaxLength?: number;
  readonly MinValue?: number;
  readonly MaxValue?: number;
  readonly NoEcho?: boolean | string;
  readonly Description?: string;
}

/** `environment/stack`: identifies one stack in one environment everywhere (state, queues, events). */
export type StackKey = string;
export const stackKey = (environment: string, stack: string): StackKey => `${environment}/${stack}`;

/** The AWS installation's default `stackNamePrefix`: the functions only have rights on stacks named so. */
export const DEFAULT_STACK_NAME_PREFIX = 'gitops-';

/** Everything that would be sent to CloudFormation for one stack in one environment. */
export interface RenderedStack {
  readonly key: StackKey;
  readonly stack: string;
  readonly environment: string;
  readonly stackName: string;
  readonly region: string;
  readonly role?: string;
  readonly externalId?: string;
  readonly serviceRole?: string;
  readonly template: CfnTemplate;
  /** Parameters as sent; SSM-backed ones hold the parameter name with the template type rewritten. */
  readonly parameters: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly capabilities: readonly Capability[];
  /** Keys of stacks (same environment) that must be applied first. */
  readonly dependsOn: readonly StackKey[];
  /** Parameters filled from a dependency's outputs at apply time: parameter → `stack.OutputName`. */
  readonly outputParameters: Readonly<Record<string, string>>;
  readonly syncPolicy: SyncPolicy;
  readonly alarms: readonly string[];
  readonly recreateOnRollbackComplete: boolean;
  /** Repository paths read to render this stack, with their blob ids. */
  readonly inputs: Readonly<Record<string, string>>;
  /** sha256 (hex) of the canonical JSON of what CloudFormation would receive. */
  readonly hash: string;
  readonly revision: string;
  readonly commit: CommitInfo;
  readonly repo: string;
  readonly branch: string;
  /** The repository's notification routes (not sent to CloudFormation, so not part of the hash). */
  readonly notifications?: readonly NotificationRoute[];
  /** Local files packaged for this stack (code, definitions, nested templates): stored before a preview or apply. */
  readonly artifacts?: readonly ArtifactRef[];
  /** Nested templates as packaged, by logical path (`Network`, `Network/Roles`), for the plan's diff. */
  readonly nestedTemplates?: Readonly<Record<string, CfnTemplate>>;
  /** Transforms and macros only CloudFormation can expand: named in the local diff (not sent, not hashed). */
  readonly unexpanded?: readonly string[];
  /** The template's file, and each nested template's by logical path: for messages (not sent, not hashed). */
  readonly templateFiles?: { readonly root: string; readonly nested: Readonly<Record<string, string>> };
}

/** One packaged artifact: content-addressed, rebuilt from the commit's blobs when it is stored. */
export interface ArtifactRef {
  /** Object key: `artifacts/<sha256>.zip`, `artifacts/<sha256>.<ext>`, `templates/<sha256>.json`. */
  readonly key: string;
  readonly sha256: string;
  readonly size: number;
  /** The repository path the template named (a folder, a file, a nested template). */
  readonly source: string;
  /** `zip`: the files below, zipped deterministically; `file`: one file as it is; `template`: `body`. */
  readonly kind: 'zip' | 'file' | 'template';
  /** zip and file: the blobs, with the name each has inside the zip. */
  readonly files?: readonly {
    readonly path: string;
    readonly name: string;
    readonly oid: string;
    readonly mode: string;
  }[];
  /** template: the packaged nested template as sent (JSON). */
  readonly body?: string;
}

export interface ChangeSummary {
  readonly added: readonly string[];
  readonly modified: readonly string[];
  readonly removed: readonly string[];
  readonly replaced: readonly string[];
  readonly parametersChanged: readonly string[];
  readonly tagsChanged: readonly string[];
}

export const emptyChanges = (): ChangeSummary => ({
  added: [],
  modified: [],
  removed: [],
  replaced: [],
  parametersChanged: [],
  tagsChanged: [],
});

export type SyncStatus = 'Synced' | 'OutOfSync' | 'Progressing' | 'Failed' | 'Pending';
export type DriftStatus = 'InSync' | 'Drifted' | 'NotChecked';
export type HealthStatus = 'Healthy' | 'Degraded' | 'Unknown';

export interface DriftedResource {
  readonly logicalId: string;
  readonly physicalId?: string;
  readonly type: string;
  readonly status: 'MODIFIED' | 'DELETED' | 'NOT_CHECKED' | 'IN_SYNC';
  readonly differences: readonly {
    readonly path: string;
    readonly expected?: string;
    readonly actual?: string;
    readonly kind: string;
  }[];
}

export interface AppliedRecord {
  readonly revision: string;
  readonly commit: CommitInfo;
  readonly hash: string;
  readonly inputs: Readonly<Record<string, string>>;
  readonly at: string;
  readonly changeSetId?: string;
  readonly stackId?: string;
  readonly outputs: Readonly<Record<string, string>>;
  readonly changes: ChangeSummary;
  /**
   * When the installation received the sync that produced this apply (ms since the epoch, strictly increasing per
   * installation process): the apply side's newest-wins order, stamped by the installation, never by the commit.
   */
  readonly received?: number;
}

export interface AttemptRecord {
  readonly revision: string;
  readonly hash?: string;
  readonly at: string;
  readonly result: 'Succeeded' | 'Failed' | 'Skipped' | 'PlanReady';
  readonly reason: string;
  readonly message: string;
}

/** What the state store remembers of one stack in one environment. Attempted and applied are kept apart. */
export interface StackState {
  readonly key: StackKey;
  readonly stack: string;
  readonly environment: string;
  readonly stackName: string;
  readonly region: string;
  readonly repo: string;
  readonly branch: string;
  readonly sync: SyncStatus;
  readonly drift: {
    readonly status: DriftStatus;
    readonly resources: readonly DriftedResource[];
    readonly checkedAt?: string;
  };
  readonly health: HealthStatus;
  readonly dependsOn: readonly StackKey[];
  readonly lastApplied?: AppliedRecord;
  readonly lastAttempted?: AttemptRecord;
  /** Branch head seen by the last out-of-sync check. */
  readonly headRevision?: string;
  readonly syncPolicy?: SyncPolicy;
  readonly role?: string;
  /** The notification routes of the revision last seen, for events that have no rendered stack (drift, prune). */
  readonly notifications?: readonly NotificationRoute[];
  readonly updatedAt: string;
  /**
   * Stacks this key was applied as before its account, region or name changed, still live because prune is off.
   * Deleted by the next apply of the key with prune on.
   */
  readonly formerStacks?: readonly FormerStack[];
}

/** A CloudFormation stack a key left behind when its identity (account, region, name) changed. */
export interface FormerStack {
  readonly stackName: string;
  readonly region: string;
  readonly role?: string;
  readonly revision?: string;
  readonly at: string;
}

/** One record per sync attempt of one stack. */
export interface HistoryRecord {
  readonly key: StackKey;
  readonly id: string;
  readonly revision: string;
  readonly commit: CommitInfo;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly result: AttemptRecord['result'];
  readonly reason: string;
  readonly message: string;
  readonly changeSetId?: string;
  readonly changes: ChangeSummary;
  readonly hash?: string;
}
